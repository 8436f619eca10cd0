package io.lodestone.l4.internal;

import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.ClientAddresses;
import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.Relay;
import io.lodestone.core.internal.FailureKind;
import io.lodestone.core.internal.NoSocketException;
import io.lodestone.core.internal.QueueWait;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.log.AccessLogEntry;
import io.lodestone.core.log.TerminationCause;
import io.lodestone.core.log.TerminationPhase;
import io.lodestone.core.metrics.ErrorKind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.tls.ClientHelloEvent;
import io.lodestone.core.route.ClientCertificate;
import io.lodestone.tls.TlsInfo;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection of a TCP frontend until its relay runs: picks a server, connects on the
 * client's own event loop (trying other servers when an attempt is refused or times out), writes
 * the PROXY header when configured, then hands both channels to the {@link Relay} and removes
 * itself.
 *
 * <p>Every server it acquires is released exactly once: when the attempt fails, or when the
 * connected server channel closes. A client that goes away while a connection attempt is in
 * progress aborts the attempt. Bytes (and a FIN) the client sends before the server connection is
 * up are kept and passed on in order.
 *
 * <p>When every usable server is at its connection limit and the backend has a queue timeout, the
 * connection waits in the backend's queue ({@link QueueWait}) with the backend's HTTP requests, its
 * early bytes kept as while it connects: it goes on to the server whose slot it is handed, or is
 * closed at the queue timeout ({@code sQ}), at once when a reconfiguration removes the backend
 * ({@code SC}), and leaves the queue when the client goes away ({@code CQ}) or the proxy's stop
 * closes it ({@code KQ}).
 *
 * <p>It records the session on the frontend's and the server's metrics (connections, bytes, connect
 * time, connect errors, redispatches, resets and timeouts) and, when the access log is enabled, logs
 * one line when the client connection closes, with the termination state. As the relay's
 * {@link Relay.Observer} it learns how a relayed session ended when it was not by both sides
 * closing: a reset on either side ({@code CD}, {@code SD}) or the idle timeout ({@code cD},
 * {@code sD}). A connection the proxy's stop ends ({@link #kill}) is logged {@code K} with its phase.
 */
