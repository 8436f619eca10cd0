package io.lodestone.core;

import io.lodestone.core.health.internal.HealthCheckers;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.DeferredScheduler;
import io.lodestone.core.internal.Durations;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.EventLoopScheduler;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.RuntimeControl;
import io.lodestone.core.internal.Scheduler;
import io.lodestone.core.internal.ServerEvents;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.StickyRequest;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.limit.RateLimiter;
import io.lodestone.core.limit.RateLimiters;
import io.lodestone.core.route.BackendStates;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.MatchedRule;
import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.RouteResult;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.route.internal.PathNormalizer;
import io.lodestone.core.route.internal.RequestPickContext;
import io.lodestone.core.route.internal.WithoutHeaders;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.internal.MetricsRegistry;
import io.lodestone.core.trace.Tracing;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A load balancer and reverse proxy running inside the application: frontends that accept
 * connections, backends of servers they forward to. Built once, started, controlled at run time,
 * closed gracefully.
 *
 * <pre>{@code
 * Backend app = Backend.named("app")
 *     .server("web1", "10.0.0.1:8080")
 *     .server("web2", "10.0.0.2:8080")
 *     .build();
 *
 * try (Proxy proxy = Proxy.builder()
 *         .backend(app)
 *         .frontend(TcpFrontend.bind(5432).defaultBackend("app"))
 *         .build()) {
 *     proxy.start();                                   // returns once every frontend is bound
 *     int port = proxy.port();                         // the port the OS chose for port 0
 *     proxy.control().server("app", "web1").drain();   // runtime control
 * }                                                    // close(): graceful
 * }</pre>
 *
 * <p>A frontend's rules can be unit-tested without starting anything:
 * <pre>{@code
 * Decision d = proxy.route(TestRequest.get("/admin/x").host("example.com"));
 * }</pre>
 */
