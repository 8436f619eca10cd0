package io.lodestone.core.internal;

import io.lodestone.core.Backend;
import io.lodestone.core.CacheControl;
import io.lodestone.core.ProxyControl;
import io.lodestone.core.RollingUpdate;
import io.lodestone.core.Server;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerListener;
import io.lodestone.core.ServerStatus;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.health.internal.HealthMonitor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The proxy's {@link ProxyControl}: runtime control over the backends' runtime state, the listeners,
 * the health monitors and rolling updates. Constructed by the proxy, or by tests with a manual clock
 * and scheduler.
 */
public final class RuntimeControl implements ProxyControl {

    private volatile Map<String, BackendRuntime> runtimes;
    private volatile BiFunction<HealthCheck, Backend, HealthChecker> checkers;
    private final Random random = new Random();
    private final Scheduler scheduler;
    private final ServerEvents events;
    private final CacheStores caches;
    /** The rolling updates running, by backend name. */
    private final Map<String, RollingUpdater> rollingUpdates = new ConcurrentHashMap<>();
    /** Set when the proxy closes: no rolling update starts any more. */
    private volatile boolean closed;
    /** Checks a server {@link #addServer} adds against the proxy's configuration; see {@link #serverCheck}. */
    private volatile BiConsumer<String, Server> serverCheck = (backend, server) -> { };

    public RuntimeControl(Map<String, BackendRuntime> runtimes, Scheduler scheduler, ServerEvents events) {
        this(runtimes, scheduler, events, new CacheStores());
    }

    /** Creates the control of a proxy whose response caches register with {@code caches}. */
    public RuntimeControl(Map<String, BackendRuntime> runtimes, Scheduler scheduler, ServerEvents events, CacheStores caches) {
        this.runtimes = runtimes;
        this.scheduler = scheduler;
        this.events = events;
        this.caches = caches;
    }

    @Override
    public CacheControl cache() {
        return caches;
    }

    /** Starts the health checks of every backend that has one, with the checkers {@code checkers} makes. */
    public void startHealthChecks(Function<HealthCheck, HealthChecker> checkers) {
        startHealthChecks((check, backend) -> checkers.apply(check));
    }

    /** Starts the health checks with checkers made from each backend's check and configuration. */
    public void startHealthChecks(BiFunction<HealthCheck, Backend, HealthChecker> checkers) {
        this.checkers = checkers;
        for (BackendRuntime b : runtimes.values()) {
            restartHealthCheck(b);
        }
    }

    /**
     * (Re)starts the health checks of one backend after its configuration changed, when checks run:
     * a new monitor watches every server; a backend whose new configuration has no check has its
     * servers' health forced up, since nothing would ever mark them up again.
     */
    public void restartHealthCheck(BackendRuntime b) {
        BiFunction<HealthCheck, Backend, HealthChecker> c = checkers;
        HealthCheck check = b.config().healthCheck();
        if (check != null) {
            if (c != null) {
                b.watcher(new HealthMonitor(b, c.apply(check, b.config()), random));
            }
            return;
        }
        if (b.watcher() != null) {
            b.watcher(null);
        }
        for (ServerRuntime s : b.servers()) {
            if (!s.isHealthy()) {
                s.health(true, "health check removed by a reconfiguration");
            }
        }
    }

    /**
     * Takes a backend's new configuration for its health checks after a reconfiguration, when checks
     * run. A check equal to the previous one ({@link HealthCheck#equals}), over the same TLS settings
     * and protocol (an HTTP check speaks HTTP/2 to servers that do),
     * keeps its monitor: the servers that stay keep their place in their rise or fall count and their
     * schedule, and only the servers the reconfiguration added are watched afresh (those it removed
     * were unwatched with them). Any other change restarts the checks, as {@link #restartHealthCheck}.
     *
     * @param previous the backend's configuration before the reconfiguration
     */
    public void reconfigureHealthCheck(BackendRuntime b, Backend previous) {
        HealthCheck check = b.config().healthCheck();
        ServerWatcher w = b.watcher();
        if (check != null && w instanceof HealthMonitor && checkers != null
                && check.equals(previous.healthCheck()) && b.config().tls() == previous.tls()
                && b.config().protocol() == previous.protocol()) {
            for (ServerRuntime s : b.servers()) {
                w.watch(s);
            }
            return;
        }
        restartHealthCheck(b);
    }

