package io.lodestone.core.limit;

import io.lodestone.core.Clock;
import io.lodestone.core.limit.internal.GcraRateLimiter;
import java.util.Objects;

/**
 * The built-in {@link RateLimiter}: token buckets in this process's memory.
 *
 * <pre>{@code
 * RateLimiter limiter = RateLimiters.inMemory(proxyClock);
 * }</pre>
 */
public final class RateLimiters {

    /** How many buckets {@link #inMemory(Clock)} remembers at most. */
    public static final long DEFAULT_MAX_KEYS = 100_000;

    private RateLimiters() {
    }

    /**
     * An in-memory limiter remembering up to {@link #DEFAULT_MAX_KEYS} buckets; see {@link #inMemory(Clock,
     * long)}.
     *
     * @param clock the clock the buckets read
     * @return an in-memory limiter remembering up to {@link #DEFAULT_MAX_KEYS} buckets; see {@link
     *     #inMemory(Clock, long)}
     */
    public static RateLimiter inMemory(Clock clock) {
        return inMemory(clock, DEFAULT_MAX_KEYS);
    }

    /**
     * An in-memory limiter: one bucket per (limit, key), kept as the single time stamp of the
     * generic cell rate algorithm (a token bucket without a refill timer) and updated with a
     * compare-and-set, so deciding takes no lock. Buckets live in a bounded table that forgets a
     * bucket once it has not been used for as long as it takes to refill completely (it would be full
     * again anyway), on {@code clock}; beyond {@code maxKeys} buckets the least useful are forgotten
     * first, which gives their keys a full bucket again; a bucket whose key is long counts as one more
     * per 128 characters of its key. So memory stays bounded however many distinct keys clients send,
     * and however long. About 150 bytes a bucket.
     *
     * @param clock the clock the buckets read
     * @param maxKeys the most buckets remembered
     * @return an in-memory limiter: one bucket per (limit, key), kept as the single time stamp of the generic
     *     cell rate algorithm (a token bucket without a refill timer) and updated with a compare-and-set, so
     *     deciding takes no lock
     * @throws IllegalArgumentException when {@code maxKeys} is below 1
     */
    public static RateLimiter inMemory(Clock clock, long maxKeys) {
        Objects.requireNonNull(clock, "clock");
        if (maxKeys < 1) {
            throw new IllegalArgumentException("rate limiter maxKeys: " + maxKeys + " (expected: >= 1)");
        }
        return new GcraRateLimiter(clock, maxKeys);
    }
}
