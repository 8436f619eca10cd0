package io.lodestone.core.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The byte relay shared by the engines: the L4 engine's connections and the L7 engine's WebSocket
 * tunnels. Bytes read on one channel are written to the other and flushed once per read burst.
 * A side stops reading while its peer cannot take more (the peer's writability, bounded by its
 * write-buffer water marks), so a slow reader never causes unbounded buffering: per direction at
 * most the high water mark plus one read burst is held.
 *
 * <p>How a pair ends:
 * <ul>
 * <li>A half-close (FIN) is passed on when the channels allow half-closure, after what was read
 *     before it; the pair is closed once both directions are finished. On a channel with TLS
 *     (an {@link SslHandler}), the peer's {@code close_notify} ends its input as a FIN does, and is
 *     passed on as a FIN too; a later FIN on that channel adds nothing. When the TLS stack answered
 *     the {@code close_notify} with its own and can send nothing more (TLS 1.2, or Netty's OpenSSL
 *     engine), that side is finished both ways and the pair is closed. A FIN passed on to a channel
 *     where the proxy is the TLS server follows a {@code close_notify} (see {@link #shutdownOutput}).</li>
 * <li>A side that fails (a reset, or any other error reading or writing it) is an abort, and the
 *     abort is passed on: what was already read from the failed side is flushed to the other side,
 *     which is then closed with {@code SO_LINGER} 0, so that its peer sees a reset too rather than
 *     an end of stream that looks like a complete transfer. The reset drops what the kernel still
 *     holds for that peer (what a slow reader has not taken yet). HAProxy resets the server when
 *     the client resets, but passes a server's reset on to the client as a FIN.</li>
 * <li>When neither side has read a byte for the idle timeout given to
 *     {@link #join(Channel, Channel, Duration, Observer)}, or on an {@link IdleStateEvent} from an
 *     idle handler placed before the relay, both close at once. With a timeout per side
 *     ({@link #join(Channel, Channel, Duration, Duration, Observer)}) the shorter applies while both
 *     sides may still send, and only the other side's once a side has sent its FIN: the relay then
 *     waits on that other side alone, as HAProxy applies its server timeout alone to a session whose
 *     client has half-closed. While a side's outbound buffer is over its high water mark (the proxy
 *     stopped reading the other side for it), the relay waits on that side, with its timeout, and
 *     what it takes of the buffer counts as activity, as HAProxy applies its client timeout to the
 *     writes toward a client.</li>
 * <li>When a side is closed from outside (the proxy's shutdown, runtime control), the other side
 *     is flushed and closed.</li>
 * </ul>
 * An {@link Observer} given to the join learns of an abort or an idle timeout, once per pair,
 * before anything is closed for it.
 *
 * <p>Contract for callers: both channels are connected, belong to the same event loop and have
 * auto-read off; {@link #join} must run on that loop. Bytes already written to a channel before
 * the join are flushed by it. A FIN or a TLS {@code close_notify} a channel saw before the join (its
 * input already shut down, its TLS handler's {@link SslHandler#sslCloseFuture()} done) is honoured.
 *
 * <p>A channel that is no socket (an HTTP/2 stream carrying a WebSocket) takes part through a
 * {@link StreamEnds} handler in its pipeline, which gives it a socket's half-close and reset.
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
        return join(a, b, Duration.ZERO, null);
    }

    /**
     * Joins two channels as {@link #join(Channel, Channel)} does, and closes both once neither has
     * read a byte for {@code idleTimeout} ({@link Duration#ZERO}: never). One timer serves the pair;
     * a read only sets a flag, so the idle check costs nothing per byte. The pair closes between
     * {@code idleTimeout} and 1.25 times {@code idleTimeout} after the last byte. The timer runs
     * until both channels are closed, so it also bounds the flush of the last bytes to a side that
     * no longer reads once the other side has gone.
     */
    public static Side[] join(Channel a, Channel b, Duration idleTimeout) {
        return join(a, b, idleTimeout, null);
    }

    /**
     * Joins two channels as {@link #join(Channel, Channel, Duration)} does and tells
     * {@code observer} (may be {@code null}) when the pair ends by an abort or by the idle timeout.
     */
    public static Side[] join(Channel a, Channel b, Duration idleTimeout, Observer observer) {
        return join(a, b, idleTimeout, idleTimeout, observer);
    }

    /**
     * Joins two channels as {@link #join(Channel, Channel, Duration, Observer)} does, with an idle
     * timeout for each side ({@link Duration#ZERO}: none): {@code idleTimeoutA} is how long the relay
     * waits for {@code a} (a client, with its client timeout), {@code idleTimeoutB} for {@code b}. While
     * both sides may still send, the pair closes once neither has read a byte for the shorter of the
     * two ({@code a}'s when they are equal); once one side's input has ended (a FIN, or a TLS
     * {@code close_notify}), only the other side's timeout applies.
     */
    public static Side[] join(Channel a, Channel b, Duration idleTimeoutA, Duration idleTimeoutB, Observer observer) {
        if (a.eventLoop() != b.eventLoop()) {
            throw new IllegalArgumentException("relay: " + a + " and " + b + " (expected: channels of the same event loop)");
        }
        Pair pair = new Pair(a, b, ticks(idleTimeoutA), ticks(idleTimeoutB), observer);
        Side sideA = new Side(b, pair);
        Side sideB = new Side(a, pair);
        sideA.other = sideB;
        sideB.other = sideA;
        a.pipeline().addLast(PipelineNames.RELAY, sideA);
        b.pipeline().addLast(PipelineNames.RELAY, sideB);
        // a side may have seen its peer's FIN (epoll reads on RDHUP) or close_notify before the relay existed
        sideA.inputShutdown = isInputEnded(a);
        sideB.inputShutdown = isInputEnded(b);
        b.flush();
        a.flush();
        // the idle checks begin before a FIN seen before the join is passed on, which may change them
        pair.start();
        start(sideA, a);
        start(sideB, b);
        return new Side[] {sideA, sideB};
    }

    /** A quarter of an idle timeout, the interval of the pair's checks; 0 for none. */
    private static long ticks(Duration idleTimeout) {
        return idleTimeout.isZero() ? 0 : Math.max(1, idleTimeout.toNanos() / Pair.TICKS);
    }

    /**
     * Told how a relayed pair ended when it was not by a close on both sides. Called on the pair's
     * event loop, at most once per pair (the first of these events wins; what follows from it is
     * not reported), before the relay closes anything because of it. An engine's connection object
     * implements it, so no listener is allocated per connection.
     */
    public interface Observer {

        /**
         * {@code failed} was reset, or failed otherwise while reading or writing: the relay is about
         * to flush the other side and reset it too.
         */
        void aborted(Channel failed, Throwable cause);

        /**
         * Neither side read a byte for the idle timeout (or an idle handler fired): both are about to
         * close. {@code waitedOn} is the side whose timeout applied: the one with the shorter timeout
         * (the first channel of the join when they are equal), or the only side that could still send
         * once the other's input had ended.
         */
        void idleTimedOut(Channel waitedOn);
    }

    /**
     * The ends of a channel that is no socket, such as an HTTP/2 stream that carries a tunnel (RFC 8441):
     * a handler in its pipeline that implements this is asked, instead of the socket calls, whether the
     * channel's input had ended before the join, to end its sending side (a FIN; END_STREAM on a stream)
     * and to end it abortively (a reset; RST_STREAM). Its end of input reaches the relay as a
     * {@link ChannelInputShutdownEvent}. Looked up once per pair end, not per read.
     */
    public interface StreamEnds extends ChannelHandler {

        /** Whether the peer ended its sending side before the relay was joined (END_STREAM already read). */
        boolean inputEnded();

        /** Ends the channel's sending side once what was written is sent, the channel still read. */
        void shutdownOutput(Channel channel);

        /** Ends the channel abortively, so that its peer sees a reset rather than an end; the relay closes it next. */
        void reset(Channel channel);
    }

    private static StreamEnds streamEnds(Channel ch) {
        return ch instanceof DuplexChannel ? null : ch.pipeline().get(StreamEnds.class);
    }

    private static void start(Side side, Channel channel) {
        if (side.inputShutdown) {
            side.inputShutdown(channel);
        } else if (side.peer.isWritable()) {
            channel.config().setAutoRead(true);
        }
    }

    private static boolean isInputEnded(Channel ch) {
        if (ch instanceof DuplexChannel duplex && duplex.isInputShutdown()) {
            return true;
        }
        StreamEnds ends = streamEnds(ch);
        if (ends != null) {
            return ends.inputEnded();
        }
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        return tls != null && tls.sslCloseFuture().isSuccess();
    }

    /**
     * Whether the channel's TLS stack has closed its sending side (it answered a {@code close_notify}
     * with its own): nothing more can be written to the channel's peer. Looked up once per pair, when
     * an input ends.
     */
    private static boolean isTlsOutboundDone(Channel ch) {
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        return tls != null && tls.engine().isOutboundDone();
    }

    /** Flushes what is pending on the channel, then closes it; closes at once when nothing is pending. */
    public static void closeOnFlush(Channel channel) {
        if (channel.isActive() && hasPendingWrites(channel)) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }

    /** Resets the channel of the future it listens to: see {@link #resetOnFlush(Channel)}. */
    private static final ChannelFutureListener RESET = f -> resetNow(f.channel());

    /**
     * Flushes what is pending on the channel, then closes it abortively: with {@code SO_LINGER} 0,
     * so that the peer gets a reset instead of a FIN (bytes the kernel still holds for it are
     * dropped). For channels that have no such option (not a TCP socket) it is a plain close.
     */
    public static void resetOnFlush(Channel channel) {
        if (channel.isActive() && hasPendingWrites(channel)) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(RESET);
        } else {
            resetNow(channel);
        }
    }

    private static void resetNow(Channel channel) {
        StreamEnds ends = channel.isActive() ? streamEnds(channel) : null;
        if (ends != null) {
            ends.reset(channel);
        } else if (channel.isActive()) {
            try {
                channel.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (ChannelException e) {
                // the socket is already gone: the close below is all that is left to do
                if (log.isDebugEnabled()) {
                    log.debug("relay {}: SO_LINGER 0 not set", channel, e);
                }
            }
        }
        channel.close();
    }

    /** The bytes written to the channel, flushed or not, that are still to go out. */
    private static long pendingBytes(Channel channel) {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    /** Whether anything written to the channel, flushed or not, is still to go out. */
    private static boolean hasPendingWrites(Channel channel) {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        // isEmpty() counts flushed messages only; bytes written but not flushed yet count here too
        return out != null && (out.totalPendingWriteBytes() > 0 || !out.isEmpty());
    }

    /**
     * Sends a FIN on {@code channel} once what is pending is written (closes it when it cannot
     * half-close). Where the proxy is the TLS server of the channel (a client's connection), the FIN
     * follows a {@code close_notify}, so that the client sees the end of the TLS stream rather than a
     * truncation; the channel is still read. Toward a server spoken to over TLS the FIN stays bare:
     * Netty's OpenSSL engine in client mode reads nothing more once it has sent its
     * {@code close_notify}, so the server's answer to the end of the request would be lost.
     */
    public static void shutdownOutput(Channel channel) {
        if (!channel.isActive()) {
            return;
        }
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        if (tls != null && !tls.engine().getUseClientMode()) {
            // what is pending through the engine first: once its sending side is closed it wraps nothing more
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
                if (!written.isSuccess()) {
                    channel.close();
                    return;
                }
                tls.closeOutbound().addListener(notified -> {
                    if (notified.isSuccess()) {
                        shutdownOutputNow(channel);
                    } else {
                        channel.close();
                    }
                });
            });
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
            return;
        }
        StreamEnds ends = streamEnds(channel);
        if (ends != null) {
            ends.shutdownOutput(channel);
        } else {
            channel.close();
        }
    }

    /**
     * What the two sides of a relayed pair share: whether the pair has ended abnormally (so that the
     * consequences of an abort or a timeout are not taken for new causes), the observer, and the idle
     * timer, which checks every quarter of the timeout whether either side read anything since the
     * last check and closes both after four quiet checks in a row.
     */
    static final class Pair implements Runnable {
        static final int TICKS = 4;
        private final Channel a;
        private final Channel b;
        private final Observer observer;
        /** A quarter of the idle timeout of a and of b; 0 when there is none. */
        private final long tickA;
        private final long tickB;
        /** A quarter of the idle timeout that applies now; 0 when there is none. */
        private long tickNanos;
        /** The side whose idle timeout applies now. */
        private Channel waitedOn;
        /** Whose input has ended (a FIN or a close_notify): only the other side's timeout applies. */
        private boolean endedA;
        private boolean endedB;
        /**
         * Whose channel is over its high water mark: the proxy waits for that side to take bytes, and
         * stopped reading the other side for it, so that side's timeout applies.
         */
        private boolean blockedA;
        private boolean blockedB;
        /**
         * The bytes pending toward {@link #waitedOn} at the last check while it was over its high
         * water mark (else 0): a change is progress too.
         */
        private long lastPending;
        /** The join is done and the checks have begun. */
        private boolean started;
        /** Set by a read on either side; cleared by each check. */
        boolean active;
        /** The pair ended by an abort or a timeout: later failures are its consequences. */
        boolean ended;
        /** The pair ended by an abort: whatever closes a side from now on resets it. */
        boolean aborted;
        private int quietTicks;
        private ScheduledFuture<?> next;

        Pair(Channel a, Channel b, long tickA, long tickB, Observer observer) {
            this.a = a;
            this.b = b;
            this.tickA = tickA;
            this.tickB = tickB;
            this.observer = observer;
            boolean byA = byA();
            this.tickNanos = byA ? tickA : tickB;
            this.waitedOn = byA ? a : b;
        }

        /** The bytes pending toward the side waited on while it is over its high water mark, else 0. */
        private long pendingTowardWaitedOn() {
            return (waitedOn == a ? blockedA : blockedB) ? pendingBytes(waitedOn) : 0;
        }

        /** Whether a's timeout is the shorter one (or the only one, or equal to b's). */
        private boolean byA() {
            return tickB == 0 || tickA != 0 && tickA <= tickB;
        }

        /**
         * {@code ended}'s input is finished while the other side may still send: from now on only the
         * other side's timeout applies, counted afresh (the end of input was activity).
         */
        void inputEnded(Channel ended) {
            if (ended == a) {
                endedA = true;
            } else {
                endedB = true;
            }
            retarget();
        }

        /**
         * {@code channel} went over its high water mark ({@code writable} false) or back under its low
         * one: while the proxy holds bytes a side does not take, it waits on that side, not on the one
         * it stopped reading for it.
         */
        void writability(Channel channel, boolean writable) {
            if (channel == a) {
                blockedA = !writable;
            } else {
                blockedB = !writable;
            }
            retarget();
        }

        /**
         * Picks the side waited on: one that does not take the bytes held for it; else, once one
         * side's input has ended, the other; else the side of the shorter timeout. A change starts
         * the count afresh.
         */
        private void retarget() {
            Channel target;
            if (blockedA != blockedB) {
                target = blockedA ? a : b;
            } else if (!blockedA && endedA != endedB) {
                target = endedA ? b : a;
            } else {
                target = byA() ? a : b;
            }
            long tick = target == a ? tickA : tickB;
            if (target == waitedOn && tick == tickNanos) {
                return;
            }
            waitedOn = target;
            tickNanos = tick;
            quietTicks = 0;
            active = false;
            lastPending = pendingTowardWaitedOn();
            if (started) {
                cancel();
                schedule();
            }
        }

        void start() {
            started = true;
            schedule();
        }

        void schedule() {
            if (tickNanos > 0) {
                next = a.eventLoop().schedule(this, tickNanos, TimeUnit.NANOSECONDS);
            }
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
            // while the proxy holds more than the high water mark for the side waited on, what that
            // side takes of it counts as activity too (the other side is not read meanwhile)
            long pending = pendingTowardWaitedOn();
            if (active || pending != lastPending) {
                active = false;
                quietTicks = 0;
                lastPending = pending;
            } else if (++quietTicks >= TICKS) {
                if (log.isDebugEnabled()) {
                    log.debug("relay {} <-> {} idle: closing both", a, b);
                }
                expire();
                return;
            }
            schedule();
        }

        /**
         * Closes both sides for being idle; resets them instead when an abort was still flushing the
         * last bytes to a side that does not take them, so that the reset still reaches its peer.
         */
        void expire() {
            if (aborted) {
                resetNow(a);
                resetNow(b);
                return;
            }
            if (!ended) {
                ended = true;
                if (observer != null) {
                    observer.idleTimedOut(waitedOn);
                }
            }
            a.close();
            b.close();
        }
    }

    /** One side of a relay: reads from its channel, writes to the peer. */
    public static final class Side extends ChannelInboundHandlerAdapter {
        private final Channel peer;
        private final Pair pair;
        private Side other;
        private boolean inputShutdown;
        private long bytesRead;

        Side(Channel peer, Pair pair) {
            this.peer = peer;
            this.pair = pair;
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
            pair.active = true;
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
            pair.writability(ctx.channel(), writable);
            if (peer.isActive() && !other.inputShutdown) {
                peer.config().setAutoRead(writable);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent
                    || evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
                // a FIN, or the peer's close_notify on a TLS channel; a FIN after a close_notify adds nothing
                if (inputShutdown) {
                    return;
                }
                inputShutdown = true;
                // after a failure the transports shut the input down too: that is no FIN to pass on
                if (!pair.ended) {
                    inputShutdown(ctx.channel());
                }
            } else if (evt instanceof IdleStateEvent) {
                pair.expire();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        /**
         * This side's input is finished: pass the FIN on, or close both when the other side is finished
         * too or this side's TLS can send nothing more.
         */
        void inputShutdown(Channel self) {
            if (other.inputShutdown || isTlsOutboundDone(self)) {
                closeOnFlush(peer);
                closeOnFlush(self);
            } else {
                // the wait on the other side starts before the FIN goes out
                pair.inputEnded(self);
                shutdownOutput(peer);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!peer.isActive()) {
                // the idle timer also bounds the last flush to a side that is still open
                pair.cancel();
            }
            if (!pair.ended) {
                closeOnFlush(peer);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Channel self = ctx.channel();
            if (pair.ended || isClosedOnPurpose(self, cause)) {
                // a consequence of an end already under way: the close that caused it decides the rest
                ctx.close();
                return;
            }
            pair.ended = true;
            pair.aborted = true;
            if (!(cause instanceof IOException || cause instanceof DecoderException)) {
                // not the network nor the peer's bytes (a TLS record, say): a fault that must not pass unseen
                log.warn("relay {} failed unexpectedly: resetting {}", self, peer, cause);
            } else if (log.isDebugEnabled()) {
                log.debug("relay {} failed: resetting {}", self, peer, cause);
            }
            if (pair.observer != null) {
                pair.observer.aborted(self, cause);
            }
            resetOnFlush(peer);
            ctx.close();
        }

        /**
         * Whether the failure only reports that the channel was closed on purpose (by the proxy's
         * shutdown, say): writes still queued when a channel is closed fail with a
         * {@link ClosedChannelException} without a cause. A write that failed because the peer reset
         * the connection fails with the transport's {@link IOException} instead, after the
         * transport closed the channel.
         */
        private static boolean isClosedOnPurpose(Channel self, Throwable cause) {
            return !self.isOpen() && (!(cause instanceof IOException)
                    || cause instanceof ClosedChannelException && cause.getCause() == null);
        }
    }
}
