package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;

/**
 * Sits right after {@link BackendCodec} on a backend connection and turns any decoder failure (ours or
 * Netty's) into one {@link InvalidResponseException} fired through {@code exceptionCaught}, then closes
 * the connection and drops whatever else it reads, so nothing of an invalid response reaches the engine
 * and the connection is never reused. One instance per connection.
 */
public final class BackendResponseGuard extends ChannelInboundHandlerAdapter {

    private boolean failed;

    /** Creates the guard of one backend connection. */
    public BackendResponseGuard() {
    }

    /** Whether this connection delivered an invalid response. */
    public boolean failed() {
        return failed;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (failed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpObject h && h.decoderResult().isFailure()) {
            failed = true;
            Throwable cause = h.decoderResult().cause();
            ReferenceCountUtil.release(msg);
            ctx.fireExceptionCaught(new InvalidResponseException(cause));
            ctx.close();
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
