package io.lodestone.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.trace.Tracing;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The metrics of a started proxy after a known sequence of requests and failures, recorded as an engine records them. */
class MetricsProxyTest {

    private final ManualClock clock = new ManualClock();

    private Proxy proxy(CapturingFrontend web, CapturingFrontend db) {
        return Proxy.builder()
                .clock(clock)
                .ioThreads(1)
                .backend(Backend.named("app").server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082"))
                .backend(Backend.named("pg").server("pg1", "127.0.0.1:5432"))
                .frontend(web)
                .frontend(db)
                .accessLog(AccessLog.json())
                .tracing(Tracing.start())
                .build();
    }

    @Test
    void snapshotListsEveryFrontendBackendAndServerBeforeAnyTraffic() {
        try (Proxy proxy = proxy(new CapturingFrontend("web", "app"), new CapturingFrontend("db", "pg"))) {
            MetricsSnapshot m = proxy.metrics();
            assertThat(m.timestampMillis()).isEqualTo(clock.currentTimeMillis());
            assertThat(m.frontends()).extracting(FrontendSnapshot::name).containsExactly("web", "db");
            assertThat(m.backends()).extracting(BackendSnapshot::name).containsExactly("app", "pg");
            assertThat(m.backend("app").servers()).extracting(ServerSnapshot::name).containsExactly("web1", "web2");
            assertThat(m.backend("app").usableServers()).isEqualTo(2);
            assertThat(m.frontend("web").traffic().totalConnections()).isZero();
            assertThat(m.backend("app").server("web1").status().state()).isEqualTo(ServerState.UP);
            assertThatThrownBy(() -> m.frontend("nope")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("frontend: nope");
            assertThatThrownBy(() -> m.backend("app").server("web9")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("server: web9");
        }
    }

    @Test
    void knownSequenceOfRequestsAndFailures() {
        CapturingFrontend web = new CapturingFrontend("web", "app");
        CapturingFrontend db = new CapturingFrontend("db", "pg");
        try (Proxy proxy = proxy(web, db)) {
            proxy.start();
            EngineContext context = web.context();
            assertThat(context.accessLog().format()).isEqualTo(AccessLog.Format.JSON);
            assertThat(context.tracing().startsTraces()).isTrue();
            FrontendMetrics front = context.metrics().frontend("web");
            assertThat(context.metrics().frontend("web")).isSameAs(front);
            BackendRuntime app = context.backend("app");
            ServerRuntime web1 = app.server("web1");
            ServerRuntime web2 = app.server("web2");

            // one client connection, five requests
            front.connectionOpened();
            for (int i = 0; i < 3; i++) {                       // 3 x 200 from web1, 10 ms each
                web1.metrics().connectTime(1_000_000);
                web1.metrics().firstByteTime(8_000_000);
                web1.metrics().requestCompleted(200, 100, 1000, 10_000_000);
                front.requestCompleted(200, 120, 1100, 11_000_000);
            }
            web2.metrics().error(ErrorKind.CONNECT);           // refused, redispatched to web1: 502 in the end
            web1.metrics().redispatch();
            web1.metrics().error(ErrorKind.TIMEOUT);
            web1.metrics().requestCompleted(504, 100, 0, 30_000_000);
            front.requestCompleted(504, 120, 90, 31_000_000);
            front.error(ErrorKind.DENIED);                     // a rule denies the fifth
            front.requestCompleted(403, 80, 60, 100_000);
            front.connectionClosed();

            // a TCP session through db
            FrontendMetrics dbFront = db.context().metrics().frontend("db");
            ServerRuntime pg1 = db.context().backend("pg").server("pg1");
            dbFront.connectionOpened();
            pg1.metrics().connectionOpened();
            pg1.metrics().connectTime(500_000);
            pg1.metrics().sessionClosed(4096, 65536, 2_000_000_000L);
            dbFront.sessionClosed(4096, 65536, 2_001_000_000L);

            web2.drain();
            web1.checked(HealthCheckResult.unhealthy("HTTP 500"));

            MetricsSnapshot m = proxy.metrics();
            TrafficSnapshot f = m.frontend("web").traffic();
            assertThat(f.totalConnections()).isEqualTo(1);
            assertThat(f.currentConnections()).isZero();
            assertThat(f.requests()).isEqualTo(5);
            assertThat(f.responses()).isEqualTo(new ResponseCounts(0, 3, 0, 1, 1, 0));
            assertThat(f.bytesIn()).isEqualTo(3 * 120 + 120 + 80);
            assertThat(f.bytesOut()).isEqualTo(3 * 1100 + 90 + 60);
            assertThat(f.errors()).isEqualTo(new ErrorCounts(0, 0, 0, 1));
            assertThat(f.totalTime().count()).isEqualTo(5);
            assertThat(f.totalTime().maxNanos()).isEqualTo(31_000_000);
            assertThat(f.totalTime().p50Nanos()).isBetween(11_000_000L, 11_000_000L + 11_000_000L / 16);

            BackendSnapshot b = m.backend("app");
            assertThat(b.traffic().requests()).isEqualTo(4);
            assertThat(b.traffic().responses()).isEqualTo(new ResponseCounts(0, 3, 0, 0, 1, 0));
            assertThat(b.traffic().errors()).isEqualTo(new ErrorCounts(1, 1, 0, 0));
            assertThat(b.traffic().redispatches()).isEqualTo(1);
            assertThat(b.traffic().connectTime().count()).isEqualTo(3);
            assertThat(b.usableServers()).isEqualTo(1);

            ServerSnapshot s1 = b.server("web1");
            assertThat(s1.traffic().requests()).isEqualTo(4);
            assertThat(s1.traffic().firstByteTime().p99Nanos()).isEqualTo(8_000_000);
            assertThat(s1.status().lastCheck()).isEqualTo(HealthCheckResult.unhealthy("HTTP 500"));
            ServerSnapshot s2 = b.server("web2");
            assertThat(s2.traffic().requests()).isZero();
            assertThat(s2.traffic().errors().connect()).isEqualTo(1);
            assertThat(s2.status().state()).isEqualTo(ServerState.DRAIN);

            TrafficSnapshot pg = m.backend("pg").server("pg1").traffic();
            assertThat(pg.totalConnections()).isEqualTo(1);
            assertThat(pg.currentConnections()).isZero();
            assertThat(pg.bytesIn()).isEqualTo(4096);
            assertThat(pg.bytesOut()).isEqualTo(65536);
            assertThat(pg.totalTime().p50Nanos()).isBetween(2_000_000_000L, 2_000_000_000L + 2_000_000_000L / 16);
            assertThat(m.frontend("db").traffic().bytesOut()).isEqualTo(65536);

            clock.advance(Duration.ofSeconds(5));
            assertThat(proxy.metrics().timestampMillis()).isEqualTo(m.timestampMillis() + 5000);
        }
    }

    @Test
    void aServerAddedAtRunTimeAppearsAndARemovedOneLeavesItsTrafficInTheBackend() {
        CapturingFrontend web = new CapturingFrontend("web", "app");
        try (Proxy proxy = proxy(web, new CapturingFrontend("db", "pg"))) {
            ServerRuntime added = (ServerRuntime) proxy.control().addServer("app", io.lodestone.core.Server.builder("web3", "127.0.0.1:8083").build());
            added.metrics().requestCompleted(200, 1, 1, 1000);
            assertThat(proxy.metrics().backend("app").server("web3").traffic().requests()).isEqualTo(1);
            proxy.control().removeServer("app", "web3");
            MetricsSnapshot m = proxy.metrics();
            assertThat(m.backend("app").servers()).extracting(ServerSnapshot::name).containsExactly("web1", "web2");
            assertThat(m.backend("app").traffic().requests()).isEqualTo(1);
        }
    }
}
