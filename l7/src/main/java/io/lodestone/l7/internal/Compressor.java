package io.lodestone.l7.internal;

import io.lodestone.l7.Compression;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.compression.CompressionOptions;
import io.netty.handler.codec.compression.StandardCompressionOptions;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
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
 */
final class Compressor extends HttpContentCompressor {

    private static final AsciiString NO_TRANSFORM = AsciiString.cached("no-transform");
    private static final AsciiString STAR = AsciiString.cached("*");
    private static final String GZIP = "gzip";
    private static final String DEFLATE = "deflate";
    private static final String BR = "br";

    private final Compression config;
    private final boolean brotli;
    /** Per request read and not yet answered: whether its response may be compressed. */
    private final ArrayDeque<Boolean> requests = new ArrayDeque<>(2);
    /** Whether the response being written may be compressed. */
    private boolean mayCompress;
    /** Passing the rest of a response that answers no request. */
    private boolean passing;

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
        requests.add(msg.protocolVersion() == HttpVersion.HTTP_1_0 ? Boolean.FALSE : Boolean.TRUE);
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
            Boolean may = requests.poll();
            if (may == null) {
                // the proxy's answer to a connection that never completed a request
                out.add(ReferenceCountUtil.retain(msg));
                passing = !(msg instanceof LastHttpContent);
                return;
            }
            mayCompress = may;
        }
        super.encode(ctx, msg, out);
    }

    @Override
    protected Result beginEncode(HttpResponse response, String acceptEncoding) throws Exception {
        if (!mayCompress) {
            return null;
        }
        HttpHeaders h = response.headers();
        if (h.contains(HttpHeaderNames.CONTENT_ENCODING) || h.contains(HttpHeaderNames.CONTENT_RANGE)
                || response.status().code() == 206 || !config.compresses(h.get(HttpHeaderNames.CONTENT_TYPE))
                || h.containsValue(HttpHeaderNames.CACHE_CONTROL, NO_TRANSFORM, true)) {
            return null;
        }
        long size = response instanceof HttpContent c ? c.content().readableBytes() : contentLength(h);
        if (size >= 0 && size < config.minSize()) {
            return null;
        }
        // from here on the representation depends on Accept-Encoding, whatever this client sent
        if (!h.containsValue(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING, true)
                && !h.containsValue(HttpHeaderNames.VARY, STAR, true)) {
            Headers.append(h, HttpHeaderNames.VARY, "Accept-Encoding");
        }
        Result result = super.beginEncode(response, acceptEncoding);
        if (result != null) {
            String etag = h.get(HttpHeaderNames.ETAG);
            if (etag != null && etag.startsWith("\"")) {
                h.set(HttpHeaderNames.ETAG, "W/" + etag);
            }
        }
        return result;
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
