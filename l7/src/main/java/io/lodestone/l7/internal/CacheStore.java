package io.lodestone.l7.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.lodestone.core.Clock;
import io.lodestone.core.internal.CacheStores;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.l7.ResponseCache;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The response cache one frontend keeps for one backend: a caffeine cache bounded by weight (the
 * bytes of body, headers and key), entries expiring on the proxy's clock when they can no longer be
 * used, and the fills in flight by key for request coalescing. Thread-safe; read by every event loop.
 *
 * <p>Keys: {@code METHOD SP host path?query}, plus {@code \n name:value} for each header a
 * {@code Vary} names; the plain key then holds a marker naming those headers.
 */
final class CacheStore implements CacheStores.Store {

    private final String frontend;
    private final String backend;
    final ResponseCache config;
    final long maxEntryBytes;
    /** The header stored responses leave out, the proxy's request id; {@code null} when the frontend gives no ids. */
    final String requestIdHeader;
    /** The status header's name, or {@code null}. */
    final AsciiString statusHeader;
    private final Clock clock;
    private final Cache<String, CachedResponse> cache;
    private final ConcurrentHashMap<String, CacheFill> fills = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder revalidations = new LongAdder();
    private final LongAdder coalesced = new LongAdder();
    private final LongAdder bypasses = new LongAdder();
    private final LongAdder stores = new LongAdder();
    private final LongAdder evictions = new LongAdder();

