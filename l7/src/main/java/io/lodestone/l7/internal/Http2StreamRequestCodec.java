package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
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
import java.util.Iterator;
import java.util.List;

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
 */
@ChannelHandler.Sharable
final class Http2StreamRequestCodec extends Http2StreamFrameToHttpObjectCodec {

    static final Http2StreamRequestCodec INSTANCE = new Http2StreamRequestCodec();

    private Http2StreamRequestCodec() {
        super(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, Http2StreamFrame frame, List<Object> out) throws Exception {
        if (frame instanceof Http2HeadersFrame h) {
            String malformed = malformed(h.headers(), h.isEndStream());
            if (malformed != null) {
                throw Http2Exception.streamError(h.stream().id(), Http2Error.PROTOCOL_ERROR, "%s", malformed);
            }
        }
        super.decode(ctx, frame, out);
    }

    /**
     * Why a request head cannot become an HTTP/1 request, or null; null too for HEADERS without
     * {@code :method}, which the codec takes for trailers, without a buffer. The checks beyond the
     * {@code host} fields are those of a whole request ({@code whole}: with END_STREAM), whose
     * conversion would fail after Netty allocated its buffer.
     */
    private static String malformed(Http2Headers headers, boolean whole) {
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
