package io.lodestone.core.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;

/**
 * First in the pipeline of every io_uring connection: once a close has been asked for, drops the
 * read requests that follow it.
 *
 * <p>Netty 4.2.18's io_uring channel puts a close off while one of its writes is in flight, and a
 * read asked for in that window, with single-shot polls ({@link Transport#MULTISHOT_POLL_PROPERTY}),
 * arms a poll on the socket that the close does not cancel. The close then closes the descriptor,
 * but the pending poll keeps the socket itself open: the peer gets neither FIN nor reset until it
 * sends something. {@code SslHandler} asks for such a read at the end of each read while its
 * handshake is unfinished: a client that spoke plain text to a TLS frontend, answered with an alert
 * and closed, was left waiting. Any handler may; this guard covers them all, closes from any handler
 * passing through it on their way to the channel.
 *
 * <p>One instance per channel. Only the {@code read} and {@code close} operations run through it.
 */
final class CloseGuard extends ChannelOutboundHandlerAdapter {

    private boolean closing;

    /** Puts a new guard first in {@code ch}'s pipeline. */
    static void install(Channel ch) {
        ch.pipeline().addFirst(PipelineNames.CLOSE_GUARD, new CloseGuard());
    }

    /**
     * Adds {@code handler} as the first handler after the guard when {@code pipeline} has one, else
     * first: reads the handler asks for then still pass the guard.
     */
    static void addFirst(ChannelPipeline pipeline, String name, io.netty.channel.ChannelHandler handler) {
        if (pipeline.context(PipelineNames.CLOSE_GUARD) != null) {
            pipeline.addAfter(PipelineNames.CLOSE_GUARD, name, handler);
        } else {
            pipeline.addFirst(name, handler);
        }
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (!closing) {
            ctx.read();
        }
    }

    /** Closes the channel from the guard, passing no handler after it ({@link SocketClose}); on its event loop. */
    void closeSocket(ChannelHandlerContext ctx) {
        closing = true;
        ctx.close();
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        closing = true;
        ctx.close(promise);
    }
}
