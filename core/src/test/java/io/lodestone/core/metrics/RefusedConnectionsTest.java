package io.lodestone.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.metrics.micrometer.LodestoneMeterBinder;
import io.lodestone.core.testing.ManualClock;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Connections refused by per-source limits: in the snapshot, in Prometheus text, in Micrometer. */
class RefusedConnectionsTest {

    @Test
    void refusedConnectionsAreExportedApartFromOpenedOnes() {
        CapturingFrontend web = new CapturingFrontend("web", "app");
        try (Proxy proxy = Proxy.builder().clock(new ManualClock()).ioThreads(1)
                .backend(Backend.named("app").server("web1", "127.0.0.1:8081"))
                .frontend(web)
                .build()) {
            proxy.start();
            MeterRegistry registry = new SimpleMeterRegistry();
            new LodestoneMeterBinder(proxy, Duration.ZERO).bindTo(registry);
            FrontendMetrics front = web.context().metrics().frontend("web");
            front.connectionOpened();
            for (int i = 0; i < 3; i++) {
                front.connectionRefused();
            }

            FrontendSnapshot snapshot = proxy.metrics().frontend("web");
            assertThat(snapshot.refusedConnections()).isEqualTo(3);
            assertThat(snapshot.traffic().totalConnections()).isEqualTo(1);
            PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
            assertThat(p.types()).containsEntry("lodestone_frontend_connections_refused_total", "counter");
            assertThat(p.value("lodestone_frontend_connections_refused_total", "frontend", "web")).isEqualTo(3);
            assertThat(registry.get("lodestone.frontend.connections.refused").tag("frontend", "web").functionCounter().count())
                    .isEqualTo(3);
        }
    }

    @Test
    void aSnapshotMadeWithoutRefusalsHasNone() {
        FrontendSnapshot s = new FrontendSnapshot("x", null);
        assertThat(s.refusedConnections()).isZero();
        assertThat(s).isEqualTo(new FrontendSnapshot("x", null, 0));
    }
}
