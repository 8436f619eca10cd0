package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.BackendSnapshot;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.RefusingPort;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The TCP engine's metrics and access log lines after a known sequence of sessions and failures. */
class TcpObservabilityTest {

    private static Proxy start(CapturingLogger lines, Backend.Builder backend) {
        return start(lines, backend, TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b"));
    }

    private static Proxy start(CapturingLogger lines, Backend.Builder backend, TcpFrontend.Builder frontend) {
        Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(backend)
                .frontend(frontend)
                .build();
        proxy.start();
        return proxy;
    }

    @Test
    void countsSessionsBytesRefusalsAndRedispatches() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer live = TcpEchoServer.start();
             Proxy proxy = start(lines, Backend.named("b")
                     .balance(BalancingStrategy.roundRobin())
                     .server("dead", RefusingPort.address())
                     .server("live", live.address())
                     .retries(1))) {
            for (int i = 0; i < 2; i++) {
                try (Socket c = connect(proxy.port())) {
                    assertEcho(c, "hello" + i);
                }
            }
            Await.until("both sessions recorded", () -> {
                MetricsSnapshot m = proxy.metrics();
                return m.frontend("tcp").traffic().currentConnections() == 0
                        && m.backend("b").server("live").traffic().currentConnections() == 0
                        && lines.lines().size() == 2;
            });
            MetricsSnapshot m = proxy.metrics();
            TrafficSnapshot frontend = m.frontend("tcp").traffic();
            assertThat(frontend.totalConnections()).isEqualTo(2);
            assertThat(frontend.bytesIn()).isEqualTo(12);
            assertThat(frontend.bytesOut()).isEqualTo(12);
            assertThat(frontend.totalTime().count()).isEqualTo(2);

            BackendSnapshot backend = m.backend("b");
            TrafficSnapshot liveTraffic = backend.server("live").traffic();
            assertThat(liveTraffic.totalConnections()).isEqualTo(2);
            assertThat(liveTraffic.bytesIn()).isEqualTo(12);
            assertThat(liveTraffic.bytesOut()).isEqualTo(12);
            assertThat(liveTraffic.connectTime().count()).isEqualTo(2);
            // every session that tried the dead server first was refused there and redispatched
            TrafficSnapshot deadTraffic = backend.server("dead").traffic();
            long refused = deadTraffic.errors().connect();
            assertThat(refused).isBetween(1L, 2L).isEqualTo(proxy.control().server("b", "dead").totalSelected());
            assertThat(deadTraffic.redispatches()).isEqualTo(refused);
            assertThat(deadTraffic.totalConnections()).isZero();
            assertThat(backend.traffic().errors().connect()).isEqualTo(refused);
            assertThat(backend.traffic().redispatches()).isEqualTo(refused);
            assertThat(backend.traffic().totalConnections()).isEqualTo(2);

            for (String line : lines.lines()) {
                assertThat(line).startsWith("127.0.0.1:")
                        .contains(" tcp b/live ")
                        .contains(" - 6 6 -- \"-\" ");
            }
        }
    }

    @Test
    void logsARefusedSessionWithTheConnectTermination() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = start(lines, Backend.named("b").server("dead", RefusingPort.address()).retries(0));
             Socket c = connect(proxy.port())) {
            assertThat(isClosedByPeer(c)).isTrue();
            String line = lines.await(l -> l.contains(" tcp b/dead "));
            assertThat(line).contains(" - 0 0 SC \"-\" ");
            Await.until("the session closed", () -> proxy.metrics().frontend("tcp").traffic().currentConnections() == 0);
            TrafficSnapshot dead = proxy.metrics().backend("b").server("dead").traffic();
            assertThat(dead.errors().connect()).isEqualTo(1);
            assertThat(dead.errors().timeout()).isZero();
            assertThat(dead.redispatches()).isZero();
        }
    }

    @Test
    void logsAConnectTimeoutAsAServerTimeout() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (Blackhole blackhole = new Blackhole();
             Proxy proxy = start(lines, Backend.named("b").server("silent", blackhole.address())
                     .connectTimeout(Duration.ofMillis(150)).retries(0));
             Socket c = connect(proxy.port())) {
            assertThat(isClosedByPeer(c)).isTrue();
            String line = lines.await(l -> l.contains(" tcp b/silent "));
            assertThat(line).contains(" sC \"-\" ");
            assertThat(proxy.metrics().backend("b").server("silent").traffic().errors().timeout()).isEqualTo(1);
        }
    }

    /**
     * A client that resets while the proxy connects to its server ends the attempt: {@code CC}, and
     * no fault of the server's, so no connect error and no failure on it (which passive health
     * checks and outlier detection read), though the proxy's close of the attempt fails it.
     */
    @Test
    void aClientThatLeavesWhileTheProxyConnectsIsLoggedCcAndCountsNothingOnTheServer() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (Blackhole blackhole = new Blackhole();
             Proxy proxy = start(lines, Backend.named("b").server("silent", blackhole.address())
                     .connectTimeout(Duration.ofMinutes(1)).retries(0))) {
            Socket c = connect(proxy.port());
            // the server is picked and its connection attempt started in the same turn of the loop
            Await.until("the server picked", () -> proxy.control().server("b", "silent").totalSelected() == 1);
            c.setSoLinger(true, 0);
            c.close();
            assertThat(lines.await(l -> l.contains(" tcp b/silent "))).contains(" CC \"-\" ");
            // the attempt's end gives the server back its load, after anything it counts
            Await.until("the attempt ended", () -> proxy.control().server("b", "silent").load() == 0);
            assertThat(proxy.metrics().backend("b").server("silent").traffic().errors().total()).isZero();
            assertThat(proxy.metrics().backend("b").traffic().errors().total()).isZero();
            assertThat(proxy.metrics().frontend("tcp").traffic().errors().total()).isZero();
            assertThat(proxy.control().server("b", "silent").failures()).isZero();
        }
    }

    @Test
    void logsNothingAndStillCountsWhenTheAccessLogIsOff() throws IOException {
        try (TcpEchoServer live = TcpEchoServer.start();
             Proxy proxy = Sockets.startProxy(Backend.named("b").server("live", live.address()),
                     TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b"))) {
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "abc");
            }
            // the frontend's counters are recorded when the client connection closes, the server's when
            // the server connection closes, and either may close first
            Await.until("the session recorded on both sides", () -> proxy.metrics().frontend("tcp").traffic().bytesOut() == 3
                    && proxy.metrics().backend("b").server("live").traffic().bytesIn() == 3);
            List<Long> counts = List.of(proxy.metrics().frontend("tcp").traffic().totalConnections(),
                    proxy.metrics().backend("b").server("live").traffic().bytesIn());
            assertThat(counts).containsExactly(1L, 3L);
        }
    }

    @Test
    void logsAndCountsTheClientIdleTimeoutAsCD() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer live = TcpEchoServer.start();
             Proxy proxy = start(lines, Backend.named("b").server("live", live.address()),
                     TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b").clientTimeout(Duration.ofMillis(200)));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "then silence");
            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(lines.await(l -> l.contains(" tcp b/live "))).contains(" - 12 12 cD \"-\" ");
            TrafficSnapshot frontend = proxy.metrics().frontend("tcp").traffic();
            assertThat(frontend.errors().timeout()).isEqualTo(1);
            assertThat(proxy.metrics().backend("b").server("live").traffic().errors().timeout()).isZero();
        }
    }

    @Test
    void logsAndCountsTheServerIdleTimeoutAsSD() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer live = TcpEchoServer.start();
             Proxy proxy = start(lines, Backend.named("b").server("live", live.address()).serverTimeout(Duration.ofMillis(200)),
                     TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b").clientTimeout(Duration.ofSeconds(30)));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "then silence");
            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(lines.await(l -> l.contains(" tcp b/live "))).contains(" - 12 12 sD \"-\" ");
            Await.until("the timeout counted on the server",
                    () -> proxy.metrics().backend("b").server("live").traffic().errors().timeout() == 1);
            assertThat(proxy.metrics().backend("b").traffic().errors().timeout()).isEqualTo(1);
            assertThat(proxy.metrics().frontend("tcp").traffic().errors().timeout()).isZero();
        }
    }
}
