package io.lodestone.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.ServerStatus;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.CacheStores;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.testing.ManualClock;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrometheusFormatTest {

    @Test
    void outputOfARunningProxyPassesTheStrictCheckWithTheRecordedValues() {
        CapturingFrontend web = new CapturingFrontend("web", "app");
        try (Proxy proxy = Proxy.builder()
                .clock(new ManualClock())
                .ioThreads(1)
                .backend(Backend.named("app").server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082"))
                .frontend(web)
                .build()) {
            proxy.start();
            FrontendMetrics front = web.context().metrics().frontend("web");
            BackendRuntime app = web.context().backend("app");
            ServerRuntime web1 = app.server("web1");
            front.connectionOpened();
            for (int i = 0; i < 10; i++) {
                web1.metrics().connectTime(1_250_000);
                web1.metrics().requestCompleted(i < 8 ? 200 : 502, 10, 100, 4_000_000);
                front.requestCompleted(i < 8 ? 200 : 502, 10, 100, 5_000_000);
            }
            app.server("web2").metrics().error(ErrorKind.CONNECT);
            app.server("web2").maintenance();
            web1.checked(HealthCheckResult.healthy("HTTP 200"));

            String text = PrometheusFormat.text(proxy.metrics());
            PrometheusChecker p = PrometheusChecker.check(text);

            for (String family : p.types().keySet()) {
                assertThat(p.help(family)).as("HELP of %s", family).isNotBlank();
            }
            // one sentence per level, not "Server server connections opened."
            assertThat(p.help("lodestone_frontend_connections_total")).isEqualTo("Client connections opened.");
            assertThat(p.help("lodestone_backend_connections_total")).isEqualTo("Server connections opened.");
            assertThat(p.help("lodestone_server_connections_total")).isEqualTo("Server connections opened.");
            assertThat(p.types()).containsEntry("lodestone_frontend_requests_total", "counter")
                    .containsEntry("lodestone_frontend_current_connections", "gauge")
                    .containsEntry("lodestone_server_total_time_seconds", "summary")
                    .containsEntry("lodestone_backend_connect_time_seconds", "summary")
                    .containsEntry("lodestone_server_state", "gauge")
                    .doesNotContainKey("lodestone_frontend_retries_total");
            assertThat(p.value("lodestone_frontend_current_connections", "frontend", "web")).isEqualTo(1);
            assertThat(p.value("lodestone_frontend_requests_total", "frontend", "web")).isEqualTo(10);
            assertThat(p.value("lodestone_frontend_responses_total", "frontend", "web", "code", "2xx")).isEqualTo(8);
            assertThat(p.value("lodestone_frontend_responses_total", "frontend", "web", "code", "5xx")).isEqualTo(2);
            assertThat(p.value("lodestone_frontend_responses_total", "frontend", "web", "code", "other")).isZero();
            assertThat(p.value("lodestone_server_requests_total", "backend", "app", "server", "web1")).isEqualTo(10);
            assertThat(p.value("lodestone_server_bytes_out_total", "backend", "app", "server", "web1")).isEqualTo(1000);
            assertThat(p.value("lodestone_backend_errors_total", "backend", "app", "kind", "connect")).isEqualTo(1);
            assertThat(p.value("lodestone_server_errors_total", "backend", "app", "server", "web2", "kind", "connect")).isEqualTo(1);
            assertThat(p.value("lodestone_server_errors_total", "backend", "app", "server", "web1", "kind", "connect")).isZero();
            assertThat(p.value("lodestone_server_connect_time_seconds", "backend", "app", "server", "web1", "quantile", "0.99"))
                    .isEqualTo(0.00125);
            assertThat(p.value("lodestone_server_connect_time_seconds_count", "backend", "app", "server", "web1")).isEqualTo(10);
            assertThat(p.value("lodestone_server_connect_time_seconds_sum", "backend", "app", "server", "web1")).isEqualTo(0.0125);
            assertThat(text).contains("lodestone_server_connect_time_seconds{backend=\"app\",server=\"web1\",quantile=\"0.5\"} 0.001250\n");
            assertThat(p.value("lodestone_server_state", "backend", "app", "server", "web2", "state", "MAINT")).isEqualTo(1);
            assertThat(p.value("lodestone_server_state", "backend", "app", "server", "web2", "state", "UP")).isZero();
            assertThat(p.value("lodestone_server_state", "backend", "app", "server", "web1", "state", "UP")).isEqualTo(1);
            assertThat(p.value("lodestone_backend_usable_servers", "backend", "app")).isEqualTo(1);
            assertThat(p.value("lodestone_server_weight", "backend", "app", "server", "web1")).isEqualTo(1);
            assertThat(p.value("lodestone_server_check_healthy", "backend", "app", "server", "web1")).isEqualTo(1);
            assertThat(p.has("lodestone_server_check_healthy", "backend", "app", "server", "web2")).isFalse();
        }
    }

    @Test
    void labelValuesAreEscapedAndReadBackUnchanged() {
        String odd = "a\"b\\c\nd}e,f=g";
        TrafficSnapshot empty = new TrafficSnapshot(0, 0, 0, new ResponseCounts(0, 0, 0, 0, 0, 0), 0, 0,
                new ErrorCounts(0, 0, 0, 0), 0, 0, 0, LatencySnapshot.EMPTY, LatencySnapshot.EMPTY, LatencySnapshot.EMPTY);
        ServerStatus status = new ServerStatus(odd, odd, ServerState.UP, 1, 1, 0, 0, 0, 0, false, null);
        MetricsSnapshot m = new MetricsSnapshot(0, List.of(new FrontendSnapshot(odd, empty)),
                List.of(new BackendSnapshot(odd, empty, 1, List.of(new ServerSnapshot(odd, odd, empty, status)))));

        String text = PrometheusFormat.text(m);
        PrometheusChecker p = PrometheusChecker.check(text);

        assertThat(text).contains("frontend=\"a\\\"b\\\\c\\nd}e,f=g\"");
        assertThat(text.lines()).noneMatch(l -> l.startsWith("d}"));
        assertThat(p.value("lodestone_frontend_requests_total", "frontend", odd)).isZero();
        assertThat(p.value("lodestone_server_state", "backend", odd, "server", odd, "state", "UP")).isEqualTo(1);
        assertThat(p.value("lodestone_server_total_time_seconds", "backend", odd, "server", odd, "quantile", "0.999")).isZero();
    }

    /**
     * A reconfiguration that changes a frontend's cache registers the new store before it drops the
     * old one; a scrape in between saw both, two series with the same labels, which Prometheus
     * refuses. The snapshot keeps the newest store of a frontend and backend.
     */
    @Test
    void aCacheReplacedByAReconfigurationIsOneSeriesEvenBeforeTheOldOneIsDropped() {
        CapturingFrontend web = new CapturingFrontend("web", "app");
        try (Proxy proxy = Proxy.builder()
                .clock(new ManualClock())
                .ioThreads(1)
                .backend(Backend.named("app").server("web1", "127.0.0.1:8081"))
                .frontend(web)
                .build()) {
            proxy.start();
            CacheStores caches = web.context().metrics().caches();
            caches.register(store(new CacheSnapshot("web", "app", 7, 3, 2, 1, 4, 5, 6, 8, 900, 1000)));
            caches.register(store(new CacheSnapshot("web", "other", 1, 0, 0, 0, 0, 0, 0, 0, 0, 1000)));
            caches.register(store(new CacheSnapshot("web", "app", 0, 0, 0, 0, 0, 0, 0, 0, 0, 2000)));

            PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
            assertThat(p.value("lodestone_cache_hits_total", "frontend", "web", "backend", "app")).isZero();
            assertThat(p.value("lodestone_cache_max_bytes", "frontend", "web", "backend", "app")).isEqualTo(2000);
            assertThat(p.value("lodestone_cache_hits_total", "frontend", "web", "backend", "other")).isEqualTo(1);
            assertThat(proxy.metrics().caches()).extracting(CacheSnapshot::backend).containsExactly("app", "other");
        }
    }

    private static CacheStores.Store store(CacheSnapshot figures) {
        return new CacheStores.Store() {
            @Override
            public CacheSnapshot snapshot() {
                return figures;
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
    }

    @Test
    void emptyProxyIsStillValid() {
        MetricsSnapshot m = new MetricsSnapshot(0, List.of(), List.of());
        PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(m));
        assertThat(p.sampleCount()).isZero();
        assertThat(p.types()).isNotEmpty();
        assertThat(PrometheusFormat.CONTENT_TYPE).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
    }

    @Test
    void theCheckerIsStrict() {
        String ok = "# TYPE x_total counter\nx_total{a=\"1\"} 1\n";
        assertThat(PrometheusChecker.check(ok).value("x_total", "a", "1")).isEqualTo(1);
        assertRejected("x_total 1\n", "before the TYPE");
        assertRejected(ok + "x_total{a=\"1\"} 2\n", "duplicate series");
        assertRejected(ok + "# TYPE y gauge\ny 1\nx_total{a=\"2\"} 1\n", "not contiguous");
        assertRejected(ok + "# TYPE x_total counter\n", "TYPE after samples");
        assertRejected("# TYPE x_total counter\nx_total{a=\"\\t\"} 1\n", "bad escape");
        assertRejected("# TYPE x counter\nx 1\n", "_total");
        assertRejected("# TYPE x_total counter\nx_total -1\n", "negative");
        assertRejected("# TYPE x gauge\nx 1,5\n", "bad value");
        assertRejected("# TYPE x gauge\nx{a=1} 1\n", "not quoted");
        assertRejected("# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n", "twice");
        assertRejected("# TYPE x gauge\nx{a=\"1\"", "line feed");
        assertRejected("# TYPE x gauge\nx{__a=\"1\"} 1\n", "bad label name");
        assertRejected("# TYPE s summary\ns 1\n", "without quantile");
        assertRejected("# TYPE s summary\ns_sum{quantile=\"0.5\"} 1\n", "quantile on _sum");
        assertRejected("# TYPE 1x gauge\n", "bad metric name");
        assertThat(PrometheusChecker.check("# TYPE s summary\ns{quantile=\"0.5\"} 1.5e-3\ns_sum 2\ns_count 3\n").value("s_count"))
                .isEqualTo(3);
    }

    private static void assertRejected(String text, String message) {
        assertThatThrownBy(() -> PrometheusChecker.check(text)).isInstanceOf(AssertionError.class).hasMessageContaining(message);
    }
}
