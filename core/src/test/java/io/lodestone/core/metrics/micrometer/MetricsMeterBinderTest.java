package io.lodestone.core.metrics.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.internal.CacheStores;
import io.lodestone.core.internal.FailureKind;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.core.metrics.CapturingFrontend;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.testing.ManualClock;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.config.NamingConvention;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MetricsMeterBinderTest {

    private final ManualClock clock = new ManualClock();
    private final CapturingFrontend web = new CapturingFrontend("web", "app");

    private Proxy proxy() {
        return Proxy.builder()
                .clock(clock)
                .ioThreads(1)
                .backend(Backend.named("app").server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082"))
                .frontend(web)
                .build();
    }

    @Test
    void metersReadTheProxysFigures() {
        try (Proxy proxy = proxy()) {
            proxy.start();
            MeterRegistry registry = new SimpleMeterRegistry();
            new LodestoneMeterBinder(proxy, Duration.ZERO).bindTo(registry);

            FrontendMetrics front = web.context().metrics().frontend("web");
            ServerRuntime web1 = web.context().backend("app").server("web1");
            front.connectionOpened();
            for (int i = 0; i < 4; i++) {
                web1.metrics().requestCompleted(i == 0 ? 404 : 200, 10, 20, 2_000_000);
            }
            web1.metrics().error(ErrorKind.TIMEOUT);
            front.error(ErrorKind.INVALID);
            front.error(ErrorKind.INVALID);
            front.error(ErrorKind.DENIED);
            proxy.control().server("app", "web2").maintenance();

            assertThat(registry.get("lodestone.frontend.current.connections").tag("frontend", "web").gauge().value()).isEqualTo(1);
            assertThat(registry.get("lodestone.frontend.connections").tag("frontend", "web").functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("lodestone.server.requests").tags("backend", "app", "server", "web1").functionCounter().count())
                    .isEqualTo(4);
            assertThat(registry.get("lodestone.backend.responses").tags("backend", "app", "code", "2xx").functionCounter().count())
                    .isEqualTo(3);
            assertThat(registry.get("lodestone.backend.responses").tags("backend", "app", "code", "4xx").functionCounter().count())
                    .isEqualTo(1);
            assertThat(registry.get("lodestone.server.errors").tags("server", "web1", "kind", "timeout").functionCounter().count())
                    .isEqualTo(1);
            assertThat(registry.get("lodestone.frontend.errors").tags("frontend", "web", "kind", "invalid").functionCounter().count())
                    .isEqualTo(2);
            assertThat(registry.get("lodestone.frontend.errors").tags("frontend", "web", "kind", "denied").functionCounter().count())
                    .isEqualTo(1);
            assertThat(registry.get("lodestone.server.bytes.out").tags("server", "web1").functionCounter().count()).isEqualTo(80);
            FunctionTimer total = registry.get("lodestone.server.total.time").tags("server", "web1").functionTimer();
            assertThat(total.count()).isEqualTo(4);
            assertThat(total.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(8);
            assertThat(registry.get("lodestone.server.total.time.percentile").tags("server", "web1", "phi", "0.99").timeGauge()
                    .value(TimeUnit.MILLISECONDS)).isEqualTo(2);
            assertThat(registry.get("lodestone.server.state").tags("server", "web2", "state", "MAINT").gauge().value()).isEqualTo(1);
            assertThat(registry.get("lodestone.server.state").tags("server", "web2", "state", "UP").gauge().value()).isZero();
            assertThat(registry.get("lodestone.backend.usable.servers").tag("backend", "app").gauge().value()).isEqualTo(1);
            assertThat(registry.get("lodestone.server.check.healthy").tags("server", "web1").gauge().value()).isNaN();
            assertThat(registry.find("lodestone.frontend.retries").meters()).isEmpty();
        }
    }

    @Test
    void eachResponseCacheHasItsMeters() {
        try (Proxy proxy = proxy()) {
            proxy.start();
            CacheSnapshot[] figures = {new CacheSnapshot("web", "app", 7, 3, 2, 1, 4, 5, 6, 8, 900, 1000)};
            CacheStores.Store store = new CacheStores.Store() {
                @Override
                public CacheSnapshot snapshot() {
                    return figures[0];
                }

                @Override
                public int purge(String key) {
                    return 0;
                }

                @Override
                public int purgePrefix(String prefix) {
                    return 0;
                }
            };
            web.context().metrics().caches().register(store);
            MeterRegistry registry = new SimpleMeterRegistry();
            new LodestoneMeterBinder(proxy, Duration.ZERO).bindTo(registry);

            Tags tags = Tags.of("frontend", "web", "backend", "app");
            assertThat(registry.get("lodestone.cache.hits").tags(tags).functionCounter().count()).isEqualTo(7);
            assertThat(registry.get("lodestone.cache.misses").tags(tags).functionCounter().count()).isEqualTo(3);
            assertThat(registry.get("lodestone.cache.revalidations").tags(tags).functionCounter().count()).isEqualTo(2);
            assertThat(registry.get("lodestone.cache.coalesced").tags(tags).functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("lodestone.cache.bypasses").tags(tags).functionCounter().count()).isEqualTo(4);
            assertThat(registry.get("lodestone.cache.stores").tags(tags).functionCounter().count()).isEqualTo(5);
            assertThat(registry.get("lodestone.cache.evictions").tags(tags).functionCounter().count()).isEqualTo(6);
            assertThat(registry.get("lodestone.cache.entries").tags(tags).gauge().value()).isEqualTo(8);
            assertThat(registry.get("lodestone.cache.bytes").tags(tags).gauge().value()).isEqualTo(900);
            assertThat(registry.get("lodestone.cache.bytes").tags(tags).gauge().getId().getBaseUnit()).isEqualTo("bytes");
            assertThat(registry.get("lodestone.cache.max.bytes").tags(tags).gauge().value()).isEqualTo(1000);

            figures[0] = new CacheSnapshot("web", "app", 9, 3, 2, 1, 4, 5, 6, 8, 950, 1000);
            assertThat(registry.get("lodestone.cache.hits").tags(tags).functionCounter().count()).isEqualTo(9);
            assertThat(registry.get("lodestone.cache.bytes").tags(tags).gauge().value()).isEqualTo(950);
            web.context().metrics().caches().unregister(store);
            assertThat(registry.get("lodestone.cache.entries").tags(tags).gauge().value()).as("a cache gone reads NaN").isNaN();
            assertThat(registry.get("lodestone.frontend.connections.refused").tag("frontend", "web").functionCounter().count())
                    .isZero();
        }
    }

    @Test
    void oneSnapshotServesEveryReadForMaxAge() {
        try (Proxy proxy = proxy()) {
            proxy.start();
            MeterRegistry registry = new SimpleMeterRegistry();
            new LodestoneMeterBinder(proxy).bindTo(registry);
            FrontendMetrics front = web.context().metrics().frontend("web");

            double before = registry.get("lodestone.frontend.connections").functionCounter().count();
            front.connectionOpened();
            assertThat(registry.get("lodestone.frontend.connections").functionCounter().count()).isEqualTo(before);
            clock.advance(Duration.ofSeconds(1));
            assertThat(registry.get("lodestone.frontend.connections").functionCounter().count()).isEqualTo(before + 1);
        }
    }

    @Test
    void removedServerReadsNaNAndBadArgumentsAreRefused() {
        try (Proxy proxy = proxy()) {
            MeterRegistry registry = new SimpleMeterRegistry();
            new LodestoneMeterBinder(proxy, Duration.ZERO).bindTo(registry);
            proxy.control().removeServer("app", "web2");
            assertThat(registry.get("lodestone.server.weight").tags("server", "web2").gauge().value()).isNaN();
            assertThat(registry.get("lodestone.server.weight").tags("server", "web1").gauge().value()).isEqualTo(1);
        }
        assertThatThrownBy(() -> new LodestoneMeterBinder(proxy(), Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxAge: PT-0.001S (expected: >= 0)");
        // 400 years overflowed toNanos: an ArithmeticException, long overflow, naming nothing
        try (Proxy proxy = proxy()) {
            assertThatThrownBy(() -> new LodestoneMeterBinder(proxy, Duration.ofDays(365L * 400)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("maxAge: PT3504000H (expected: at most 36500 days)");
            assertThat(new LodestoneMeterBinder(proxy, Duration.ofDays(36_500))).isNotNull();
        }
    }

    /**
     * Micrometer's Prometheus registry writes a meter's base unit after its snake_case name unless the
     * name already ends with it, then {@code _total} for a counter: a byte counter named
     * {@code bytes.in} with the unit {@code bytes} came out as {@code lodestone_frontend_bytes_in_bytes_total}.
     * That registry is no test dependency here, so this checks the ids it names from: every counter
     * and gauge with a base unit has it as the last word of its name (timers and time gauges get
     * {@code _seconds} after {@code .time}, as intended), and the byte counters have none, so they
     * come out as the proxy's own Prometheus text names them.
     */
    @Test
    void aBaseUnitIsSetOnlyWhereTheNameEndsWithIt() {
        try (Proxy proxy = proxy()) {
            proxy.start();
            MeterRegistry registry = boundWithACache(proxy);

            int withUnit = 0;
            for (Meter m : registry.getMeters()) {
                Meter.Id id = m.getId();
                if (id.getType() == Meter.Type.TIMER || m instanceof TimeGauge || id.getBaseUnit() == null) {
                    continue;
                }
                withUnit++;
                assertThat(NamingConvention.snakeCase.name(id.getName(), id.getType()))
                        .as("%s with base unit %s", id.getName(), id.getBaseUnit()).endsWith("_" + id.getBaseUnit());
            }
            assertThat(withUnit).as("lodestone.cache.bytes and .max.bytes").isEqualTo(2);
            for (String level : new String[] {"frontend", "backend", "server"}) {
                for (String direction : new String[] {"in", "out"}) {
                    Meter.Id id = registry.get("lodestone." + level + ".bytes." + direction).meter().getId();
                    assertThat(id.getType()).isEqualTo(Meter.Type.COUNTER);
                    assertThat(id.getBaseUnit()).as(id.getName()).isNull();
                    assertThat(NamingConvention.snakeCase.name(id.getName(), id.getType()) + "_total")
                            .isEqualTo("lodestone_" + level + "_bytes_" + direction + "_total");
                }
            }
        }
    }

    /**
     * Every counter and gauge reaches Prometheus through Micrometer's Prometheus registry (snake_case,
     * the base unit unless the name ends with it, {@code _total} after a counter) under a name the
     * proxy's own text has, so one query serves both; {@code lodestone.frontend.connections.current}
     * and {@code lodestone.backend.queue.current} came out as {@code ..._connections_current} and
     * {@code ..._queue_current} where the text has {@code current_connections} and {@code current_queue}.
     * Latencies differ by design (timers and percentile gauges against summaries); the text writes
     * {@code check_healthy} only once a check ran, and this proxy has no check. The other way round,
     * every counter and gauge family of the text has its meter: {@code lodestone_server_ejections_total}
     * had none.
     */
    @Test
    void countersAndGaugesHaveTheNamesOfTheNativeText() {
        try (Proxy proxy = proxy()) {
            proxy.start();
            MeterRegistry registry = boundWithACache(proxy);

            Set<String> text = new TreeSet<>();
            for (String line : PrometheusFormat.text(proxy.metrics()).split("\n")) {
                String[] words = line.split(" ");
                if (line.startsWith("# TYPE ") && !words[3].equals("summary") && !words[2].equals("lodestone_server_check_healthy")) {
                    text.add(words[2]);
                }
            }
            Set<String> viaMicrometer = new TreeSet<>();
            for (Meter m : registry.getMeters()) {
                Meter.Id id = m.getId();
                if (id.getType() == Meter.Type.TIMER || m instanceof TimeGauge || id.getName().equals("lodestone.server.check.healthy")) {
                    continue;
                }
                String name = NamingConvention.snakeCase.name(id.getName(), id.getType());
                if (id.getBaseUnit() != null && !name.endsWith("_" + id.getBaseUnit())) {
                    name += "_" + id.getBaseUnit();
                }
                viaMicrometer.add(id.getType() == Meter.Type.COUNTER ? name + "_total" : name);
            }
            assertThat(viaMicrometer).contains("lodestone_frontend_current_connections", "lodestone_backend_current_connections",
                    "lodestone_server_current_connections", "lodestone_backend_current_queue", "lodestone_server_current_queue",
                    "lodestone_cache_hits_total", "lodestone_server_state");
            assertThat(viaMicrometer).isEqualTo(text);
        }
    }

    @Test
    void ejectionsCountOutlierDetectionsEjections() {
        try (Proxy proxy = Proxy.builder()
                .clock(clock)
                .ioThreads(1)
                .backend(Backend.named("app").outlierDetection(OutlierDetection.consecutiveFailures(1).maxEjectionPercent(50))
                        .server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082"))
                .frontend(web)
                .build()) {
            proxy.start();
            MeterRegistry registry = new SimpleMeterRegistry();
            new LodestoneMeterBinder(proxy, Duration.ZERO).bindTo(registry);
            assertThat(registry.get("lodestone.server.ejections").tags("server", "web1").functionCounter().count()).isZero();

            web.context().backend("app").server("web1").reportFailure(FailureKind.CONNECT);
            assertThat(registry.get("lodestone.server.ejected").tags("server", "web1").gauge().value()).isEqualTo(1);
            assertThat(registry.get("lodestone.server.ejections").tags("server", "web1").functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("lodestone.server.ejections").tags("server", "web2").functionCounter().count()).isZero();
        }
    }

    /** A registry bound to {@code proxy} after an empty cache store was registered on the frontend {@code web}. */
    private MeterRegistry boundWithACache(Proxy proxy) {
        web.context().metrics().caches().register(new CacheStores.Store() {
            @Override
            public CacheSnapshot snapshot() {
                return new CacheSnapshot("web", "app", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000);
            }

            @Override
            public int purge(String key) {
                return 0;
            }

            @Override
            public int purgePrefix(String prefix) {
                return 0;
            }
        });
        MeterRegistry registry = new SimpleMeterRegistry();
        new LodestoneMeterBinder(proxy, Duration.ZERO).bindTo(registry);
        return registry;
    }
}