final class TcpConnection extends ChannelInboundHandlerAdapter
        implements PickContext, ChannelFutureListener, Relay.Observer, Runnable {

    private static final Logger log = LoggerFactory.getLogger(TcpConnection.class);

    private final TcpListener listener;
    /** The frontend's configuration when this connection was accepted: it keeps it to the end. */
    private final TcpListener.State state;
    /** The backend this connection was routed to at accept. */
    private BackendRuntime backend;
    private Channel client;
    /** The server channel of the attempt in progress, closed if the client goes away first. */
    private Channel connecting;
    private ArrayList<ServerRuntime> tried;
    private ArrayList<Object> pending;
    /** TLS frontends: the route waits for the ClientHello or the handshake. */
    private boolean awaitingTls;
    /**
     * TLS frontends: the ClientHello is not whole yet, so the ClientHello timeout (or a shorter
     * client timeout) bounds the wait; on a terminating frontend the handshake follows.
     */
    private boolean awaitingHello;
    /**
     * Closes a TLS connection whose ClientHello is not whole within the ClientHello timeout, or whose
     * handshake is not done within the client timeout.
     */
    private ScheduledFuture<?> tlsTimer;
    private boolean inactive;
    /** Bytes read from the client before the server connection was up (counted in the bytes in). */
    private long pendingBytes;
    /** How much a client may send before its server connection is up; then reading pauses. */
    private static final int MAX_EARLY_BYTES = 64 * 1024;
    private InetSocketAddress clientAddress;
    private long startNanos;
    private long startMillis;
    private long attemptStart;
    private long connectNanos = -1;
    /** The wait in the backend's queue, while every usable server is full; {@code null} when it never waited. */
    private Wait wait;
    private long queuedAt;
    /** How long the connection waited in the backend's queue; -1 until its wait ended. */
    private long queueNanos = -1;
    private long connectedAt;
    private ServerRuntime current;
    private Relay.Side[] sides;
    /**
     * Set just before the relay is joined: the join itself may close the client (a close_notify read
     * before it, which the TLS stack answered by closing its sending side), and that session is
     * recorded once the join has returned.
     */
    private boolean relayed;
    private TerminationCause cause = TerminationCause.NORMAL;
    private TerminationPhase phase = TerminationPhase.NONE;
    /**
     * The proxy's stop ended the connection ({@link #kill}): the session is logged {@code K} with the
     * phase it was in, and what its close brings (a failed connection attempt, a failed last flush)
     * counts no error.
     */
    private boolean killed;

    TcpConnection(TcpListener listener, TcpListener.State state) {
        this.listener = listener;
        this.state = state;
    }

    @Override
    public long affinityHash() {
        InetSocketAddress remote = clientAddress;
        return remote == null ? 0 : hashAddress(remote.getAddress());
    }

    /**
     * A well-mixed hash of an IP address (not the port), so that one client keeps its server: the
     * hash of {@code proxy.routeAndPick(...)} ({@link PickContext#hash(InetAddress)}), so both name the
     * same server.
     */
    static long hashAddress(InetAddress address) {
        return PickContext.hash(address);
    }

    @Override
    public RandomGenerator random() {
        return ThreadLocalRandom.current();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        // the PROXY header's source on a frontend that accepts it: this runs once the header is read
        clientAddress = ClientAddresses.remote(client);
        startNanos = listener.clock().nanoTime();
        startMillis = listener.clock().currentTimeMillis();
        state.metrics.connectionOpened();
        ctx.fireChannelActive();
        TcpFrontend frontend = state.frontend;
        if (frontend.tls() != null || frontend.tlsPassthrough()) {
            // the route waits for the ClientHello (passthrough) or the handshake (termination); the
            // ClientHello must be whole within the ClientHello timeout, or the client timeout when shorter
            awaitingTls = true;
            awaitingHello = true;
            Duration timeout = frontend.clientHelloTimeout();
            Duration idle = frontend.clientTimeout();
            if (!idle.isZero() && idle.compareTo(timeout) < 0) {
                timeout = idle;
            }
            tlsTimer = ctx.executor().schedule(this::tlsTimedOut, timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (frontend.tls() != null) {
                ctx.read();
            }
            return;
        }
        route(null, null, null);
        // keep reading while the server connection is made: early bytes wait in pending (bounded
        // below), and a client that resets or leaves is noticed at once on every transport
        if (client.isActive() && !client.config().isAutoRead()) {
            ctx.read();
        }
    }

    /**
     * The client sent no whole ClientHello within the ClientHello timeout (or a shorter client
     * timeout), or did not finish its handshake within the client timeout.
     */
    private void tlsTimedOut() {
        if (awaitingTls) {
            tlsTimer = null;
            if (log.isDebugEnabled()) {
                log.debug("{}: no whole TLS {} from {} in time", state.frontend.name(),
                        awaitingHello ? "ClientHello" : "handshake", clientAddress);
            }
            timedOut();
        }
    }

    /** Closes a TLS connection that took too long to send its ClientHello or finish its handshake: {@code cR}. */
    private void timedOut() {
        // what the close makes the TLS handlers report next is no decision any more
        awaitingTls = false;
        awaitingHello = false;
        state.metrics.error(ErrorKind.TIMEOUT);
        cause = TerminationCause.CLIENT_TIMEOUT;
        phase = TerminationPhase.REQUEST;
        client.close();
    }

    /**
     * A terminating frontend's SNI handler read the whole ClientHello (the handshake goes on, bounded
     * by the client timeout from now and by what is left of the ServerTls handshake timeout, which runs
     * from accept, in the TLS handler that replaced it),
     * or timed out waiting for it.
     */
    private void helloRead(ChannelHandlerContext ctx, SniCompletionEvent sni) {
        if (!awaitingHello) {
            return;
        }
        if (!sni.isSuccess()) {
            // the SNI handler's own bound (the ServerTls handshake timeout) expired first; other
            // failures surface as a failed handshake
            if (sni.cause() instanceof SslHandshakeTimeoutException) {
                tlsDecided(false, null, null, sni.cause());
            }
            return;
        }
        awaitingHello = false;
        if (tlsTimer != null) {
            tlsTimer.cancel(false);
            tlsTimer = null;
        }
        Duration idle = state.frontend.clientTimeout();
        if (!idle.isZero()) {
            tlsTimer = ctx.executor().schedule(this::tlsTimedOut, idle.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void tlsDecided(boolean success, String sni, String alpn, Object failure) {
        tlsDecided(success, sni, alpn, null, failure);
    }

    private void tlsDecided(boolean success, String sni, String alpn, ClientCertificate clientCertificate, Object failure) {
        if (!awaitingTls) {
            return;
        }
        awaitingTls = false;
        awaitingHello = false;
        if (tlsTimer != null) {
            tlsTimer.cancel(false);
            tlsTimer = null;
        }
        if (!success) {
            if (log.isDebugEnabled()) {
                log.debug("{}: TLS from {} failed: {}", state.frontend.name(), clientAddress, failure);
            }
            if (failure instanceof SslHandshakeTimeoutException) {
                // the TLS handler's own handshake timeout: too slow, not refused
                timedOut();
                return;
            }
            if (killed) {
                // the close of the proxy's stop, reported as a failed handshake
                cause = TerminationCause.KILLED;
            } else if (client.isActive() && !(client instanceof DuplexChannel duplex && duplex.isInputShutdown())) {
                // not TLS, a ClientHello over the bound, a failed handshake: the proxy refuses it
                state.metrics.error(ErrorKind.DENIED);
                cause = TerminationCause.PROXY;
            } else {
                // the client closed or reset before its ClientHello or handshake was complete
                cause = TerminationCause.CLIENT_ABORT;
            }
            phase = TerminationPhase.REQUEST;
            client.close();
            return;
        }
        route(sni, alpn, clientCertificate);
    }

    private void route(String sni, String alpn, ClientCertificate clientCertificate) {
        try {
            backend = state.route(client, sni, alpn, clientCertificate);
        } catch (RuntimeException e) {
            // an ACL of the application's that threw
            unexpected(e, TerminationPhase.REQUEST);
            return;
        }
        if (backend == null) {
            state.metrics.error(ErrorKind.DENIED);
            cause = TerminationCause.PROXY;
            phase = TerminationPhase.REQUEST;
            client.close();
            return;
        }
        ServerRuntime server;
        try {
            server = backend.select(this);
        } catch (RuntimeException e) {
            // a balancing strategy of the application's that threw
            unexpected(e, TerminationPhase.CONNECT);
            return;
        }
        if (server == null) {
            if (QueueWait.mayWait(backend)) {
                // every usable server is at its maxConnections: the connection waits for a slot, its early
                // bytes kept (bounded) as while it connects, unless the queue holds its maxQueued already
                if (!QueueWait.isFull(backend)) {
                    queuedAt = listener.clock().nanoTime();
                    wait = new Wait(backend);
                    boolean queued;
                    try {
                        queued = wait.start();
                    } catch (RuntimeException e) {
                        // the strategy threw on the pick made as the wait began; the close cancels the wait
                        unexpected(e, TerminationPhase.QUEUE);
                        return;
                    }
                    if (queued) {
                        return;
                    }
                    wait = null;
                }
                queueFull();
                return;
            }
            if (log.isDebugEnabled()) {
                log.debug("{}: no usable server in backend {}", state.frontend.name(), backend.name());
            }
            backend.metrics().error(ErrorKind.CONNECT);
            cause = TerminationCause.SERVER_ABORT;
            phase = TerminationPhase.CONNECT;
            client.close();
            return;
        }
        connect(server);
    }

    /**
     * Every usable server is full and so is the backend's queue ({@code maxQueued}): the connection is
     * closed at once, logged {@code SQ} (HAProxy's state for a full {@code maxqueue}: the server side
     * refused it, at the queue) with a {@code connect} error on the backend, as {@code SC} counts a
     * full backend without a queue. It took no slot and no place in the queue.
     */
    private void queueFull() {
        if (log.isDebugEnabled()) {
            log.debug("{}: connection from {} found the queue of backend {} full", state.frontend.name(), clientAddress, backend.name());
        }
        backend.metrics().error(ErrorKind.CONNECT);
        cause = TerminationCause.SERVER_ABORT;
        phase = TerminationPhase.QUEUE;
        client.close();
    }

    /**
     * The connection's wait in the backend's queue (HAProxy's {@code maxconn} with {@code timeout
     * queue} in {@code mode tcp}): the same queue, in the same order, as the backend's HTTP requests.
     */
    private final class Wait extends QueueWait {

        Wait(BackendRuntime backend) {
            super(backend, client.eventLoop(), TcpConnection.this);
        }

        /** A slot came free: the connection goes to {@code server} with the bytes it sent meanwhile. */
        @Override
        protected void served(ServerRuntime server) {
            queueNanos = listener.clock().nanoTime() - queuedAt;
            if (!client.isActive()) {
                // closed in this very turn, before channelInactive could end the wait
                server.release();
                return;
            }
            if (listener.isClosing()) {
                // the slot of a connection the proxy's stop closed first: this one is closed too (KQ),
                // not sent to the server in the middle of the stop
                server.release();
                killed = true;
                cause = TerminationCause.KILLED;
                phase = TerminationPhase.QUEUE;
                SocketClose.closeNow(client);
                return;
            }
            connect(server);
        }

        /**
         * A reconfiguration removed the backend: no server will take the connection, so it is closed at
         * once rather than at its queue timeout, logged {@code SC} with a connect error on the backend,
         * as when no server is usable.
         */
        @Override
        protected void retired() {
            queueNanos = listener.clock().nanoTime() - queuedAt;
            if (log.isDebugEnabled()) {
                log.debug("{}: connection from {} was waiting for backend {}, which a reconfiguration removed",
                        state.frontend.name(), clientAddress, backend.name());
            }
            backend.metrics().error(ErrorKind.CONNECT);
            cause = TerminationCause.SERVER_ABORT;
            phase = TerminationPhase.CONNECT;
            client.close();
        }

        /**
         * The connection waited out the backend's queue timeout: closed, logged {@code sQ} with a
         * {@code timeout} error on the backend, whose queue it was (HAProxy counts it in the backend's {@code econ}).
         */
        @Override
        protected void timedOut() {
            queueNanos = listener.clock().nanoTime() - queuedAt;
            if (log.isDebugEnabled()) {
                log.debug("{}: connection from {} waited the queue timeout for a server of backend {}",
                        state.frontend.name(), clientAddress, backend.name());
            }
            backend.metrics().error(ErrorKind.TIMEOUT);
            cause = TerminationCause.SERVER_TIMEOUT;
            phase = TerminationPhase.QUEUE;
            client.close();
        }

        /**
         * The balancing strategy threw on the pick a wake-up made: the connection is closed, logged
         * {@code IQ} with the WARN of any unexpected error, as when it threw as the wait began.
         */
        @Override
        protected void failed(RuntimeException e) {
            queueNanos = listener.clock().nanoTime() - queuedAt;
            unexpected(e, TerminationPhase.QUEUE);
        }
    }

    /**
     * The client went away (closed, reset, or closed by the proxy's stop) while its connection waited
     * in the queue: it leaves the queue, and a wake-up already on its way hands its slot on.
     */
    private void leaveQueue() {
        if (wait != null && wait.isWaiting()) {
            queueNanos = listener.clock().nanoTime() - queuedAt;
            wait.cancel();
        }
    }

    /** Bytes that arrive before the server connection is up (epoll reads on a FIN) wait here. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (inactive) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (pending == null) {
            pending = new ArrayList<>(2);
        }
        pending.add(msg);
        if (msg instanceof ByteBuf buf) {
            pendingBytes += buf.readableBytes();
        }
        if (pendingBytes < MAX_EARLY_BYTES && !awaitingTls && !ctx.channel().config().isAutoRead()) {
            ctx.read();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ClientHelloEvent hello) {
            List<String> offered = hello.isSuccess() ? hello.clientHello().applicationProtocols() : List.of();
            tlsDecided(hello.isSuccess(), hello.isSuccess() ? hello.clientHello().serverName() : null,
                    offered.isEmpty() ? null : offered.get(0), hello.cause());
            return;
        }
        if (evt instanceof SniCompletionEvent sni) {
            helloRead(ctx, sni);
            return;
        }
        if (evt instanceof SslHandshakeCompletionEvent handshake) {
            TlsInfo info = handshake.isSuccess() ? TlsInfo.of(ctx.channel()) : null;
            tlsDecided(handshake.isSuccess(), info == null ? null : info.serverName(),
                    info == null ? null : info.applicationProtocol(), info == null ? null : info.clientCertificate(),
                    handshake.cause());
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent) {
            if (awaitingTls) {
                // a FIN before the ClientHello is whole or the handshake done: it can never be done
                clientLeft();
            } else if (wait != null && wait.isWaiting() && backend.config().abortOnClose()) {
                // the backend's abortOnClose (HAProxy's option abortonclose, which mode tcp honours in the
                // queue too): a client that ends its side while it waits has given up; CQ, no error
                cause = TerminationCause.CLIENT_ABORT;
                phase = TerminationPhase.QUEUE;
                client.close();
            }
            // an early FIN is kept (the client may wait for a reply) and seen by the relay through isInputShutdown()
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** The client ended its input before its TLS was set up: {@code CR}, no error. */
    private void clientLeft() {
        awaitingTls = false;
        awaitingHello = false;
        if (tlsTimer != null) {
            tlsTimer.cancel(false);
            tlsTimer = null;
        }
        if (cause == TerminationCause.NORMAL) {
            cause = TerminationCause.CLIENT_ABORT;
            phase = TerminationPhase.REQUEST;
        }
        client.close();
    }

    /**
     * Ends the client connection at once, as the proxy does with what is still open when it stops
     * (after its drain timeout); any thread. A connection that has closed by then is left as it
     * ended. {@code ch} is the client channel, given by the caller because {@link #client} is set on
     * the connection's loop.
     */
    void kill(Channel ch) {
        try {
            ch.eventLoop().execute(() -> {
                if (ch.isOpen()) {
                    killed = true;
                    // at the socket: over TLS no close_notify, which could wait 3 s for a client that does not read
                    SocketClose.closeNow(ch);
                }
            });
        } catch (IllegalStateException | RejectedExecutionException e) {
            // not registered, or its loop already shuts down: ended unmarked
            if (log.isDebugEnabled()) {
                log.debug("{}: {} closed without being marked as killed: {}", state.frontend.name(), ch, e.toString());
            }
            ch.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        inactive = true;
        awaitingTls = false;
        awaitingHello = false;
        if (tlsTimer != null) {
            tlsTimer.cancel(false);
            tlsTimer = null;
        }
        releasePending();
        leaveQueue();
        Channel attempt = connecting;
        if (attempt != null) {
            connecting = null;
            attempt.close();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("{}: client connection failed: {}", state.frontend.name(), cause.toString());
        }
        ctx.close();
    }

    /**
     * Closes the client after a fault in application code the proxy runs for it (an ACL, a balancing
     * strategy) or in the proxy's own: {@code IR}, {@code IQ} or {@code IC} in the access log, and a WARN with the
     * stack trace, at most one per 10 s per frontend on the proxy's clock (the others at DEBUG), as the
     * HTTP engine logs such a fault. Until 2026-12-07 the connection was reset with a line at DEBUG
     * alone, so an ACL that threw for every client left no trace at the default level.
     */
    private void unexpected(RuntimeException e, TerminationPhase where) {
        if (listener.unexpectedErrors.tryAcquire(listener.clock().nanoTime())) {
            log.warn("{}: client connection {} closed after an unexpected error (others within 10 s at DEBUG)",
                    state.frontend.name(), client, e);
        } else if (log.isDebugEnabled()) {
            log.debug("{}: client connection {} closed after an unexpected error", state.frontend.name(), client, e);
        }
        cause = TerminationCause.INTERNAL;
        phase = where;
        client.close();
    }

    private void releasePending() {
        if (pending != null) {
            for (Object msg : pending) {
                ReferenceCountUtil.release(msg);
            }
            pending = null;
        }
    }

    private void connect(ServerRuntime server) {
        current = server;
        attemptStart = listener.clock().nanoTime();
        ChannelFuture attempt;
        try {
            ProxyProtocol pp = backend.proxyProtocol(server);
            // with TLS to the server the PROXY header goes first, in clear, as HAProxy's ssl send-proxy sends it
            ChannelFutureListener beforeTls = pp != ProxyProtocol.NONE && backend.config().tls() != null
                    ? f -> {
                        if (f.isSuccess()) {
                            writeProxyHeader(f.channel(), pp);
                        }
                    }
                    : null;
            attempt = listener.connect(client.eventLoop(), server, backend, beforeTls);
        } catch (RuntimeException e) {
            // no file descriptor left for a new socket (NoSocketException), or a failure of the proxy's own
            noSocket(server, e);
            return;
        }
        connecting = attempt.channel();
        attempt.addListener((ChannelFutureListener) f -> {
            EventLoop loop = client.eventLoop();
            if (loop.inEventLoop()) {
                attemptDone(server, f);
            } else {
                // every future of an attempt completes on the client's loop (Transport.connect); should one
                // not, its outcome is handled there all the same, as everything of this connection is
                try {
                    loop.execute(() -> attemptDone(server, f));
                } catch (RejectedExecutionException e) {
                    // the loop shuts down with the proxy, which closes the client
                    server.release();
                }
            }
        });
    }

    /** The attempt to connect to {@code server} ended; on the client's loop. */
    private void attemptDone(ServerRuntime server, ChannelFuture f) {
        if (connecting != f.channel() && !f.isSuccess()) {
            // abandoned: the client went away, or the proxy stopped, and channelInactive closed
            // the attempt; no fault of the server's
            server.release();
            return;
        }
        connecting = null;
        if (f.isSuccess()) {
            server.reportSuccess();
            connected(server, f.channel());
            return;
        }
        if (f.cause() instanceof NoSocketException e) {
            // its registration failed, and Netty closed it
            noSocket(server, e);
            return;
        }
        boolean timeout = f.cause() instanceof ConnectTimeoutException;
        server.reportFailure(timeout ? FailureKind.TIMEOUT : FailureKind.CONNECT);
        server.metrics().error(timeout ? ErrorKind.TIMEOUT : ErrorKind.CONNECT);
        cause = timeout ? TerminationCause.SERVER_TIMEOUT : TerminationCause.SERVER_ABORT;
        phase = TerminationPhase.CONNECT;
        f.channel().close();
        server.release();
        failed(server, f.cause());
    }

    /**
     * No server connection could be made to {@code server}: the proxy had no file descriptor left
     * for its socket ({@link NoSocketException}), or failed otherwise before the connect was issued.
     * A connect error on the server, but no failure of the server's for its outlier detection, and
     * {@code RC} in the access log (HAProxy's resource error; {@code IC} for any other failure); the
     * next server is tried within the backend's retries, as after a refused connection.
     */
    private void noSocket(ServerRuntime server, RuntimeException e) {
        if (e instanceof NoSocketException) {
            if (listener.noSocketWarnings.tryAcquire(listener.clock().nanoTime())) {
                log.warn("{}: cannot open a connection to server {}: {}", state.frontend.name(), server, e.getMessage());
            }
            cause = TerminationCause.RESOURCE;
        } else {
            log.warn("{}: cannot open a connection to server {}", state.frontend.name(), server, e);
            cause = TerminationCause.INTERNAL;
        }
        phase = TerminationPhase.CONNECT;
        server.metrics().error(ErrorKind.CONNECT);
        server.release();
        failed(server, e);
    }

    private void failed(ServerRuntime server, Throwable cause) {
        if (!client.isActive()) {
            return;
        }
        if (log.isDebugEnabled()) {
            log.debug("{}: connect to {} failed: {}", state.frontend.name(), server, cause.toString());
        }
        if (tried == null) {
            tried = new ArrayList<>(4);
        }
        tried.add(server);
        ServerRuntime next;
        try {
            next = tried.size() <= backend.config().retries() ? backend.select(this, tried) : null;
        } catch (RuntimeException e) {
            unexpected(e, TerminationPhase.CONNECT);
            return;
        }
        if (next == null) {
            client.close();
        } else {
            server.metrics().redispatch();
            this.cause = TerminationCause.NORMAL;
            this.phase = TerminationPhase.NONE;
            connect(next);
        }
    }

    private void connected(ServerRuntime server, Channel upstream) {
        connectedAt = listener.clock().nanoTime();
        connectNanos = connectedAt - attemptStart;
        server.metrics().connectTime(connectNanos);
        server.metrics().connectionOpened();
        upstream.closeFuture().addListener(f -> {
            listener.untrack(upstream);
            serverClosed(server);
        });
        if (!client.isActive()) {
            upstream.close();
            return;
        }
        listener.track(upstream);
        ProxyProtocol pp = backend.proxyProtocol(server);
        if (pp != ProxyProtocol.NONE && backend.config().tls() == null) {
            writeProxyHeader(upstream, pp);
        }
        if (pending != null) {
            for (Object msg : pending) {
                upstream.write(msg, upstream.voidPromise());
            }
            pending = null;
        }
        client.pipeline().remove(this);
        relayed = true;
        // the client timeout bounds the wait for the client, the server timeout the wait for the server:
        // the shorter applies while both may send, the other alone once one has half-closed
        sides = Relay.join(client, upstream, state.frontend.clientTimeout(), backend.config().serverTimeout(), this);
    }

    /** A side of the relayed session was reset or failed: the relay resets the other side. */
    @Override
    public void aborted(Channel failed, Throwable failure) {
        if (killed) {
            // the last flush to the other side after the proxy's stop closed this one
            return;
        }
        if (log.isDebugEnabled()) {
            log.debug("{}: {} connection {} aborted: {}", state.frontend.name(), failed == client ? "client" : "server",
                    failed, failure.toString());
        }
        if (failed == client) {
            state.metrics.error(ErrorKind.RESET);
            cause = TerminationCause.CLIENT_ABORT;
        } else {
            current.metrics().error(ErrorKind.RESET);
            cause = TerminationCause.SERVER_ABORT;
        }
        phase = TerminationPhase.DATA;
    }

    /** Nothing moved for the idle timeout: the client's or the server's, whichever applied. */
    @Override
    public void idleTimedOut(Channel waitedOn) {
        if (killed) {
            return;
        }
        if (waitedOn == client) {
            state.metrics.error(ErrorKind.TIMEOUT);
            cause = TerminationCause.CLIENT_TIMEOUT;
        } else {
            current.metrics().error(ErrorKind.TIMEOUT);
            cause = TerminationCause.SERVER_TIMEOUT;
        }
        phase = TerminationPhase.DATA;
    }

    /** The server connection closed: records its session on the server, then gives its load back. */
    private void serverClosed(ServerRuntime server) {
        Relay.Side[] s = sides;
        long in = (s == null ? 0 : s[0].bytesRead()) + pendingBytes;
        long out = s == null ? 0 : s[1].bytesRead();
        server.metrics().sessionClosed(in, out, listener.clock().nanoTime() - connectedAt);
        server.release();
    }

    /** The client's channel closed: this object is its only close listener. */
    @Override
    public void operationComplete(ChannelFuture future) {
        if (relayed) {
            // a write that fails because the client reset closes the channel before the relay hears of
            // the failure (Netty fails the write after the close): record the session once it has
            try {
                future.channel().eventLoop().execute(this);
            } catch (RejectedExecutionException e) {
                clientClosed();
            }
        } else if (client != null) {
            clientClosed();
        }
        listener.clientClosed(future.channel());
    }

    /** Records a relayed session once the turn in which its client connection closed is over. */
    @Override
    public void run() {
        clientClosed();
    }

    /** The client connection closed: records the session on the frontend and logs it. */
    private void clientClosed() {
        long total = listener.clock().nanoTime() - startNanos;
        Relay.Side[] s = sides;
        long in = (s == null ? 0 : s[0].bytesRead()) + pendingBytes;
        long out = s == null ? 0 : s[1].bytesRead();
        // this runs before channelInactive, so awaitingTls and the wait still tell where it was
        boolean queued = wait != null && wait.isWaiting();
        leaveQueue();
        if (killed && cause == TerminationCause.NORMAL) {
            // the proxy's stop ended it: while its TLS was set up, while it waited in the queue, while it
            // was connecting, or relayed
            cause = TerminationCause.KILLED;
            phase = awaitingTls ? TerminationPhase.REQUEST : queued ? TerminationPhase.QUEUE
                    : s == null ? TerminationPhase.CONNECT : TerminationPhase.DATA;
        } else if (s == null && cause == TerminationCause.NORMAL) {
            // the client went away while its TLS was set up, while it waited in the queue (CQ, no error,
            // as HTTP's), or while a server connection was being made
            cause = TerminationCause.CLIENT_ABORT;
            phase = awaitingTls ? TerminationPhase.REQUEST : queued ? TerminationPhase.QUEUE : TerminationPhase.CONNECT;
        }
        state.metrics.sessionClosed(in, out, total);
        AccessLog accessLog = state.accessLog;
        if (accessLog.isEnabled()) {
            AccessLogEntry entry = new AccessLogEntry()
                    .start(startMillis)
                    .client(clientAddress)
                    .frontend(state.frontend.name())
                    .backend(backend == null ? null : backend.name())
                    .server(current == null ? null : current.server().name())
                    .bytes(in, out)
                    // the time it waited in the queue, however the wait ended (as HAProxy's Tw); 0 when it
                    // found a free server at once
                    .queueTime(queueNanos >= 0 ? queueNanos : current == null ? -1 : 0)
                    .connectTime(connectNanos)
                    .totalTime(total)
                    .termination(cause, phase);
            accessLog.log(entry);
        }
    }

    /**
     * Writes the PROXY header to a new server connection: once connected without TLS, before the
     * ClientHello with it (the TLS handler is not in the pipeline yet), so that it is always the
     * connection's first bytes, in clear.
     */
    private void writeProxyHeader(Channel upstream, ProxyProtocol pp) {
        upstream.pipeline().addLast(PipelineNames.PROXY_PROTOCOL, HAProxyMessageEncoder.INSTANCE);
        upstream.write(proxyHeader(pp), upstream.voidPromise());
        upstream.pipeline().remove(PipelineNames.PROXY_PROTOCOL);
    }

    private HAProxyMessage proxyHeader(ProxyProtocol version) {
        // a frontend that accepts the PROXY protocol passes on the header's addresses, so a chain keeps the client
        InetSocketAddress src = clientAddress;
        InetSocketAddress dst = ClientAddresses.local(client);
        boolean srcV6 = src.getAddress() instanceof Inet6Address;
        boolean dstV6 = dst.getAddress() instanceof Inet6Address;
        // mixed families (a received header's IPv4-mapped address, which the JVM reads as IPv4, beside a plain
        // IPv6 one): TCP6 with the IPv4 address mapped, as HAProxy writes it, rather than losing one of them
        boolean v6 = srcV6 || dstV6;
        HAProxyProxiedProtocol protocol = v6 ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4;
        // the RFC 5952 text HAProxy writes (::1), not the JDK's full form (0:0:0:0:0:0:0:1)
        String srcHost = v6 && !srcV6 ? "::ffff:" + Addresses.toText(src.getAddress()) : Addresses.toText(src.getAddress());
        String dstHost = v6 && !dstV6 ? "::ffff:" + Addresses.toText(dst.getAddress()) : Addresses.toText(dst.getAddress());
        return new HAProxyMessage(version == ProxyProtocol.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2,
                HAProxyCommand.PROXY, protocol, srcHost, dstHost, src.getPort(), dst.getPort());
    }
}
