package io.lodestone.l4.internal;

import io.lodestone.core.Clock;
import io.lodestone.core.Frontend;
import io.lodestone.core.internal.BackendHandshake;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.ClientAddresses;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.FrontendGate;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.ListeningSockets;
import io.lodestone.core.internal.LogThrottle;
import io.lodestone.core.internal.OffLoopResolver;
import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.ProxyHeaderReader;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.internal.SourceLimits;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.ClientCertificate;
import io.lodestone.core.route.internal.ConnectionView;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.tls.ClientHello;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A started {@link TcpFrontend}: its server channels, its open connections and the settings its
 * connections share.
 *
 * <p>Every server channel of one listener is registered on one accept loop, whose
 * {@link FrontendGate} owns the frontend's connection limit (see there) and, at L4, also checks the
 * per-source limits and builds the connection's pipeline when it admits it. On a frontend that
 * accepts the PROXY protocol, a connection that must send the header gets only the
 * {@link ProxyHeaderReader} at first, which checks the per-source limits on the header's source and
 * then adds the connection's handlers.
 */
public final class TcpListener implements Listener {

    private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

    /** Write-buffer water marks: a side stops reading while its peer has more than the high mark pending. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);
    /** Every channel of the engine allocates from the pooled allocator. */
    static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;
    private static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 5000;
    /** How long a PROXY header may take on a frontend whose client timeout is zero (none). */
    static final Duration PROXY_HEADER_TIMEOUT_WITHOUT_CLIENT_TIMEOUT = Duration.ofSeconds(5);
    /**
     * Set, by the gate, on a connection that must start with a PROXY header: its per-source limits
     * are the {@link ProxyHeaderReader}'s to count and give back, not the gate's.
     */
    private static final AttributeKey<Boolean> AWAITS_PROXY_HEADER = AttributeKey.valueOf(TcpListener.class, "awaitsProxyHeader");

    /** What connections accepted from now on follow; replaced whole by {@link #reconfigure}. */
    private volatile State state;
    private final EngineContext context;
    private final ChannelFactory<? extends SocketChannel> upstreamFactory;
    private final Bootstrap resolvingBootstrap;
    /** Per-source limits as bound, or {@code null}; checked on the accept loop. */
    private final SourceLimits sourceLimits;
    private final ListeningSockets sockets = new ListeningSockets();
    /** Binds one listening socket; kept for the addresses a reconfiguration adds. */
    private ServerBootstrap bootstrap;
    /** Client connections open now, with their handlers; each leaves the map in its own close listener. */
    private final Map<Channel, TcpConnection> clients = new ConcurrentHashMap<>();
    /** Server connections open now; each leaves the set in its own close listener. */
    private final Set<Channel> servers = ConcurrentHashMap.newKeySet();
    /**
     * Lets the warning that a server connection had no socket (no file descriptor left) through once
     * every 10 seconds: at the limit, every new connection would log it.
     */
    final LogThrottle noSocketWarnings = new LogThrottle(TimeUnit.SECONDS.toNanos(10));
    /**
     * Lets one WARN with its stack trace through per 10 s for a fault in application code the proxy
     * runs for a connection (an ACL, a balancing strategy); the others go to DEBUG.
     */
    final LogThrottle unexpectedErrors = new LogThrottle(TimeUnit.SECONDS.toNanos(10));
    /** Set when the proxy's stop ({@link #closing()}) or {@link #closeAll()} begins: the connections still open are being closed. */
    private volatile boolean closing;
    /** Counts the client connections open now; always there, for the per-source limits. */
    private final Gate gate;

