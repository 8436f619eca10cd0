package io.lodestone.core.metrics;

/**
 * The figures of one HTTP response cache: the cache one frontend keeps for one backend.
 *
 * @param frontend the frontend's name
 * @param backend the backend's name
 * @param hits requests answered from the cache without asking the backend (coalesced ones included)
 * @param misses cacheable requests sent to the backend because nothing usable was stored
 * @param revalidations stale responses the backend confirmed with {@code 304 Not Modified}
 * @param coalesced requests that waited for another request's fill of the same key instead of asking the backend
 * @param bypasses requests the cache could not answer by rule (method, {@code Authorization}, {@code Range}, {@code no-store})
 * @param stores responses stored (revalidated ones included)
 * @param evictions responses removed to keep the cache within its size
 * @param entries stored responses now
 * @param bytes the weight of the stored responses now, in bytes
 * @param maxBytes the configured bound on {@code bytes}
 */
public record CacheSnapshot(String frontend, String backend, long hits, long misses, long revalidations, long coalesced,
        long bypasses, long stores, long evictions, long entries, long bytes, long maxBytes) {
}
