package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;

/**
 * Shapes the responses of an HTTP/2 server stream like the HTTP/1.1 response decoder's: removes the
 * {@code x-http2-*} headers the conversion adds, splits a whole response (HEADERS with END_STREAM,
 * a trailers-only gRPC answer for instance) into its head and a last content, and ends an interim
 * (1xx) response with an empty last content, the shapes the proxy handler forwards. A {@code :status}
 * outside 100 to 599 fails the response ({@link #malformed}).
 */
@ChannelHandler.Sharable
final class Http2ResponseAdapter extends ChannelInboundHandlerAdapter {

    static final Http2ResponseAdapter INSTANCE = new Http2ResponseAdapter();
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSIONS = HttpConversionUtil.ExtensionHeaderNames.values();

    private Http2ResponseAdapter() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpResponse r) {
            for (HttpConversionUtil.ExtensionHeaderNames n : EXTENSIONS) {
                r.headers().remove(n.text());
            }
            int status = r.status().code();
            if (status < 100 || status > 599) {
                malformed(ctx, r, status);
                return;
            }
            if (msg instanceof FullHttpResponse full) {
                HttpResponse head = new DefaultHttpResponse(full.protocolVersion(), full.status(), full.headers());
                head.setDecoderResult(full.decoderResult());
                ctx.fireChannelRead(head);
                ctx.fireChannelRead(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
                return;
            }
            int code = r.status().code();
            if (code < 200 && code != 101) {
                r.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                ctx.fireChannelRead(r);
                ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * Passes on the head of a response whose {@code :status} is no status code (RFC 9110, 15: three
     * digits, 100 to 599) as a failed one, which the proxy handler answers 502 and resets the stream
     * for, as the HTTP/1.1 decoder refuses such a status line; nothing of it reaches the client.
     * Netty's conversion takes any integer: {@code 20} went out as an interim response and
     * {@code 600} as the final one. Error path only.
     */
    private static void malformed(ChannelHandlerContext ctx, HttpResponse r, int status) {
        HttpResponse head = new DefaultHttpResponse(r.protocolVersion(), r.status(), r.headers());
        head.setDecoderResult(DecoderResult.failure(new HttpRejection(HttpResponseStatus.BAD_GATEWAY, "invalid response: :status " + status)));
        ReferenceCountUtil.release(r);
        ctx.fireChannelRead(head);
    }
}
