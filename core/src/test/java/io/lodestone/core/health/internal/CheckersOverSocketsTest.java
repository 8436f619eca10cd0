package io.lodestone.core.health.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.BackendTls;
import io.lodestone.core.Server;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.HealthCheckTarget;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.RefusingPort;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The built-in TCP and HTTP checkers against real sockets on 127.0.0.1. */
class CheckersOverSocketsTest {

    private static EventLoopGroup group;
    private ServerSocket server;
    private Thread acceptor;
    private final CompletableFuture<String> request = new CompletableFuture<>();

    @BeforeAll
    static void startLoop() {
        group = Transport.best().newGroup(1, "checker-test");
    }

    @AfterAll
    static void stopLoop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
        if (acceptor != null) {
            acceptor.join(5_000);
        }
    }

    /** Serves one connection: reads the request head, hands it to {@code answer}, writes the answer, closes. */
    private int serve(Function<String, String> answer) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(5_000);
                String head = readHead(s.getInputStream());
                request.complete(head);
                String reply = answer.apply(head);
                if (reply != null) {
                    s.getOutputStream().write(reply.getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                } else {
                    s.getInputStream().read();          // say nothing until the client gives up
                }
            } catch (IOException e) {
                request.complete("");
            }
        }, "fake-backend");
        acceptor.start();
        return server.getLocalPort();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            out.write(b);
            String s = out.toString(StandardCharsets.ISO_8859_1);
            if (s.endsWith("\r\n\r\n")) {
                return s;
            }
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private static HealthCheckResult probe(HealthCheck check, int port, Duration timeout) throws Exception {
        HealthChecker checker = HealthCheckers.create(check, group, Transport.best());
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        HealthCheckTarget target = new HealthCheckTarget("app", Server.builder("web1", address).build(), address, timeout);
        return checker.check(target).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void tcpCheckPassesWhenTheServerListens() throws Exception {
        int port = serve(head -> "");
        HealthCheckResult r = probe(HealthCheck.tcp().build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isTrue();
        assertThat(r.detail()).isEqualTo("connected");
    }

    @Test
    void tcpCheckFailsOnAClosedPort() throws Exception {
        HealthCheckResult r = probe(HealthCheck.tcp().build(), RefusingPort.next(), Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).startsWith("connect failed");
    }

    @Test
    void httpCheckSendsAMinimalRequestAndAcceptsA200() throws Exception {
        int port = serve(head -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        HealthCheckResult r = probe(HealthCheck.http("/status").host("app.example").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isTrue();
        assertThat(r.detail()).isEqualTo("HTTP 200");
        assertThat(request.get(5, TimeUnit.SECONDS))
                .startsWith("GET /status HTTP/1.1\r\n")
                .contains("\r\nHost: app.example\r\n")
                .contains("\r\nConnection: close\r\n");
    }

    @Test
    void httpCheckSendsTheProbedAddressAsHostAndTheConfiguredMethod() throws Exception {
        int port = serve(head -> "HTTP/1.0 204 No Content\r\n\r\n");
        HealthCheckResult r = probe(HealthCheck.http("/healthz?full=1").method("HEAD").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isTrue();
        assertThat(request.get(5, TimeUnit.SECONDS))
                .startsWith("HEAD /healthz?full=1 HTTP/1.1\r\n")
                .contains("\r\nHost: 127.0.0.1:" + port + "\r\n");
    }

    @Test
    void httpCheckFailsOnAStatusOutsideTheRange() throws Exception {
        int port = serve(head -> "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        HealthCheckResult r = probe(HealthCheck.http("/status").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).isEqualTo("HTTP 503 (expected: 200..399)");
    }

    @Test
    void httpCheckHonoursACustomRange() throws Exception {
        int port = serve(head -> "HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n");
        HealthCheckResult r = probe(HealthCheck.http("/").expectStatus(200).build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).contains("HTTP 302");
    }

    @Test
    void httpCheckFindsTheExpectedBody() throws Exception {
        int port = serve(head -> "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nstatus: READY now");
        HealthCheckResult r = probe(HealthCheck.http("/status").expectBody("READY").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isTrue();
        assertThat(r.detail()).isEqualTo("HTTP 200, body matches");
    }

    @Test
    void httpCheckFailsWhenTheBodyLacksTheExpectedText() throws Exception {
        int port = serve(head -> "HTTP/1.1 200 OK\r\n\r\nstatus: STARTING");
        HealthCheckResult r = probe(HealthCheck.http("/status").expectBody("READY").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).contains("body does not contain");
    }

    @Test
    void httpCheckRejectsGarbage() throws Exception {
        int port = serve(head -> "SSH-2.0-OpenSSH_9.6\r\n");
        HealthCheckResult r = probe(HealthCheck.http("/status").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).startsWith("invalid HTTP");
    }

    @Test
    void httpCheckFailsWhenTheServerClosesWithoutAnswer() throws Exception {
        int port = serve(head -> "");
        HealthCheckResult r = probe(HealthCheck.http("/status").build(), port, Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).isEqualTo("connection closed before the status line");
    }

    @Test
    void httpCheckFailsAtItsTimeoutWhenTheServerSaysNothing() throws Exception {
        int port = serve(head -> null);
        long start = System.nanoTime();
        HealthCheckResult r = probe(HealthCheck.http("/status").build(), port, Duration.ofMillis(200));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).isEqualTo("no response within 200 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void httpCheckClosesItsConnectionWhenItsTimeoutRunsOutEvenAfterASlowConnect() throws Exception {
        ManualClock clock = new ManualClock();
        EventLoopGroup clocked = Transport.best().newGroup(1, "checker-clock-test", 0, clock);
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            HealthChecker checker = HealthCheckers.create(HealthCheck.http("/status").build(), clocked, Transport.best());
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", listener.getLocalPort());
            HealthCheckTarget target = new HealthCheckTarget("app", Server.builder("web1", address).build(), address,
                    Duration.ofMillis(200));
            // the loop is busy when the probe starts, so its connection opens 150 ms later: a slow connect
            CountDownLatch busy = new CountDownLatch(1);
            CountDownLatch free = new CountDownLatch(1);
            clocked.execute(() -> {
                busy.countDown();
                try {
                    free.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<HealthCheckResult> result = checker.check(target).toCompletableFuture();
            clock.advance(Duration.ofMillis(150));
            free.countDown();
            try (Socket s = listener.accept()) {
                s.setSoTimeout(5_000);
                assertThat(readHead(s.getInputStream())).startsWith("GET /status HTTP/1.1\r\n");
                clock.advance(Duration.ofMillis(50));                // the check timeout, counted from the call
                assertThat(s.getInputStream().read()).as("the probe's connection is closed at the timeout").isEqualTo(-1);
                assertThat(result.get(5, TimeUnit.SECONDS).detail()).isEqualTo("no response within 200 ms");
            }
        } finally {
            clocked.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /**
     * A TCP check of a backend with TLS whose server takes the connection and never answers the
     * ClientHello fails at the check's timeout, on the proxy's clock, and closes its connection: the
     * handshake gets what the connect left of the timeout.
     */
    @Test
    void tcpCheckWithTlsFailsAndClosesAtItsTimeoutWhenTheHandshakeStalls() throws Exception {
        ManualClock clock = new ManualClock();
        EventLoopGroup clocked = Transport.best().newGroup(1, "checker-tls-clock-test", 0, clock);
        BackendTls tls = trustingTls();
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            HealthChecker checker = HealthCheckers.create(HealthCheck.tcp().build(), tls, clocked, Transport.best());
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", listener.getLocalPort());
            HealthCheckTarget target = new HealthCheckTarget("app", Server.builder("web1", address).build(), address,
                    Duration.ofMillis(200));
            CompletableFuture<HealthCheckResult> result = checker.check(target).toCompletableFuture();
            try (Socket s = listener.accept()) {
                s.setSoTimeout(5_000);
                assertThat(s.getInputStream().read()).as("the first byte of a ClientHello").isEqualTo(0x16);
                // the TLS handler sets its handshake timer just after it has flushed the ClientHello, in the
                // same turn of the loop: that turn ends before the clock moves, or the timer counts from the move
                clocked.submit(() -> { }).get(5, TimeUnit.SECONDS);
                clock.advance(Duration.ofMillis(199));
                assertThat(result).isNotDone();
                clock.advance(Duration.ofMillis(1));
                assertThat(result.get(5, TimeUnit.SECONDS).detail())
                        .isEqualTo("TLS handshake failed: TLS handshake timed out: " + address);
                // the rest of the ClientHello, maybe an alert, then the end (a read that times out throws)
                assertThat(s.getInputStream().readAllBytes()).as("the check's connection is closed at the timeout")
                        .hasSizeLessThan(4096);
            }
        } finally {
            clocked.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /**
     * An HTTP check of a backend with TLS sent to a port of its own speaks plain HTTP there, as a TCP
     * check only connects there and as HAProxy inherits a server's ssl for its checks only when they
     * go to the server's own address and port (a management port such as Spring Boot's is plain).
     */
    @Test
    void httpCheckOfATlsBackendOnAPortOfItsOwnSpeaksPlainHttp() throws Exception {
        BackendTls tls = trustingTls();
        int port = serve(head -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        HealthChecker checker = HealthCheckers.create(HealthCheck.http("/health").port(port).build(), tls, group, Transport.best());
        InetSocketAddress traffic = new InetSocketAddress("127.0.0.1", RefusingPort.next());
        InetSocketAddress checked = new InetSocketAddress("127.0.0.1", port);
        HealthCheckTarget target = new HealthCheckTarget("app", Server.builder("web1", traffic).build(), checked, Duration.ofSeconds(2));
        HealthCheckResult r = checker.check(target).toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(r.detail()).isEqualTo("HTTP 200");
        assertThat(r.isHealthy()).isTrue();
        assertThat(request.get(5, TimeUnit.SECONDS)).startsWith("GET /health HTTP/1.1\r\n");
    }

    @Test
    void httpCheckFailsOnAClosedPort() throws Exception {
        HealthCheckResult r = probe(HealthCheck.http("/status").build(), RefusingPort.next(), Duration.ofSeconds(2));
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).startsWith("connect failed");
    }

    /** TLS to servers that trusts any certificate, without ALPN. */
    private static BackendTls trustingTls() throws Exception {
        SslContext client = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
        return new BackendTls() {
            @Override
            public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
                return client.newHandler(alloc, host, port);
            }

            @Override
            public List<String> applicationProtocols() {
                return List.of();
            }
        };
    }
}
