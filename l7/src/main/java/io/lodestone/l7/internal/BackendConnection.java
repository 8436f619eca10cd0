package io.lodestone.l7.internal;

import io.lodestone.core.BackendTls;
import io.lodestone.core.internal.LoopClock;
import io.lodestone.core.internal.ServerRuntime;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a server connection (or of one stream of an HTTP/2 server connection): passes
 * what the server sends to the client connection whose exchange holds it, and tells that exchange when the server times out, closes or its
 * writability changes. Between exchanges the connection waits in its {@link BackendPool}.
 *
 * <p>It also keeps the backend's server timeout: while an exchange holds the connection, a server
 * that neither sends nor is sent anything for that long times the exchange out. Activity only
 * moves a timestamp (once per read burst in each direction); one scheduled task per connection
 * checks it when due and moves itself forward, so a request schedules nothing.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

    final Channel channel;
    final ServerRuntime server;
    final BackendPool pool;
    /** The HTTP/1.1 response decoder; {@code null} on an HTTP/2 stream. */
    final Codecs.ResponseDecoder decoder;
    /**
     * The backend's TLS settings the connection was opened with ({@code null} for plaintext): a pool
     * hands it out only while they are still the backend's.
     */
    final BackendTls tls;
    /** Sizes the reads of an HTTP/1.1 server connection ({@link HttpPipeline#initServer}); {@code null} on an HTTP/2 stream. */
    private final ServerReads reads;
    /** The client connection's proxy handler whose request this connection carries, or null. */
    HttpProxyHandler exchange;
    /**
     * The exchange this read burst passed something to: flushed when the burst completes, even when
     * the exchange ended in the burst (its last piece is written without a flush).
     */
    private HttpProxyHandler flushTo;
    /** Whether the connection waits in the pool. */
    boolean pooled;
    /** Whether the connection carried an exchange before the current one. */
    boolean reused;
    /** For a stream of an HTTP/2 connection: that connection; {@code null} for an HTTP/1.1 connection. */
    Http2ServerConnection http2;
    /** Whether the server refused the stream unprocessed (RST_STREAM REFUSED_STREAM, or above its GOAWAY's last stream). */
    boolean refused;
    /**
     * Whether the stream was refused by a GOAWAY (above its last stream) or never sent: the server
     * ended the connection, usually gracefully (nginx after its {@code keepalive_requests}), which says
     * nothing of its load, so sending the request again takes no slot of the retry budget.
     */
    boolean goneAway;
    /**
     * Whether the connection failed (a reset, a read error): what the decoder makes of its end (the
     * end of a body delimited by the close) is not passed on, and the exchange learns of the failure
     * when the connection closes.
     */
    private boolean failed;
    long idleSince;
    /** When the connection was made ({@link LoopClock#nanoTime()}), for the pool's lifetime limit. */
    final long openedAt = LoopClock.nanoTime();
    /** The exchanges the connection has been handed, the current one included, for the pool's request limit. */
    int exchanges;
    /**
     * The backend's server timeout, read again at each {@link #bind}: a reconfiguration that changes it
     * applies to the pooled connections too, not only to those opened after it.
     */
    private long timeoutNanos;
    /** When the server last read or was sent something during an exchange ({@link LoopClock#nanoTime()}). */
    private long lastActivity;
    private ScheduledFuture<?> timer;
    /** When {@link #timer} is due ({@link LoopClock#nanoTime()}); meaningful while it is set. */
    private long timerDue;

    BackendConnection(Channel channel, ServerRuntime server, BackendPool pool, Codecs.ResponseDecoder decoder) {
        this.channel = channel;
        this.server = server;
        this.pool = pool;
        this.decoder = decoder;
        this.reads = channel.config().getRecvByteBufAllocator() instanceof ServerReads r ? r : null;
        this.tls = server.backend().config().tls();
        this.timeoutNanos = server.backend().config().serverTimeout().toNanos();
    }

    /**
     * Hands the connection to an exchange whose request is being sent, and starts its server timeout:
     * the backend's current one, which a reconfiguration may have changed since the connection was
     * opened (a timer still set for the old one is set again). The reads of an HTTP/1.1 server
     * connection are sized to {@code client}'s room when it is an HTTP/2 stream ({@link ServerReads}).
     */
    void bind(HttpProxyHandler x, Channel client) {
        exchange = x;
        if (reads != null) {
            reads.sizeFor(client);
        }
        exchanges++;
        lastActivity = LoopClock.nanoTime();
        long timeout = server.backend().config().serverTimeout().toNanos();
        if (timeout != timeoutNanos) {
            timeoutNanos = timeout;
            cancelTimer();
        }
        if (timer == null && timeout > 0) {
            schedule(timeout);
        }
    }

    /**
     * The proxy stopped reading the server because the client takes no more ({@code clientTimeoutNanos}
     * is its frontend's client timeout, 0 for none): the client timeout bounds that wait from the
     * server's last activity, so the timer, due at the server timeout, comes forward to it when that is
     * sooner. The stall used to be looked at only when the server timeout came: with the defaults
     * (client 10 s, server 60 s) a client that took nothing held its server connection for 60 s, and
     * with no server timeout for good.
     */
    void pausedForClient(long clientTimeoutNanos) {
        if (exchange == null || clientTimeoutNanos <= 0) {
            return;
        }
        long due = lastActivity + clientTimeoutNanos;
        if (timer != null) {
            if (timerDue - due <= 0) {
                return;
            }
            timer.cancel(false);
        }
        schedule(Math.max(0, due - LoopClock.nanoTime()));
    }

    private void schedule(long delayNanos) {
        timerDue = LoopClock.nanoTime() + delayNanos;
        timer = channel.eventLoop().schedule(this, delayNanos, TimeUnit.NANOSECONDS);
    }

    /** Back in the pool: the reads are no longer sized by the stream the connection served, nor keep it alive. */
    void pooled() {
        pooled = true;
        if (reads != null) {
            reads.sizeFor(null);
        }
    }

    /** Something was sent to the server: its timeout starts again. */
    void touch() {
        lastActivity = LoopClock.nanoTime();
    }

    /**
     * The timer: times the exchange out when the server was quiet for the whole timeout, or when the
     * client took none of the response for the client timeout while the server waited for it; else
     * waits on.
     */
    @Override
    public void run() {
        timer = null;
        HttpProxyHandler x = exchange;
        if (x == null || !channel.isActive()) {
            // between exchanges nothing is timed; the next bind() schedules again
            return;
        }
        long quiet = LoopClock.nanoTime() - lastActivity;
        // the proxy stopped reading the server because the client takes no more: the server is not
        // the one that is quiet, and the client timeout bounds the wait, as HAProxy's timeout client
        // does for its writes to a client that does not read (timeout server is for a server that
        // does not send)
        boolean clientStalled = !channel.config().isAutoRead();
        long limit = clientStalled ? x.clientTimeoutNanos() : timeoutNanos;
        if (limit <= 0) {
            // no client timeout: looked at again after the server timeout (with none, when the proxy
            // next stops reading for a client that has one)
            if (timeoutNanos > 0) {
                schedule(timeoutNanos);
            }
            return;
        }
        if (quiet < limit) {
            schedule(timeoutNanos > 0 ? Math.min(timeoutNanos, limit - quiet) : limit - quiet);
            return;
        }
        if (clientStalled) {
            x.clientStalledTimedOut(this);
        } else {
            x.serverTimedOut(this);
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelTimer();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2ResetFrame reset) {
            // the stream closes right after; the exchange learns of it then
            refused |= reset.errorCode() == Http2Error.REFUSED_STREAM.code();
            return;
        }
        HttpProxyHandler x = exchange;
        if (failed) {
            ReferenceCountUtil.release(msg);
        } else if (x != null) {
            flushTo = x;
            x.serverRead(this, msg);
        } else {
            // a server must not speak unasked; the connection is no longer trustworthy
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            lastActivity = LoopClock.nanoTime();
        }
        HttpProxyHandler x = flushTo;
        if (x != null) {
            flushTo = null;
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
        if (evt instanceof Http2GoAwayFrame goAway) {
            // this stream is above the last one the server will process
            refused = true;
            goneAway = true;
            goAway.release();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        HttpProxyHandler unflushed = flushTo;
        if (unflushed != null) {
            // the read burst ended with the connection. On io_uring, when a response saying
            // Connection: close arrives with the server's FIN, the exchange closes the connection
            // from channelRead and no channelReadComplete follows: the response waited unflushed
            // until the client's next write (HttpFailureTest has the case)
            flushTo = null;
            unflushed.serverReadComplete();
        }
        if (pooled) {
            pool.remove(this);
        }
        if (http2 != null && !refused) {
            refused = http2.refused((Http2StreamChannel) ctx.channel());
            goneAway = refused;
        }
        HttpProxyHandler x = exchange;
        if (x != null) {
            if (http2 != null && !refused && http2.keepAliveTimedOut()) {
                // the proxy closed the connection: its server sent nothing within the keep-alive
                // timeout after a PING, so the stream waited on a silent server, as in a server timeout
                x.serverTimedOut(this);
            } else {
                x.serverClosed(this);
            }
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("server connection {} to {} failed", ctx.channel(), server, cause);
        }
        failed = true;
        ctx.close();
    }
}
