package io.lodestone.core.limit;

/**
 * Keeps the token buckets of {@link RateLimit}s and takes one token per request. The proxy calls
 * {@link #tryAcquire} for every request a rate-limiting rule matches, on the request's event loop;
 * {@link RateLimiters#inMemory(io.lodestone.core.Clock)} is the default, set another with
 * {@link io.lodestone.core.Proxy.Builder#rateLimiter(RateLimiter)}.
 *
 * <pre>{@code
 * Proxy.builder()
 *     .rateLimiter(RateLimiters.inMemory(Clock.system(), 200_000))   // remember up to 200 000 keys
 *     .frontend(HttpFrontend.bind(8080)
 *         .rule(Rule.always().rateLimit(RateLimit.perSecond(100).burst(200)))
 *         .defaultBackend("app"))
 * }</pre>
 *
 * <h2>Contract</h2>
 * <ul>
 * <li>Thread-safe and non-blocking: it runs on the proxy's I/O threads, so it must neither wait for
 *     a lock held across I/O nor for the network.</li>
 * <li>A bucket is named by the pair ({@code limit}, {@code key}). Equal limits ({@link RateLimit#equals})
 *     share their buckets; {@link RateLimit#name()} is the text a store shared across processes can
 *     prefix its keys with. It is stable across processes for a limit given a
 *     {@linkplain RateLimit#name(String) name}, and for an unnamed one keyed by source or header; an
 *     unnamed {@link RateLimit#byKey byKey} limit's text names its function object (the lambda's class
 *     and identity, which differ from one process, or run, to the next), and two equal limits may
 *     describe themselves differently ({@code perSecond(1)}, {@code of(2, 2 s).burst(1)}): name the
 *     limits such a store counts, one name per limit.</li>
 * <li>Returns 0 when a token was taken (the request goes on), otherwise how many nanoseconds remain
 *     until one would be available (the proxy answers 429 with {@code Retry-After} rounded up to
 *     whole seconds). A rejected request takes no token.</li>
 * </ul>
 *
 * <h2>Sharing the counts between proxies (design)</h2>
 * Several instances behind one address can enforce one limit together by backing the buckets with a
 * store they share (Redis, Memcached, a database with atomic updates), never with a protocol of
 * their own. Since {@code tryAcquire} must not block, such an implementation decides locally and
 * reconciles in the background:
 * <ol>
 * <li>Each instance keeps a local bucket per key (an in-memory limiter) and decides from it at once.</li>
 * <li>Per key it counts the tokens taken since the last exchange and, every few hundred
 *     milliseconds (or once a local count reaches a share of the burst), adds them to the store
 *     atomically (Redis {@code INCRBY} on a key named from {@link RateLimit#name()} and the bucket
 *     key, expiring after a window) and reads back the total of every instance.</li>
 * <li>When the shared total shows the key over its limit, the instance marks its local bucket
 *     empty until the store's window ends, so every instance rejects the key.</li>
 * </ol>
 * The limit then holds across the fleet within one exchange interval's worth of requests, and a
 * store outage degrades to per-instance limits instead of stopping traffic. The {@code nowNanos}
 * argument is the proxy's monotonic {@link io.lodestone.core.Clock#nanoTime()}: meaningful only as a
 * difference within one process, so a shared implementation must not compare it across processes
 * (it uses the store's time, or wall-clock windows, for what it shares).
 */
@FunctionalInterface
public interface RateLimiter {

    /**
     * Takes a token from the bucket of {@code key} under {@code limit}, if one is available at
     * {@code nowNanos}.
     *
     * @param limit the limit the rule applies
     * @param key the bucket's key within the limit (a source address, a header value, a custom key)
     * @param nowNanos the proxy clock's {@link io.lodestone.core.Clock#nanoTime()}
     * @return 0 when the token was taken; otherwise the nanoseconds until one will be available (&gt; 0)
     */
    long tryAcquire(RateLimit limit, String key, long nowNanos);
}
