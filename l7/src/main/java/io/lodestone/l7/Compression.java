package io.lodestone.l7;

import io.netty.handler.codec.compression.Brotli;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Response compression of an {@link HttpFrontend}: immutable. The proxy compresses a response with
 * gzip or deflate (or brotli, see {@link #brotliAvailable()}) when the client accepts it, its
 * {@code Content-Type} is one of {@link #contentTypes()} and its body is at least
 * {@link #minSize()} bytes (a body of unknown length, such as a chunked one, counts as large enough).
 * Bodies are compressed as they stream, piece by piece, never held whole.
 *
 * <pre>{@code
 * HttpFrontend.bind(8080)
 *     .compression(Compression.defaults())
 *     .defaultBackend("web");
 *
 * HttpFrontend.bind(8080)
 *     .compression(Compression.builder()
 *         .contentTypes("text/*", "application/json")
 *         .minSize(512)
 *         .level(5)
 *         .build())
 *     .defaultBackend("web");
 * }</pre>
 *
 * <p>The coding is chosen from the request's {@code Accept-Encoding} by its q-values: the accepted
 * coding with the highest q wins (brotli, then gzip, then deflate on a tie); {@code q=0} refuses a
 * coding, {@code *} stands for the codings not named, and an {@code identity} ranked above every
 * accepted coding keeps the body as it is. A client that accepts nothing the proxy offers gets the
 * body uncompressed (never a 406).
 *
 * <p>Left as they are: responses that already have a {@code Content-Encoding}, partial content
 * ({@code 206} or a {@code Content-Range}), responses with {@code Cache-Control: no-transform},
 * bodiless responses (to {@code HEAD}, {@code 1xx}, {@code 204}, {@code 304}), responses to HTTP/1.0
 * clients (which cannot read the chunked encoding a compressed stream needs) and WebSocket tunnels.
 * A response that could be compressed by its type and size gets {@code Vary: Accept-Encoding},
 * whether this client's copy is compressed or not, so that caches keep the two apart; a compressed
 * response's strong {@code ETag} becomes weak ({@code W/"..."}), since its bytes are no longer the
 * server's, and one that is not an entity tag (unquoted) is removed; its {@code Accept-Ranges} is
 * removed too (the server's ranges are of its own bytes). Compression applies to
 * HTTP/1.1 and HTTP/2 clients alike, to servers' responses and to the proxy's own.
 *
 * <p>The answer to {@code HEAD} gets the header fields the answer to {@code GET} with the same
 * {@code Accept-Encoding} gets ({@code Vary}, and when a coding is chosen {@code Content-Encoding} and
 * the weak {@code ETag}, without {@code Content-Length} and {@code Accept-Ranges}), and a {@code 304} made by the response cache
 * the {@code Vary} and {@code ETag} of the {@code 200} it stands for (RFC 9110 9.3.2, 15.4.5). A
 * {@code 304} from a server passes as it is: it does not say whether its {@code 200} would be compressed.
 */
public final class Compression {

    /** The content types compressed by {@link #defaults()}. */
    public static final List<String> DEFAULT_CONTENT_TYPES = List.of("text/*", "application/json",
            "application/javascript", "application/xml", "application/xhtml+xml", "application/rss+xml",
            "application/atom+xml", "application/problem+json", "application/wasm", "image/svg+xml");

    /** The smallest body compressed by {@link #defaults()}, in bytes: smaller ones gain too little. */
    public static final int DEFAULT_MIN_SIZE = 1024;

    /** The gzip and deflate level of {@link #defaults()} (zlib's own default). */
    public static final int DEFAULT_LEVEL = 6;

    private static final Compression DEFAULTS = builder().build();

    private final List<String> contentTypes;
    private final int minSize;
    private final int level;
    private final boolean brotli;

    private Compression(Builder b) {
        this.contentTypes = List.copyOf(b.contentTypes);
        this.minSize = b.minSize;
        this.level = b.level;
        this.brotli = b.brotli;
    }

    /**
     * Compression with the defaults: the {@link #DEFAULT_CONTENT_TYPES}, bodies of at least
     * {@value #DEFAULT_MIN_SIZE} bytes, level {@value #DEFAULT_LEVEL}, brotli when it is available.
     *
     * @return compression with the defaults: the {@link #DEFAULT_CONTENT_TYPES}, bodies of at least {@value
     *     #DEFAULT_MIN_SIZE} bytes, level {@value #DEFAULT_LEVEL}, brotli when it is available
     */
    public static Compression defaults() {
        return DEFAULTS;
    }

    /** {@return a builder that starts from the defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether brotli can be used on this machine: the optional {@code com.aayushatharva.brotli4j}
     * binding is on the class path and its native library loaded. When it is not, clients that
     * accept brotli get gzip (or deflate) instead.
     *
     * @return whether brotli can be used on this machine: the optional {@code com.aayushatharva.brotli4j}
     *     binding is on the class path and its native library loaded
     */
    public static boolean brotliAvailable() {
        return Brotli.isAvailable();
    }

    /**
     * The media types compressed, lower case: {@code type/subtype} matches exactly (parameters such
     * as {@code charset} are ignored), {@code type/*} matches every subtype.
     *
     * @return the media types compressed, lower case: {@code type/subtype} matches exactly (parameters such
     *     as {@code charset} are ignored), {@code type/*} matches every subtype
     */
    public List<String> contentTypes() {
        return contentTypes;
    }

    /** {@return the smallest body compressed, in bytes; a body of unknown length is compressed} */
    public int minSize() {
        return minSize;
    }

    /** {@return the gzip and deflate compression level, 1 (fastest) to 9 (smallest)} */
    public int level() {
        return level;
    }

    /**
     * Whether brotli is offered to clients that accept it, when {@link #brotliAvailable() available}
     * (at brotli's quality 4, its usual setting for dynamic content).
     *
     * @return whether brotli is offered to clients that accept it, when {@link #brotliAvailable() available}
     *     (at brotli's quality 4, its usual setting for dynamic content)
     */
    public boolean brotli() {
        return brotli;
    }

    /**
     * Whether a response of this {@code Content-Type} header value is compressed: its media type,
     * before any parameter, matches one of {@link #contentTypes()}, ignoring case. Allocates nothing.
     *
     * @param contentType a {@code Content-Type} header value
     * @return whether a response of this {@code Content-Type} header value is compressed: its media type,
     *     before any parameter, matches one of {@link #contentTypes()}, ignoring case
     */
    public boolean compresses(CharSequence contentType) {
        if (contentType == null) {
            return false;
        }
        int start = 0;
        int len = contentType.length();
        while (start < len && isSpace(contentType.charAt(start))) {
            start++;
        }
        int end = start;
        while (end < len && contentType.charAt(end) != ';' && !isSpace(contentType.charAt(end))) {
            end++;
        }
        for (int i = 0; i < contentTypes.size(); i++) {
            String t = contentTypes.get(i);
            boolean wildcard = t.endsWith("/*");
            int n = wildcard ? t.length() - 1 : t.length();
            if ((wildcard ? end - start > n : end - start == n) && regionEqualsIgnoreCase(contentType, start, t, n)) {
                return true;
            }
        }
        return false;
    }

    private static boolean regionEqualsIgnoreCase(CharSequence s, int start, String lower, int n) {
        for (int i = 0; i < n; i++) {
            char c = s.charAt(start + i);
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + ('a' - 'A'));
            }
            if (c != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    @Override
    public String toString() {
        return "Compression{contentTypes=" + contentTypes + " minSize=" + minSize + " level=" + level
                + " brotli=" + (brotli ? brotliAvailable() ? "on" : "on (not available: gzip instead)" : "off") + "}";
    }

    /** Builds a {@link Compression}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder {
        private final List<String> contentTypes = new ArrayList<>(DEFAULT_CONTENT_TYPES);
        private int minSize = DEFAULT_MIN_SIZE;
        private int level = DEFAULT_LEVEL;
        private boolean brotli = true;

        Builder() {
        }

        /**
         * Sets the media types compressed (default {@link #DEFAULT_CONTENT_TYPES}), replacing the
         * ones set before: {@code type/subtype} or {@code type/*}, case-insensitive.
         *
         * @param types the media types compressed
         * @return this builder
         * @throws IllegalArgumentException naming the value when one is not a media type
         */
        public Builder contentTypes(String... types) {
            Objects.requireNonNull(types, "compression contentTypes");
            List<String> checked = new ArrayList<>(types.length);
            for (String t : types) {
                checked.add(mediaType(t));
            }
            contentTypes.clear();
            contentTypes.addAll(checked);
            return this;
        }

        /**
         * Sets the media types compressed; see {@link #contentTypes(String...)}.
         *
         * @param types the media types compressed
         * @return this builder
         */
        public Builder contentTypes(List<String> types) {
            Objects.requireNonNull(types, "compression contentTypes");
            return contentTypes(types.toArray(new String[0]));
        }

        /**
         * Sets the smallest body compressed, in bytes (default {@value #DEFAULT_MIN_SIZE}); 0
         * compresses every non-empty body.
         *
         * @param bytes the smallest body compressed
         * @return this builder
         * @throws IllegalArgumentException when {@code bytes} is negative
         */
        public Builder minSize(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("compression minSize: " + bytes + " (expected: >= 0)");
            }
            this.minSize = bytes;
            return this;
        }

        /**
         * Sets the gzip and deflate level (default {@value #DEFAULT_LEVEL}).
         *
         * @param level the gzip and deflate level
         * @return this builder
         * @throws IllegalArgumentException when {@code level} is outside 1..9
         */
        public Builder level(int level) {
            if (level < 1 || level > 9) {
                throw new IllegalArgumentException("compression level: " + level + " (expected: 1..9)");
            }
            this.level = level;
            return this;
        }

        /**
         * Offers brotli to clients that accept it (default on). Without the optional brotli4j binding
         * (or its native library) on this machine, gzip or deflate is used instead; see
         * {@link Compression#brotliAvailable()}.
         *
         * @param on whether to offer brotli
         * @return this builder
         */
        public Builder brotli(boolean on) {
            this.brotli = on;
            return this;
        }

        /**
         * Returns the immutable configuration. The builder stays usable.
         *
         * @return the immutable configuration
         * @throws IllegalArgumentException when no content type is set
         */
        public Compression build() {
            if (contentTypes.isEmpty()) {
                throw new IllegalArgumentException("compression contentTypes: [] (expected: at least one media type, such as text/html)");
            }
            return new Compression(this);
        }

        private static String mediaType(String t) {
            String expected = " (expected: a media type such as text/html, or type/* such as text/*)";
            if (t == null) {
                throw new IllegalArgumentException("compression contentTypes: null" + expected);
            }
            int slash = t.indexOf('/');
            if (slash <= 0 || slash != t.lastIndexOf('/') || slash == t.length() - 1) {
                throw new IllegalArgumentException("compression contentTypes: " + t + expected);
            }
            String type = t.substring(0, slash);
            String sub = t.substring(slash + 1);
            if (!isToken(type) || type.equals("*") || !(sub.equals("*") || isToken(sub) && sub.indexOf('*') < 0)) {
                throw new IllegalArgumentException("compression contentTypes: " + t + expected);
            }
            return t.toLowerCase(Locale.ROOT);
        }

        private static boolean isToken(String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                    return false;
                }
            }
            return !s.isEmpty();
        }
    }
}
