package io.lodestone.core.metrics.micrometer;

import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.ServerStatus;
import io.lodestone.core.internal.Durations;
import io.lodestone.core.metrics.BackendSnapshot;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.FrontendSnapshot;
import io.lodestone.core.metrics.LatencySnapshot;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.ResponseCounts;
import io.lodestone.core.metrics.ServerSnapshot;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.function.ToDoubleFunction;

/**
 * Publishes a proxy's metrics to a Micrometer {@link MeterRegistry}. In a Spring Boot application a
 * bean of this type is enough: Boot binds every {@code MeterBinder} bean to its registry.
 *
 * <pre>{@code
 * @Bean
 * MeterBinder lodestoneMetrics(Proxy proxy) {
 *     return new LodestoneMeterBinder(proxy);
 * }
 * // or by hand:
 * new LodestoneMeterBinder(proxy).bindTo(registry);
 * }</pre>
 *
 * <p>The meters read {@link Proxy#metrics()} snapshots, taken at most once per {@code maxAge} (one
 * second by default, on the proxy's clock) so that one scrape reads one snapshot. Names use
 * Micrometer's dotted convention, tagged {@code frontend}, {@code backend} and {@code server}:
 * {@code lodestone.frontend.connections} (a counter; {@code lodestone_frontend_connections_total} in
 * Prometheus), {@code lodestone.server.responses} tagged {@code code}, {@code lodestone.server.errors}
 * tagged {@code kind}, {@code lodestone.server.total.time} (a function timer) with
 * {@code lodestone.server.total.time.percentile} tagged {@code phi}, {@code lodestone.server.state}
 * tagged {@code state}, {@code lodestone.server.ejections} (a counter),
 * {@code lodestone.frontend.connections.refused}, and so on; each response cache has
 * {@code lodestone.cache.hits}, {@code .misses}, {@code .revalidations}, {@code .coalesced},
 * {@code .bypasses}, {@code .stores}, {@code .evictions} (counters), {@code .entries}, {@code .bytes}
 * and {@code .max.bytes} (gauges), tagged {@code frontend} and {@code backend}; the full list is in the
 * README's Observability section. A meter has a base unit only when its name ends with it
 * ({@code lodestone.cache.bytes}), since Prometheus writes the unit after the name: the byte counters
 * {@code lodestone.frontend.bytes.in} and {@code .bytes.out} have none, so that they come out as
 * {@code lodestone_frontend_bytes_in_total}, the name in the proxy's own Prometheus text. The
 * frontends, caches, backends and servers are those present when {@link #bindTo} is called; servers
 * and caches added later are not bound.
 *
 * <p>This package is the only part of Lodestone that refers to Micrometer, an optional dependency:
 * its classes are loaded only by applications that use it.
 */
public final class LodestoneMeterBinder implements MeterBinder {

    private static final ServerState[] STATES = ServerState.values();

    private final Source source;

    /**
     * Binds the metrics of {@code proxy}, read at most once a second.
     *
     * @param proxy the proxy whose figures are published
     */
    public LodestoneMeterBinder(Proxy proxy) {
        this(proxy, Duration.ofSeconds(1));
    }

    /**
     * Binds the metrics of {@code proxy}, reusing a snapshot for up to {@code maxAge}; zero takes a new
     * snapshot for every meter read.
     *
     * @param proxy the proxy whose figures are published
     * @param maxAge how long a snapshot is reused
     * @throws IllegalArgumentException when {@code maxAge} is negative or longer than 36,500 days
     */
    public LodestoneMeterBinder(Proxy proxy, Duration maxAge) {
        Objects.requireNonNull(proxy, "proxy");
        if (maxAge == null || maxAge.isNegative()) {
            throw new IllegalArgumentException("maxAge: " + maxAge + " (expected: >= 0)");
        }
        this.source = new Source(proxy, Durations.atMostMax("maxAge", maxAge).toNanos());
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        MetricsSnapshot now = source.snapshot();
        for (FrontendSnapshot f : now.frontends()) {
            String name = f.name();
            traffic(registry, "lodestone.frontend.", Tags.of("frontend", name), false, s -> frontend(s, name));
            counter(registry, "lodestone.frontend.connections.refused", Tags.of("frontend", name),
                    "Connections refused by a per-source limit", s -> refused(s, name));
        }
        for (CacheSnapshot c : now.caches()) {
            cache(registry, c.frontend(), c.backend());
        }
        for (BackendSnapshot b : now.backends()) {
            String backend = b.name();
            traffic(registry, "lodestone.backend.", Tags.of("backend", backend), true, s -> traffic(backend(s, backend)));
            gauge(registry, "lodestone.backend.usable.servers", Tags.of("backend", backend), "Servers that could take a new connection",
                    s -> {
                        BackendSnapshot x = backend(s, backend);
                        return x == null ? Double.NaN : x.usableServers();
                    });
            for (ServerSnapshot server : b.servers()) {
                String name = server.name();
                Tags tags = Tags.of("backend", backend, "server", name);
                Function<MetricsSnapshot, ServerSnapshot> find = s -> server(s, backend, name);
                traffic(registry, "lodestone.server.", tags, true, s -> {
                    ServerSnapshot x = find.apply(s);
                    return x == null ? null : x.traffic();
                });
                for (ServerState state : STATES) {
                    gauge(registry, "lodestone.server.state", tags.and("state", state.name()), "1 for the server's current state, else 0",
                            s -> status(find.apply(s), st -> st.state() == state ? 1 : 0));
                }
                gauge(registry, "lodestone.server.weight", tags, "The weight set", s -> status(find.apply(s), ServerStatus::weight));
                gauge(registry, "lodestone.server.effective.weight", tags, "The weight in use now",
                        s -> status(find.apply(s), ServerStatus::effectiveWeight));
                gauge(registry, "lodestone.server.load", tags, "Open connections or requests in flight",
                        s -> status(find.apply(s), ServerStatus::load));
                gauge(registry, "lodestone.server.ejected", tags, "1 when ejected by outlier detection",
                        s -> status(find.apply(s), st -> st.ejected() ? 1 : 0));
                counter(registry, "lodestone.server.ejections", tags, "Times outlier detection ejected the server",
                        s -> status(find.apply(s), ServerStatus::ejections));
                gauge(registry, "lodestone.server.check.healthy", tags, "1 when the last check passed, 0 when it failed, NaN before",
                        s -> status(find.apply(s), st -> st.lastCheck() == null ? Double.NaN : st.lastCheck().isHealthy() ? 1 : 0));
            }
        }
    }

