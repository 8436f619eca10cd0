package io.lodestone.l7;

import io.lodestone.core.internal.Names;
import java.util.Locale;
import java.util.Set;

/**
 * An in-memory HTTP response cache for the backends of an {@link HttpFrontend} (opt-in, see
 * {@link HttpFrontend.Builder#cache(ResponseCache)}), with the semantics of a shared cache (RFC 9111).
 * Immutable configuration: each frontend keeps one store per cached backend, bounded by
 * {@link #maxBytes()} and emptied when the frontend stops or is reconfigured with another cache.
 *
 * <pre>{@code
 * HttpFrontend.bind(8080)
 *     .defaultBackend("static")
 *     .cache("static", ResponseCache.builder()
 *         .maxBytes(64 * 1024 * 1024)
 *         .maxEntryBytes(1024 * 1024)
 *         .statusHeader("X-Cache"))
 * }</pre>
 *
 * <p>What is stored: responses to {@code GET} and {@code HEAD} without {@code Authorization} or
 * {@code Range}, without {@code no-store}, {@code private}, {@code Set-Cookie} or {@code Vary: *},
 * with a freshness lifetime ({@code s-maxage}, {@code max-age}, {@code Expires}, or 10 % of the age
 * of {@code Last-Modified} up to a day) or {@code no-cache} and a validator, and of at most
 * {@link #maxEntryBytes()}. A status cacheable by default (200, 203, 204, 300, 301, 308, 404, 405,
 * 410, 414, 501) is enough; another registered status about the URL (302, 307, 403, 500, ...) needs
 * explicit freshness or {@code public}, and only {@code public} lets it use the {@code Last-Modified}
 * heuristic (RFC 9111 3, 4.2.2); unregistered statuses, {@code 206}, {@code 304} and the statuses
 * about the connection or the request itself (408, 412, 429, ...) are never stored. The key is the method, the {@code Host} and the path and query as
 * forwarded, and the values of the request headers the response's {@code Vary} names.
 *
 * <p>How it answers: a fresh response is served with its {@code Age}, or {@code 304} when it is a
 * {@code 2xx} and the client's {@code If-None-Match} / {@code If-Modified-Since} matches; a stale one is revalidated with
 * the backend ({@code If-None-Match} / {@code If-Modified-Since} from its validators) and a
 * {@code 304} from the backend refreshes it (a {@code Set-Cookie} in that 304 goes to its client only; a
 * 304 that says {@code no-store}, {@code private} or {@code Vary: *}, or changes the {@code Vary}, ends
 * the stored response). Concurrent misses of one key make one backend request:
 * the others wait for its response and are served from the cache. A response is streamed to its
 * client while it is copied into the cache, never held back; one that turns out larger than
 * {@link #maxEntryBytes()} streams on and is not stored. A request with {@code Cache-Control:
 * no-cache} (or {@code Pragma: no-cache}, or {@code max-age=0}) has the stored response revalidated
 * with the backend first (conditionally when it has validators); one with {@code no-store} bypasses
 * the cache. A request's {@code max-age}, {@code min-fresh} and {@code max-stale} narrow which stored
 * responses may answer it (a stale one only when the response has no {@code must-revalidate},
 * {@code proxy-revalidate} or {@code s-maxage}), and {@code only-if-cached} gets {@code 504} without
 * a backend request when none may (RFC 9111 5.2.1).
 */
public final class ResponseCache {

    private final long maxBytes;
    private final long maxEntryBytes;
    private final String statusHeader;

    private ResponseCache(Builder b) {
        this.maxBytes = b.maxBytes;
        this.maxEntryBytes = b.maxEntryBytes < 0 ? Math.min(Builder.DEFAULT_MAX_ENTRY, b.maxBytes) : b.maxEntryBytes;
        this.statusHeader = b.statusHeader;
    }

    /** {@return a builder; {@link Builder#maxBytes(long)} must be set} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A cache of {@code maxBytes} bytes with the default entry limit and no status header.
     *
     * @param maxBytes the bound on all stored responses, in bytes
     * @return a cache of {@code maxBytes} bytes with the default entry limit and no status header
     */
    public static ResponseCache ofSize(long maxBytes) {
        return builder().maxBytes(maxBytes).build();
    }

    /** {@return the bound on the weight of every stored response together (body, headers and key), in bytes} */
    public long maxBytes() {
        return maxBytes;
    }

    /** {@return the largest body stored; larger responses stream through uncached} */
    public long maxEntryBytes() {
        return maxEntryBytes;
    }

    /**
     * The response header that tells the client what the cache did ({@code HIT}, {@code MISS},
     * {@code EXPIRED}, {@code REVALIDATED} or {@code BYPASS}), or {@code null} when none is added.
     *
     * @return the response header that tells the client what the cache did ({@code HIT}, {@code MISS}, {@code
     *     EXPIRED}, {@code REVALIDATED} or {@code BYPASS}), or {@code null} when none is added
     */
    public String statusHeader() {
        return statusHeader;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResponseCache c && c.maxBytes == maxBytes && c.maxEntryBytes == maxEntryBytes
                && (statusHeader == null ? c.statusHeader == null : statusHeader.equals(c.statusHeader));
    }

