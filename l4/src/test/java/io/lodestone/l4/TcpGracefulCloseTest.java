package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.refuses;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Stderr;
import io.lodestone.core.testing.TcpEchoServer;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Proxy#close()} with TCP frontends: stop accepting, let connections finish, close at the deadline. */
class TcpGracefulCloseTest {

    private static Proxy proxy(TcpEchoServer echo, Duration drainTimeout) {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("echo").server("e1", echo.address()))
                .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"))
                .drainTimeout(drainTimeout)
                .build();
        proxy.start();
        return proxy;
    }

    @Test
    void anOpenConnectionWorksDuringTheDrainAndIsClosedAtTheDeadline() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = proxy(echo, Duration.ofMillis(1500));
            int port = proxy.port();
            try (Socket c = connect(port)) {
                assertEcho(c, "before close");
                long start = System.nanoTime();
                CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
                Await.until("new connections are refused", () -> refuses(port));
                assertThat(closing).isNotDone();
                assertEcho(c, "during the drain");
                c.setSoTimeout(10_000);
                assertThat(isClosedByPeer(c)).isTrue();
                closing.get(10, TimeUnit.SECONDS);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(1500));
                Await.until("the server side closed too", () -> echo.openConnections() == 0);
            }
        }
    }

    @Test
    void closeReturnsAsSoonAsTheLastConnectionEnds() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = proxy(echo, Duration.ofSeconds(60));
            int port = proxy.port();
            CompletableFuture<Void> closing;
            try (Socket c = connect(port)) {
                assertEcho(c, "before close");
                closing = CompletableFuture.runAsync(proxy::close);
                Await.until("new connections are refused", () -> refuses(port));
                assertEcho(c, "during the drain");
            }
            // far sooner than the 60 s drain timeout
            closing.get(10, TimeUnit.SECONDS);
            Await.until("the server side closed", () -> echo.openConnections() == 0);
        }
    }

    @Test
    void aDrainTimeoutLongerThanNanosecondsCountWaitsForTheConnections() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = proxy(echo, Duration.ofSeconds(60));
            int port = proxy.port();
            CompletableFuture<Void> closing;
            try (Socket c = connect(port)) {
                assertEcho(c, "before close");
                // 400 years overflow a long of nanoseconds: close threw an ArithmeticException once it
                // had stopped accepting, and left the connection open and the event loops running
                closing = CompletableFuture.runAsync(() -> proxy.close(Duration.ofDays(365L * 400)));
                Await.until("new connections are refused", () -> refuses(port));
                assertEcho(c, "during the drain");
                assertThat(closing).isNotDone();
            }
            closing.get(10, TimeUnit.SECONDS);
            Await.until("the server side closed", () -> echo.openConnections() == 0);
        }
    }

    @Test
    void closeWithNoConnectionsIsImmediate() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = proxy(echo, Duration.ofSeconds(60));
            int port = proxy.port();
            CompletableFuture.runAsync(proxy::close).get(10, TimeUnit.SECONDS);
            assertThat(refuses(port)).isTrue();
        }
    }

    @Test
    void aDrainTimeoutThatRunsOutIsLoggedWithTheConnectionsItCloses() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = proxy(echo, Duration.ofMillis(100));
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "before close");
                String log = Stderr.of(proxy::close);
                assertThat(log).contains("WARN").contains("the drain timeout (PT0.1S) ran out with 1 client connections open");
                c.setSoTimeout(10_000);
                assertThat(isClosedByPeer(c)).isTrue();
            }
        }
    }

    @Test
    void aDrainThatEndsInTimeLogsNoWarning() throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = proxy(echo, Duration.ofSeconds(60));
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "before close");
            }
            String log = Stderr.of(proxy::close);
            assertThat(log).doesNotContain("drain timeout");
        }
    }
}
