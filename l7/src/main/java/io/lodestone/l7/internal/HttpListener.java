package io.lodestone.l7.internal;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.FrontendGate;
import io.lodestone.core.internal.ProxyHeaderReader;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.ListeningSockets;
import io.lodestone.core.internal.LogThrottle;
import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.internal.SourceLimits;
import io.lodestone.core.log.TerminationCause;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.Routing;
import io.lodestone.l7.HttpFrontend;
import io.netty.util.AsciiString;
import io.lodestone.l7.ResponseCache;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A started {@link HttpFrontend}: its router, its server channels, its client connections, one
 * server connection pool per event loop and one retry budget per backend.
 *
 * <p>Under a connection limit every server channel is registered on one accept loop, whose
 * {@link FrontendGate} counts a connection when it accepts it (before the connection reaches its
 * own loop; see there) and only hands it on: the per-source limits are counted on the connection's
 * own loop. Without a limit there is no gate.
 *
 * <p>On a frontend that accepts the PROXY protocol, a connection that must send the header gets only
 * the {@link ProxyHeaderReader} at first, which checks the per-source limits on the header's source;
 * the connection counts as opened, and gets its HTTP pipeline, once the header is read.
 */
public final class HttpListener implements Listener {

    /** Write-buffer water marks: a side stops reading while its peer has more than the high mark pending. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    /**
     * Water marks of an HTTP/2 stream's channel: the proxy stops reading the stream's server once more
     * than 16 KiB of its response wait to leave (the stream's flow-control window or the connection's
     * socket stops them), as HAProxy holds one 16 KiB buffer per stream, and reads it again below 8 KiB.
     * Netty's default, 64 KiB, and the reads behind it let one client that reads nothing hold about
     * 100 KiB per stream, 13 MiB over 128 streams.
     */
    static final WriteBufferWaterMark STREAM_WATER_MARK = new WriteBufferWaterMark(8 * 1024, 16 * 1024);

    /**
     * Fired on every client connection when the proxy drains: idle keep-alive connections close, and so
     * do connections still waiting for their PROXY header (the {@link ProxyHeaderReader}'s event).
     */
    static final Object DRAIN = ProxyHeaderReader.DRAIN;

    /** What requests started from now on follow; replaced whole by {@link #reconfigure}. */
    private volatile State state;
    private final ListeningSockets sockets = new ListeningSockets();
    /** Binds one listening socket; kept for the addresses a reconfiguration adds. */
    private ServerBootstrap bootstrap;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ChannelGroup serverConnections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ConcurrentHashMap<EventLoop, BackendPool> pools = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    /**
     * Lets the warning that a server connection had no socket (no file descriptor left) through once
     * every 10 seconds: at the limit, every new server connection would log it.
     */
    final LogThrottle noSocketWarnings = new LogThrottle(TimeUnit.SECONDS.toNanos(10));
    /** Per-source limits as bound, or {@code null}. */
    private final SourceLimits sourceLimits;
    private volatile boolean draining;
    /** Set when the proxy's stop ({@link #closing()}) or {@link #closeAll()} begins: what is still open is being closed. */
    private volatile boolean closing;
    /** Adds the HTTP pipeline of a connection whose PROXY header was read. */
    private final ProxyHeaderReader.Next headerRead = this::headerRead;
    /** The connection limit the listener was bound with; {@code null} without a limit. */
    private final Gate gate;

    private HttpListener(HttpFrontend frontend, Routing routing, EngineContext context) {
        this.state = new State(frontend, routing, context, Map.of());
        this.sourceLimits = SourceLimits.of(frontend.maxConnectionsPerSource(), frontend.maxConnectionRatePerSource(),
                context.clock());
        this.gate = frontend.maxConnections() > 0 ? new Gate(context.acceptGroup().next(), frontend.maxConnections()) : null;
    }