    /** Replaces the backends' runtimes after a reconfiguration. */
    public void runtimes(Map<String, BackendRuntime> next) {
        this.runtimes = next;
    }

    /** Stops every health check. */
    public void stopHealthChecks() {
        checkers = null;
        for (BackendRuntime b : runtimes.values()) {
            if (b.watcher() != null) {
                b.watcher(null);
            }
        }
    }

    @Override
    public ServerControl server(String backendName, String serverName) {
        ServerRuntime s = runtime(backendName).server(serverName);
        if (s == null) {
            throw new IllegalArgumentException("server: " + serverName + " (no such server in backend " + backendName + ")");
        }
        return s;
    }

    @Override
    public List<ServerControl> servers(String backendName) {
        return List.copyOf(runtime(backendName).servers());
    }

    @Override
    public int usableServers(String backendName) {
        return runtime(backendName).usableServers();
    }

    @Override
    public int queuedRequests(String backendName) {
        return runtime(backendName).queued();
    }

    @Override
    public List<ServerStatus> status() {
        List<ServerStatus> all = new ArrayList<>();
        for (BackendRuntime b : runtimes.values()) {
            for (ServerRuntime s : b.servers()) {
                all.add(s.status());
            }
        }
        return List.copyOf(all);
    }

    @Override
    public ServerControl addServer(String backendName, Server server) {
        Objects.requireNonNull(server, "server");
        BackendRuntime backend = runtime(backendName);
        serverCheck.accept(backendName, server);
        return backend.addServer(server);
    }

    /**
     * Sets the check {@link #addServer} runs, after finding the backend and before adding, on what
     * the proxy's configuration allows of the backend's servers that the backend itself cannot tell
     * (the frontends it serves); it throws {@link IllegalArgumentException} to refuse the server.
     */
    public void serverCheck(BiConsumer<String, Server> check) {
        this.serverCheck = Objects.requireNonNull(check, "check");
    }

    @Override
    public CompletableFuture<Void> removeServer(String backendName, String serverName) {
        return runtime(backendName).removeServer(serverName);
    }

    @Override
    public void addListener(ServerListener listener) {
        events.add(listener);
    }

    @Override
    public void removeListener(ServerListener listener) {
        events.remove(listener);
    }

    /**
     * {@inheritDoc} The backend is taken until the update's own result is complete, and given back
     * before the returned future completes, so a caller may start the next update from it.
     */
    @Override
    public CompletableFuture<RollingUpdate.Result> rollingUpdate(RollingUpdate update) {
        Objects.requireNonNull(update, "update");
        String name = update.backendName();
        BackendRuntime backend = runtime(name);
        if (closed) {
            throw new IllegalStateException("the proxy is closed: no rolling update of backend '" + name + "'");
        }
        RollingUpdater updater = new RollingUpdater(backend, update, scheduler, events);
        if (rollingUpdates.putIfAbsent(name, updater) != null) {
            // Two updates of one backend would take each other's drains for the operator's.
            throw new IllegalStateException("a rolling update of backend '" + name + "' is already running");
        }
        try {
            CompletableFuture<RollingUpdate.Result> result = updater.start()
                    .whenComplete((r, error) -> rollingUpdates.remove(name, updater));
            if (closed) {
                // the proxy closed while it started
                updater.stop(STOPPED);
            }
            return result;
        } catch (RuntimeException e) {
            rollingUpdates.remove(name, updater);
            throw e;
        }
    }

    /** Why a rolling update that the proxy's close ended stopped. */
    static final String STOPPED = "the proxy closed";

    /**
     * Ends the rolling updates running, as the proxy closes: each future completes, not succeeded,
     * at the server it was handling, and no update starts from now on. Their timers ran on the
     * proxy's scheduler, which the close stops: their futures never completed before.
     */
    public void stopRollingUpdates() {
        closed = true;
        for (RollingUpdater u : rollingUpdates.values()) {
            u.stop(STOPPED);
        }
    }

    /** Returns the runtime of a backend. */
    public BackendRuntime runtime(String backendName) {
        BackendRuntime b = runtimes.get(backendName);
        if (b == null) {
            throw new IllegalArgumentException("backend: " + backendName + " (no such backend)");
        }
        return b;
    }
}
