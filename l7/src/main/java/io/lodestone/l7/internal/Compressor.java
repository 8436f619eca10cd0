package io.lodestone.l7.internal;

import io.lodestone.l7.Compression;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.compression.CompressionOptions;
import io.netty.handler.codec.compression.StandardCompressionOptions;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Compresses the responses of one client connection (or HTTP/2 stream) as {@link Compression} says,
 * with Netty's {@link HttpContentCompressor}: the body is encoded piece by piece as it passes, and a
 * response with a {@code Content-Length} becomes chunked (HTTP/2: length-less) once compressed.
 *
 * <p>Netty's encoder pairs each response with the {@code Accept-Encoding} of the request it answers,
 * in order. This one also keeps, per request, whether its response may be compressed at all (not to
 * an HTTP/1.0 client), and passes a response that answers no request (the proxy's 408 to a
 * connection whose request head never completed) through untouched instead of failing.
 *
 * <p>A response to {@code HEAD} has no body to compress, and Netty's encoder passes it through; it
 * gets here the header fields the same response to {@code GET} would get (RFC 9110 9.3.2):
 * {@code Vary: Accept-Encoding}, and when a coding is chosen the {@code Content-Encoding} and a weak
 * {@code ETag}, without the {@code Content-Length} (the compressed length is unknown; the answer to
 * GET has none either) and without {@code Accept-Ranges}.
 *
 * <p>A compressed response loses its {@code Accept-Ranges}, as nginx's gzip filter clears it: the
 * server's byte ranges are of its own bytes, and its {@code 206} passes uncompressed, so a client that
 * resumed a compressed download by range would splice them into the compressed ones. A {@code 304} gets the same through {@link #notModified}, which the proxy
 * handler applies where it knows the response that the 304 stands for (the cache's), and a 304 from
 * the server the weak {@code ETag} through {@link #serverNotModified} when the client's
 * {@code If-None-Match} shows that it holds the compressed 200.
 */
final class Compressor extends HttpContentCompressor {

    private static final AsciiString NO_TRANSFORM = AsciiString.cached("no-transform");
    private static final AsciiString STAR = AsciiString.cached("*");
    private static final String GZIP = "gzip";
    private static final String DEFLATE = "deflate";
    private static final String BR = "br";
    /** How an {@code If-None-Match} list names an entity tag ({@link #listed}). */
    private static final int NOT_LISTED = 0;
    private static final int WEAK = 1;
    private static final int STRONG = 2;

    private final Compression config;
    private final boolean brotli;
    /**
     * Per request read and not yet answered: {@code Boolean.TRUE} when its response may be
     * compressed, {@code Boolean.FALSE} when not (an HTTP/1.0 client's), or for a {@code HEAD}
     * request its {@code Accept-Encoding} ({@code ""} for none).
     */
    private final ArrayDeque<Object> requests = new ArrayDeque<>(2);
    /** Whether the response being written may be compressed. */
    private boolean mayCompress;
    /** Passing the rest of a response that answers no request. */
    private boolean passing;
    /**
     * Content bytes written out less content bytes taken in, over the connection's life: what
     * compression saved, negative; read by the proxy handler, which counts the bytes it writes before
     * this handler, for the bytes a client got ({@link #bytesDelta}).
     */
    private long bytesDelta;

    Compressor(Compression config) {
        // no size threshold of Netty's (it only sees whole responses): minSize is checked here;
        // no pipeline-depth bound either: the proxy handler bounds pipelining by not reading
        this(config, config.brotli() && Compression.brotliAvailable());
    }

    private Compressor(Compression config, boolean brotli) {
        super(0, Integer.MAX_VALUE, options(config, brotli));
        this.config = config;
        this.brotli = brotli;
    }

    private static CompressionOptions[] options(Compression config, boolean brotli) {
        // zlib's default window and memory level keep Netty on the JDK's own Deflater
        CompressionOptions gzip = StandardCompressionOptions.gzip(config.level(), 15, 8);
        CompressionOptions deflate = StandardCompressionOptions.deflate(config.level(), 15, 8);
        return brotli ? new CompressionOptions[] {StandardCompressionOptions.brotli(), gzip, deflate}
                : new CompressionOptions[] {gzip, deflate};
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, HttpRequest msg, List<Object> out) throws Exception {
        if (msg.protocolVersion() == HttpVersion.HTTP_1_0) {
            requests.add(Boolean.FALSE);
        } else if (HttpMethod.HEAD.equals(msg.method())) {
            requests.add(String.join(",", msg.headers().getAll(HttpHeaderNames.ACCEPT_ENCODING)));
        } else {
            requests.add(Boolean.TRUE);
        }
        super.decode(ctx, msg, out);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, HttpObject msg, List<Object> out) throws Exception {
        if (passing) {
            out.add(ReferenceCountUtil.retain(msg));
            passing = !(msg instanceof LastHttpContent);
            return;
        }
        if (msg instanceof HttpResponse r && r.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
            Object may = requests.poll();
            if (may == null) {
                // the proxy's answer to a connection that never completed a request
                out.add(ReferenceCountUtil.retain(msg));
                passing = !(msg instanceof LastHttpContent);
                return;
            }
            mayCompress = may == Boolean.TRUE;
            if (may instanceof String acceptEncoding) {
                asForGet(r, acceptEncoding);
            }
        }
        int first = out.size();
        // read before: the encoder consumes what it compresses
        long delta = msg instanceof HttpContent c ? -c.content().readableBytes() : 0;
        super.encode(ctx, msg, out);
        for (int i = first; i < out.size(); i++) {
            if (out.get(i) instanceof HttpContent c) {
                delta += c.content().readableBytes();
            }
        }
        bytesDelta += delta;
    }

    /**
     * The content bytes this handler has written less those it was given, since the connection began
     * (the stream, on HTTP/2): a response's compressed size is its size before compression plus the
     * change of this figure while it was written. Only the channel's event loop calls it.
     */
    long bytesDelta() {
        return bytesDelta;
    }

    @Override
    protected Result beginEncode(HttpResponse response, String acceptEncoding) throws Exception {
        if (!mayCompress) {
            return null;
        }
        HttpHeaders h = response.headers();
        int code = response.status().code();
        long size = response instanceof HttpContent c ? c.content().readableBytes() : contentLength(h);
        if (!compressible(config, code, h, size)) {
            return null;
        }
        // from here on the representation depends on Accept-Encoding, whatever this client sent
        addVary(h);
        Result result = super.beginEncode(response, acceptEncoding);
        if (result != null) {
            weakenEtag(h);
            h.remove(HttpHeaderNames.ACCEPT_RANGES);
        }
        return result;
    }

    /** Gives the answer to a HEAD request the fields the answer to GET would have (see the class comment). */
    private void asForGet(HttpResponse response, String acceptEncoding) {
        HttpHeaders h = response.headers();
        int code = response.status().code();
        // a 304 is the proxy handler's (notModified), and so is whatever cannot have a body
        if (code < 200 || code == 204 || code == 304 || !compressible(config, code, h, contentLength(h))) {
            return;
        }
        addVary(h);
        String coding = choose(acceptEncoding, brotli);
        if (coding != null) {
            h.set(HttpHeaderNames.CONTENT_ENCODING, coding);
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
            h.remove(HttpHeaderNames.ACCEPT_RANGES);
            weakenEtag(h);
        }
    }

    /**
     * Gives a {@code 304} the {@code Vary} and {@code ETag} that the response it stands for,
     * {@code status} with the header fields {@code representation} and a body of {@code size} bytes
     * (-1: unknown), gets from a compressor with {@code config} when it answers a client with
     * {@code acceptEncoding} (null for none) over {@code version} (RFC 9110 15.4.5: a 304 carries the
     * fields the 200 would have).
     */
    static void notModified(HttpHeaders notModified, int status, HttpHeaders representation, long size, String acceptEncoding,
            HttpVersion version, Compression config) {
        if (version == HttpVersion.HTTP_1_0 || !compressible(config, status, representation, size)) {
            return;
        }
        addVary(notModified);
        if (acceptEncoding != null && choose(acceptEncoding, config.brotli() && Compression.brotliAvailable()) != null) {
            weakenEtag(notModified);
        }
    }

    /**
     * Gives a {@code 304} from the server, answering a request with the {@code If-None-Match} fields
     * {@code ifNoneMatch}, the validator the client holds when that is the compressed form of the
     * 200: when the 304's {@code ETag} is a strong {@code "x"} and the request listed the weak
     * {@code W/"x"} that the compressor makes of it, and not {@code "x"} itself, the client's stored
     * response is the compressed one (RFC 9111 4.3.4 picks it by its validator). The 304 then gets
     * {@code W/"x"} and {@code Vary: Accept-Encoding}, as that 200 had (RFC 9110 15.4.5), and loses an
     * {@code Accept-Ranges}, which that 200 did not have and the client's cache would take in.
     */
    static void serverNotModified(HttpHeaders notModified, List<String> ifNoneMatch) {
        String etag = notModified.get(HttpHeaderNames.ETAG);
        if (etag == null || etag.length() < 2 || etag.charAt(0) != '"' || etag.charAt(etag.length() - 1) != '"') {
            return;
        }
        boolean weak = false;
        for (int i = 0; i < ifNoneMatch.size(); i++) {
            int listed = listed(ifNoneMatch.get(i), etag);
            if (listed == STRONG) {
                return;
            }
            weak |= listed == WEAK;
        }
        if (weak) {
            notModified.set(HttpHeaderNames.ETAG, "W/" + etag);
            notModified.remove(HttpHeaderNames.ACCEPT_RANGES);
            addVary(notModified);
        }
    }

    /**
     * How the entity tag list {@code list} names the strong tag {@code etag}: {@link #STRONG} as it
     * is, else {@link #WEAK} as {@code W/} and it, else {@link #NOT_LISTED} ({@code *} names no tag).
     */
    private static int listed(String list, String etag) {
        int result = NOT_LISTED;
        int n = list.length();
        int i = 0;
        while (i < n) {
            char c = list.charAt(i);
            if (c == ',' || isSpace(c)) {
                i++;
                continue;
            }
            boolean weak = list.startsWith("W/", i);
            int open = weak ? i + 2 : i;
            if (open < n && list.charAt(open) == '"') {
                int close = list.indexOf('"', open + 1);
                if (close < 0) {
                    return result;
                }
                if (close - open + 1 == etag.length() && list.regionMatches(open, etag, 0, etag.length())) {
                    if (!weak) {
                        return STRONG;
                    }
                    result = WEAK;
                }
                i = close + 1;
            } else {
                while (i < n && list.charAt(i) != ',') {
                    i++;
                }
            }
        }
        return result;
    }

    /**
     * Whether a response may be compressed by what it is (before the client's Accept-Encoding): no
     * {@code Content-Encoding}, not partial, a type {@code config} compresses, no
     * {@code no-transform}, and a body of at least {@code minSize} bytes ({@code size} -1: unknown,
     * counted as large).
     */
    private static boolean compressible(Compression config, int code, HttpHeaders h, long size) {
        return !h.contains(HttpHeaderNames.CONTENT_ENCODING) && !h.contains(HttpHeaderNames.CONTENT_RANGE) && code != 206
                && config.compresses(h.get(HttpHeaderNames.CONTENT_TYPE))
                && !h.containsValue(HttpHeaderNames.CACHE_CONTROL, NO_TRANSFORM, true)
                && (size < 0 || size >= config.minSize());
    }

    private static void addVary(HttpHeaders h) {
        if (!h.containsValue(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING, true)
                && !h.containsValue(HttpHeaderNames.VARY, STAR, true)) {
            Headers.append(h, HttpHeaderNames.VARY, "Accept-Encoding");
        }
    }

    /**
     * Makes the validator of a response whose body is compressed weak: a strong {@code "x"} becomes
     * {@code W/"x"}, a weak one stays; one that is neither (unquoted, not an entity tag) is removed, as
     * nginx does, since it cannot be weakened and would otherwise stand for the server's bytes as they were.
     */
    private static void weakenEtag(HttpHeaders h) {
        String etag = h.get(HttpHeaderNames.ETAG);
        if (etag == null) {
            return;
        }
        if (etag.startsWith("\"")) {
            h.set(HttpHeaderNames.ETAG, "W/" + etag);
        } else if (!etag.startsWith("W/\"")) {
            h.remove(HttpHeaderNames.ETAG);
        }
    }

    /** The Content-Length, or -1 when it is absent or not a number (chunked, or read until close). */
    private static long contentLength(HttpHeaders h) {
        String v = h.get(HttpHeaderNames.CONTENT_LENGTH);
        if (v == null || v.isEmpty() || v.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    /**
     * Chooses the coding by the q-values of {@code Accept-Encoding}: the accepted coding (q above 0)
     * with the highest q among those offered, brotli before gzip before deflate on a tie; {@code *}
     * gives its q to the codings not named; none when nothing offered is accepted or when
     * {@code identity} is ranked above the best of them. Allocates nothing.
     */
    @Override
    protected String determineEncoding(String acceptEncoding) {
        return choose(acceptEncoding, brotli);
    }

    static String choose(String header, boolean brotli) {
        int br = -1;
        int gzip = -1;
        int deflate = -1;
        int identity = -1;
        int star = -1;
        int len = header.length();
        int i = 0;
        while (i < len) {
            // one element: OWS coding OWS *( ";" OWS param ) ","
            while (i < len && (isSpace(header.charAt(i)) || header.charAt(i) == ',')) {
                i++;
            }
            int start = i;
            while (i < len && header.charAt(i) != ',' && header.charAt(i) != ';' && !isSpace(header.charAt(i))) {
                i++;
            }
            int end = i;
            int q = 1000;
            while (i < len && header.charAt(i) != ',') {
                char c = header.charAt(i);
                if ((c == 'q' || c == 'Q') && i > 0 && (header.charAt(i - 1) == ';' || isSpace(header.charAt(i - 1)))) {
                    int j = i + 1;
                    while (j < len && isSpace(header.charAt(j))) {
                        j++;
                    }
                    if (j < len && header.charAt(j) == '=') {
                        j++;
                        while (j < len && isSpace(header.charAt(j))) {
                            j++;
                        }
                        q = qvalue(header, j);
                        i = j;
                        continue;
                    }
                }
                i++;
            }
            if (end == start || q < 0) {
                continue;
            }
            if (is(header, start, end, BR)) {
                br = Math.max(br, q);
            } else if (is(header, start, end, GZIP) || is(header, start, end, "x-gzip")) {
                gzip = Math.max(gzip, q);
            } else if (is(header, start, end, DEFLATE)) {
                deflate = Math.max(deflate, q);
            } else if (is(header, start, end, "identity")) {
                identity = Math.max(identity, q);
            } else if (end - start == 1 && header.charAt(start) == '*') {
                star = Math.max(star, q);
            }
        }
        int qbr = !brotli ? 0 : br >= 0 ? br : Math.max(star, 0);
        int qgzip = gzip >= 0 ? gzip : Math.max(star, 0);
        int qdeflate = deflate >= 0 ? deflate : Math.max(star, 0);
        int best = Math.max(qbr, Math.max(qgzip, qdeflate));
        if (best <= 0 || identity > best) {
            return null;
        }
        return qbr == best ? BR : qgzip == best ? GZIP : DEFLATE;
    }

    /** A qvalue ({@code 0}, {@code 0.5}, {@code 1.000}) in thousandths, or -1 when it does not parse. */
    private static int qvalue(String s, int i) {
        int len = s.length();
        if (i >= len || (s.charAt(i) != '0' && s.charAt(i) != '1')) {
            return -1;
        }
        int whole = s.charAt(i) - '0';
        i++;
        int frac = 0;
        int digits = 0;
        if (i < len && s.charAt(i) == '.') {
            i++;
            while (i < len && digits < 3 && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                frac = frac * 10 + (s.charAt(i) - '0');
                digits++;
                i++;
            }
        }
        if (i < len && s.charAt(i) != ',' && s.charAt(i) != ';' && !isSpace(s.charAt(i))) {
            return -1;
        }
        while (digits < 3) {
            frac *= 10;
            digits++;
        }
        int q = whole * 1000 + frac;
        return q > 1000 ? -1 : q;
    }

    private static boolean is(String s, int start, int end, String lower) {
        return end - start == lower.length() && s.regionMatches(true, start, lower, 0, lower.length());
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }
}
