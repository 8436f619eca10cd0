package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AsciiString;

/**
 * Sets {@code Strict-Transport-Security} on every final response written to a TLS client
 * connection, whether a server's or the proxy's own; informational (1xx) responses are left alone.
 */
@ChannelHandler.Sharable
final class Hsts extends ChannelOutboundHandlerAdapter {

    private static final AsciiString STRICT_TRANSPORT_SECURITY = AsciiString.cached("strict-transport-security");

    private final AsciiString value;

    Hsts(String value) {
        this.value = AsciiString.cached(value);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse r && r.status().code() >= 200) {
            r.headers().set(STRICT_TRANSPORT_SECURITY, value);
        }
        ctx.write(msg, promise);
    }
}