public final class Proxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Proxy.class);
    /** The longest {@link Builder#busyPolling} window. */
    private static final Duration MAX_BUSY_POLLING = Duration.ofSeconds(1);

    static {
        // Loaded before any traffic. Until a second implementation of EventExecutor.inEventLoop() is
        // loaded, the JIT compiles Netty's hot paths assuming there is one; Netty loads this one when
        // a channel group closes, that is at the first close of a proxy, and that would send every
        // method compiled so far back to the interpreter: after a warm-up copy of a proxy is closed,
        // the real one would serve its first seconds of traffic while the compiler starts over.
        ImmediateEventExecutor.INSTANCE.inEventLoop();
    }

    private final Clock clock;
    private final Duration drainTimeout;
    private final int ioThreads;
    private final Duration busyPolling;
    private final EventLoopGroup suppliedAcceptGroup;
    private final EventLoopGroup suppliedIoGroup;
    private final DeferredScheduler scheduler;
    private final RuntimeControl control;
    private final ServerEvents events;
    private final MetricsRegistry metrics;
    private final AccessLog accessLog;
    private final Tracing tracing;
    private final RateLimiter rateLimiter;

    private final Object lifecycle = new Object();
    private final Map<String, Listener> listeners = new LinkedHashMap<>();
    /**
     * The listeners a reconfiguration removed that are not closed yet (still draining, or their close
     * under way): the close ends them too, or waits for the end of their close, before it stops the
     * event loops their connections run on.
     */
    private final Map<Listener, Retirement> retiring = new ConcurrentHashMap<>();
    private volatile Generation generation;
    private EngineContext context;
    private EventLoopGroup ownIoGroup;
    private boolean started;
    private boolean closed;

    private Proxy(Builder b) {
        this.clock = b.clock;
        this.scheduler = new DeferredScheduler(clock);
        this.events = new ServerEvents();
        this.rateLimiter = b.rateLimiter != null ? b.rateLimiter : RateLimiters.inMemory(clock);
        Map<String, BackendRuntime> r = new LinkedHashMap<>();
        for (Backend backend : b.backends.values()) {
            r.put(backend.name(), new BackendRuntime(backend, clock, scheduler, events));
        }
        this.generation = new Generation(b.frontends, b.backends, r, rateLimiter, clock);
        this.metrics = new MetricsRegistry(clock, generation.runtimes.values());
        this.control = new RuntimeControl(generation.runtimes, scheduler, events, metrics.caches());
        control.serverCheck(this::checkAddedServer);
        for (Frontend f : generation.frontends) {
            metrics.frontend(f.name());
        }
        this.accessLog = b.accessLog;
        this.tracing = b.tracing;
        this.drainTimeout = b.drainTimeout;
        this.ioThreads = b.ioThreads;
        this.busyPolling = b.busyPolling;
        this.suppliedAcceptGroup = b.acceptGroup;
        this.suppliedIoGroup = b.ioGroup;
    }

    /**
     * Refuses a server added at run time that {@link Builder#build()} would refuse in the backend: a
     * PROXY protocol header to a server of a backend that an HTTP frontend of the current
     * configuration sends to.
     */
    private void checkAddedServer(String backend, Server server) {
        for (Frontend f : generation.frontends) {
            if (f.isHttp() && f.backendNames().contains(backend)) {
                Builder.checkNoProxyHeader(backend, server, f.name());
                return;
            }
        }
    }

    /** One configuration of the proxy: frontends, backends, their runtimes and the frontends' routers. */
    private static final class Generation {
        final List<Frontend> frontends;
        final Map<String, Backend> backends;
        final Map<String, BackendRuntime> runtimes;
        final Map<String, Router> routers;
        /** The routers of the frontends without rules that send everything to their one default backend. */
        final Map<String, Router> defaultOnly;

        Generation(List<Frontend> frontends, Map<String, Backend> backends, Map<String, BackendRuntime> runtimes,
                RateLimiter limiter, Clock clock) {
            this.frontends = List.copyOf(frontends);
            this.backends = Collections.unmodifiableMap(new LinkedHashMap<>(backends));
            this.runtimes = Collections.unmodifiableMap(new LinkedHashMap<>(runtimes));
            BackendStates states = name -> {
                BackendRuntime runtime = this.runtimes.get(name);
                return runtime == null ? 0 : runtime.usableServers();
            };
            Map<String, Router> routing = new LinkedHashMap<>();
            Map<String, Router> defaults = new LinkedHashMap<>();
            for (Frontend f : this.frontends) {
                if (f.routing() != null) {
                    routing.put(f.name(), f.routing().router(states, limiter, clock));
                } else if (f.backendNames().size() == 1) {
                    // no rules, one default backend: the engines send everything there
                    Routing all = Routing.builder().defaultBackend(f.backendNames().iterator().next()).build();
                    defaults.put(f.name(), all.router(states, limiter, clock));
                }
            }
            this.routers = Collections.unmodifiableMap(routing);
            this.defaultOnly = Collections.unmodifiableMap(defaults);
        }

        /** The named frontend, or {@code null}. */
        Frontend frontend(String name) {
            for (Frontend f : frontends) {
                if (f.name().equals(name)) {
                    return f;
                }
            }
            return null;
        }

        /** The named frontend's router (its rules', or its default backend's), or {@code null}. */
        Router router(String frontendName) {
            Router r = routers.get(frontendName);
            return r != null ? r : defaultOnly.get(frontendName);
        }
    }

    /**
     * Returns a builder for a proxy.
     *
     * @return a new builder with no frontend and no backend
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds every frontend and returns once all listen. When one cannot bind, the others are closed
     * and the cause is thrown.
     *
     * @throws IllegalStateException when already started or closed, or when a bind fails
     */
    public void start() {
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException(closed ? "proxy is closed" : "proxy is already started");
            }
            started = true;
            EventLoopGroup accept = suppliedAcceptGroup;
            EventLoopGroup io = suppliedIoGroup;
            Transport transport;
            if (io != null) {
                transport = Transport.of(io);
            } else {
                transport = Transport.best();
                int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
                ownIoGroup = io = transport.newGroup(threads, "lodestone-io", busyPolling.toNanos(), clock);
            }
            if (accept == null) {
                // accept on one of the I/O loops, as nginx and HAProxy workers do: no extra thread to
                // hand connections over from, which matters most when the proxy has one core
                accept = io;
            }
            context = new EngineContext(accept, io, transport, clock, generation.runtimes, metrics, accessLog, tracing, rateLimiter);
            Frontend starting = null;
            try {
                for (Frontend f : generation.frontends) {
                    starting = f;
                    listeners.put(f.name(), f.start(context));
                }
            } catch (Exception e) {
                for (Listener l : listeners.values()) {
                    l.closeAll();
                }
                listeners.clear();
                shutdownOwnGroups();
                throw cannotStart(starting, e);
            }
            scheduler.attach(new EventLoopScheduler(io.next()));
            EventLoopGroup checkGroup = io;
            control.startHealthChecks((check, b) -> HealthCheckers.create(check, b, checkGroup, transport, context.http2HealthProbe()));
            if (log.isInfoEnabled()) {
                log.info("lodestone started ({} transport): {}", transport.name().toLowerCase(), describeListeners());
            }
        }
    }

    private String describeListeners() {
        StringBuilder sb = new StringBuilder();
        listeners.forEach((name, l) -> sb.append(sb.length() == 0 ? "" : ", ").append(name).append(' ').append(l.localAddresses()));
        return sb.toString();
    }

    /**
     * Returns the addresses a started frontend listens on.
     *
     * @param frontendName the frontend's name
     * @return the bound addresses, with the ports the OS chose for port 0
     * @throws IllegalArgumentException when there is no frontend of that name
     * @throws IllegalStateException when the proxy is not started
     */
    public List<InetSocketAddress> localAddresses(String frontendName) {
        synchronized (lifecycle) {
            Listener l = listeners.get(frontendName);
            if (l == null) {
                if (generation.frontends.stream().noneMatch(f -> f.name().equals(frontendName))) {
                    throw new IllegalArgumentException("frontend: " + frontendName + " (no such frontend)");
                }
                throw new IllegalStateException("proxy is not started");
            }
            return l.localAddresses();
        }
    }

    /**
     * Returns the first port of the named frontend.
     *
     * @param frontendName the frontend's name
     * @return the port its first address is bound to, the one the OS chose for port 0
     * @throws IllegalArgumentException when there is no frontend of that name
     * @throws IllegalStateException when the proxy is not started
     */
    public int port(String frontendName) {
        return localAddresses(frontendName).get(0).getPort();
    }

    /**
     * Returns the first port of the first frontend: convenient when there is one.
     *
     * @return the port the first frontend's first address is bound to
     * @throws IllegalStateException when the proxy is not started
     */
    public int port() {
        return port(generation.frontends.get(0).name());
    }

    /**
     * The frontends, in the order they were added.
     *
     * @return the frontends of the current configuration
     */
    public List<Frontend> frontends() {
        return generation.frontends;
    }

    /**
     * The backends, by name.
     *
     * @return the backends of the current configuration, by name
     */
    public Map<String, Backend> backends() {
        return generation.backends;
    }

    /**
     * The clock the proxy reads.
     *
     * @return the clock given to {@link Builder#clock}, else {@link Clock#system()}
     */
    public Clock clock() {
        return clock;
    }

    /**
     * Runtime control of servers: states, weights, loads, servers added and removed, listeners,
     * rolling updates. Health checks run from {@link #start()} to {@link #close()}.
     *
     * @return the proxy's runtime control
     */
    public ProxyControl control() {
        return control;
    }

    /**
     * Routes a request or connection through the first frontend that has routing rules (when none
     * has, the first that sends everything to its default backend), without a
     * socket, against the live server states (those set through {@link #control()} included).
     * Works before {@link #start()}; changes nothing but the buckets of rate-limiting rules: a
     * matching {@link io.lodestone.core.route.Rule.Builder#rateLimit rate limit} takes a token from
     * the proxy's {@link RateLimiter}, as a real request would, so a test can drive a limit to its 429.
     *
     * <pre>{@code
     * Decision d = proxy.route(TestRequest.get("/admin").host("example.com"));
     * assertThat(d).isInstanceOf(Decision.Deny.class);
     * }</pre>
     *
     * <p>A request the HTTP engine refuses before any rule is decided as the engine answers it: a
     * path with a dot segment ({@code /x/../admin}, {@code /%2e/admin}) is a {@link Decision.Deny} of
     * 400 and a {@code CONNECT} one of 501, with {@link Decision#matched()} of index -1 saying why.
     * So is a header field the frontend refuses ({@link Frontend#refusesRequestHeader}: an
     * {@code HttpFrontend} with {@code headersWithUnderscores(REJECT_REQUEST)}, a name with an
     * underscore), a {@code Deny} of 400, and the rules read the request without the fields the
     * frontend removes ({@link Frontend#removesRequestHeader}: {@code DROP_HEADER}).
     *
     * @param request the request or connection to route, such as a {@link io.lodestone.core.route.TestRequest}
     * @return what the frontend decides for it
     * @throws IllegalStateException when no frontend has routing rules or a default backend
     */
    public Decision route(RequestView request) {
        Generation g = generation;
        Frontend f = firstRouting(g);
        return route(g, f, asRulesRead(f, Objects.requireNonNull(request, "request")));
    }

    /**
     * Routes a request or connection through the named frontend's rules; see {@link #route(RequestView)}.
     * A frontend without rules forwards everything to its default backend, and so does this.
     *
     * @param frontendName the frontend whose rules decide
     * @param request the request or connection to route
     * @return what the frontend decides for it
     * @throws IllegalArgumentException when there is no such frontend or it has neither routing rules
     *     nor a default backend
     */
    public Decision route(String frontendName, RequestView request) {
        Generation g = generation;
        Frontend f = routing(g, frontendName);
        return route(g, f, asRulesRead(f, Objects.requireNonNull(request, "request")));
    }

    /** Routes {@code view}, made by {@link #asRulesRead}, through {@code frontend}, which has a router in {@code g}. */
    private static Decision route(Generation g, Frontend frontend, RequestView view) {
        Decision refused = refusedBeforeRules(frontend, view);
        return refused != null ? refused : g.router(frontend.name()).route(view);
    }

    /**
     * The request as the frontend's rules read it: without the header fields its engine removes
     * before them ({@link Frontend#removesRequestHeader}). A {@link TestRequest} that has none of
     * them is routed as it is.
     */
    private static RequestView asRulesRead(Frontend frontend, RequestView request) {
        if (!request.isHttp()) {
            return request;
        }
        if (request instanceof TestRequest test) {
            for (String name : test.headerNames()) {
                if (frontend.removesRequestHeader(name)) {
                    return new WithoutHeaders(request, frontend::removesRequestHeader);
                }
            }
            return request;
        }
        return new WithoutHeaders(request, frontend::removesRequestHeader);
    }

    /**
     * The answer the HTTP engine gives a request before its frontend's rules read it, or {@code null}
     * when the rules decide: a header field whose name the frontend refuses (400,
     * {@link Frontend#refusesRequestHeader}; a {@link TestRequest} says which fields it has), a dot
     * segment in the path (400: a server that resolves it and one that does not would read two
     * paths, and the rules read it resolved), then a {@code CONNECT} (501: a reverse proxy opens no
     * tunnel). The bodies are the engine's.
     */
    private static Decision refusedBeforeRules(Frontend frontend, RequestView request) {
        if (!request.isHttp()) {
            return null;
        }
        RequestView sent = request instanceof WithoutHeaders view ? view.request() : request;
        if (sent instanceof TestRequest test) {
            for (String name : test.headerNames()) {
                if (frontend.refusesRequestHeader(name)) {
                    return new Decision.Deny(400, "400 Bad Request\n", List.of(), new MatchedRule(Routing.FRONTEND_TABLE, -1, null,
                            "refused before the rules: header field " + name + " (the frontend refuses its name)"));
                }
            }
        }
        String raw = request.rawPath();
        if (raw != null && PathNormalizer.hasDotSegment(raw)) {
            return DOT_SEGMENT;
        }
        return "CONNECT".equals(request.method()) ? CONNECT : null;
    }

    private static final Decision.Deny DOT_SEGMENT = new Decision.Deny(400, "400 Bad Request\n", List.of(),
            new MatchedRule(Routing.FRONTEND_TABLE, -1, null, "refused before the rules: dot segment in the path"));
    private static final Decision.Deny CONNECT = new Decision.Deny(501, "501 Not Implemented\n", List.of(),
            new MatchedRule(Routing.FRONTEND_TABLE, -1, null, "refused before the rules: CONNECT (no tunnels)"));

    /**
     * Routes like {@link #route(RequestView)} and, for a forward, names the server the backend's
     * balancing strategy would pick now. The pick is real: it advances the strategy's state (a round
     * robin moves on) and counts in {@link ServerControl#totalSelected()}; the server's load is
     * taken and given back at once. On a backend with a {@link StickyCookie}, a request whose cookie
     * names a server that takes its persistent clients gets that server, as in the HTTP engine (the
     * same code reads it: the prefix of prefix mode, the dates of maxidle and maxlife checked on
     * this proxy's {@link Clock}).
     *
     * @param request the request or connection to route
     * @return the decision and, for a forward to a backend with a usable server, the server picked
     * @throws IllegalStateException when no frontend has routing rules or a default backend
     */
    public RouteResult routeAndPick(RequestView request) {
        Generation g = generation;
        Frontend f = firstRouting(g);
        RequestView view = asRulesRead(f, Objects.requireNonNull(request, "request"));
        return pick(g, route(g, f, view), view);
    }

    /**
     * Routes through the named frontend and picks a server; see {@link #routeAndPick(RequestView)}.
     *
     * @param frontendName the frontend whose rules decide
     * @param request the request or connection to route
     * @return the decision and, for a forward, the server picked
     * @throws IllegalArgumentException when there is no such frontend or it has neither routing rules nor a default backend
     */
    public RouteResult routeAndPick(String frontendName, RequestView request) {
        Generation g = generation;
        Frontend f = routing(g, frontendName);
        RequestView view = asRulesRead(f, Objects.requireNonNull(request, "request"));
        return pick(g, route(g, f, view), view);
    }

    private RouteResult pick(Generation g, Decision decision, RequestView request) {
        if (!(decision instanceof Decision.Forward forward)) {
            return new RouteResult(decision, null);
        }
        BackendRuntime runtime = g.runtimes.get(forward.backend());
        ServerRuntime s = null;
        StickyCookie cookie = runtime.config().cookie();
        if (cookie != null && request.isHttp()) {
            // as the HTTP engine reads it (the same code): the first of the client's values of the
            // cookie that names a server taking it, dates checked on the proxy's clock; a value
            // whose server is only full ends the search (the client is balanced this time)
            s = new StickyRequest().read(runtime, cookie, request, clock);
        }
        if (s == null) {
            s = runtime.select(new RequestPickContext(request, runtime.hashKey()));
        }
        if (s == null) {
            return new RouteResult(decision, null);
        }
        s.release();
        return new RouteResult(decision, s.server());
    }

    /** The first frontend that has routing rules, or else the first that sends everything to its default backend. */
    private Frontend firstRouting(Generation g) {
        String name = !g.routers.isEmpty() ? g.routers.keySet().iterator().next()
                : !g.defaultOnly.isEmpty() ? g.defaultOnly.keySet().iterator().next() : null;
        if (name == null) {
            throw new IllegalStateException("no frontend has routing rules or a default backend: " + frontendNames());
        }
        return g.frontend(name);
    }

    /** The named frontend, which has a router in {@code g}. */
    private Frontend routing(Generation g, String frontendName) {
        Frontend f = g.frontend(frontendName);
        if (f == null) {
            throw new IllegalArgumentException("frontend: " + frontendName + " (no such frontend; known: " + frontendNames() + ")");
        }
        if (g.router(frontendName) == null) {
            throw new IllegalArgumentException("frontend: " + frontendName + " (it has no routing rules and no default backend)");
        }
        return f;
    }

    private List<String> frontendNames() {
        List<String> names = new ArrayList<>();
        for (Frontend f : generation.frontends) {
            names.add(f.name());
        }
        return names;
    }

    /**
     * Replaces the proxy's frontends and backends with those {@code config} describes, without a
     * restart. The whole new configuration is checked first, as {@link Builder#build()} checks it,
     * and new frontends are bound; when either fails, the reason is thrown and nothing changes. Then
     * the new configuration takes over:
     * <ul>
     * <li>connections accepted from now on, and at L7 requests started from now on, follow the new
     *     rules and reach the new backends; open connections and in-flight requests finish on what
     *     they started with; no connection is closed;</li>
     * <li>a frontend whose new configuration has the same engine and the same bind addresses keeps
     *     its sockets (and its port, even one the OS chose for port 0); one of the same engine that
     *     still lists some of its addresses (one added or dropped; a port the OS chose may be listed by
     *     number) keeps the sockets of those, binds the new ones before anything changes, and closes
     *     the sockets of the dropped ones once the new configuration has taken over (the connections
     *     accepted there go on); new frontends are bound; frontends that are gone stop accepting and
     *     are drained, then closed after the drain timeout (on the proxy's clock). Another engine on
     *     an address that a frontend holds cannot bind it while that one does, nor can one
     *     reconfiguration split a
     *     frontend's addresses among several frontends or join those of several in one (the sockets
     *     of one old frontend go to one new frontend, which finds the other addresses taken): remove
     *     the address in one reconfiguration and add it in the next;</li>
     * <li>a backend of the same name is updated in place: servers with the same name and address keep
     *     their runtime state (admin state, health, ejection, load, counters, a weight set at run time
     *     unless the configured one changed); new servers are added (and slow-start, as with
     *     {@link ProxyControl#addServer}), missing ones removed once their
     *     traffic has finished; a health check equal to the previous one ({@link
     *     io.lodestone.core.health.HealthCheck#equals}, over the same {@link BackendTls}) keeps running,
     *     rise and fall counts included, and checks only the servers added; a changed one restarts
     *     with the new settings.</li>
     * </ul>
     * The proxy-wide settings of {@code config} (clock, threads, event loops, access log, tracing,
     * drain timeout) are ignored: they stay as built. Works before {@link #start()} too.
     *
     * <pre>{@code
     * proxy.reconfigure(Proxy.builder()
     *         .backend(Backend.named("app").server("web1", "10.0.0.1:8080").server("web3", "10.0.0.3:8080"))
     *         .frontend(HttpFrontend.bind(8080).defaultBackend("app")));
     * }</pre>
     *
     * @param config the new configuration; it is not built, only read
     * @throws IllegalArgumentException naming the field and value when the new configuration is invalid
     * @throws IllegalStateException when a new frontend cannot bind, or the proxy is closed
     */
    public void reconfigure(Builder config) {
        Objects.requireNonNull(config, "config");
        config.check();
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("proxy is closed");
            }
            Generation old = generation;
            Map<String, BackendRuntime> runtimes = new LinkedHashMap<>();
            List<BackendRuntime> added = new ArrayList<>();
            for (Backend b : config.backends.values()) {
                BackendRuntime r = old.runtimes.get(b.name());
                if (r == null) {
                    r = new BackendRuntime(b, clock, scheduler, events);
                    added.add(r);
                }
                runtimes.put(b.name(), r);
            }
            Generation next = new Generation(config.frontends, config.backends, runtimes, rateLimiter, clock);
            Map<Frontend, Listener> kept = new LinkedHashMap<>();
            Map<String, Listener> retired = new LinkedHashMap<>();
            Map<String, Listener> bound = new LinkedHashMap<>();
            Map<Frontend, Listener.Rebinding> rebound = new LinkedHashMap<>();
            EngineContext nextContext = null;
            if (started) {
                nextContext = new EngineContext(context.acceptGroup(), context.ioGroup(), context.transport(), clock,
                        runtimes, metrics, accessLog, tracing, rateLimiter);
                nextContext.http2HealthProbe(context.http2HealthProbe());
                List<Frontend> unmatched = new ArrayList<>(old.frontends);
                for (Frontend f : next.frontends) {
                    Frontend match = sameSockets(f, unmatched);
                    if (match != null) {
                        unmatched.remove(match);
                        kept.put(f, listeners.get(match.name()));
                    }
                }
                // then one of the same engine sharing a bind address: it keeps the sockets of the
                // addresses still listed, binds the others (below) and closes the rest once committed
                List<Frontend> rebinding = new ArrayList<>();
                for (Frontend f : next.frontends) {
                    if (kept.containsKey(f)) {
                        continue;
                    }
                    Frontend match = rebindable(f, unmatched);
                    if (match != null) {
                        unmatched.remove(match);
                        kept.put(f, listeners.get(match.name()));
                        rebinding.add(f);
                    }
                }
                for (Frontend gone : unmatched) {
                    retired.put(gone.name(), listeners.get(gone.name()));
                }
                Frontend starting = null;
                List<String> newlyCounted = new ArrayList<>();
                try {
                    for (Frontend f : rebinding) {
                        starting = f;
                        rebound.put(f, kept.get(f).rebind(f));
                    }
                    for (Frontend f : next.frontends) {
                        if (!kept.containsKey(f)) {
                            starting = f;
                            if (!metrics.hasFrontend(f.name())) {
                                newlyCounted.add(f.name());
                            }
                            metrics.frontend(f.name());
                            bound.put(f.name(), f.start(nextContext));
                        }
                    }
                } catch (Exception e) {
                    for (Listener.Rebinding r : rebound.values()) {
                        r.abort();
                    }
                    for (Listener l : bound.values()) {
                        l.closeAll();
                    }
                    // nothing changes: no counters for frontends that were never bound
                    for (String name : newlyCounted) {
                        metrics.removeFrontend(name);
                    }
                    throw cannotStart(starting, e);
                }
            }
            // from here on nothing fails: update the backends in place, then swap
            if (nextContext != null && context.http2HealthProbe() == null) {
                // an HTTP frontend started by this reconfiguration: the checks made from now speak HTTP/2 where they should
                context.http2HealthProbe(nextContext.http2HealthProbe());
            }
            for (Backend b : config.backends.values()) {
                BackendRuntime r = runtimes.get(b.name());
                if (added.contains(r)) {
                    if (started) {
                        control.restartHealthCheck(r);
                    }
                    continue;
                }
                Backend previous = r.config();
                r.reconfigure(b);
                if (started) {
                    control.reconfigureHealthCheck(r, previous);
                }
            }
            generation = next;
            control.runtimes(next.runtimes);
            metrics.backends(next.runtimes.values());
            listeners.clear();
            for (Frontend f : next.frontends) {
                Listener l = kept.get(f);
                Listener.Rebinding rebinding = rebound.get(f);
                if (rebinding != null) {
                    // the listener takes f's rules first: what the new sockets accepted follows them
                    f.reconfigure(l, nextContext);
                    rebinding.commit();
                } else if (l != null && !f.reconfigure(l, nextContext)) {
                    retire(l);
                    try {
                        l = f.start(nextContext);
                    } catch (Exception e) {
                        log.error("reconfiguration: cannot rebind frontend {}: {}", f.name(), e.toString());
                        continue;
                    }
                }
                if (l == null) {
                    l = bound.get(f.name());
                }
                if (l != null) {
                    // none for a proxy not started yet: start() binds every frontend
                    listeners.put(f.name(), l);
                }
            }
            for (Listener l : retired.values()) {
                retire(l);
            }
            for (Map.Entry<String, BackendRuntime> e : old.runtimes.entrySet()) {
                if (!runtimes.containsKey(e.getKey())) {
                    e.getValue().retire();
                }
            }
            for (Listener l : listeners.values()) {
                l.serversRemoved();
            }
            if (log.isInfoEnabled()) {
                log.info("lodestone reconfigured: frontends {}, backends {}", frontendNames(), next.backends.keySet());
            }
        }
    }

    /** The frontend of {@code candidates} that {@code f} can take the sockets of: same engine, same bind addresses. */
    private static Frontend sameSockets(Frontend f, List<Frontend> candidates) {
        for (Frontend c : candidates) {
            if (c.getClass() == f.getClass() && !c.bindAddresses().isEmpty() && c.bindAddresses().equals(f.bindAddresses())) {
                return c;
            }
        }
        return null;
    }

    /**
     * The frontend of {@code candidates} whose listener can take {@code f} with other bind addresses
     * ({@link Listener#canRebind}: same engine, a bind address in common).
     */
    private Frontend rebindable(Frontend f, List<Frontend> candidates) {
        for (Frontend c : candidates) {
            Listener l = listeners.get(c.name());
            if (c.getClass() == f.getClass() && l != null && l.canRebind(f)) {
                return c;
            }
        }
        return null;
    }

    /** The failure to start a frontend, naming it and the addresses it binds (a port in use, say). */
    private static IllegalStateException cannotStart(Frontend frontend, Exception cause) {
        StringBuilder message = new StringBuilder("cannot start frontend");
        if (frontend != null) {
            message.append(" '").append(frontend.name()).append('\'');
            List<InetSocketAddress> addresses = frontend.bindAddresses();
            for (int i = 0; i < addresses.size(); i++) {
                message.append(i == 0 ? " on " : ", ").append(bindText(addresses.get(i)));
            }
        }
        return new IllegalStateException(message.append(": ").append(cause.getMessage()).toString(), cause);
    }

    /** A bind address as messages write it: {@code 0.0.0.0:8080}, {@code [::1]:8080}, {@code localhost:8080}. */
    private static String bindText(InetSocketAddress a) {
        String host = a.getAddress() != null ? Addresses.toText(a.getAddress()) : a.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /**
     * Stops a listener accepting and drains it; what is still open after the drain timeout is closed.
     * Once drained (or at the deadline) the listener is closed whole, which also closes what it holds
     * beyond its client connections: an HTTP frontend's pooled server connections and their sweep
     * timer, which would otherwise keep the whole listener alive.
     */
    private void retire(Listener l) {
        Future<?> drained = l.drain();
        retiring.put(l, new Retirement(drained));
        // closeAll blocks until the channels are closed: never on an event loop (closeRetired runs
        // once, whichever comes first)
        Runnable cancel;
        if (clock == Clock.system()) {
            // off the event loops, so that a loop held up does not hold the deadline
            ScheduledFuture<?> deadline = GlobalEventExecutor.INSTANCE
                    .schedule(() -> closeRetired(l, false), drainTimeout.toNanos(), TimeUnit.NANOSECONDS);
            cancel = () -> deadline.cancel(false);
        } else {
            // on the proxy's clock, as its other timers: the proxy's loops follow that clock
            Scheduler.Task deadline = scheduler.schedule(
                    () -> GlobalEventExecutor.INSTANCE.execute(() -> closeRetired(l, false)), drainTimeout.toNanos());
            cancel = deadline::cancel;
        }
        drained.addListener(f -> {
            cancel.run();
            GlobalEventExecutor.INSTANCE.execute(() -> closeRetired(l, false));
        });
    }

    /**
     * Closes a retired listener whole, once: at its drain's end or deadline, or when the proxy closes
     * first. With {@code wait} (the proxy's close), a close already under way elsewhere is waited for:
     * the proxy's close returned while one begun at its deadline went on, the listener's connections
     * still open and its response caches still registered. Its waits are bounded ({@code SocketClose}).
     */
    private void closeRetired(Listener l, boolean wait) {
        Retirement r = retiring.get(l);
        if (r == null) {
            return;
        }
        if (r.closing.compareAndSet(false, true)) {
            try {
                l.closeAll();
            } finally {
                retiring.remove(l);
                r.closed.countDown();
            }
        } else if (wait) {
            boolean interrupted = false;
            while (true) {
                try {
                    r.closed.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A listener a reconfiguration removed: its drain, and its close, which runs once. */
    private static final class Retirement {
        final Future<?> drained;
        final AtomicBoolean closing = new AtomicBoolean();
        final CountDownLatch closed = new CountDownLatch(1);

        Retirement(Future<?> drained) {
            this.drained = drained;
        }
    }

    /**
     * Returns a snapshot of every frontend's, backend's and server's figures: connections, requests,
     * responses by class, bytes, errors, latency percentiles, states. Works before, during and after
     * the proxy runs; export it with {@link io.lodestone.core.metrics.PrometheusFormat}.
     *
     * @return an immutable snapshot of the figures now
     */
    public MetricsSnapshot metrics() {
        return metrics.snapshot();
    }

    /** Closes gracefully with the configured drain timeout; see {@link #close(Duration)}. */
    @Override
    public void close() {
        close(drainTimeout);
    }

    /**
     * Closes gracefully: stops accepting, lets open connections finish for up to {@code drainTimeout},
     * then closes whatever is still open and releases the event loops the proxy made itself. A drain
     * timeout over 36,500 days waits for the connections without a bound. What is still open then is
     * closed at its socket, with nothing sent first (no TLS {@code close_notify}, no HTTP/2 GOAWAY),
     * so a client that does not read cannot hold the close past the drain timeout. Frontends that a
     * {@link #reconfigure reconfiguration} removed and that are still draining are drained and closed
     * with the others, within the same {@code drainTimeout}. A drain timeout that runs out with client
     * connections still open is logged as a warning with their number (at info level for a zero
     * timeout, a stop at once). The drain timeout runs on the proxy's {@link Clock}: with a manual
     * clock, a test that moves it past the timeout ends the drain then, without waiting for it (and
     * one that does not move it waits the timeout in real time, as on the system clock).
     *
     * @param drainTimeout how long open connections may go on; {@link Duration#ZERO} closes them at once
     */
    public void close(Duration drainTimeout) {
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        // past about 292 years toNanos overflows: it threw once the proxy had stopped accepting
        long drainNanos = drainTimeout.compareTo(Durations.MAX) > 0 ? Long.MAX_VALUE : drainTimeout.toNanos();
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            long drainStart = clock.nanoTime();
            control.stopHealthChecks();
            // before the drain: its timers need the scheduler, and no action runs on a server the close drains
            control.stopRollingUpdates();
            scheduler.close();
            // one latch for every listener's drain, awaited once for the whole drain timeout; the
            // listeners a reconfiguration removed that still drain are waited for and closed with
            // the others, and one whose close has begun is waited for to its end: left to their own
            // deadline, their connections were cut by the event loops' shutdown (logged as the
            // client's or the server's failure, not K) and their close then failed on the stopped loops
            Map<Listener, Retirement> stillRetiring = Map.copyOf(retiring);
            CountDownLatch drained = new CountDownLatch(listeners.size() + stillRetiring.size());
            for (Listener l : listeners.values()) {
                l.drain().addListener(f -> drained.countDown());
            }
            for (Retirement r : stillRetiring.values()) {
                r.drained.addListener(done -> drained.countDown());
            }
            boolean inTime = false;
            try {
                inTime = awaitDrain(drained, drainStart, drainNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (!inTime) {
                int open = 0;
                for (Listener l : listeners.values()) {
                    open += l.openConnections();
                }
                for (Listener l : stillRetiring.keySet()) {
                    open += l.openConnections();
                }
                if (open > 0 && drainNanos > 0) {
                    log.warn("lodestone stopping: the drain timeout ({}) ran out with {} client connections open; closing them",
                            drainTimeout, open);
                } else if (open > 0) {
                    log.info("lodestone stopping at once: closing {} client connections", open);
                }
            }
            // every listener first: the close of one hands the server slots it frees to the requests and
            // connections waiting in the backends' queues, some of them another listener's
            for (Listener l : listeners.values()) {
                l.closing();
            }
            for (Listener l : stillRetiring.keySet()) {
                l.closing();
            }
            for (Listener l : listeners.values()) {
                l.closeAll();
            }
            for (Listener l : stillRetiring.keySet()) {
                closeRetired(l, true);
            }
            shutdownOwnGroups();
        }
    }

    /**
     * Waits until {@code drained} is down or {@code drainNanos} have passed on the proxy's clock since
     * {@code start}. On {@link Clock#system()} that is one wait; on another clock the wait looks at
     * the clock every millisecond, as the event loops of such a proxy do, so that a test that moves
     * the clock past the drain timeout ends the drain at once, however long the timeout; it also ends
     * once the timeout has passed in real time, as it did before, so that a close that nothing moves
     * the clock for (a test's clean-up with a connection left open) still returns.
     */
    private boolean awaitDrain(CountDownLatch drained, long start, long drainNanos) throws InterruptedException {
        Clock real = Clock.system();
        if (clock == real) {
            return drained.await(drainNanos, TimeUnit.NANOSECONDS);
        }
        long realStart = real.nanoTime();
        while (drained.getCount() > 0) {
            if (clock.nanoTime() - start >= drainNanos || real.nanoTime() - realStart >= drainNanos) {
                return false;
            }
            drained.await(1, TimeUnit.MILLISECONDS);
        }
        return true;
    }

    private void shutdownOwnGroups() {
        List<Future<?>> terminations = new ArrayList<>();
        if (ownIoGroup != null) {
            terminations.add(ownIoGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS));
        }
        for (Future<?> f : terminations) {
            f.awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /** Builds a {@link Proxy}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder {
        private final List<Frontend> frontends = new ArrayList<>();
        private final Map<String, Backend> backends = new LinkedHashMap<>();
        private final List<String> duplicateBackends = new ArrayList<>();
        private Clock clock = Clock.system();
        private Duration drainTimeout = Duration.ofSeconds(10);
        private int ioThreads;
        private Duration busyPolling = Duration.ZERO;
        private EventLoopGroup acceptGroup;
        private EventLoopGroup ioGroup;
        private AccessLog accessLog = AccessLog.off();
        private Tracing tracing = Tracing.off();
        private RateLimiter rateLimiter;

        Builder() {
        }

        /**
         * Adds a backend.
         *
         * @param backend a backend whose name no other backend of the proxy has ({@link #build()} checks)
         * @return this builder
         */
        public Builder backend(Backend backend) {
            Objects.requireNonNull(backend, "backend");
            if (backends.putIfAbsent(backend.name(), backend) != null) {
                duplicateBackends.add(backend.name());
            }
            return this;
        }

        /**
         * Builds and adds a backend.
         *
         * @param backend the backend's builder, built now
         * @return this builder
         */
        public Builder backend(Backend.Builder backend) {
            return backend(backend.build());
        }

        /**
         * Adds a frontend.
         *
         * @param frontend a frontend, such as an {@code HttpFrontend} or a {@code TcpFrontend}
         * @return this builder
         */
        public Builder frontend(Frontend frontend) {
            frontends.add(Objects.requireNonNull(frontend, "frontend"));
            return this;
        }

        /**
         * Builds and adds a frontend.
         *
         * @param frontend the frontend's builder, built now
         * @return this builder
         */
        public Builder frontend(Frontend.Builder frontend) {
            return frontend(frontend.build());
        }

        /**
         * Sets the clock (default {@link Clock#system()}). Any other clock also runs the timers of the
         * event loops the proxy makes, connection timeouts included; see {@link Clock}.
         *
         * @param clock the clock every timer and measurement reads
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Sets how long {@link Proxy#close()} lets open connections finish (default 10 s).
         *
         * @param drainTimeout zero or more, at most 36,500 days
         * @return this builder
         */
        public Builder drainTimeout(Duration drainTimeout) {
            if (drainTimeout == null || drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout: " + drainTimeout + " (expected: >= 0)");
            }
            this.drainTimeout = Durations.atMostMax("drainTimeout", drainTimeout);
            return this;
        }

        /**
         * Sets the number of I/O threads Lodestone makes (default: one per available processor). The
         * same threads accept connections unless {@link #eventLoopGroups} hands in others.
         *
         * @param threads the number of I/O threads; 0 for the default
         * @return this builder
         */
        public Builder ioThreads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("ioThreads: " + threads + " (expected: >= 0)");
            }
            this.ioThreads = threads;
            return this;
        }

        /**
         * Makes each I/O thread Lodestone makes busy-poll: for {@code window} after it last handled I/O,
         * it keeps looking for new events instead of sleeping until the kernel wakes it (default
         * {@link Duration#ZERO}, off; HAProxy's {@code busy-polling}, bounded in time).
         *
         * <p>It trades CPU time for the cost of wake-ups. A sleeping thread must be woken for each new
         * event, and both sides pay: the process that writes to the socket sends an interrupt to the
         * sleeping CPU, and that CPU must leave its idle state; on a virtual machine whose idle CPUs
         * halt, both are exits to the hypervisor. A polling thread finds the event itself. The cost is
         * up to {@code window} of CPU time after each burst of work, and all of an I/O thread's CPU
         * while events come more often than {@code window} apart. Tens of microseconds are enough to
         * bridge the gaps between requests under load ({@code 50us} was measured; see the README).
         *
         * <p>It applies to the epoll and io_uring transports, not to NIO. With {@link #eventLoopGroups},
         * whose loops are used as they are, {@link #build()} rejects it.
         *
         * @return this builder
         * @param window how long to keep polling after the last I/O, at most one second; zero turns it off
         */
        public Builder busyPolling(Duration window) {
            if (window == null || window.isNegative() || window.compareTo(MAX_BUSY_POLLING) > 0) {
                throw new IllegalArgumentException("busyPolling: " + window + " (expected: between 0 and " + MAX_BUSY_POLLING + ")");
            }
            this.busyPolling = window;
            return this;
        }

        /**
         * Sets the access log: {@link AccessLog#text()}, {@link AccessLog#json()} or {@link AccessLog#off()} (the default).
         *
         * @param accessLog the access log
         * @return this builder
         */
        public Builder accessLog(AccessLog accessLog) {
            this.accessLog = Objects.requireNonNull(accessLog, "accessLog");
            return this;
        }

        /**
         * Sets what HTTP frontends do with W3C trace context headers (default {@link Tracing#off()}).
         *
         * @param tracing what to do with trace context headers
         * @return this builder
         */
        public Builder tracing(Tracing tracing) {
            this.tracing = Objects.requireNonNull(tracing, "tracing");
            return this;
        }

        /**
         * Sets where the buckets of rate-limiting rules live (default
         * {@link RateLimiters#inMemory(Clock) RateLimiters.inMemory(clock)} on the proxy's clock): one
         * limiter for every frontend, kept across {@link Proxy#reconfigure reconfigurations}. A limiter
         * backed by a store several proxies share makes them enforce one limit together; see
         * {@link RateLimiter} for the design.
         *
         * @param rateLimiter the limiter that holds the buckets
         * @return this builder
         */
        public Builder rateLimiter(RateLimiter rateLimiter) {
            this.rateLimiter = Objects.requireNonNull(rateLimiter, "rateLimiter");
            return this;
        }

        /**
         * Runs the proxy on the application's own event loops instead of making its own. The
         * application keeps ownership: {@link Proxy#close()} does not shut them down. The settings of
         * the loops Lodestone makes, {@link #ioThreads} and {@link #busyPolling}, cannot be given too.
         *
         * @param acceptGroup the loops that accept connections
         * @param ioGroup the loops that serve connections (may be {@code acceptGroup})
         * @return this builder
         */
        public Builder eventLoopGroups(EventLoopGroup acceptGroup, EventLoopGroup ioGroup) {
            this.acceptGroup = Objects.requireNonNull(acceptGroup, "acceptGroup");
            this.ioGroup = Objects.requireNonNull(ioGroup, "ioGroup");
            return this;
        }

        /**
         * Returns the proxy, not yet started. The builder stays usable.
         *
         * @return a new proxy with this configuration
         * @throws IllegalArgumentException naming the field and value when the configuration is
         *     inconsistent: no frontend, a duplicate frontend or backend name, two frontends (or one
         *     frontend twice) on one address and port, a frontend that refers to
         *     an unknown backend, {@code ioThreads} or {@code busyPolling} with {@code eventLoopGroups}
         */
        public Proxy build() {
            check();
            return new Proxy(this);
        }

        /** Checks the whole configuration; see {@link #build()}. */
        void check() {
            if (!duplicateBackends.isEmpty()) {
                throw new IllegalArgumentException("backend name: " + duplicateBackends.get(0) + " (expected: unique within the proxy)");
            }
            if (frontends.isEmpty()) {
                throw new IllegalArgumentException("frontends: [] (expected: at least one frontend)");
            }
            if (ioGroup != null && ioThreads > 0) {
                throw new IllegalArgumentException("ioThreads: " + ioThreads
                        + " (expected: 0 with eventLoopGroups; the application's event loops are used as they are)");
            }
            if (ioGroup == null) {
                Transport.asked(); // a misspelt -Dlodestone.transport fails here, not at start()
            }
            if (ioGroup != null && !busyPolling.isZero()) {
                throw new IllegalArgumentException("busyPolling: " + busyPolling
                        + " (expected: 0 with eventLoopGroups; the application's event loops are used as they are)");
            }
            List<String> names = new ArrayList<>();
            List<InetSocketAddress> addresses = new ArrayList<>();
            List<String> owners = new ArrayList<>();
            for (Frontend f : frontends) {
                if (names.contains(f.name())) {
                    throw new IllegalArgumentException("frontend name: " + f.name() + " (expected: unique within the proxy; name each frontend)");
                }
                names.add(f.name());
                for (InetSocketAddress a : f.bindAddresses()) {
                    for (int i = 0; i < addresses.size(); i++) {
                        if (sameSocket(a, addresses.get(i))) {
                            throw new IllegalArgumentException("frontend " + f.name() + " bind: " + bindText(a)
                                    + " (expected: an address no other listener of the proxy takes; frontend " + owners.get(i)
                                    + " binds " + bindText(addresses.get(i)) + ")");
                        }
                    }
                    addresses.add(a);
                    owners.add(f.name());
                }
                if (f.routing() != null) {
                    f.routing().checkBackends(f.name(), backends.keySet());
                }
                for (String b : f.backendNames()) {
                    if (!backends.containsKey(b)) {
                        throw new IllegalArgumentException("frontend " + f.name() + " backend: " + b + " (no such backend; known: " + backends.keySet() + ")");
                    }
                    if (f.isHttp()) {
                        checkNoProxyHeader(backends.get(b), f.name());
                    }
                    HashKey key = backends.get(b).balancingStrategy().hashKey();
                    if (!f.isHttp() && key != null && key.readsHttp()) {
                        // a connection has no request to read the key from
                        throw new IllegalArgumentException("backend " + b + " balance: " + backends.get(b).balancingStrategy()
                                + " (expected: a strategy that reads no HTTP request, e.g. sourceHash(), since frontend "
                                + f.name() + " forwards connections, not HTTP requests)");
                    }
                }
            }
        }

        /**
         * Whether two bind addresses would be one listening socket, so that the second bind fails
         * with "address in use" at {@link Proxy#start()}: the same port (not 0, which the OS
         * chooses) and the same address, or a wildcard that takes the other (the IPv6 {@code ::}
         * takes every address, its socket being dual-stack; {@code 0.0.0.0} every IPv4 address and
         * {@code ::}). Host names are compared as written: they are resolved at start.
         */
        private static boolean sameSocket(InetSocketAddress a, InetSocketAddress b) {
            if (a.getPort() == 0 || a.getPort() != b.getPort()) {
                return false;
            }
            if (a.isUnresolved() || b.isUnresolved()) {
                return a.isUnresolved() && b.isUnresolved() && a.getHostString().equalsIgnoreCase(b.getHostString());
            }
            InetAddress x = a.getAddress();
            InetAddress y = b.getAddress();
            return x.equals(y) || takes(x, y) || takes(y, x);
        }

        /** Whether a listening socket bound to {@code wildcard} takes the port of {@code other} too. */
        private static boolean takes(InetAddress wildcard, InetAddress other) {
            if (!wildcard.isAnyLocalAddress()) {
                return false;
            }
            return wildcard instanceof Inet6Address || other instanceof Inet4Address || other.isAnyLocalAddress();
        }

        /** The L7 engine writes no PROXY header: a backend of an HTTP frontend that asks for one would not get it. */
        private static void checkNoProxyHeader(Backend backend, String frontend) {
            if (backend.proxyProtocol() != ProxyProtocol.NONE) {
                throw new IllegalArgumentException("backend " + backend.name() + " proxyProtocol: " + backend.proxyProtocol()
                        + noProxyHeader(frontend));
            }
            for (Server server : backend.servers()) {
                checkNoProxyHeader(backend.name(), server, frontend);
            }
        }

        /** A server of {@code backend}, which HTTP frontend {@code frontend} sends to, may not ask for a PROXY header. */
        static void checkNoProxyHeader(String backend, Server server, String frontend) {
            if (server.proxyProtocol() != null && server.proxyProtocol() != ProxyProtocol.NONE) {
                throw new IllegalArgumentException("server " + backend + "/" + server.name() + " proxyProtocol: "
                        + server.proxyProtocol() + noProxyHeader(frontend));
            }
        }

        private static String noProxyHeader(String frontend) {
            return " (expected: NONE, since frontend " + frontend
                    + " speaks HTTP to the servers and sends no PROXY header; the TCP engine sends one)";
        }
    }
}
