package io.lodestone.l7.internal;

import io.lodestone.core.internal.LoopClock;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The keep-alive timeout of an HTTP/2 client connection: a connection that has had no open stream
 * for that long (from its start, so a client that never sends a whole request too, or since its
 * last stream closed) is closed through the codec, which says GOAWAY first. Streams in progress
 * are bounded by their own timeouts instead, so a long response never counts as idle. One
 * scheduled task per connection, moved forward lazily; streams only record when the last one
 * closed, on the event loop's {@link LoopClock}. A connection found with streams open is handed to
 * {@link Http2FrontendCodec#lookForStalledWrites}, as a stream ends in the codec only once its last
 * frame is written, which a client that reads nothing never lets happen.
 */
final class Http2IdleTimeout extends ChannelInboundHandlerAdapter implements Runnable {

    private final long timeoutNanos;
    private final Http2Connection connection;
    private final Http2FrontendCodec codec;
    private ChannelHandlerContext ctx;
    private long idleSince;
    private ScheduledFuture<?> task;

    Http2IdleTimeout(long timeoutNanos, Http2FrontendCodec codec) {
        this.timeoutNanos = timeoutNanos;
        this.connection = codec.connection();
        this.codec = codec;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        idleSince = LoopClock.nanoTime();
        connection.addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                if (connection.numActiveStreams() == 0) {
                    idleSince = LoopClock.nanoTime();
                }
            }
        });
        task = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void run() {
        task = null;
        if (!ctx.channel().isActive()) {
            return;
        }
        long wait = timeoutNanos;
        if (connection.numActiveStreams() == 0) {
            long idle = LoopClock.nanoTime() - idleSince;
            if (idle >= timeoutNanos) {
                ctx.close();
                return;
            }
            wait = timeoutNanos - idle;
        } else {
            // a stream whose last frame never leaves (its client reads nothing) stays open for good
            codec.lookForStalledWrites(ctx);
        }
        task = ctx.executor().schedule(this, wait, TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }
}
