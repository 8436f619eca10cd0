package io.lodestone.core.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lodestone.core.Clock;
import java.time.Duration;

/**
 * A backend's source-address stick table: client affinity hash to server, expiring after access on
 * the proxy's clock, bounded in size. Lookups and updates are Caffeine's lock-free reads and striped
 * writes; maintenance runs on the calling thread, a little at a time, so no other thread is needed.
 */
final class StickTable {

    private final Cache<Long, ServerRuntime> entries;

    StickTable(Duration expiry, int maxEntries, Clock clock) {
        this.entries = Caffeine.newBuilder()
                .expireAfterAccess(expiry)
                .maximumSize(maxEntries)
                .ticker(clock::nanoTime)
                .executor(Runnable::run)
                .build();
    }

    /** The server stuck to this client, or {@code null}. */
    ServerRuntime get(long client) {
        return entries.getIfPresent(client);
    }

    /** Sticks the client to {@code server}. */
    void put(long client, ServerRuntime server) {
        entries.put(client, server);
    }

    /** The number of clients remembered, after expired and excess entries are dropped. */
    long size() {
        entries.cleanUp();
        return entries.estimatedSize();
    }
}
