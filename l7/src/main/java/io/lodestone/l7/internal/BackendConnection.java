package io.lodestone.l7.internal;

import io.lodestone.core.internal.ServerRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a server connection: passes what the server sends to the client connection
 * whose exchange holds it, and tells that exchange when the server times out, closes or its
 * writability changes. Between exchanges the connection waits in its {@link BackendPool}.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

    final Channel channel;
    final ServerRuntime server;
    final BackendPool pool;
    final Codecs.ResponseDecoder decoder;
    /** The client connection's proxy handler whose request this connection carries, or null. */
    HttpProxyHandler exchange;
    /** Whether the connection waits in the pool. */
    boolean pooled;
    /** Whether the connection carried an exchange before the current one. */
    boolean reused;
    long idleSince;

    BackendConnection(Channel channel, ServerRuntime server, BackendPool pool, Codecs.ResponseDecoder decoder) {
        this.channel = channel;
        this.server = server;
        this.pool = pool;
        this.decoder = decoder;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        HttpProxyHandler x = exchange;
        if (x != null) {
            x.serverRead(this, msg);
        } else {
            // a server must not speak unasked; the connection is no longer trustworthy
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        HttpProxyHandler x = exchange;
        if (x != null) {
            x.serverReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        HttpProxyHandler x = exchange;
        if (x != null) {
            x.serverWritabilityChanged(ctx.channel().isWritable());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            HttpProxyHandler x = exchange;
            if (x != null) {
                x.serverTimedOut(this);
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (pooled) {
            pool.remove(this);
        }
        HttpProxyHandler x = exchange;
        if (x != null) {
            x.serverClosed(this);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("server connection {} to {} failed", ctx.channel(), server, cause);
        }
        ctx.close();
    }
}
