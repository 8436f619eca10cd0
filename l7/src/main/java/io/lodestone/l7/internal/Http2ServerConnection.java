package io.lodestone.l7.internal;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendTls;
import io.lodestone.core.internal.LoopClock;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.ErrorKind;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 connection to a server (h2 or h2c), shared by the requests of every client connection
 * of its event loop: each request is a stream channel opened by {@link #open}. Used only from its
 * event loop. It takes new streams while it is open, has not received GOAWAY and has fewer streams
 * in use than the server's {@code SETTINGS_MAX_CONCURRENT_STREAMS}; until the server's first
 * SETTINGS arrive, requests wait here (at most {@link #ASSUMED_MAX_STREAMS} of them). A connection
 * no stream has used for the pool's idle timeout is closed. With the backend's keep-alive PINGs on, a
 * connection that received nothing for their interval sends a PING, and closes when nothing comes back
 * within their timeout.
 */
final class Http2ServerConnection extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(Http2ServerConnection.class);

    /** The concurrent streams a server is assumed to take before its SETTINGS say (RFC 9113 recommends at least 100). */
    static final int ASSUMED_MAX_STREAMS = 100;
    /** The opaque data of the proxy's PINGs ("Lodestone", cut to 8 bytes). */
    private static final long PING_DATA = 0x4c6f646573746f6eL;

    final Channel channel;
    final ServerRuntime server;
    /**
     * The backend's TLS settings the connection was made with ({@code null} for h2c): once a
     * reconfiguration changed them it takes no new stream ({@link #retire}).
     */
    final BackendTls tls;
    private final BackendPool pool;
    private Http2StreamChannelBootstrap streams;
    private Http2Connection connection;
    /** Requests waiting for the server's SETTINGS. */
    private ArrayDeque<Promise<Channel>> waiting = new ArrayDeque<>();
    private boolean ready;
    private boolean goAway;
    /** Made under TLS settings a reconfiguration changed: closes when no stream uses it any more. */
    private boolean retired;
    /** Streams opened and not yet closed. */
    int inUse;
    private long idleSince;
    private ScheduledFuture<?> idleTimer;
    /** Gives up the connection when the server's first SETTINGS do not come within the connect timeout. */
    private ScheduledFuture<?> settingsTimer;
    /**
     * A PING sent and not answered yet: after a stream's server timeout ({@link #probe}) or as a
     * keep-alive ({@link #keepAliveCheck}); at most one is out at a time.
     */
    private ScheduledFuture<?> pingTimer;
    /** Whether the PING out is a keep-alive one, which anything received answers, not only its ACK. */
    private boolean keepAlivePing;
    /** When the PING out was sent ({@link LoopClock#nanoTime()}), and how long it has to be answered. */
    private long pingSentAt;
    private long pingTimeoutNanos;
    /**
     * The backend's keep-alive interval in nanoseconds as last read (0: keep-alive PINGs off), read
     * again at each check and after each reconfiguration.
     */
    private long keepAliveNanos;
    /**
     * When something was last received ({@link LoopClock#nanoTime()}), stamped once per read burst and
     * only while keep-alive PINGs are on; the keep-alive timer reads it when due and moves itself
     * forward, so traffic schedules nothing.
     */
    private long lastRead;
    private ScheduledFuture<?> keepAliveTimer;
    /**
     * Closed because the server sent nothing within the keep-alive timeout after a PING: the streams
     * still on it end as server timeouts ({@link BackendConnection#channelInactive}).
     */
    private boolean keepAliveTimedOut;
    /** The TCP connect and, with TLS, the handshake: done when the connection is up. */
    private final ChannelFuture setup;
    /**
     * Takes a request given up by its client (its stream cancelled) out of {@link #waiting}; the last
     * one to leave while the connection is still being made gives the connect up, as an HTTP/1.1
     * request does its own ({@link BackendPool#abandon}): left to finish, it made a connection no
     * one waited for, which idled until the pool's idle timeout, and a connect that failed counted
     * an error on the server. Once the connection is up, it stays for the requests to come, as an
     * HTTP/1.1 connection made for a request given up goes to the pool.
     */
    private final GenericFutureListener<Future<Channel>> leftWaiting = this::leftWaiting;

    Http2ServerConnection(Channel channel, ServerRuntime server, BackendPool pool, ChannelFuture setup) {
        this.channel = channel;
        this.server = server;
        this.tls = server.backend().config().tls();
        this.pool = pool;
        this.setup = setup;
    }

    private void leftWaiting(Future<Channel> f) {
        if (f.isCancelled()) {
            waiting.remove(f);
            if (waiting.isEmpty() && !setup.isDone()) {
                goAway = true;
                pool.http2Unusable(this);
                BackendPool.abandon(setup);
            }
        }
    }

    /** Whether a new request may use this connection now or once it is ready. */
    boolean accepts() {
        if (goAway || !channel.isOpen()) {
            return false;
        }
        if (!ready) {
            return waiting.size() < ASSUMED_MAX_STREAMS;
        }
        return channel.isActive() && inUse < maxStreams();
    }

    private int maxStreams() {
        return connection.local().maxActiveStreams();
    }

    /**
     * Opens a stream for a request now, or once the server's SETTINGS have arrived; a request whose
     * client gives up before then cancels {@code stream}, which leaves the wait at once.
     */
    void open(Promise<Channel> stream) {
        if (!ready) {
            waiting.add(stream);
            stream.addListener(leftWaiting);
            return;
        }
        inUse++;
        streams.open().addListener(f -> {
            if (f.isSuccess()) {
                Http2StreamChannel ch = (Http2StreamChannel) f.getNow();
                ch.closeFuture().addListener(closed -> streamClosed());
                if (!stream.trySuccess(ch)) {
                    ch.close();
                }
            } else {
                streamClosed();
                stream.tryFailure(f.cause());
            }
        });
    }

    private void streamClosed() {
        inUse--;
        if (inUse == 0) {
            becameIdle();
        }
    }

    /**
     * No stream uses the connection from now: it closes after the pool's idle timeout unless one does,
     * and at once when its server was removed (nothing will use it again).
     */
    private void becameIdle() {
        if (server.isRemoved() || retired) {
            closeUnused();
            return;
        }
        idleSince = LoopClock.nanoTime();
        if (idleTimer == null && channel.isActive()) {
            idleTimer = channel.eventLoop().schedule(this::idleCheck, pool.idleTimeoutNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Closes the connection (GOAWAY first, through the codec) once no stream has used it for the
     * pool's idle timeout; while streams come and go, re-arms itself for the rest of the timeout.
     * One timer per idle period, none per request.
     */
    private void idleCheck() {
        idleTimer = null;
        if (inUse > 0 || !channel.isActive()) {
            return;
        }
        long left = pool.idleTimeoutNanos() - (LoopClock.nanoTime() - idleSince);
        if (left > 0) {
            idleTimer = channel.eventLoop().schedule(this::idleCheck, left, TimeUnit.NANOSECONDS);
            return;
        }
        goAway = true;
        pool.http2Unusable(this);
        channel.close();
    }

    /**
     * Its server was removed from its backend (the pool forgot the connection): closes it now when no
     * stream uses it or waits for it, else when the last one ends ({@link #becameIdle}).
     */
    void serverRemoved() {
        if (inUse == 0 && waiting.isEmpty()) {
            closeUnused();
        }
    }

    /**
     * Its backend's TLS settings changed since it was made (the pool forgot the connection): it takes
     * no new stream, and closes now when no stream uses it or waits for it, else when the last one ends.
     */
    void retire() {
        retired = true;
        goAway = true;
        serverRemoved();
    }

    private void closeUnused() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        goAway = true;
        pool.http2Unusable(this);
        channel.close();
    }

    /**
     * Gives the server {@code nanos} (what the TCP connect and the TLS handshake left of the backend's
     * connect timeout, which covers the whole setup) to send its first SETTINGS; without them by then
     * (not an HTTP/2 server, or one that hangs) the connection is a connect timeout: it takes no more
     * requests, those waiting fail with a {@link ConnectTimeoutException} (the next server, then 504,
     * {@code sC}), it counts a timeout error on its server, and it closes. The timer is cancelled when
     * the SETTINGS come or the connection closes first.
     */
    void expectSettingsWithin(long nanos) {
        if (ready || !channel.isActive()) {
            return;
        }
        settingsTimer = channel.eventLoop().schedule(this::settingsTimedOut, Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    private void settingsTimedOut() {
        settingsTimer = null;
        if (ready || !channel.isActive()) {
            return;
        }
        // unusable before the waiting requests fail: a retry must not wait on this connection again
        goAway = true;
        pool.http2Unusable(this);
        server.metrics().error(ErrorKind.TIMEOUT);
        failWaiting(new ConnectTimeoutException("server " + server + " sent no HTTP/2 SETTINGS within the connect timeout"));
        channel.close();
    }

    private void cancelSettingsTimer() {
        if (settingsTimer != null) {
            settingsTimer.cancel(false);
            settingsTimer = null;
        }
    }

    /**
     * A stream of this connection met its server timeout: asks the server for a PING unless one is out
     * already, and closes the connection when no acknowledgement comes within the backend's connect
     * timeout. A server that stopped reading (a process hung, a peer gone without a FIN or reset, a
     * middlebox dropping the flow) otherwise kept the connection, and every stream opened on it later
     * waited out its own server timeout, until TCP itself gave up on the unacknowledged bytes (many
     * minutes). A slow server still answers a PING, which its codec sends at once, and keeps the
     * connection. The streams still open fail when it closes, as after a reset (502, or retried).
     */
    void probe() {
        if (pingTimer != null || goAway || !channel.isActive()) {
            return;
        }
        ping(server.backend().config().connectTimeout().toNanos(), false);
    }

    /** Sends a PING and gives the server {@code timeoutNanos} to answer it ({@link #pingTimedOut}). */
    private void ping(long timeoutNanos, boolean keepAlive) {
        keepAlivePing = keepAlive;
        pingTimeoutNanos = timeoutNanos;
        pingSentAt = LoopClock.nanoTime();
        channel.writeAndFlush(new DefaultHttp2PingFrame(PING_DATA), channel.voidPromise());
        pingTimer = channel.eventLoop().schedule(this::pingTimedOut, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void pingTimedOut() {
        pingTimer = null;
        if (!channel.isActive()) {
            return;
        }
        if (keepAlivePing) {
            if (lastRead - pingSentAt >= 0) {
                // no ACK, but frames came: the server is there
                armKeepAlive();
                return;
            }
            log.info("HTTP/2 connection to server {} closed: nothing received within the keep-alive timeout ({} ms) after a PING", server,
                    TimeUnit.NANOSECONDS.toMillis(pingTimeoutNanos));
            keepAliveTimedOut = true;
            if (inUse == 0) {
                // no request learns of it: the connection counts its own timeout (each stream on it counts its request's)
                server.metrics().error(ErrorKind.TIMEOUT);
            }
        } else {
            log.info("HTTP/2 connection to server {} closed: no answer to a PING within the connect timeout after a server timeout", server);
        }
        goAway = true;
        pool.http2Unusable(this);
        channel.close();
    }

    private void cancelPingTimer() {
        if (pingTimer != null) {
            pingTimer.cancel(false);
            pingTimer = null;
        }
    }

    /**
     * Starts the keep-alive PINGs when the backend has them ({@link io.lodestone.core.Backend#http2KeepAliveInterval()}):
     * from now, as if something had just been received. Called when the server's first SETTINGS
     * arrive.
     */
    private void startKeepAlive() {
        Duration interval = server.backend().config().http2KeepAliveInterval();
        if (interval == null) {
            return;
        }
        keepAliveNanos = interval.toNanos();
        lastRead = LoopClock.nanoTime();
        armKeepAlive();
    }

    /**
     * A reconfiguration may have changed the backend's keep-alive settings: the connection follows the
     * new ones at once, its interval counted from what it last received (from now when they were off);
     * a PING already out keeps the timeout it was sent with. Run on the connection's loop.
     */
    void keepAliveReconfigured() {
        if (!ready || goAway || !channel.isActive()) {
            return;
        }
        Duration interval = server.backend().config().http2KeepAliveInterval();
        if (keepAliveTimer != null) {
            keepAliveTimer.cancel(false);
            keepAliveTimer = null;
        }
        if (interval == null) {
            if (keepAlivePing) {
                // turned off: a keep-alive PING out no longer decides anything
                cancelPingTimer();
            }
            keepAliveNanos = 0;
            return;
        }
        if (keepAliveNanos == 0) {
            lastRead = LoopClock.nanoTime();
        }
        keepAliveNanos = interval.toNanos();
        if (pingTimer == null) {
            armKeepAlive();
        }
    }

    /** Sets the keep-alive timer for the rest of the interval after the last read, unless it is set. */
    private void armKeepAlive() {
        if (keepAliveTimer != null) {
            return;
        }
        long left = keepAliveNanos - (LoopClock.nanoTime() - lastRead);
        keepAliveTimer = channel.eventLoop().schedule(this::keepAliveCheck, Math.max(0, left), TimeUnit.NANOSECONDS);
    }

    /**
     * The keep-alive timer: sends a PING when nothing was received for the whole interval, else waits
     * for the rest of it. One timer per interval, moved only here: reads stamp {@link #lastRead} and
     * nothing more. While a PING is out (this one's or a {@linkplain #probe probe's}) the timer stays
     * off; the PING's answer or timeout sets it again. It ends with the connection, when the
     * connection takes no new streams (GOAWAY, retired, closing), and when a reconfiguration turns the
     * PINGs off.
     */
    private void keepAliveCheck() {
        keepAliveTimer = null;
        if (goAway || !channel.isActive() || pingTimer != null) {
            return;
        }
        Backend config = server.backend().config();
        Duration interval = config.http2KeepAliveInterval();
        if (interval == null) {
            keepAliveNanos = 0;
            return;
        }
        keepAliveNanos = interval.toNanos();
        if (LoopClock.nanoTime() - lastRead < keepAliveNanos) {
            armKeepAlive();
            return;
        }
        ping(config.http2KeepAliveTimeout().toNanos(), true);
    }

    private void cancelKeepAliveTimer() {
        if (keepAliveTimer != null) {
            keepAliveTimer.cancel(false);
            keepAliveTimer = null;
        }
    }

    /**
     * Whether the connection was closed because its server sent nothing within the keep-alive timeout
     * after a PING: a stream it ends is a server timeout, not a reset.
     */
    boolean keepAliveTimedOut() {
        return keepAliveTimedOut;
    }

    /**
     * Whether a stream that ended without a response was refused by the server unprocessed: it was
     * never sent, or it is above the last stream the server's GOAWAY said it processed.
     */
    boolean refused(Http2StreamChannel stream) {
        int id = stream.stream().id();
        if (id <= 0) {
            return true;
        }
        return connection != null && connection.goAwayReceived() && id > connection.local().lastStreamKnownByPeer();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
        this.connection = codec.connection();
        openConnectionWindow(ctx);
        this.streams = new Http2StreamChannelBootstrap(channel).handler(new io.netty.channel.ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                HttpPipeline.initServerStream(ch, server, pool, Http2ServerConnection.this);
            }
        });
    }

    /**
     * Opens the connection's receive window as wide as HTTP/2 allows, so that only each stream's own
     * window holds the server back (HAProxy opens it to 2 GiB too, Envoy to 256 MiB): a stream whose
     * client reads slowly stops taking data once its stream window is used, and the data it has not
     * taken must not use up a connection window shared with every other client's stream. Left at its
     * initial 65,535 bytes, one paused stream held all of it, and every other response on the
     * connection stopped after its head until that client read on or its exchange timed out. What
     * the proxy holds for its streams stays bounded by their windows.
     */
    private void openConnectionWindow(ChannelHandlerContext ctx) {
        Http2Stream whole = connection.connectionStream();
        Http2LocalFlowController flow = connection.local().flowController();
        int more = Integer.MAX_VALUE - flow.windowSize(whole);
        if (more > 0) {
            try {
                flow.incrementWindowSize(whole, more);
            } catch (Http2Exception e) {
                // cannot happen below the maximum window; the connection works with the smaller one
                log.debug("server {}: connection window not opened", server, e);
            }
            ctx.channel().flush();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2SettingsFrame && !ready) {
                ready = true;
                cancelSettingsTimer();
                ArrayDeque<Promise<Channel>> w = waiting;
                waiting = new ArrayDeque<>();
                Promise<Channel> p;
                while ((p = w.poll()) != null) {
                    if (p.isDone()) {
                        // given up by its client
                        continue;
                    }
                    if (accepts()) {
                        open(p);
                    } else {
                        // the server takes fewer streams than assumed: another connection takes the rest
                        pool.openHttp2Stream(server, p);
                    }
                }
                if (inUse == 0) {
                    // every request that waited was given up: the connection idles from now
                    becameIdle();
                }
                startKeepAlive();
            } else if (msg instanceof Http2PingFrame ping && ping.ack()) {
                if (ping.content() == PING_DATA && pingTimer != null) {
                    // the server reads and answers: slow, not gone
                    cancelPingTimer();
                    if (keepAliveNanos != 0) {
                        lastRead = LoopClock.nanoTime();
                        armKeepAlive();
                    }
                }
            } else if (msg instanceof Http2GoAwayFrame goaway) {
                if (log.isDebugEnabled()) {
                    log.debug("server {} sent GOAWAY ({}, last stream {})", server, goaway.errorCode(), goaway.lastStreamId());
                }
                goAway = true;
                pool.http2Unusable(this);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Stamps what keep-alive PINGs measure from: something was received (a frame or part of one). */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (keepAliveNanos != 0) {
            lastRead = LoopClock.nanoTime();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        cancelSettingsTimer();
        cancelPingTimer();
        cancelKeepAliveTimer();
        goAway = true;
        pool.http2Unusable(this);
        failWaiting(new IllegalStateException("server connection closed"));
        ctx.fireChannelInactive();
    }

    /** Fails the requests that wait for this connection (it could not be made, or closed first). */
    void failWaiting(Throwable cause) {
        Promise<Channel> p;
        while ((p = waiting.poll()) != null) {
            p.tryFailure(cause);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("HTTP/2 server connection {} to {} failed", ctx.channel(), server, cause);
        }
        ctx.close();
    }
}
