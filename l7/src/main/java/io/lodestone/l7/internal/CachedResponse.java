package io.lodestone.l7.internal;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Iterator;
import java.util.Map;

/**
 * One stored response, immutable once published: status, end-to-end headers (no framing, no
 * {@code Age}), body, and what its freshness is computed from (RFC 9111 4.2.3). A response with
 * {@code Vary} is stored under a key that includes the varying request headers, beside a body-less
 * marker under the plain key that names them.
 */
final class CachedResponse {

    /** How long a stale response with validators is kept for revalidation after it stops being fresh. */
    static final long STALE_RETENTION_NANOS = 3600L * 1_000_000_000L;
    private static final String[] NO_VARY = new String[0];

    final int status;
    final HttpHeaders headers;
    /** The body; {@code null} for a Vary marker. */
    final byte[] body;
    /** The Content-Length to announce: the body's length, or for a stored HEAD response its header (-1: none). */
    final long contentLength;
    final long responseNanos;
    final long initialAgeMillis;
    final long lifetimeMillis;
    final boolean noCache;
    /**
     * Whether the response forbids being served stale even to a client that accepts it
     * ({@code must-revalidate}, {@code proxy-revalidate}, {@code s-maxage}: RFC 9111 5.2.2.2, 5.2.2.8, 5.2.2.10).
     */
    final boolean mustRevalidate;
    /**
     * Whether a shared cache may keep it: not {@code no-store}, {@code private} or {@code Vary: *}, which
     * a response the cache took in never says, but the {@code 304} that refreshes it can (RFC 9111 3, 4.3.4).
     */
    final boolean storable;
    final String etag;
    final long lastModified;
    final String[] varyNames;
    final int weight;