    CacheStore(String frontend, String backend, ResponseCache config, String requestIdHeader, Clock clock) {
        this.frontend = frontend;
        this.backend = backend;
        this.config = config;
        this.maxEntryBytes = config.maxEntryBytes();
        this.requestIdHeader = requestIdHeader;
        this.statusHeader = config.statusHeader() == null ? null : AsciiString.of(config.statusHeader());
        this.clock = clock;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(config.maxBytes())
                .weigher((String k, CachedResponse v) -> v.weight)
                .expireAfter(new Expiry<String, CachedResponse>() {
                    @Override
                    public long expireAfterCreate(String key, CachedResponse value, long currentTime) {
                        return value.retainNanos(currentTime);
                    }

                    @Override
                    public long expireAfterUpdate(String key, CachedResponse value, long currentTime, long currentDuration) {
                        return value.retainNanos(currentTime);
                    }

                    @Override
                    public long expireAfterRead(String key, CachedResponse value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .ticker(clock::nanoTime)
                // maintenance on the calling loop: the bound holds when put returns
                .executor(Runnable::run)
                .evictionListener((String k, CachedResponse v, RemovalCause cause) -> {
                    if (cause == RemovalCause.SIZE) {
                        evictions.increment();
                    }
                })
                .build();
    }

    /** The plain key of a request: method, host (lower case) and the target as forwarded. */
    static String primaryKey(String method, String host, String target) {
        String h = host == null ? "" : host.toLowerCase(Locale.ROOT);
        return new StringBuilder(method.length() + h.length() + target.length() + 1)
                .append(method).append(' ').append(h).append(target).toString();
    }

    /** The part of a key that the values of the Vary-named request headers make. */
    static String secondaryKey(String[] varyNames, HttpHeaders request) {
        StringBuilder sb = new StringBuilder();
        for (String name : varyNames) {
            sb.append('\n').append(name).append(':');
            List<String> values = request.getAll(name);
            for (int i = 0; i < values.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(values.get(i).trim());
            }
        }
        return sb.toString();
    }

    /** The key to look a request up under: the plain key, or with the Vary values when its responses vary. */
    String lookupKey(String primary, HttpHeaders request) {
        CachedResponse m = cache.getIfPresent(primary);
        return m != null && m.isMarker() ? primary + secondaryKey(m.varyNames, request) : primary;
    }

    /** Whatever is stored under a key: a response, a Vary marker, or {@code null}. */
    CachedResponse peek(String key) {
        return cache.getIfPresent(key);
    }

    /** The stored response under a full key, or {@code null}. */
    CachedResponse get(String key) {
        CachedResponse e = cache.getIfPresent(key);
        return e == null || e.isMarker() ? null : e;
    }

    /** The fill in flight for a key, or {@code null}. */
    CacheFill inFlight(String key) {
        return fills.get(key);
    }

    /** Starts a fill of {@code key}; {@code null} when another request started one first. */
    CacheFill startFill(String key, String primary, CachedResponse stale, long requestNanos) {
        CacheFill f = new CacheFill(this, key, primary, stale, requestNanos);
        return fills.putIfAbsent(key, f) == null ? f : null;
    }

    void fillEnded(CacheFill fill) {
        fills.remove(fill.lookupKey, fill);
    }

    void put(String primary, String key, String[] varyNames, CachedResponse entry) {
        if (varyNames.length > 0) {
            CachedResponse m = cache.getIfPresent(primary);
            if (m == null || !m.isMarker() || !Arrays.equals(m.varyNames, varyNames)) {
                cache.put(primary, CachedResponse.marker(varyNames, primary.length()));
            }
        }
        if (entry.weight <= config.maxBytes()) {
            cache.put(key, entry);
            stores.increment();
        }
    }

    /** Removes the response stored under a full key. */
    void remove(String key) {
        cache.invalidate(key);
    }

    void hit() {
        hits.increment();
    }

    void miss() {
        misses.increment();
    }

    void revalidated() {
        revalidations.increment();
    }

    void coalesced() {
        coalesced.increment();
    }

    void bypassed() {
        bypasses.increment();
    }

    /**
     * Removes the stored responses to GET and HEAD of one URL, every Vary variant included: what an
     * unsafe request's non-error response does to the cache (RFC 9111 4.4). A URL whose responses
     * vary costs a scan of the keys; a plain one, two removals. The fills of the URL in flight are
     * marked first, so that a response that left the server before the change is not stored after it
     * ({@link CacheFill#finish}); that costs a look at each fill in flight.
     *
     * @return the responses removed
     */
    int invalidate(String host, String target) {
        String get = primaryKey("GET", host, target);
        String head = primaryKey("HEAD", host, target);
        if (!fills.isEmpty()) {
            for (CacheFill f : fills.values()) {
                if (f.primaryKey.equals(get) || f.primaryKey.equals(head)) {
                    f.invalidate();
                }
            }
        }
        return invalidateKey(get) + invalidateKey(head);
    }

    private int invalidateKey(String primary) {
        CachedResponse e = cache.asMap().remove(primary);
        if (e == null) {
            return 0;
        }
        if (!e.isMarker()) {
            return 1;
        }
        int n = 0;
        for (String k : cache.asMap().keySet()) {
            if (k.length() > primary.length() && k.charAt(primary.length()) == '\n' && k.startsWith(primary)
                    && cache.asMap().remove(k) != null) {
                n++;
            }
        }
        return n;
    }

    /** The key a user names in a purge: the stored key without its method and Vary part. */
    private static boolean purgeMatch(String stored, String userKey, boolean prefix) {
        int space = stored.indexOf(' ');
        int end = stored.indexOf('\n');
        int keyEnd = end < 0 ? stored.length() : end;
        int len = keyEnd - space - 1;
        if (prefix) {
            return len >= userKey.length() && stored.startsWith(userKey, space + 1);
        }
        return len == userKey.length() && stored.startsWith(userKey, space + 1);
    }

    @Override
    public int purge(String key) {
        return purgeMatching(key, false);
    }

    @Override
    public int purgePrefix(String prefix) {
        return purgeMatching(prefix, true);
    }

    /**
     * Removes the stored responses whose key matches; the fills in flight that match are marked first,
     * so that a response the server sent before the purge is not stored after it (as in {@link #invalidate}).
     */
    private int purgeMatching(String key, boolean prefix) {
        for (CacheFill f : fills.values()) {
            if (purgeMatch(f.lookupKey, key, prefix)) {
                f.invalidate();
            }
        }
        int n = 0;
        for (String k : cache.asMap().keySet()) {
            if (purgeMatch(k, key, prefix)) {
                CachedResponse removed = cache.asMap().remove(k);
                if (removed != null && !removed.isMarker()) {
                    n++;
                }
            }
        }
        return n;
    }

    @Override
    public CacheSnapshot snapshot() {
        cache.cleanUp();
        long bytes = cache.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
        return new CacheSnapshot(frontend, backend, hits.sum(), misses.sum(), revalidations.sum(), coalesced.sum(), bypasses.sum(),
                stores.sum(), evictions.sum(), cache.estimatedSize(), bytes, config.maxBytes());
    }

    /** The proxy's clock, for the handler's freshness checks. */
    Clock clock() {
        return clock;
    }

    @Override
    public String toString() {
        return "CacheStore{" + frontend + "/" + backend + " " + config + "}";
    }
}