    private TcpListener(TcpFrontend frontend, Routing routing, EngineContext context) {
        this.state = new State(frontend, routing, context);
        this.context = context;
        this.gate = new Gate(context.acceptGroup().next(), frontend.maxConnections());
        this.upstreamFactory = context.transport().socketChannelFactory();
        this.sourceLimits = SourceLimits.of(frontend.maxConnectionsPerSource(), frontend.maxConnectionRatePerSource(),
                context.clock());
        this.resolvingBootstrap = new Bootstrap()
                .group(context.ioGroup())
                .channelFactory(upstreamFactory)
                .resolver(OffLoopResolver.INSTANCE)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, DEFAULT_CONNECT_TIMEOUT_MILLIS)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // TCP_NODELAY is on by default for Netty's socket channels
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .option(ChannelOption.ALLOCATOR, ALLOCATOR)
                // shared by every connection the bootstrap opens, so it must be @Sharable (a
                // ChannelInitializer is): a plain adapter fails the second channel's registration
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // TcpConnection adds the relay once the connection is up
                    }
                });
    }

    /**
     * Binds every address of the frontend and routes its connections with {@code routing}; on
     * failure closes what was bound and throws.
     */
    public static TcpListener start(TcpFrontend frontend, Routing routing, EngineContext context) {
        TcpListener listener = new TcpListener(frontend, routing, context);
        try {
            listener.bind();
        } catch (RuntimeException e) {
            listener.closeAll();
            throw e;
        }
        return listener;
    }

    private void bind() {
        TcpFrontend frontend = state.frontend;
        bootstrap = new ServerBootstrap()
                .group(gate.acceptLoop(), context.ioGroup())
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(gate)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childOption(ChannelOption.ALLOCATOR, ALLOCATOR)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // the connection's handler was added when the gate admitted it
                    }
                });
        sockets.bind(frontend.bindAddresses(), address -> bindOne(frontend, address));
    }

    /** Binds one address of {@code frontend} (the one bound, or the one a reconfiguration brings). */
    private Channel bindOne(TcpFrontend frontend, InetSocketAddress address) {
        return context.transport().bind(bootstrap, address, "frontend " + frontend.name() + " bind");
    }

    /** The configuration connections accepted now follow. */
    State state() {
        return state;
    }

    TcpFrontend frontend() {
        return state.frontend;
    }

    /**
     * Keeps the sockets and the open connections: connections accepted from now on follow
     * {@code frontend} (rules, default backend, timeouts, TLS) and reach {@code context}'s backends;
     * open ones keep the configuration they were accepted with. The connection limit and the
     * per-source limits stay those the listener was bound with.
     */
    @Override
    public boolean reconfigure(Frontend frontend, EngineContext context) {
        if (!(frontend instanceof TcpFrontend tcp)) {
            return false;
        }
        // a frontend without rules sends every connection to its default backend
        Routing routing = tcp.routing() != null ? tcp.routing()
                : Routing.builder().defaultBackend(tcp.defaultBackend()).build();
        state = new State(tcp, routing, context);
        return true;
    }

    @Override
    public boolean canRebind(Frontend frontend) {
        return frontend instanceof TcpFrontend && sockets.overlaps(frontend.bindAddresses());
    }

    /**
     * Keeps the sockets of the addresses {@code frontend} still lists and binds its new ones, which
     * serve the current configuration until {@link #reconfigure} (it follows at once). The
     * connection limit and per-source limits stay as bound, over every address.
     */
    @Override
    public Rebinding rebind(Frontend frontend) {
        TcpFrontend tcp = (TcpFrontend) frontend;
        return sockets.rebind(tcp.bindAddresses(), address -> bindOne(tcp, address));
    }

    /**
     * One configuration of the frontend, immutable: the frontend, the proxy's backends, the default
     * backend or the router, the frontend's counters. A connection reads it once, when it is accepted.
     */
    static final class State {
        final TcpFrontend frontend;
        final EngineContext context;
        /** The default backend, when every connection goes there (no rules); else {@code null}. */
        final BackendRuntime backend;
        /** The router of a frontend with rules; {@code null} when every connection goes to {@link #backend}. */
        final Router router;
        final FrontendMetrics metrics;
        final AccessLog accessLog;
        /** Which connections start with a PROXY header; {@code null} when the frontend accepts none. */
        final ProxyHeaderReader.Policy proxyHeaders;

        State(TcpFrontend frontend, Routing routing, EngineContext context) {
            this.frontend = frontend;
            this.context = context;
            this.proxyHeaders = ProxyHeaderReader.Policy.of(frontend.acceptsProxyProtocol(), frontend.proxyProtocolSources());
            this.metrics = context.metrics().frontend(frontend.name());
            this.accessLog = context.accessLog();
            if (frontend.routing() == null) {
                this.backend = context.backend(routing.defaultBackend());
                this.router = null;
            } else {
                this.backend = null;
                this.router = routing.router(name -> context.backend(name).usableServers(), context.rateLimiter(), context.clock());
            }
        }

        /**
         * Decides, once per accepted connection, which backend it goes to: the default backend when
         * the frontend has no rules, else the router's forward over the connection (source, local
         * port, and the SNI name and ALPN protocol of a TLS connection, either may be {@code null});
         * {@code null} when the router rejects it.
         */
        BackendRuntime route(Channel client, String sni, String alpn) {
            return route(client, sni, alpn, null);
        }

        /** As {@link #route(Channel, String, String)}, with the verified client certificate of a terminated TLS connection. */
        BackendRuntime route(Channel client, String sni, String alpn, ClientCertificate clientCertificate) {
            if (router == null) {
                return backend;
            }
            InetSocketAddress local = ClientAddresses.local(client);
            InetSocketAddress remote = ClientAddresses.remote(client);
            Decision d = router.route(new ConnectionView(remote, local == null ? 0 : local.getPort(), sni, alpn, clientCertificate));
            if (d instanceof Decision.Forward forward) {
                return context.backend(forward.backend());
            }
            if (log.isDebugEnabled()) {
                log.debug("{}: connection from {} rejected by {}", frontend.name(), remote, d.matched());
            }
            return null;
        }
    }

    private static int connectTimeoutMillis(BackendRuntime backend) {
        long connectMillis = backend.config().connectTimeout().toMillis();
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, connectMillis));
    }

    FrontendMetrics metrics() {
        return state.metrics;
    }

    Clock clock() {
        return context.clock();
    }

    /**
     * Opens a connection to {@code server} on {@code loop} within {@code backend}'s connect
     * timeout: a channel made and registered directly (no per-connection bootstrap, no resolver) for
     * an IP address, through a bootstrap that resolves the name otherwise; for a backend with TLS,
     * the future completes once the handshake has. The caller closes the channel when it fails. A
     * socket that cannot be made (no file descriptor left) throws {@link io.lodestone.core.internal.NoSocketException}.
     *
     * @param beforeTls told of the TCP connect before the TLS handshake starts (the PROXY header goes
     *     first, in clear); {@code null} for none
     */
    ChannelFuture connect(EventLoop loop, ServerRuntime server, BackendRuntime backend, ChannelFutureListener beforeTls) {
        InetSocketAddress address = server.server().address();
        ChannelFuture tcp = connectTcp(loop, address, backend);
        if (beforeTls != null) {
            // added first, so it runs before the listener that adds the TLS handler
            tcp.addListener(beforeTls);
        }
        return BackendHandshake.after(tcp, backend.config().tls(), address, null, server.tlsWarnings());
    }

    private ChannelFuture connectTcp(EventLoop loop, InetSocketAddress address, BackendRuntime backend) {
        int connectTimeoutMillis = connectTimeoutMillis(backend);
        if (address.isUnresolved()) {
            Bootstrap b = resolvingBootstrap.clone(loop);
            if (connectTimeoutMillis != DEFAULT_CONNECT_TIMEOUT_MILLIS) {
                b.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis);
            }
            return Transport.connect(b, address);
        }
        // TCP_NODELAY is on by default for Netty's socket channels
        SocketChannel ch = context.transport().newSocketChannel(address.getAddress());
        SocketChannelConfig config = ch.config();
        config.setAutoRead(false);
        config.setAllowHalfClosure(true);
        config.setWriteBufferWaterMark(WATER_MARK);
        config.setAllocator(ALLOCATOR);
        config.setConnectTimeoutMillis(connectTimeoutMillis);
        return context.transport().connect(loop, ch, address, null);
    }

    /**
     * Whether the proxy's stop (or the end of a retired listener's drain) is closing every connection
     * still open: a connection that was waiting in a backend's queue is closed, not sent on.
     */
    boolean isClosing() {
        return closing;
    }

    /** Adds a connected server-side channel to the channels {@link #closeAll()} closes. */
    void track(Channel upstream) {
        servers.add(upstream);
    }

    /** A server-side channel closed. */
    void untrack(Channel upstream) {
        servers.remove(upstream);
    }

    /** A client connection closed (called by its {@link TcpConnection}, its only close listener). */
    void clientClosed(Channel client) {
        clients.remove(client);
        if (gate.release(client)) {
            // else given back already: the connection never reached its loop
            releaseSource(client);
        }
    }

    /**
     * Gives back the per-source slot of an admitted client connection; that of one which had to send a
     * PROXY header is the {@link ProxyHeaderReader}'s.
     */
    private void releaseSource(Channel client) {
        if (sourceLimits != null && !client.hasAttr(AWAITS_PROXY_HEADER)) {
            // the remote address was read, and cached by the channel, when the connection was accepted
            sourceLimits.release(SourceLimits.address(client.remoteAddress()));
        }
    }

    @Override
    public List<InetSocketAddress> localAddresses() {
        return sockets.localAddresses();
    }

    @Override
    public int openConnections() {
        return gate.connections();
    }

    @Override
    public Future<?> drain() {
        gate.stopAccepting();
        for (Channel client : clients.keySet()) {
            if (client.hasAttr(AWAITS_PROXY_HEADER)) {
                // closed at once while still waiting for its PROXY header; once read, the event passes unheeded
                client.pipeline().fireUserEventTriggered(ProxyHeaderReader.DRAIN);
            }
        }
        return openChannels().newCloseFuture();
    }

    /**
     * Closes every connection still open, as the proxy does when it stops (after its drain timeout)
     * or retires the listener: each client connection is ended by its {@link TcpConnection#kill} first,
     * so that its session is logged as the proxy's stop ({@code K}) and counts no error. Every
     * connection is closed at its socket ({@link SocketClose}), so no peer that does not read holds the stop.
     */
    @Override
    public void closing() {
        closing = true;
    }

    @Override
    public void closeAll() {
        // before the kills: a connection waiting in a backend's queue that is handed the slot of one
        // killed first is not sent on to the server
        closing = true;
        gate.stopAccepting();
        for (Map.Entry<Channel, TcpConnection> open : clients.entrySet()) {
            open.getValue().kill(open.getKey());
        }
        ChannelGroup all = openChannels();
        for (Channel server : servers) {
            SocketClose.close(server);
        }
        SocketClose.awaitClosed(all, state.frontend.name());
    }

    /** The channels open now, as a group to wait on or close; made only when the proxy closes. */
    private ChannelGroup openChannels() {
        ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        group.addAll(clients.keySet());
        group.addAll(servers);
        return group;
    }

    /**
     * Closes connections over a per-source limit at once and builds the pipeline of each connection
     * it admits.
     */
    private final class Gate extends FrontendGate {

        Gate(EventLoop acceptLoop, int maxConnections) {
            super(acceptLoop, maxConnections, sockets.channels());
        }

        @Override
        protected boolean admissible(Channel child) {
            ProxyHeaderReader.Policy proxyHeaders = state.proxyHeaders;
            if (proxyHeaders != null && proxyHeaders.expectsHeader(child.remoteAddress())) {
                // its per-source limits are checked on the header's source, once it is read
                child.attr(AWAITS_PROXY_HEADER).set(Boolean.TRUE);
                return true;
            }
            if (sourceLimits != null && !sourceLimits.tryAcquire(SourceLimits.address(child.remoteAddress()))) {
                state.metrics.connectionRefused();
                return false;
            }
            return true;
        }

        @Override
        protected void admitted(Channel child) {
            // one object is the connection's handler and its only close listener: no listener list
            State current = state;
            TcpFrontend frontend = current.frontend;
            TcpConnection connection = new TcpConnection(TcpListener.this, current);
            clients.put(child, connection);
            child.closeFuture().addListener(connection);
            context.transport().accepted(child);
            if (child.hasAttr(AWAITS_PROXY_HEADER)) {
                Duration timeout = frontend.clientTimeout().isZero() ? PROXY_HEADER_TIMEOUT_WITHOUT_CLIENT_TIMEOUT
                        : frontend.clientTimeout();
                ProxyHeaderReader.install(child, frontend.name(), current.metrics, timeout.toNanos(), sourceLimits,
                        ch -> addHandlers(ch, frontend, connection));
                return;
            }
            addHandlers(child, frontend, connection);
        }

        /** The connection's handlers: TLS (terminating or peeking at the ClientHello) when the frontend has it, then the connection. */
        private void addHandlers(Channel child, TcpFrontend frontend, TcpConnection connection) {
            if (frontend.tls() != null) {
                child.pipeline().addLast(PipelineNames.TLS, frontend.tls().newHandler());
            } else if (frontend.tlsPassthrough()) {
                child.pipeline().addLast(PipelineNames.CLIENT_HELLO, ClientHello.newPeekHandler());
            }
            child.pipeline().addLast(connection);
        }

        @Override
        protected void abandoned(Channel child) {
            clients.remove(child);
            releaseSource(child);
        }
    }
}