    @Override
    public int hashCode() {
        return Long.hashCode(maxBytes) * 31 + Long.hashCode(maxEntryBytes) + (statusHeader == null ? 0 : statusHeader.hashCode());
    }

    @Override
    public String toString() {
        return "ResponseCache{maxBytes=" + maxBytes + ", maxEntryBytes=" + maxEntryBytes
                + (statusHeader == null ? "" : ", statusHeader=" + statusHeader) + "}";
    }

    /** Builds a {@link ResponseCache}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder {
        /** The default {@link #maxEntryBytes(long)}: 1 MiB. */
        static final long DEFAULT_MAX_ENTRY = 1024 * 1024;
        /** The largest {@link #maxEntryBytes(long)}: 1 GiB (a stored body is one array). */
        static final long MAX_ENTRY = 1L << 30;
        private long maxBytes;
        private long maxEntryBytes = -1;
        private String statusHeader;

        Builder() {
        }

        /**
         * Sets the bound on the weight of all stored responses together (required); the least
         * recently and least often used ones are evicted beyond it.
         *
         * @param bytes the bound on the weight of all stored responses together
         * @return this builder
         * @throws IllegalArgumentException when not positive
         */
        public Builder maxBytes(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("cache maxBytes: " + bytes + " (expected: > 0)");
            }
            this.maxBytes = bytes;
            return this;
        }

        /**
         * Sets the largest body stored (default 1 MiB, or {@code maxBytes} when smaller); larger
         * responses stream through uncached.
         *
         * @param bytes the largest body stored
         * @return this builder
         * @throws IllegalArgumentException when not in 1..1 GiB
         */
        public Builder maxEntryBytes(long bytes) {
            if (bytes <= 0 || bytes > MAX_ENTRY) {
                throw new IllegalArgumentException("cache maxEntryBytes: " + bytes + " (expected: 1.." + MAX_ENTRY + ")");
            }
            this.maxEntryBytes = bytes;
            return this;
        }

        /**
         * Adds a response header naming what the cache did for each request ({@code HIT},
         * {@code MISS}, {@code EXPIRED}, {@code REVALIDATED}, {@code BYPASS}), e.g. {@code X-Cache};
         * {@code null} (the default) adds none.
         *
         * @param name a response header naming what the cache did for each request
         * @return this builder
         * @throws IllegalArgumentException when the name is empty or not an HTTP token, or names a
         *     field of HTTP itself that the status would replace in every response the cache sees: one
         *     that frames the response or controls its connection ({@code Content-Length},
         *     {@code Transfer-Encoding}, {@code Connection}, ...), describes or dates its content
         *     ({@code Content-Type}, {@code Content-Encoding}, {@code Cache-Control}, {@code Age},
         *     {@code ETag}, {@code Vary}, ...) or tells the client what to do ({@code Location},
         *     {@code Set-Cookie}, {@code Retry-After}, ...); {@link HttpFrontend.Builder#build()} also
         *     refuses the frontend's request id header
         */
        public Builder statusHeader(String name) {
            if (name != null && (name.isEmpty() || !Names.isToken(name))) {
                throw new IllegalArgumentException("cache statusHeader: " + name + " (expected: an HTTP header name)");
            }
            if (name != null && NOT_STATUS_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("cache statusHeader: " + name + " (expected: a field of its own, such as"
                        + " X-Cache, not one of HTTP's, which the status would replace in every response the cache sees)");
            }
            this.statusHeader = name;
            return this;
        }

        /**
         * The fields {@link #statusHeader} refuses, in lower case: with {@code Content-Length} the
         * responses went out as {@code Content-Length: MISS}, with {@code Connection} a closing
         * connection's {@code close} was lost.
         */
        private static final Set<String> NOT_STATUS_HEADERS = Set.of(
                // framing and the connection
                "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer",
                "upgrade",
                // the content, its caching and its date, which the cache itself reads and keeps
                "content-type", "content-encoding", "content-language", "content-location", "content-range",
                "content-disposition", "cache-control", "expires", "pragma", "age", "date", "etag", "last-modified",
                "vary", "accept-ranges",
                // what the client acts on
                "location", "set-cookie", "www-authenticate", "proxy-authenticate", "retry-after",
                "strict-transport-security", "alt-svc", "via", "server", "allow");

        /**
         * Returns the immutable configuration. The builder stays usable.
         *
         * @return the immutable configuration
         * @throws IllegalArgumentException when {@code maxBytes} is not set or {@code maxEntryBytes}
         *     exceeds it
         */
        public ResponseCache build() {
            if (maxBytes <= 0) {
                throw new IllegalArgumentException("cache maxBytes: " + maxBytes + " (expected: > 0, it has no default)");
            }
            if (maxEntryBytes > maxBytes) {
                throw new IllegalArgumentException("cache maxEntryBytes: " + maxEntryBytes + " (expected: <= maxBytes " + maxBytes + ")");
            }
            return new ResponseCache(this);
        }
    }
}
