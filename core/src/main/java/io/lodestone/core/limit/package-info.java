/**
 * Rate limiting: a {@link io.lodestone.core.limit.RateLimit} (a token bucket: rate, burst and what
 * keys the bucket) that a {@link io.lodestone.core.route.Rule} applies with
 * {@link io.lodestone.core.route.Rule.Builder#rateLimit(RateLimit)}, and the
 * {@link io.lodestone.core.limit.RateLimiter} SPI that keeps the buckets: in memory by default
 * ({@link io.lodestone.core.limit.RateLimiters#inMemory(io.lodestone.core.Clock)}), or in a store
 * shared by several proxies.
 */
package io.lodestone.core.limit;