    /**
     * One configuration of the frontend, immutable but for its retry budgets: the frontend, the
     * proxy's backends, the router built once (every request of every event loop is decided by it, on
     * the live server states), the frontend's counters. A request reads it once, when it starts.
     */
    /** How often an unexpected error is logged at WARN with its stack trace: {@link State#unexpectedErrors}. */
    static final long UNEXPECTED_ERROR_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    static final class State {
        final HttpFrontend frontend;
        final EngineContext context;
        final Router router;
        final FrontendMetrics metrics;
        /** Which connections start with a PROXY header; {@code null} when the frontend accepts none. */
        final ProxyHeaderReader.Policy proxyHeaders;
        /**
         * The frontend's request id header name, hashed once rather than on every request; {@code null}
         * when the frontend gives requests no ids.
         */
        final AsciiString requestIdHeader;
        /**
         * Lets one WARN with its stack trace through per 10 s on the proxy's clock for a fault in the
         * proxy or in application code it runs (a rule's key function, a balancing strategy); the
         * others of those 10 s go to DEBUG, so a function that throws on every request does not
         * write a stack trace per request.
         */
        final LogThrottle unexpectedErrors = new LogThrottle(UNEXPECTED_ERROR_LOG_INTERVAL_NANOS);
        private final ConcurrentHashMap<String, RetryBudget> budgets = new ConcurrentHashMap<>();
        /** The response cache of each cached backend. */
        private final Map<String, CacheStore> caches;
        /** The frontend's error pages, or {@code null} when its error answers keep their default bodies. */
        final ErrorPages errorPages;

        State(HttpFrontend frontend, Routing routing, EngineContext context, Map<String, CacheStore> previous) {
            this.frontend = frontend;
            this.context = context;
            this.router = routing.router(name -> context.backend(name).usableServers(), context.rateLimiter(), context.clock());
            this.metrics = context.metrics().frontend(frontend.name());
            this.proxyHeaders = ProxyHeaderReader.Policy.of(frontend.acceptsProxyProtocol(), frontend.proxyProtocolSources());
            this.requestIdHeader = frontend.requestIds() ? AsciiString.cached(frontend.requestIdHeader()) : null;
            this.caches = ListenerCaches.of(frontend, context, previous);
            this.errorPages = ErrorPages.of(frontend);
        }

        /** The response cache of a backend, or {@code null} when its responses are not cached. */
        CacheStore cache(String backend) {
            return caches.isEmpty() ? null : caches.get(backend);
        }

        /** The retry budget of a backend for this frontend. */
        RetryBudget budget(BackendRuntime backend) {
            RetryBudget budget = budgets.get(backend.name());
            if (budget == null) {
                budget = budgets.computeIfAbsent(backend.name(),
                        n -> new RetryBudget(frontend.retryBudgetRatio(), frontend.minRetryConcurrency()));
            }
            return budget;
        }
    }

    /**
     * Binds every address of the frontend and routes its requests with {@code routing}; on failure
     * closes what was bound and throws.
     */
    public static HttpListener start(HttpFrontend frontend, Routing routing, EngineContext context) {
        // HTTP checks of backends whose servers speak HTTP/2 speak it too
        context.http2HealthProbe(Http2HealthProbe.INSTANCE);
        HttpListener listener = new HttpListener(frontend, routing, context);
        try {
            listener.bind();
        } catch (RuntimeException e) {
            listener.closeAll();
            throw e;
        }
        return listener;
    }

