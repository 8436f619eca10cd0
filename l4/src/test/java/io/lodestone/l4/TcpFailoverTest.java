package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.startProxy;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.RefusingPort;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Connection failures towards servers: refused, timed out, every server failing, the client leaving first. */
class TcpFailoverTest {

    @Test
    void retriesAnotherServerWhenTheConnectionIsRefused() throws IOException {
        try (TcpEchoServer live = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("b")
                             .server("dead", RefusingPort.address())
                             .server("live", live.address())
                             .retries(1),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))) {
            // round robin sends one of the first two connections to the dead server first
            for (int i = 0; i < 4; i++) {
                try (Socket c = connect(proxy.port())) {
                    assertEcho(c, "attempt " + i);
                }
            }
            ServerControl dead = proxy.control().server("b", "dead");
            assertThat(dead.totalSelected()).isGreaterThanOrEqualTo(1);
            assertThat(live.accepted()).isEqualTo(4);
            assertThat(dead.load()).isZero();
            Await.until("the live server's load released", () -> proxy.control().server("b", "live").load() == 0);
        }
    }

    @Test
    void retriesAnotherServerWhenTheConnectionTimesOut() throws IOException {
        try (TcpEchoServer live = TcpEchoServer.start();
             Blackhole blackhole = new Blackhole();
             Proxy proxy = startProxy(Backend.named("b")
                             .server("silent", blackhole.address())
                             .server("live", live.address())
                             .connectTimeout(Duration.ofMillis(200))
                             .retries(1),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))) {
            for (int i = 0; i < 2; i++) {
                try (Socket c = connect(proxy.port())) {
                    assertEcho(c, "attempt " + i);
                }
            }
            ServerControl silent = proxy.control().server("b", "silent");
            assertThat(silent.totalSelected()).isGreaterThanOrEqualTo(1);
            assertThat(silent.load()).isZero();
            assertThat(live.accepted()).isEqualTo(2);
        }
    }

    @Test
    void closesTheClientWhenEveryAttemptFails() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("b")
                        .server("d1", RefusingPort.address())
                        .server("d2", RefusingPort.address())
                        .server("d3", RefusingPort.address())
                        .retries(5),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"));
             Socket c = connect(proxy.port())) {
            assertThat(isClosedByPeer(c)).isTrue();
            long tried = 0;
            for (ServerControl s : proxy.control().servers("b")) {
                tried += s.totalSelected();
                assertThat(s.load()).isZero();
            }
            // each server once: retries go to servers not tried yet
            assertThat(tried).isEqualTo(3);
        }
    }

    @Test
    void retriesStopAtTheBackendsRetryCount() throws IOException {
        try (TcpEchoServer live = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("b")
                             .server("d1", RefusingPort.address())
                             .server("d2", RefusingPort.address())
                             .server("live", live.address(), s -> s.backup())
                             .retries(1),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"));
             Socket c = connect(proxy.port())) {
            // first attempt and one retry hit the two dead primaries; the backup would have worked
            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(live.accepted()).isZero();
        }
    }

    @Test
    void aClientLeavingDuringTheConnectAbortsTheAttempt() throws IOException {
        try (Blackhole blackhole = new Blackhole();
             Proxy proxy = startProxy(Backend.named("b")
                             .server("silent", blackhole.address())
                             .connectTimeout(Duration.ofSeconds(30)),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))) {
            ServerControl silent = proxy.control().server("b", "silent");
            Socket c = connect(proxy.port());
            Await.until("the connect attempt is in progress", () -> silent.load() == 1);
            c.setSoLinger(true, 0);
            c.close();
            // far sooner than the 30 s connect timeout
            Await.until(Duration.ofSeconds(5), "the attempt aborted and the load released", () -> silent.load() == 0);
        }
    }
}
