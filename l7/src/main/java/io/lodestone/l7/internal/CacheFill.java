package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One backend response being copied into the cache while it streams to its client, and the requests
 * for the same key waiting for it (request coalescing). The copy lives on the filling client's event
 * loop; only the waiters are shared, in a lock-free stack closed when the fill ends.
 */
final class CacheFill {

    /** A request waiting for the fill; {@link #run()} is called once, from the filling loop, when it ends. */
    private static final class Waiter {
        final Runnable wake;
        final Waiter next;

        Waiter(Runnable wake, Waiter next) {
            this.wake = wake;
            this.next = next;
        }
    }

    private static final Waiter DONE = new Waiter(null, null);
    private static final int INITIAL_CAPACITY = 8192;

    final CacheStore store;
    /** The key the fill is registered under for coalescing. */
    final String lookupKey;
    /** The key without Vary values. */
    final String primaryKey;
    /** The stale response being revalidated, or {@code null}. */
    final CachedResponse stale;
    private final long requestNanos;
    private final AtomicReference<Waiter> waiters = new AtomicReference<>();
    /**
     * Set (from any loop) when an unsafe request's success invalidated this URL, or a purge matched it,
     * while the fill was in flight: its response may predate that change, so it is not kept.
     */
    private volatile boolean invalidated;
    /** The key a response was stored under by this fill, or {@code null}. */
    private String storedKey;

    private boolean storable;
    private boolean complete;
    private int status;
    private HttpHeaders headers;
    private String storeKey;
    private String[] varyNames;
    private long contentLength;
    private byte[] body;
    private int size;

    CacheFill(CacheStore store, String lookupKey, String primaryKey, CachedResponse stale, long requestNanos) {
        this.store = store;
        this.lookupKey = lookupKey;
        this.primaryKey = primaryKey;
        this.stale = stale;
        this.requestNanos = requestNanos;
    }

    /**
     * Registers a request that waits for this fill; {@code false} when the fill has ended already
     * (the caller looks the key up again).
     */
    boolean await(Runnable wake) {
        for (;;) {
            Waiter head = waiters.get();
            if (head == DONE) {
                return false;
            }
            if (waiters.compareAndSet(head, new Waiter(wake, head))) {
                return true;
            }
        }
    }

    /**
     * The response head arrived (hop-by-hop headers already removed): decides whether it can be
     * stored and copies its end-to-end headers if so; if not, lets the waiters go ({@link #release}).
     */
    void response(int code, HttpHeaders h, HttpHeaders requestHeaders, boolean headRequest) {
        head(code, h, requestHeaders, headRequest);
        if (!storable) {
            release();
        }
    }

    private void head(int code, HttpHeaders h, HttpHeaders requestHeaders, boolean headRequest) {
        if (!CachePolicy.isUnderstoodStatus(code) || h.contains(HttpHeaderNames.SET_COOKIE)) {
            return;
        }
        CachePolicy.Directives d = CachePolicy.Directives.of(h);
        if (d.noStore || d.isPrivate) {
            return;
        }
        // RFC 9111 3: explicit freshness, public, or a heuristically cacheable status lets it be stored;
        // the Last-Modified heuristic counts only for the last two (4.2.2)
        boolean explicit = d.sMaxAge >= 0 || d.maxAge >= 0 || h.contains(HttpHeaderNames.EXPIRES);
        boolean heuristic = CachePolicy.allowsHeuristic(code, d);
        if (!explicit && !heuristic) {
            return;
        }
        boolean validators = h.contains(HttpHeaderNames.ETAG) || h.contains(HttpHeaderNames.LAST_MODIFIED);
        boolean lifetime = explicit || heuristic && h.contains(HttpHeaderNames.LAST_MODIFIED);
        if (d.noCache ? !validators : !lifetime) {
            return;
        }
        long length = contentLength(h);
        if (headRequest ? length < 0 : length > store.maxEntryBytes) {
            return;
        }
        String[] vary = varyNames(h);
        if (vary == null) {
            return;
        }
        storeKey = vary.length == 0 ? primaryKey : primaryKey + CacheStore.secondaryKey(vary, requestHeaders);
        varyNames = vary;
        status = code;
        contentLength = headRequest ? length : -1;
        headers = CachedResponse.endToEnd(h, store.requestIdHeader);
        if (!headRequest) {
            body = new byte[(int) Math.min(length >= 0 ? Math.max(length, 1) : INITIAL_CAPACITY, store.maxEntryBytes)];
        } else {
            body = new byte[0];
        }
        storable = true;
    }

