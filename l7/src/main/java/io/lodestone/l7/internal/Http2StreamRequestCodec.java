package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The frame-to-HTTP/1 object codec of a client's HTTP/2 stream: Netty's, except that a whole request
 * (HEADERS with END_STREAM) whose {@code :method} is not a token, or that has no {@code :path} (no
 * {@code :authority} for CONNECT) or one with a space, fails with a stream error
 * {@code PROTOCOL_ERROR} before Netty turns it into a whole message. Netty allocates that message's
 * content buffer first and did not release it when the conversion then failed: a buffer leaked per
 * such request.
 *
 * <p>A request head (with or without END_STREAM) with more than one {@code host} field fails the
 * same way, malformed (RFC 9113, 8.1.1), as the HTTP/1.1 frontend answers two Host fields with 400
 * (RFC 9112, 3.2). Netty fails only on two that differ (from each other or from {@code :authority}),
 * and merged identical ones into one.
 *
 * <p>So does a request head with a {@code :protocol} pseudo-header (with or without END_STREAM): it is
 * defined only on a connection whose server sent {@code SETTINGS_ENABLE_CONNECT_PROTOCOL} (RFC 8441),
 * which the proxy does not, so it is an undefined pseudo-header (RFC 9113, 8.3). Netty took it for a
 * known one and the request went on without it. A frontend with {@code websocketOverHttp2} sends the
 * setting, and its streams' {@link Http2WebSocket} takes HEADERS with {@code :protocol} before they
 * reach this codec.
 *
 * <p>HEADERS with a field value that starts or ends with a space or a tab, a request's or its
 * trailers', fail the same way (RFC 9113, 8.2.1): Netty refuses only the leading whitespace, and the
 * trailing one reached the HTTP/1.1 server, whose parser drops it.
 *
 * <p>Every refusal of request HEADERS, these and Netty's own conversion's, fails as a {@link Refused}
 * carrying the stream error, so that the proxy handler logs the request line when it was valid.
 */
@ChannelHandler.Sharable
final class Http2StreamRequestCodec extends Http2StreamFrameToHttpObjectCodec {

    static final Http2StreamRequestCodec INSTANCE = new Http2StreamRequestCodec();
    private static final AsciiString PROTOCOL = Http2Headers.PseudoHeaderName.PROTOCOL.value();

    private Http2StreamRequestCodec() {
        super(true);
    }

    /**
     * Sharable, as its annotation says: said without Netty's reflective check (a lookup in a per-thread
     * map of classes), which ran each time the handler was added to a stream's pipeline.
     */
    @Override
    public boolean isSharable() {
        return true;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, Http2StreamFrame frame, List<Object> out) throws Exception {
        if (!(frame instanceof Http2HeadersFrame h)) {
            super.decode(ctx, frame, out);
            return;
        }
        String malformed = edgeWhitespace(h.headers());
        if (malformed == null) {
            malformed = malformed(h.headers(), h.isEndStream());
        }
        if (malformed != null) {
            throw new Refused(h.headers(), Http2Exception.streamError(h.stream().id(), Http2Error.PROTOCOL_ERROR, "%s", malformed));
        }
        try {
            super.decode(ctx, frame, out);
        } catch (Http2Exception e) {
            // Netty's conversion refused the request (a host that differs from :authority, and so on)
            throw new Refused(h.headers(), e);
        }
    }

    /**
     * HEADERS refused before they became a request: the stream error to reset the stream with (the
     * cause), and the {@code :method} and {@code :path} for the access log when they make a valid
     * request line ({@link Http2RequestAdapter#validLine}), else null ({@code <BADREQ>}). Without a
     * stack trace: a verdict on the client's frames. Error path only.
     */
    static final class Refused extends DecoderException {

        private static final long serialVersionUID = 1L;

        private final String method;
        private final String path;

        Refused(Http2Headers headers, Http2Exception cause) {
            super(cause.getMessage(), cause);
            CharSequence m = headers.method();
            CharSequence p = headers.path();
            boolean line = Http2RequestAdapter.validLine(m, p);
            this.method = line ? m.toString() : null;
            this.path = line ? p.toString() : null;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }

        /** The refused request's {@code :method} when it and its {@code :path} were valid, else null. */
        String method() {
            return method;
        }

        /** The refused request's {@code :path} when it and its {@code :method} were valid, else null. */
        String path() {
            return path;
        }
    }

    /**
     * Whether a field value of {@code headers} (a request head's or its trailers') starts or ends with
     * a space or a tab, which RFC 9113 (8.2.1) makes the message malformed: a reason, else null.
     * Netty's HPACK validation refuses a leading one only, and a value such as {@code "v "} reached
     * the HTTP/1.1 server as it came, where its parser drops the whitespace: the proxy's rules and the
     * server read two values.
     */
    static String edgeWhitespace(Http2Headers headers) {
        for (Map.Entry<CharSequence, CharSequence> field : headers) {
            CharSequence value = field.getValue();
            int last = value.length() - 1;
            if (last >= 0 && (blank(value.charAt(0)) || blank(value.charAt(last)))) {
                return "whitespace at the edge of a field value";
            }
        }
        return null;
    }

    private static boolean blank(char c) {
        return c == ' ' || c == '\t';
    }

    /**
     * Why a request head cannot become an HTTP/1 request, or null; null too for HEADERS without
     * {@code :method}, which the codec takes for trailers, without a buffer. The checks beyond the
     * {@code host} fields and {@code :protocol} are those of a whole request ({@code whole}: with END_STREAM), whose
     * conversion would fail after Netty allocated its buffer.
     */
    static String malformed(Http2Headers headers, boolean whole) {
        CharSequence method = headers.method();
        if (method == null) {
            return null;
        }
        if (headers.contains(HttpHeaderNames.HOST)) {
            Iterator<CharSequence> hosts = headers.valueIterator(HttpHeaderNames.HOST);
            hosts.next();
            if (hosts.hasNext()) {
                return "more than one host";
            }
        }
        if (headers.contains(PROTOCOL)) {
            // defined only for a server that sent SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441, 3), which
            // the proxy never sends: an undefined pseudo-header (RFC 9113, 8.3), which Netty accepted
            return "undefined :protocol";
        }
        if (!whole) {
            return null;
        }
        if (method.length() == 0 || HttpHeaderValidationUtil.validateToken(method) != -1) {
            return "invalid :method";
        }
        CharSequence target = HttpMethod.CONNECT.asciiName().contentEqualsIgnoreCase(method) ? headers.authority() : headers.path();
        if (target == null) {
            return "no :path";
        }
        if (!HttpUtil.isEncodingSafeStartLineToken(target)) {
            return "invalid :path";
        }
        return null;
    }
}
