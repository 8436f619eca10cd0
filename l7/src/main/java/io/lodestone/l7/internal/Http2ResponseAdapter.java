package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * Shapes the responses of an HTTP/2 server stream like the HTTP/1.1 response decoder's: removes the
 * {@code x-http2-*} headers the conversion adds, splits a whole response (HEADERS with END_STREAM,
 * a trailers-only gRPC answer for instance) into its head and a last content, and ends an interim
 * (1xx) response with an empty last content, the shapes the proxy handler forwards.
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
}