    /** The meters of the response cache one frontend keeps for one backend, {@code lodestone.cache.*}. */
    private void cache(MeterRegistry r, String frontend, String backend) {
        Tags tags = Tags.of("frontend", frontend, "backend", backend);
        cacheCounter(r, "hits", frontend, backend, "Requests answered from the cache", CacheSnapshot::hits);
        cacheCounter(r, "misses", frontend, backend, "Cacheable requests sent to the backend", CacheSnapshot::misses);
        cacheCounter(r, "revalidations", frontend, backend, "Stale responses the backend confirmed with 304", CacheSnapshot::revalidations);
        cacheCounter(r, "coalesced", frontend, backend, "Requests that waited for another request's fill of the same key", CacheSnapshot::coalesced);
        cacheCounter(r, "bypasses", frontend, backend, "Requests the cache could not answer by rule", CacheSnapshot::bypasses);
        cacheCounter(r, "stores", frontend, backend, "Responses stored", CacheSnapshot::stores);
        cacheCounter(r, "evictions", frontend, backend, "Responses removed to keep the cache within its size", CacheSnapshot::evictions);
        gauge(r, "lodestone.cache.entries", tags, "Stored responses", s -> cacheValue(s, frontend, backend, CacheSnapshot::entries));
        Gauge.builder("lodestone.cache.bytes", source, src -> cacheValue(src.snapshot(), frontend, backend, CacheSnapshot::bytes))
                .tags(tags).description("Weight of the stored responses").baseUnit("bytes").strongReference(true).register(r);
        Gauge.builder("lodestone.cache.max.bytes", source, src -> cacheValue(src.snapshot(), frontend, backend, CacheSnapshot::maxBytes))
                .tags(tags).description("The configured bound on lodestone.cache.bytes").baseUnit("bytes").strongReference(true)
                .register(r);
    }

    private void cacheCounter(MeterRegistry r, String name, String frontend, String backend, String help,
            ToLongFunction<CacheSnapshot> f) {
        Tags tags = Tags.of("frontend", frontend, "backend", backend);
        counter(r, "lodestone.cache." + name, tags, help, s -> cacheValue(s, frontend, backend, f));
    }

    private static double cacheValue(MetricsSnapshot s, String frontend, String backend, ToLongFunction<CacheSnapshot> f) {
        for (CacheSnapshot c : s.caches()) {
            if (c.frontend().equals(frontend) && c.backend().equals(backend)) {
                return f.applyAsLong(c);
            }
        }
        return Double.NaN;
    }

