package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * Shapes the requests of an HTTP/2 stream like the HTTP/1.1 decoder's: removes the
 * {@code x-http2-*} headers the conversion adds (stream id, scheme and so on), so that backends see
 * the client's headers only, and splits a whole request (HEADERS with END_STREAM) into its head and
 * a last content, the shape the proxy handler forwards.
 */
@ChannelHandler.Sharable
final class Http2RequestAdapter extends ChannelInboundHandlerAdapter {

    static final Http2RequestAdapter INSTANCE = new Http2RequestAdapter();
    /** {@code values()} copies its array on every call: copied once here. */
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSIONS = HttpConversionUtil.ExtensionHeaderNames.values();

    private Http2RequestAdapter() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest r) {
            for (HttpConversionUtil.ExtensionHeaderNames n : EXTENSIONS) {
                r.headers().remove(n.text());
            }
            if (msg instanceof FullHttpRequest full) {
                HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
                head.setDecoderResult(full.decoderResult());
                ctx.fireChannelRead(head);
                ctx.fireChannelRead(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }
}
