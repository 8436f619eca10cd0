package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Per-source connection limits of the TCP engine over real sockets: open at once, new per second, rules. */
class TcpSourceLimitsTest {

    private static long refused(Proxy proxy) {
        return proxy.metrics().frontend("tcp").refusedConnections();
    }

    /** Connects to the proxy on 127.0.0.1 from {@code from} (any 127.x address is the loopback on Linux). */
    private static Socket connectFrom(String from, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        s.setSoTimeout(5000);
        return s;
    }

    @Test
    void aSourceGetsAtMostSoManyConnectionsAtOnce() throws IOException {
        try (TcpEchoServer echo = TcpEchoServer.start();
             Proxy proxy = Sockets.startProxy(Backend.named("b").server("echo", echo.address()),
                     TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b").maxConnectionsPerSource(2))) {
            List<Socket> open = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    Socket s = connect(proxy.port());
                    open.add(s);
                    assertEcho(s, "hello" + i);
                }
                try (Socket third = connect(proxy.port())) {
                    assertThat(isClosedByPeer(third)).as("third connection from 127.0.0.1").isTrue();
                }
                assertThat(refused(proxy)).isEqualTo(1);
                assertThat(echo.accepted()).as("a refused connection never reaches a server").isEqualTo(2);

                try (Socket other = connectFrom("127.0.0.2", proxy.port())) {
                    assertEcho(other, "another source");
                }

                open.remove(0).close();
                Await.until("the closed connection's slot is free",
                        () -> proxy.metrics().frontend("tcp").traffic().currentConnections() <= 2);
                Await.until("127.0.0.1 gets a connection again", () -> {
                    try (Socket again = connect(proxy.port())) {
                        assertEcho(again, "again");
                        return true;
                    } catch (IOException e) {
                        return false;
                    }
                });
                assertThat(refused(proxy)).isGreaterThanOrEqualTo(1);
                PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
                assertThat(p.value("lodestone_frontend_connections_refused_total", "frontend", "tcp")).isEqualTo((double) refused(proxy));
            } finally {
                for (Socket s : open) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aSourceOpensAtMostSoManyConnectionsPerSecond() throws IOException {
        ManualClock clock = new ManualClock();
        try (TcpEchoServer echo = TcpEchoServer.start();
             Proxy proxy = Proxy.builder().clock(clock)
                     .backend(Backend.named("b").server("echo", echo.address()))
                     .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b").maxConnectionRatePerSource(3))
                     .build()) {
            proxy.start();
            for (int i = 0; i < 3; i++) {
                try (Socket s = connect(proxy.port())) {
                    assertEcho(s, "burst" + i);
                }
            }
            try (Socket fourth = connect(proxy.port())) {
                assertThat(isClosedByPeer(fourth)).isTrue();
            }
            assertThat(refused(proxy)).isEqualTo(1);

            clock.advance(Duration.ofMillis(333));                 // a token every 333.33 ms: not yet
            try (Socket early = connect(proxy.port())) {
                assertThat(isClosedByPeer(early)).isTrue();
            }
            clock.advance(Duration.ofMillis(1));
            try (Socket s = connect(proxy.port())) {
                assertEcho(s, "one more");
            }
            try (Socket other = connectFrom("127.0.0.3", proxy.port())) {
                assertEcho(other, "another source");
            }
            assertThat(refused(proxy)).isEqualTo(2);
        }
    }

    @Test
    void aRateLimitRuleClosesConnectionsOverTheLimit() throws IOException {
        ManualClock clock = new ManualClock();
        try (TcpEchoServer echo = TcpEchoServer.start();
             Proxy proxy = Proxy.builder().clock(clock)
                     .backend(Backend.named("b").server("echo", echo.address()))
                     .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b")
                             .rule(Rule.always().rateLimit(RateLimit.perMinute(2))))
                     .build()) {
            proxy.start();
            for (int i = 0; i < 2; i++) {
                try (Socket s = connect(proxy.port())) {
                    assertEcho(s, "allowed" + i);
                }
            }
            try (Socket over = connect(proxy.port())) {
                assertThat(isClosedByPeer(over)).isTrue();
            }
            assertThat(proxy.metrics().frontend("tcp").traffic().errors().denied()).isEqualTo(1);
            clock.advance(Duration.ofSeconds(30));
            try (Socket s = connect(proxy.port())) {
                assertEcho(s, "refilled");
            }
        }
    }

    @Test
    void badLimitsFailNamingTheField() {
        assertThatThrownBy(() -> TcpFrontend.bind(0).maxConnectionsPerSource(-1))
                .hasMessage("frontend at 0.0.0.0:0 maxConnectionsPerSource: -1 (expected: >= 0)");
        assertThatThrownBy(() -> TcpFrontend.bind(0).maxConnectionRatePerSource(-5))
                .hasMessage("frontend at 0.0.0.0:0 maxConnectionRatePerSource: -5 (expected: 0..1000000000)");
        TcpFrontend f = TcpFrontend.bind(0).defaultBackend("b").maxConnectionsPerSource(10).maxConnectionRatePerSource(20).build();
        assertThat(f.maxConnectionsPerSource()).isEqualTo(10);
        assertThat(f.maxConnectionRatePerSource()).isEqualTo(20);
    }
}