    private void traffic(MeterRegistry r, String prefix, Tags tags, boolean serverSide, Function<MetricsSnapshot, TrafficSnapshot> find) {
        gauge(r, prefix + "current.connections", tags, "Open connections", s -> value(find.apply(s), TrafficSnapshot::currentConnections));
        counter(r, prefix + "connections", tags, "Connections opened", s -> value(find.apply(s), TrafficSnapshot::totalConnections));
        counter(r, prefix + "requests", tags, "HTTP requests completed", s -> value(find.apply(s), TrafficSnapshot::requests));
        for (int c = 0; c < ResponseCounts.CLASSES; c++) {
            int cls = c;
            counter(r, prefix + "responses", tags.and("code", ResponseCounts.label(c)), "HTTP responses by status class",
                    s -> value(find.apply(s), t -> t.responses().byClass(cls)));
        }
        // no base unit: Prometheus writes it after the name, which read lodestone_frontend_bytes_in_bytes_total
        counter(r, prefix + "bytes.in", tags, "Bytes in the request direction", s -> value(find.apply(s), TrafficSnapshot::bytesIn));
        counter(r, prefix + "bytes.out", tags, "Bytes in the response direction", s -> value(find.apply(s), TrafficSnapshot::bytesOut));
        for (ErrorKind kind : ErrorKind.values()) {
            counter(r, prefix + "errors", tags.and("kind", kind.label()), "Errors by kind",
                    s -> value(find.apply(s), t -> t.errors().get(kind)));
        }
        if (serverSide) {
            counter(r, prefix + "retries", tags, "Connection attempts retried on the same server",
                    s -> value(find.apply(s), TrafficSnapshot::retries));
            counter(r, prefix + "redispatches", tags, "Requests sent to another server after a failure",
                    s -> value(find.apply(s), TrafficSnapshot::redispatches));
            gauge(r, prefix + "current.queue", tags, "Connections or requests waiting for a server",
                    s -> value(find.apply(s), TrafficSnapshot::currentQueue));
            timer(r, prefix + "connect.time", tags, "Time to connect to a server", s -> latency(find.apply(s), TrafficSnapshot::connectTime));
        }
        timer(r, prefix + "first.byte.time", tags, "Time to the first byte of the response",
                s -> latency(find.apply(s), TrafficSnapshot::firstByteTime));
        timer(r, prefix + "total.time", tags, "Total time of a request or connection", s -> latency(find.apply(s), TrafficSnapshot::totalTime));
    }

    private void gauge(MeterRegistry r, String name, Tags tags, String help, ToDoubleFunction<MetricsSnapshot> f) {
        Gauge.builder(name, source, src -> f.applyAsDouble(src.snapshot())).tags(tags).description(help).strongReference(true).register(r);
    }

    private void counter(MeterRegistry r, String name, Tags tags, String help, ToDoubleFunction<MetricsSnapshot> f) {
        // counters hold their source weakly; the gauges above hold it strongly
        FunctionCounter.builder(name, source, src -> f.applyAsDouble(src.snapshot())).tags(tags).description(help).register(r);
    }

    private void timer(MeterRegistry r, String name, Tags tags, String help, Function<MetricsSnapshot, LatencySnapshot> f) {
        FunctionTimer.builder(name, source, src -> f.apply(src.snapshot()).count(), src -> f.apply(src.snapshot()).sumNanos(),
                TimeUnit.NANOSECONDS).tags(tags).description(help).register(r);
        for (int q = 0; q < LatencySnapshot.QUANTILE_COUNT; q++) {
            int index = q;
            TimeGauge.builder(name + ".percentile", source, TimeUnit.NANOSECONDS, src -> f.apply(src.snapshot()).quantile(index))
                    .tags(tags.and("phi", Double.toString(LatencySnapshot.quantileAt(q)))).description(help + ", percentile")
                    .strongReference(true).register(r);
        }
    }

    private static TrafficSnapshot frontend(MetricsSnapshot s, String name) {
        for (FrontendSnapshot f : s.frontends()) {
            if (f.name().equals(name)) {
                return f.traffic();
            }
        }
        return null;
    }

    private static double refused(MetricsSnapshot s, String name) {
        for (FrontendSnapshot f : s.frontends()) {
            if (f.name().equals(name)) {
                return f.refusedConnections();
            }
        }
        return Double.NaN;
    }

    private static BackendSnapshot backend(MetricsSnapshot s, String name) {
        for (BackendSnapshot b : s.backends()) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        return null;
    }

    private static TrafficSnapshot traffic(BackendSnapshot b) {
        return b == null ? null : b.traffic();
    }

    private static ServerSnapshot server(MetricsSnapshot s, String backend, String name) {
        BackendSnapshot b = backend(s, backend);
        if (b != null) {
            for (ServerSnapshot server : b.servers()) {
                if (server.name().equals(name)) {
                    return server;
                }
            }
        }
        return null;
    }

    private static double value(TrafficSnapshot t, ToDoubleFunction<TrafficSnapshot> f) {
        return t == null ? Double.NaN : f.applyAsDouble(t);
    }

    private static double status(ServerSnapshot s, ToDoubleFunction<ServerStatus> f) {
        return s == null ? Double.NaN : f.applyAsDouble(s.status());
    }

    private static LatencySnapshot latency(TrafficSnapshot t, Function<TrafficSnapshot, LatencySnapshot> f) {
        return t == null ? LatencySnapshot.EMPTY : f.apply(t);
    }

    /** Takes snapshots, reusing one for up to {@code maxAgeNanos}. */
    private static final class Source {
        private final Proxy proxy;
        private final long maxAgeNanos;
        private volatile Taken last;

        Source(Proxy proxy, long maxAgeNanos) {
            this.proxy = proxy;
            this.maxAgeNanos = maxAgeNanos;
        }

        MetricsSnapshot snapshot() {
            long now = proxy.clock().nanoTime();
            Taken t = last;
            if (t == null || maxAgeNanos == 0 || now - t.at >= maxAgeNanos) {
                t = new Taken(proxy.metrics(), now);
                last = t;
            }
            return t.snapshot;
        }
    }

    private record Taken(MetricsSnapshot snapshot, long at) {
    }
}