    private void bind() {
        EngineContext context = state.context;
        bootstrap = new ServerBootstrap()
                .group(gate != null ? gate.acceptLoop() : context.acceptGroup(), context.ioGroup())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // TCP_NODELAY is on by default for Netty's socket channels: setting it again costs a syscall per connection
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted(ch);
                    }
                });
        if (gate != null) {
            bootstrap.handler(gate);
        }
        HttpFrontend frontend = state.frontend;
        sockets.bind(frontend.bindAddresses(), address -> bindOne(frontend, address));
    }

    /** Binds one address of {@code frontend} (the one bound, or the one a reconfiguration brings). */
    private Channel bindOne(HttpFrontend frontend, InetSocketAddress address) {
        EngineContext context = state.context;
        Channel listening = context.transport().bind(bootstrap, address, "frontend " + frontend.name() + " bind", true);
        if (frontend.deferAccept()) {
            try {
                context.transport().deferAccept(listening, true);
            } catch (RuntimeException e) {
                listening.close().syncUninterruptibly();
                throw e;
            }
        }
        return listening;
    }

    private void accepted(Channel ch) {
        State current = state;
        ProxyHeaderReader.Policy proxyHeaders = current.proxyHeaders;
        if (proxyHeaders != null && proxyHeaders.expectsHeader(ch.remoteAddress())) {
            // counted open (the drain and the stop wait for it) but not opened until its header is read
            open.incrementAndGet();
            connections.add(ch);
            ch.closeFuture().addListener(f -> open.decrementAndGet());
            current.context.transport().accepted(ch);
            HttpFrontend frontend = current.frontend;
            // the header, like a request head, is bounded by the client timeout
            ProxyHeaderReader.install(ch, frontend.name(), current.metrics, frontend.clientTimeout().toNanos(), sourceLimits,
                    headerRead);
            return;
        }
        if (sourceLimits != null && !admitSource(ch)) {
            return;
        }
        open.incrementAndGet();
        connections.add(ch);
        FrontendMetrics metrics = state.metrics;
        metrics.connectionOpened();
        ch.closeFuture().addListener(f -> {
            metrics.connectionClosed();
            open.decrementAndGet();
        });
        state.context.transport().accepted(ch);
        HttpPipeline.initClient(ch, this);
    }

    /** A connection's PROXY header was read (and its per-source limits passed): it opens and gets its HTTP pipeline. */
    private void headerRead(Channel ch) {
        FrontendMetrics metrics = state.metrics;
        metrics.connectionOpened();
        ch.closeFuture().addListener(f -> metrics.connectionClosed());
        HttpPipeline.initClient(ch, this);
    }

    /** Counts the connection under the per-source limits, or closes it at once; false when refused. */
    private boolean admitSource(Channel ch) {
        InetAddress source = SourceLimits.address(ch.remoteAddress());
        if (!sourceLimits.tryAcquire(source)) {
            state.metrics.connectionRefused();
            ch.close();
            return false;
        }
        ch.closeFuture().addListener(f -> sourceLimits.release(source));
        return true;
    }

    /** Stops accepting: closes the server channels and the connections waiting for a slot. */
    private void stopAccepting() {
        draining = true;
        if (gate != null) {
            gate.stopAccepting();
        } else {
            for (Channel ch : sockets.channels()) {
                ch.close().syncUninterruptibly();
            }
        }
    }

    /** Under a connection limit: hands each admitted connection on, to be released when it closes. */
    private final class Gate extends FrontendGate {
        private final ChannelFutureListener releaseOnClose = f -> release(f.channel());

        Gate(EventLoop acceptLoop, int maxConnections) {
            super(acceptLoop, maxConnections, sockets.channels());
        }

        @Override
        protected void admitted(Channel child) {
            // also when a per-source limit closes it at once
            child.closeFuture().addListener(releaseOnClose);
        }
    }

    /** The configuration requests started now follow. */
    State state() {
        return state;
    }

    HttpFrontend frontend() {
        return state.frontend;
    }

    EngineContext context() {
        return state.context;
    }

    /** The frontend's counters. */
    FrontendMetrics metrics() {
        return state.metrics;
    }

    Router router() {
        return state.router;
    }

    boolean isDraining() {
        return draining;
    }

    /**
     * Whether the proxy's stop (or the end of a retired listener's drain) is closing every connection
     * still open: a request that was waiting in a backend's queue is ended with its connection, not sent on.
     */
    boolean isClosing() {
        return closing;
    }

    /** The server connection pool of an event loop, created on first use. */
    BackendPool pool(EventLoop loop) {
        BackendPool pool = pools.get(loop);
        if (pool == null) {
            pool = pools.computeIfAbsent(loop, l -> new BackendPool(l, this));
        }
        return pool;
    }

    /** The retry budget of a backend for this frontend, in the current configuration. */
    RetryBudget budget(BackendRuntime backend) {
        return state.budget(backend);
    }

    /**
     * Keeps the sockets and the open connections: requests started from now on (on new and on open
     * keep-alive connections) follow {@code frontend}'s rules and reach {@code context}'s backends;
     * settings fixed when a connection is set up (TLS, HTTP/2, decoder limits, client and keep-alive
     * timeouts) apply to connections accepted from now on; server connection pools apply the changed
     * pool settings ({@code maxIdlePerServer}, {@code poolIdleTimeout}, {@code poolMaxRequests},
     * {@code poolMaxLifetime}) at once, on their loops; the connection limit and the per-source limits
     * stay those it was bound with.
     */
    @Override
    public boolean reconfigure(Frontend frontend, EngineContext context) {
        if (!(frontend instanceof HttpFrontend http)) {
            return false;
        }
        // a frontend without rules routes every request to its default backend
        Routing routing = http.routing() != null ? http.routing()
                : Routing.builder().defaultBackend(http.defaultBackend()).build();
        State previous = state;
        if (http.deferAccept() != previous.frontend.deferAccept()) {
            for (Channel listening : sockets.channels()) {
                context.transport().deferAccept(listening, http.deferAccept());
            }
        }
        state = new State(http, routing, context, previous.caches);
        ListenerCaches.unregisterUnused(previous.caches, state.caches, previous.context);
        for (BackendPool pool : pools.values()) {
            pool.reconfigured();
        }
        return true;
    }

    @Override
    public boolean canRebind(Frontend frontend) {
        return frontend instanceof HttpFrontend && sockets.overlaps(frontend.bindAddresses());
    }

    /**
     * Keeps the sockets of the addresses {@code frontend} still lists and binds its new ones, which
     * serve the current configuration until {@link #reconfigure} (it follows at once). The
     * connection limit and per-source limits stay as bound, over every address.
     */
    @Override
    public Rebinding rebind(Frontend frontend) {
        HttpFrontend http = (HttpFrontend) frontend;
        return sockets.rebind(http.bindAddresses(), address -> bindOne(http, address));
    }

    /** Closes the idle pooled connections of the servers just removed, on each pool's loop. */
    @Override
    public void serversRemoved() {
        for (BackendPool pool : pools.values()) {
            pool.closeRemoved();
        }
    }

    /** Tracks a server connection so that {@link #closeAll()} closes it. */
    void track(Channel serverConnection) {
        serverConnections.add(serverConnection);
    }

    @Override
    public List<InetSocketAddress> localAddresses() {
        return sockets.localAddresses();
    }

    @Override
    public int openConnections() {
        return open.get();
    }

    @Override
    public Future<?> drain() {
        stopAccepting();
        for (Channel ch : connections) {
            ch.pipeline().fireUserEventTriggered(DRAIN);
        }
        return connections.newCloseFuture();
    }

    @Override
    public void closing() {
        closing = true;
    }

    @Override
    public void closeAll() {
        // before the kills: a request waiting in a backend's queue that is handed the slot of one
        // killed first is not sent on to the server
        closing = true;
        stopAccepting();
        for (Channel ch : connections) {
            HttpPipeline.kill(ch);
        }
        for (Channel ch : serverConnections) {
            // closed by the stop: an exchange that learns of it before its client connection's end
            // (an HTTP/2 stream's comes a turn later) does not take it for the server's failure
            ch.attr(HttpPipeline.ENDED_BY).setIfAbsent(TerminationCause.KILLED);
        }
        for (BackendPool pool : pools.values()) {
            pool.close();
        }
        for (Channel ch : serverConnections) {
            SocketClose.close(ch);
        }
        // not the groups' close(), which would go through each connection's handlers again
        SocketClose.awaitClosed(connections, state.frontend.name());
        SocketClose.awaitClosed(serverConnections, state.frontend.name());
        ListenerCaches.unregisterUnused(state.caches, Map.of(), state.context);
    }

    /** Creates, keeps and drops the response caches of a frontend across its configurations. */
    private static final class ListenerCaches {

        private ListenerCaches() {
        }

        /** One store per cached backend: the previous configuration's when its cache is configured alike, else a new one. */
        static Map<String, CacheStore> of(HttpFrontend frontend, EngineContext context, Map<String, CacheStore> previous) {
            Map<String, CacheStore> out = new HashMap<>();
            for (String backend : frontend.backendNames()) {
                ResponseCache config = frontend.cache(backend);
                if (config == null) {
                    continue;
                }
                String requestIdHeader = frontend.requestIds() ? frontend.requestIdHeader() : null;
                CacheStore old = previous.get(backend);
                if (old != null && old.config.equals(config) && old.clock() == context.clock()
                        && Objects.equals(old.requestIdHeader, requestIdHeader)) {
                    out.put(backend, old);
                } else {
                    CacheStore store = new CacheStore(frontend.name(), backend, config, requestIdHeader, context.clock());
                    context.metrics().caches().register(store);
                    out.put(backend, store);
                }
            }
            return Map.copyOf(out);
        }

        /** Unregisters the stores of {@code previous} that {@code next} does not keep. */
        static void unregisterUnused(Map<String, CacheStore> previous, Map<String, CacheStore> next, EngineContext context) {
            for (CacheStore s : previous.values()) {
                if (!next.containsValue(s)) {
                    context.metrics().caches().unregister(s);
                }
            }
        }
    }
}
