package io.lodestone.core.metrics.internal;

import io.lodestone.core.Clock;
import io.lodestone.core.internal.CacheStores;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.BackendSnapshot;
import io.lodestone.core.metrics.FrontendSnapshot;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.ServerSnapshot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A proxy's metrics: the frontends' counters, registered here, and the backends' and servers',
 * held by their runtimes. Owned by the proxy; engines reach it through {@code EngineContext.metrics()}.
 */
public final class MetricsRegistry {

    private final Clock clock;
    private volatile Collection<BackendRuntime> backends;
    private final Map<String, FrontendMetrics> frontends = new ConcurrentHashMap<>();
    private final List<FrontendMetrics> frontendOrder = new CopyOnWriteArrayList<>();
    private final CacheStores caches = new CacheStores();

    /** Creates the registry of a proxy's backends; frontends are added by {@link #frontend(String)}. */
    public MetricsRegistry(Clock clock, Collection<BackendRuntime> backends) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.backends = List.copyOf(backends);
    }

    /**
     * Returns the counters of a frontend, creating them on first use. Engines call this once per
     * frontend when it starts and keep the result; it is not meant for the per-request path.
     */
    public FrontendMetrics frontend(String name) {
        Objects.requireNonNull(name, "name");
        FrontendMetrics existing = frontends.get(name);
        if (existing != null) {
            return existing;
        }
        synchronized (frontendOrder) {
            return frontends.computeIfAbsent(name, n -> {
                FrontendMetrics m = new FrontendMetrics(n);
                frontendOrder.add(m);
                return m;
            });
        }
    }

    /** Whether a frontend of that name has counters. */
    public boolean hasFrontend(String name) {
        return frontends.containsKey(name);
    }

    /**
     * Drops the counters of a frontend that never ran: one a reconfiguration tried to bind and gave
     * up, which must leave the proxy's figures as they were.
     */
    public void removeFrontend(String name) {
        synchronized (frontendOrder) {
            FrontendMetrics m = frontends.remove(name);
            if (m != null) {
                frontendOrder.remove(m);
            }
        }
    }

    /** The proxy's response caches: engines register theirs here while their frontend runs. */
    public CacheStores caches() {
        return caches;
    }

    /** Replaces the backends after a reconfiguration; frontends keep their counters by name. */
    public void backends(Collection<BackendRuntime> next) {
        this.backends = List.copyOf(next);
    }

    /** Reads every counter, the servers' states included. */
    public MetricsSnapshot snapshot() {
        List<FrontendSnapshot> f = new ArrayList<>();
        for (FrontendMetrics m : frontendOrder) {
            f.add(new FrontendSnapshot(m.name(), m.snapshot(), m.refusedConnections()));
        }
        List<BackendSnapshot> b = new ArrayList<>();
        for (BackendRuntime backend : backends) {
            List<ServerSnapshot> servers = new ArrayList<>();
            for (ServerRuntime s : backend.servers()) {
                ServerMetrics m = s.metrics();
                servers.add(new ServerSnapshot(backend.name(), m.name(), m.snapshot(), s.status()));
            }
            b.add(new BackendSnapshot(backend.name(), backend.metrics().snapshot(), backend.usableServers(), servers));
        }
        return new MetricsSnapshot(clock.currentTimeMillis(), f, b, caches.snapshots());
    }
}
