package io.lodestone.core;

import io.lodestone.core.health.internal.HealthCheckers;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.DeferredScheduler;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.EventLoopScheduler;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.RuntimeControl;
import io.lodestone.core.internal.ServerEvents;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.route.BackendStates;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.RouteResult;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.internal.RequestPickContext;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.internal.MetricsRegistry;
import io.lodestone.core.trace.Tracing;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
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

    private final List<Frontend> frontends;
    private final Map<String, Backend> backends;
    private final Map<String, BackendRuntime> runtimes;
    private final Clock clock;
    private final Duration drainTimeout;
    private final int ioThreads;
    private final EventLoopGroup suppliedAcceptGroup;
    private final EventLoopGroup suppliedIoGroup;
    private final DeferredScheduler scheduler;
    private final RuntimeControl control;
    private final Map<String, Router> routers;
    private final MetricsRegistry metrics;
    private final AccessLog accessLog;
    private final Tracing tracing;

    private final Object lifecycle = new Object();
    private final Map<String, Listener> listeners = new LinkedHashMap<>();
    private EventLoopGroup ownIoGroup;
    private boolean started;
    private boolean closed;

    private Proxy(Builder b) {
        this.frontends = List.copyOf(b.frontends);
        this.backends = Collections.unmodifiableMap(new LinkedHashMap<>(b.backends));
        this.clock = b.clock;
        this.scheduler = new DeferredScheduler(clock);
        ServerEvents events = new ServerEvents();
        Map<String, BackendRuntime> r = new LinkedHashMap<>();
        for (Backend backend : backends.values()) {
            r.put(backend.name(), new BackendRuntime(backend, clock, scheduler, events));
        }
        this.runtimes = Collections.unmodifiableMap(r);
        this.control = new RuntimeControl(runtimes, scheduler, events);
        BackendStates states = name -> {
            BackendRuntime runtime = runtimes.get(name);
            return runtime == null ? 0 : runtime.usableServers();
        };
        Map<String, Router> routing = new LinkedHashMap<>();
        for (Frontend f : frontends) {
            if (f.routing() != null) {
                routing.put(f.name(), f.routing().router(states));
            }
        }
        this.routers = Collections.unmodifiableMap(routing);
        this.metrics = new MetricsRegistry(clock, runtimes.values());
        for (Frontend f : frontends) {
            metrics.frontend(f.name());
        }
        this.accessLog = b.accessLog;
        this.tracing = b.tracing;
        this.drainTimeout = b.drainTimeout;
        this.ioThreads = b.ioThreads;
        this.suppliedAcceptGroup = b.acceptGroup;
        this.suppliedIoGroup = b.ioGroup;
    }

    /** Returns a builder for a proxy. */
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
                ownIoGroup = io = transport.newGroup(threads, "lodestone-io");
            }
            if (accept == null) {
                // accept on one of the I/O loops, as nginx and HAProxy workers do: no extra thread to
                // hand connections over from, which matters most when the proxy has one core
                accept = io;
            }
            EngineContext context = new EngineContext(accept, io, transport, clock, runtimes, metrics, accessLog, tracing);
            try {
                for (Frontend f : frontends) {
                    listeners.put(f.name(), f.start(context));
                }
            } catch (Exception e) {
                for (Listener l : listeners.values()) {
                    l.closeAll();
                }
                listeners.clear();
                shutdownOwnGroups();
                throw new IllegalStateException("cannot start frontend: " + e.getMessage(), e);
            }
            scheduler.attach(new EventLoopScheduler(io.next()));
            EventLoopGroup checkGroup = io;
            control.startHealthChecks(check -> HealthCheckers.create(check, checkGroup, transport));
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
     * @throws IllegalArgumentException when there is no frontend of that name
     * @throws IllegalStateException when the proxy is not started
     */
    public List<InetSocketAddress> localAddresses(String frontendName) {
        synchronized (lifecycle) {
            Listener l = listeners.get(frontendName);
            if (l == null) {
                if (frontends.stream().noneMatch(f -> f.name().equals(frontendName))) {
                    throw new IllegalArgumentException("frontend: " + frontendName + " (no such frontend)");
                }
                throw new IllegalStateException("proxy is not started");
            }
            return l.localAddresses();
        }
    }

    /** Returns the first port of the named frontend. */
    public int port(String frontendName) {
        return localAddresses(frontendName).get(0).getPort();
    }

    /** Returns the first port of the first frontend: convenient when there is one. */
    public int port() {
        return port(frontends.get(0).name());
    }

    /** The frontends, in the order they were added. */
    public List<Frontend> frontends() {
        return frontends;
    }

    /** The backends, by name. */
    public Map<String, Backend> backends() {
        return backends;
    }

    /** The clock the proxy reads. */
    public Clock clock() {
        return clock;
    }

    /**
     * Runtime control of servers: states, weights, loads, servers added and removed, listeners,
     * rolling updates. Health checks run from {@link #start()} to {@link #close()}.
     */
    public ProxyControl control() {
        return control;
    }

    /**
     * Routes a request or connection through the first frontend that has routing rules, without a
     * socket, against the live server states (those set through {@link #control()} included).
     * Works before {@link #start()}; changes nothing.
     *
     * <pre>{@code
     * Decision d = proxy.route(TestRequest.get("/admin").host("example.com"));
     * assertThat(d).isInstanceOf(Decision.Deny.class);
     * }</pre>
     *
     * @throws IllegalStateException when no frontend has routing rules
     */
    public Decision route(RequestView request) {
        return firstRouter().route(Objects.requireNonNull(request, "request"));
    }

    /**
     * Routes a request or connection through the named frontend's rules; see {@link #route(RequestView)}.
     *
     * @throws IllegalArgumentException when there is no such frontend or it has no routing rules
     */
    public Decision route(String frontendName, RequestView request) {
        return router(frontendName).route(Objects.requireNonNull(request, "request"));
    }

    /**
     * Routes like {@link #route(RequestView)} and, for a forward, names the server the backend's
     * balancing strategy would pick now. The pick is real: it advances the strategy's state (a round
     * robin moves on) and counts in {@link ServerControl#totalSelected()}; the server's load is
     * taken and given back at once.
     */
    public RouteResult routeAndPick(RequestView request) {
        return pick(route(request), request);
    }

    /** Routes through the named frontend and picks a server; see {@link #routeAndPick(RequestView)}. */
    public RouteResult routeAndPick(String frontendName, RequestView request) {
        return pick(route(frontendName, request), request);
    }

    private RouteResult pick(Decision decision, RequestView request) {
        if (!(decision instanceof Decision.Forward forward)) {
            return new RouteResult(decision, null);
        }
        ServerRuntime s = runtimes.get(forward.backend()).select(new RequestPickContext(request));
        if (s == null) {
            return new RouteResult(decision, null);
        }
        s.release();
        return new RouteResult(decision, s.server());
    }

    private Router firstRouter() {
        if (routers.isEmpty()) {
            throw new IllegalStateException("no frontend has routing rules: " + frontendNames());
        }
        return routers.values().iterator().next();
    }

    private Router router(String frontendName) {
        Router r = routers.get(frontendName);
        if (r == null) {
            if (frontends.stream().noneMatch(f -> f.name().equals(frontendName))) {
                throw new IllegalArgumentException("frontend: " + frontendName + " (no such frontend; known: " + frontendNames() + ")");
            }
            throw new IllegalArgumentException("frontend: " + frontendName + " (it has no routing rules)");
        }
        return r;
    }

    private List<String> frontendNames() {
        List<String> names = new ArrayList<>();
        for (Frontend f : frontends) {
            names.add(f.name());
        }
        return names;
    }

    /**
     * Returns a snapshot of every frontend's, backend's and server's figures: connections, requests,
     * responses by class, bytes, errors, latency percentiles, states. Works before, during and after
     * the proxy runs; export it with {@link io.lodestone.core.metrics.PrometheusFormat}.
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
     * then closes whatever is still open and releases the event loops the proxy made itself.
     */
    public void close(Duration drainTimeout) {
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            control.stopHealthChecks();
            scheduler.close();
            List<Future<?>> drains = new ArrayList<>();
            for (Listener l : listeners.values()) {
                drains.add(l.drain());
            }
            long deadline = System.nanoTime() + drainTimeout.toNanos();
            for (Future<?> f : drains) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !f.awaitUninterruptibly(left, TimeUnit.NANOSECONDS)) {
                    break;
                }
            }
            for (Listener l : listeners.values()) {
                l.closeAll();
            }
            shutdownOwnGroups();
        }
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
        private EventLoopGroup acceptGroup;
        private EventLoopGroup ioGroup;
        private AccessLog accessLog = AccessLog.off();
        private Tracing tracing = Tracing.off();

        Builder() {
        }

        /** Adds a backend. */
        public Builder backend(Backend backend) {
            Objects.requireNonNull(backend, "backend");
            if (backends.putIfAbsent(backend.name(), backend) != null) {
                duplicateBackends.add(backend.name());
            }
            return this;
        }

        /** Builds and adds a backend. */
        public Builder backend(Backend.Builder backend) {
            return backend(backend.build());
        }

        /** Adds a frontend. */
        public Builder frontend(Frontend frontend) {
            frontends.add(Objects.requireNonNull(frontend, "frontend"));
            return this;
        }

        /** Builds and adds a frontend. */
        public Builder frontend(Frontend.Builder frontend) {
            return frontend(frontend.build());
        }

        /** Sets the clock (default {@link Clock#system()}). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Sets how long {@link Proxy#close()} lets open connections finish (default 10 s). */
        public Builder drainTimeout(Duration drainTimeout) {
            if (drainTimeout == null || drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout: " + drainTimeout + " (expected: >= 0)");
            }
            this.drainTimeout = drainTimeout;
            return this;
        }

        /**
         * Sets the number of I/O threads Lodestone makes (default: one per available processor). The
         * same threads accept connections unless {@link #eventLoopGroups} hands in others.
         */
        public Builder ioThreads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("ioThreads: " + threads + " (expected: >= 0)");
            }
            this.ioThreads = threads;
            return this;
        }

        /** Sets the access log: {@link AccessLog#text()}, {@link AccessLog#json()} or {@link AccessLog#off()} (the default). */
        public Builder accessLog(AccessLog accessLog) {
            this.accessLog = Objects.requireNonNull(accessLog, "accessLog");
            return this;
        }

        /** Sets what HTTP frontends do with W3C trace context headers (default {@link Tracing#off()}). */
        public Builder tracing(Tracing tracing) {
            this.tracing = Objects.requireNonNull(tracing, "tracing");
            return this;
        }

        /**
         * Runs the proxy on the application's own event loops instead of making its own. The
         * application keeps ownership: {@link Proxy#close()} does not shut them down.
         */
        public Builder eventLoopGroups(EventLoopGroup acceptGroup, EventLoopGroup ioGroup) {
            this.acceptGroup = Objects.requireNonNull(acceptGroup, "acceptGroup");
            this.ioGroup = Objects.requireNonNull(ioGroup, "ioGroup");
            return this;
        }

        /**
         * Returns the proxy, not yet started. The builder stays usable.
         *
         * @throws IllegalArgumentException naming the field and value when the configuration is
         *     inconsistent: no frontend, a duplicate frontend or backend name, a frontend that refers to
         *     an unknown backend
         */
        public Proxy build() {
            if (!duplicateBackends.isEmpty()) {
                throw new IllegalArgumentException("backend name: " + duplicateBackends.get(0) + " (expected: unique within the proxy)");
            }
            if (frontends.isEmpty()) {
                throw new IllegalArgumentException("frontends: [] (expected: at least one frontend)");
            }
            List<String> names = new ArrayList<>();
            for (Frontend f : frontends) {
                if (names.contains(f.name())) {
                    throw new IllegalArgumentException("frontend name: " + f.name() + " (expected: unique within the proxy; name each frontend)");
                }
                names.add(f.name());
                if (f.routing() != null) {
                    f.routing().checkBackends(f.name(), backends.keySet());
                }
                for (String b : f.backendNames()) {
                    if (!backends.containsKey(b)) {
                        throw new IllegalArgumentException("frontend " + f.name() + " backend: " + b + " (no such backend; known: " + backends.keySet() + ")");
                    }
                }
            }
            return new Proxy(this);
        }
    }
}
