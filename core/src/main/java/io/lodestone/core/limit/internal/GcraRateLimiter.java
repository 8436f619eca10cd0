package io.lodestone.core.limit.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.lodestone.core.Clock;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.limit.RateLimiter;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The in-memory {@link RateLimiter}: the generic cell rate algorithm over a bounded Caffeine table.
 *
 * <p>A bucket is one number, its theoretical arrival time (TAT): the time at which the bucket would
 * be full again. A request at {@code now} is allowed when {@code TAT - now <= (burst - 1) * interval}
 * and then moves TAT to {@code max(TAT, now) + interval}; otherwise it waits
 * {@code TAT - now - (burst - 1) * interval}. The update is a compare-and-set on the bucket's
 * {@link AtomicLong}, so concurrent requests of one key never take more tokens than there are.
 *
 * <p>An entry expires once it has not been read or written for the limit's refill time: by then
 * {@code TAT <= now} and a fresh bucket is the same as the forgotten one. The table also holds at
 * most {@code maxKeys} entries, an entry whose key is long counting as one more per
 * {@value #KEY_CHARS_PER_BUCKET} characters of its key: the keys are a client's to choose (a header's
 * value may be as long as the frontend's header limit allows), and memory stays bounded by the
 * characters held, not only by the number of buckets. An expired entry is never used again; it leaves the table within
 * about a second (Caffeine's timer wheel resolution, 2^30 ns) after its expiry. Expiry reads the proxy's clock; Caffeine's maintenance runs on the
 * calling thread, a little at a time.
 */
public final class GcraRateLimiter implements RateLimiter {

    /** The characters of a key that weigh as much as a bucket of its own. */
    public static final int KEY_CHARS_PER_BUCKET = 128;

    private final Cache<Bucket, AtomicLong> buckets;

    /**
     * A limiter on {@code clock} remembering at most {@code maxKeys} buckets, a bucket counting one
     * more per {@value #KEY_CHARS_PER_BUCKET} characters of its key.
     */
    public GcraRateLimiter(Clock clock, long maxKeys) {
        // a key too long for the table alone still weighs no more than the table holds: it is kept,
        // and alone, rather than dropped at once, which would leave it unlimited
        int heaviest = (int) Math.min(maxKeys, Integer.MAX_VALUE);
        this.buckets = Caffeine.newBuilder()
                .maximumWeight(maxKeys)
                .weigher((Bucket bucket, AtomicLong tat) -> Math.min(heaviest, 1 + bucket.key.length() / KEY_CHARS_PER_BUCKET))
                .expireAfter(new IdleExpiry())
                .ticker(clock::nanoTime)
                .executor(Runnable::run)
                .build();
    }

    @Override
    public long tryAcquire(RateLimit limit, String key, long nowNanos) {
        Bucket bucket = new Bucket(limit, key);
        AtomicLong tat = buckets.getIfPresent(bucket);
        if (tat == null) {
            AtomicLong fresh = new AtomicLong(nowNanos);
            tat = buckets.asMap().putIfAbsent(bucket, fresh);
            if (tat == null) {
                tat = fresh;
            }
        }
        long interval = limit.intervalNanos();
        long tolerance = limit.refillNanos() - interval;
        for (;;) {
            long t = tat.get();
            long base = t - nowNanos > 0 ? t : nowNanos;
            long ahead = base - nowNanos;
            if (ahead > tolerance) {
                return ahead - tolerance;
            }
            if (tat.compareAndSet(t, base + interval)) {
                return 0;
            }
        }
    }

    /** The number of buckets remembered, after expired and excess ones are dropped. */
    public long size() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    /** The characters of the keys of the buckets remembered, after expired and excess ones are dropped. */
    public long keyChars() {
        buckets.cleanUp();
        long chars = 0;
        for (Bucket b : buckets.asMap().keySet()) {
            chars += b.key.length();
        }
        return chars;
    }

    /** A limit and a key: one bucket. */
    private record Bucket(RateLimit limit, String key) {
    }

    /** Expires a bucket after its limit's refill time without use. */
    private static final class IdleExpiry implements Expiry<Bucket, AtomicLong> {
        @Override
        public long expireAfterCreate(Bucket bucket, AtomicLong tat, long currentTime) {
            return bucket.limit.refillNanos();
        }

        @Override
        public long expireAfterUpdate(Bucket bucket, AtomicLong tat, long currentTime, long currentDuration) {
            return bucket.limit.refillNanos();
        }

        @Override
        public long expireAfterRead(Bucket bucket, AtomicLong tat, long currentTime, long currentDuration) {
            return bucket.limit.refillNanos();
        }
    }
}
