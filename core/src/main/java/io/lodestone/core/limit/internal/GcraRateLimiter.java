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
 * most {@code maxKeys} entries. An expired entry is never used again; it leaves the table within
 * about a second (Caffeine's timer wheel resolution, 2^30 ns) after its expiry. Expiry reads the proxy's clock; Caffeine's maintenance runs on the
 * calling thread, a little at a time.
 */
public final class GcraRateLimiter implements RateLimiter {

    private final Cache<Bucket, AtomicLong> buckets;

    /** A limiter on {@code clock} remembering at most {@code maxKeys} buckets. */
    public GcraRateLimiter(Clock clock, long maxKeys) {
        this.buckets = Caffeine.newBuilder()
                .maximumSize(maxKeys)
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