    /**
     * Copies a piece of the body; a body growing beyond the entry limit is given up (it streams on)
     * and the waiters let go.
     */
    void content(ByteBuf piece, boolean last) {
        if (!storable) {
            return;
        }
        int n = piece.readableBytes();
        if (n > 0) {
            if ((long) size + n > store.maxEntryBytes) {
                storable = false;
                body = null;
                headers = null;
                release();
                return;
            }
            if (size + n > body.length) {
                body = Arrays.copyOf(body, (int) Math.min(store.maxEntryBytes, Math.max((long) body.length * 2, size + n)));
            }
            piece.getBytes(piece.readerIndex(), body, size, n);
            size += n;
        }
        if (last) {
            complete = true;
        }
    }

    /** Whether the response is still being copied for the cache: storable by its head, and its body within the entry limit. */
    boolean storing() {
        return storable;
    }

    /**
     * Lets the waiters go once the response turns out not storable (by its head, or by a body grown
     * past the entry limit), on the filling loop: the fill is no longer found under its key, and
     * each waiter goes to the backend itself. They were woken only when the fill ended, so every
     * request for a large file waited for the whole body to reach the first client, as long as that
     * client took to read it (a slow one, or one that stops reading, held them all until a timeout).
     */
    private void release() {
        store.fillEnded(this);
        for (Waiter w = waiters.getAndSet(DONE); w != null && w != DONE; w = w.next) {
            w.wake.run();
        }
    }

    /**
     * Ends the fill, on the filling loop, whatever happened: stores the response when it was
     * storable and complete, then wakes every waiter (those still waiting: see {@link #release}).
     */
    void finish(long responseNanos, long responseMillis) {
        if (storable && complete && !invalidated) {
            byte[] b = size == body.length ? body : Arrays.copyOf(body, size);
            store.put(primaryKey, storeKey, varyNames, CachedResponse.of(status, headers, b, contentLength >= 0 ? contentLength : size,
                    varyNames, storeKey.length(), requestNanos, responseNanos, responseMillis));
            storedKey = storeKey;
        }
        // stored before the fill leaves the in-flight map, checked again after: an invalidation either
        // finds the fill there and marks it, or comes after the store and removes what it stored
        store.fillEnded(this);
        if (storedKey != null && invalidated) {
            store.remove(storedKey);
        }
        body = null;
        headers = null;
        for (Waiter w = waiters.getAndSet(DONE); w != null && w != DONE; w = w.next) {
            w.wake.run();
        }
    }

    /**
     * Ends a revalidation the backend answered with 304: stores the refreshed response and returns it;
     * one the 304 made {@code no-store}, {@code private} or {@code Vary: *}, or whose {@code Vary} it
     * changed (the response is keyed by the headers its old one named), is removed instead (it still
     * answers the request that revalidated it).
     */
    CachedResponse revalidated(HttpHeaders notModified, long responseNanos, long responseMillis) {
        CachedResponse fresh = stale.refreshed(notModified, store.requestIdHeader, lookupKey.length(), requestNanos, responseNanos,
                responseMillis);
        boolean sameVary = !notModified.contains(HttpHeaderNames.VARY) || Arrays.equals(varyNames(notModified), stale.varyNames);
        if (fresh.storable && sameVary && !invalidated) {
            store.put(primaryKey, lookupKey, stale.varyNames, fresh);
            storedKey = lookupKey;
        } else {
            store.remove(lookupKey);
        }
        return fresh;
    }

    /** Marks the fill invalidated (an unsafe request's success on its URL, RFC 9111 4.4, or a purge); any loop. */
    void invalidate() {
        invalidated = true;
    }

    private static long contentLength(HttpHeaders h) {
        String v = h.get(HttpHeaderNames.CONTENT_LENGTH);
        if (v == null) {
            return -1;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The lower-case names of the response's Vary headers; empty without Vary, {@code null} for {@code Vary: *}. */
    private static String[] varyNames(HttpHeaders h) {
        if (!h.contains(HttpHeaderNames.VARY)) {
            return new String[0];
        }
        StringBuilder all = new StringBuilder();
        for (String v : h.getAll(HttpHeaderNames.VARY)) {
            all.append(v).append(',');
        }
        String[] parts = all.toString().split(",");
        int n = 0;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim().toLowerCase(Locale.ROOT);
            if (p.equals("*")) {
                return null;
            }
            if (!p.isEmpty()) {
                parts[n++] = p;
            }
        }
        return Arrays.copyOf(parts, n);
    }
}