    private CachedResponse(int status, HttpHeaders headers, byte[] body, long contentLength, long responseNanos,
            long initialAgeMillis, long lifetimeMillis, boolean noCache, boolean mustRevalidate, boolean storable, String[] varyNames,
            int keyLength) {
        this.status = status;
        this.headers = headers;
        this.body = body;
        this.contentLength = contentLength;
        this.responseNanos = responseNanos;
        this.initialAgeMillis = initialAgeMillis;
        this.lifetimeMillis = lifetimeMillis;
        this.noCache = noCache;
        this.mustRevalidate = mustRevalidate;
        this.storable = storable;
        this.etag = headers.get(HttpHeaderNames.ETAG);
        this.lastModified = CachePolicy.date(headers, HttpHeaderNames.LAST_MODIFIED);
        this.varyNames = varyNames;
        long w = 128L + 2L * keyLength + (body == null ? 0 : body.length);
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext();) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            w += 32 + e.getKey().length() + e.getValue().length();
        }
        this.weight = (int) Math.min(Integer.MAX_VALUE, w);
    }

    /** The marker under a plain key naming the request headers its responses vary on. */
    static CachedResponse marker(String[] varyNames, int keyLength) {
        return new CachedResponse(0, new DefaultHttpHeaders(), null, -1, 0, 0, 0, true, true, true, varyNames, keyLength);
    }

    /**
     * A response as received: {@code stored} is its end-to-end headers (a private copy, given up to
     * this entry), timed by the request's send time and the response's arrival on the proxy's clock.
     */
    static CachedResponse of(int status, HttpHeaders stored, byte[] body, long contentLength, String[] varyNames, int keyLength,
            long requestNanos, long responseNanos, long responseMillis) {
        CachePolicy.Directives d = CachePolicy.Directives.of(stored);
        long date = CachePolicy.date(stored, HttpHeaderNames.DATE);
        if (date == Long.MIN_VALUE) {
            date = responseMillis;
            stored.set(HttpHeaderNames.DATE, CachePolicy.formatDate(responseMillis));
        }
        long apparentAge = Math.max(0, responseMillis - date);
        long correctedAge = CachePolicy.age(stored) * 1000 + Math.max(0, (responseNanos - requestNanos) / 1_000_000);
        stored.remove(HttpHeaderNames.AGE);
        long lifetime = d.noCache ? 0 : Math.max(0, CachePolicy.lifetimeMillis(status, d, stored, date));
        return new CachedResponse(status, stored, body, contentLength, responseNanos, Math.max(apparentAge, correctedAge), lifetime,
                d.noCache, d.mustRevalidate || d.sMaxAge >= 0,
                !d.noStore && !d.isPrivate && !stored.containsValue(HttpHeaderNames.VARY, "*", false),
                varyNames == null ? NO_VARY : varyNames, keyLength);
    }

    /**
     * This response freshened by a {@code 304} (RFC 9111 4.3.4): its headers updated with the 304's
     * end-to-end headers, timed anew. Framing and {@code Set-Cookie} are left out: a cookie in the 304
     * is for the client whose request was revalidated, and stored it would be sent to every later one.
     * The result may no longer be {@link #storable}.
     */
    CachedResponse refreshed(HttpHeaders notModified, String requestIdHeader, int keyLength, long requestNanos, long responseNanos,
            long responseMillis) {
        HttpHeaders merged = new DefaultHttpHeaders().set(headers);
        // a 304 without a Date is dated when it arrives, not by the stored response's Date
        merged.remove(HttpHeaderNames.DATE);
        for (String name : notModified.names()) {
            if (!isFraming(name) && !name.equalsIgnoreCase(requestIdHeader) && !isSetCookie(name)) {
                merged.set(name, notModified.getAll(name));
            }
        }
        return of(status, merged, body, contentLength, varyNames, keyLength, requestNanos, responseNanos, responseMillis);
    }

    /**
     * Copies a response's end-to-end headers, leaving out framing and the proxy's request id
     * ({@code requestIdHeader}, {@code null} when there is none).
     */
    static HttpHeaders endToEnd(HttpHeaders h, String requestIdHeader) {
        HttpHeaders copy = new DefaultHttpHeaders();
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence(); it.hasNext();) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            String name = e.getKey().toString();
            if (!isFraming(name) && !name.equalsIgnoreCase(requestIdHeader)) {
                copy.add(name, e.getValue());
            }
        }
        return copy;
    }

    private static boolean isSetCookie(String name) {
        return name.equalsIgnoreCase("set-cookie") || name.equalsIgnoreCase("set-cookie2");
    }

    private static boolean isFraming(String name) {
        return name.equalsIgnoreCase("content-length") || name.equalsIgnoreCase("transfer-encoding")
                || name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
    }

    boolean isMarker() {
        return body == null;
    }

    /** The current age in milliseconds at {@code nowNanos}. */
    long ageMillis(long nowNanos) {
        return initialAgeMillis + Math.max(0, nowNanos - responseNanos) / 1_000_000;
    }

    boolean isFresh(long nowNanos) {
        return !noCache && ageMillis(nowNanos) < lifetimeMillis;
    }

    /**
     * Whether this response may answer a request whose {@code Cache-Control} directives are
     * {@code request} ({@code null}: none) without contacting the server (RFC 9111 4.2, 5.2.1): it is
     * fresh, no older than the request's {@code max-age} (in the whole seconds {@code Age} shows)
     * and fresh for at least its {@code min-fresh} more seconds; or, when the request has
     * {@code max-stale}, stale by no more than that and the response does not forbid it. A request's
     * {@code no-cache} is not checked here: the caller does not ask.
     */
    boolean satisfies(long nowNanos, CachePolicy.Directives request) {
        if (noCache) {
            return false;
        }
        long age = ageMillis(nowNanos);
        long freshLeft = lifetimeMillis - age;
        if (request == null) {
            return freshLeft > 0;
        }
        if (request.maxAge >= 0 && age / 1000 > request.maxAge || request.minFresh >= 0 && freshLeft < request.minFresh * 1000) {
            return false;
        }
        return freshLeft > 0 || request.maxStale >= 0 && !mustRevalidate && -freshLeft <= request.maxStale * 1000;
    }

    boolean hasValidators() {
        return etag != null || lastModified != Long.MIN_VALUE;
    }

    /** How long, from {@code nowNanos}, the cache keeps this entry: while fresh, and for revalidation a while after. */
    long retainNanos(long nowNanos) {
        if (isMarker()) {
            return Long.MAX_VALUE;
        }
        long freshLeft = Math.max(0, lifetimeMillis - ageMillis(nowNanos));
        long nanos = freshLeft >= Long.MAX_VALUE / 2_000_000 ? Long.MAX_VALUE / 2 : freshLeft * 1_000_000;
        return hasValidators() ? nanos + STALE_RETENTION_NANOS : nanos;
    }
}
