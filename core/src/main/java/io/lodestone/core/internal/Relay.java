package io.lodestone.core.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The byte relay shared by the engines: the L4 engine's connections and the L7 engine's WebSocket
 * tunnels. Bytes read on one channel are written to the other and flushed once per read burst.
 * A side stops reading while its peer cannot take more (the peer's writability, bounded by its
 * write-buffer water marks), so a slow reader never causes unbounded buffering: per direction at
 * most the high water mark plus one read burst is held. A half-close (FIN) is passed on when the
 * channels allow half-closure, and the pair is closed once both directions are finished, when
 * either side closes or fails (the other side is flushed first), when neither side has read a
 * byte for the idle timeout given to {@link #join(Channel, Channel, Duration)}, or on an
 * {@link IdleStateEvent} from an idle handler placed before the relay (then both close at once).
 *
 * <p>Contract for callers: both channels are connected, belong to the same event loop and have
 * auto-read off; {@link #join} must run on that loop. Bytes already written to a channel before
 * the join are flushed by it. A FIN a channel saw before the join (its input already shut down)
 * is honoured.
 */
public final class Relay {

    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private Relay() {
    }

    /**
     * Joins two connected channels of the same event loop and starts reading on both. Adds a handler
     * named {@link PipelineNames#RELAY} at the end of each pipeline.
     *
     * @return the handlers on {@code a} and {@code b}, which count the bytes each side read
     * @throws IllegalArgumentException when the channels belong to different event loops
     */
    public static Side[] join(Channel a, Channel b) {
        return join(a, b, Duration.ZERO);
    }

    /**
     * Joins two channels as {@link #join(Channel, Channel)} does, and closes both once neither has
     * read a byte for {@code idleTimeout} ({@link Duration#ZERO}: never). One timer serves the pair;
     * a read only sets a flag, so the idle check costs nothing per byte. The pair closes between
     * {@code idleTimeout} and 1.25 times {@code idleTimeout} after the last byte.
     */
    public static Side[] join(Channel a, Channel b, Duration idleTimeout) {
        if (a.eventLoop() != b.eventLoop()) {
            throw new IllegalArgumentException("relay: " + a + " and " + b + " (expected: channels of the same event loop)");
        }
        IdleWatch watch = idleTimeout.isZero() ? null : new IdleWatch(a, b, idleTimeout.toNanos() / IdleWatch.TICKS);
        Side sideA = new Side(b, watch);
        Side sideB = new Side(a, watch);
        sideA.other = sideB;
        sideB.other = sideA;
        a.pipeline().addLast(PipelineNames.RELAY, sideA);
        b.pipeline().addLast(PipelineNames.RELAY, sideB);
        // a side may have seen its peer's FIN before the relay existed (epoll reads on RDHUP)
        sideA.inputShutdown = isInputShutdown(a);
        sideB.inputShutdown = isInputShutdown(b);
        b.flush();
        a.flush();
        start(sideA, a);
        start(sideB, b);
        if (watch != null) {
            watch.schedule();
        }
        return new Side[] {sideA, sideB};
    }

    private static void start(Side side, Channel channel) {
        if (side.inputShutdown) {
            side.inputShutdown(channel);
        } else if (side.peer.isWritable()) {
            channel.config().setAutoRead(true);
        }
    }

    private static boolean isInputShutdown(Channel ch) {
        return ch instanceof DuplexChannel duplex && duplex.isInputShutdown();
    }

    /** Flushes what is pending on the channel, then closes it; closes at once when nothing is pending. */
    public static void closeOnFlush(Channel channel) {
        if (channel.isActive() && hasPendingWrites(channel)) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }

    /** Whether anything written to the channel, flushed or not, is still to go out. */
    private static boolean hasPendingWrites(Channel channel) {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        // isEmpty() counts flushed messages only; bytes written but not flushed yet count here too
        return out != null && (out.totalPendingWriteBytes() > 0 || !out.isEmpty());
    }

    /** Sends a FIN on {@code channel} once what is pending is written (closes it when it cannot half-close). */
    public static void shutdownOutput(Channel channel) {
        if (!channel.isActive()) {
            return;
        }
        if (hasPendingWrites(channel)) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                if (f.isSuccess()) {
                    shutdownOutputNow(channel);
                } else {
                    channel.close();
                }
            });
        } else {
            shutdownOutputNow(channel);
        }
    }

    private static void shutdownOutputNow(Channel channel) {
        // Netty's shutdownOutput(), not a direct shutdown(2) on the socket: bypassing the channel's
        // own bookkeeping lost the tail of long transfers now and then (TcpBulkTransferTest)
        if (channel instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            channel.close();
        }
    }

    /**
     * The idle timer of a relayed pair: checks every quarter of the timeout whether either side read
     * anything since the last check, and closes both after four quiet checks in a row.
     */
    static final class IdleWatch implements Runnable {
        static final int TICKS = 4;
        private final Channel a;
        private final Channel b;
        private final long tickNanos;
        boolean active;
        private int quietTicks;
        private ScheduledFuture<?> next;

        IdleWatch(Channel a, Channel b, long tickNanos) {
            this.a = a;
            this.b = b;
            this.tickNanos = Math.max(1, tickNanos);
        }

        void schedule() {
            next = a.eventLoop().schedule(this, tickNanos, TimeUnit.NANOSECONDS);
        }

        void cancel() {
            ScheduledFuture<?> f = next;
            if (f != null) {
                next = null;
                f.cancel(false);
            }
        }

        @Override
        public void run() {
            next = null;
            if (!a.isActive() && !b.isActive()) {
                return;
            }
            if (active) {
                active = false;
                quietTicks = 0;
            } else if (++quietTicks >= TICKS) {
                if (log.isDebugEnabled()) {
                    log.debug("relay {} <-> {} idle: closing both", a, b);
                }
                a.close();
                b.close();
                return;
            }
            schedule();
        }
    }

    /** One side of a relay: reads from its channel, writes to the peer. */
    public static final class Side extends ChannelInboundHandlerAdapter {
        private final Channel peer;
        private final IdleWatch watch;
        private Side other;
        private boolean inputShutdown;
        private long bytesRead;

        Side(Channel peer, IdleWatch watch) {
            this.peer = peer;
            this.watch = watch;
        }

        /** The bytes read from this side's channel and passed to the peer. */
        public long bytesRead() {
            return bytesRead;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                bytesRead += buf.readableBytes();
            }
            if (watch != null) {
                watch.active = true;
            }
            if (!peer.isActive()) {
                // the peer's channelInactive closes this side
                ReferenceCountUtil.release(msg);
                return;
            }
            peer.write(msg, peer.voidPromise());
            if (!peer.isWritable()) {
                peer.flush();
                if (!peer.isWritable()) {
                    ctx.channel().config().setAutoRead(false);
                }
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // the peer's reading waits for this side's outbound buffer to drain
            boolean writable = ctx.channel().isWritable();
            if (peer.isActive() && !other.inputShutdown) {
                peer.config().setAutoRead(writable);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                inputShutdown = true;
                inputShutdown(ctx.channel());
            } else if (evt instanceof IdleStateEvent) {
                ctx.close();
                peer.close();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        /** This side's input is finished: pass the FIN on, or close both when the other side is finished too. */
        void inputShutdown(Channel self) {
            if (other.inputShutdown) {
                closeOnFlush(peer);
                closeOnFlush(self);
            } else {
                shutdownOutput(peer);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (watch != null) {
                watch.cancel();
            }
            closeOnFlush(peer);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (log.isDebugEnabled()) {
                log.debug("relay {} failed", ctx.channel(), cause);
            }
            ctx.close();
            closeOnFlush(peer);
        }
    }
}
