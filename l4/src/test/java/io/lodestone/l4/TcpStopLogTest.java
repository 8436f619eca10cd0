package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.tls.ServerTls;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * A TCP session still open when the proxy stops (its drain timeout over, here a drain timeout of 0)
 * is cut by the proxy: it is logged {@code K} with the phase it was in ({@code KD} relayed,
 * {@code KC} connecting to its server, {@code KR} a TLS frontend waiting for the ClientHello or the
 * handshake) and counts no error on the frontend or the server, nor a failure on the server.
 */
class TcpStopLogTest {

    private static Proxy start(CapturingLogger lines, Backend.Builder backend, TcpFrontend.Builder frontend) {
        Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(backend)
                .frontend(frontend.name("tcp").defaultBackend("b"))
                .build();
        proxy.start();
        return proxy;
    }

    private static void assertNoError(Proxy proxy) {
        MetricsSnapshot m = proxy.metrics();
        assertThat(m.frontend("tcp").traffic().errors().total()).isZero();
        assertThat(m.backend("b").server("s1").traffic().errors().total()).isZero();
        assertThat(m.backend("b").traffic().errors().total()).isZero();
        assertThat(proxy.control().server("b", "s1").failures()).isZero();
    }

    /** Waits until the frontend has accepted one connection (its connection handler is active). */
    private static void awaitAccepted(Proxy proxy) {
        Await.until("the connection accepted", () -> proxy.metrics().frontend("tcp").traffic().currentConnections() == 1);
    }

    @Test
    void aRelayedSessionCutByTheStopIsLoggedKd() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = start(lines, Backend.named("b").server("s1", echo.address()), TcpFrontend.bind("127.0.0.1:0"));
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "relayed");
                proxy.close(Duration.ZERO);
                assertThat(isClosedByPeer(c)).isTrue();
            }
            assertThat(lines.await(l -> l.contains(" tcp "))).contains(" tcp b/s1 ").contains(" KD ");
            assertNoError(proxy);
            Await.until("the server connection closed", () -> echo.openConnections() == 0);
        }
    }

    /** A frontend that a reconfiguration removes is retired as the proxy's stop retires them all. */
    @Test
    void aRelayedSessionOfAFrontendAReconfigurationRemovesIsLoggedKdAtItsDrainTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = Proxy.builder().accessLog(AccessLog.text(lines)).drainTimeout(Duration.ZERO)
                    .backend(Backend.named("b").server("s1", echo.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b"))
                    .build();
            proxy.start();
            try (proxy; Socket c = connect(proxy.port())) {
                assertEcho(c, "relayed");
                // another address: a frontend bound as the old one was would take over its sockets
                proxy.reconfigure(Proxy.builder().accessLog(AccessLog.text(lines)).drainTimeout(Duration.ZERO)
                        .backend(Backend.named("b").server("s1", echo.address()))
                        .frontend(TcpFrontend.bind("127.0.0.2:0").name("other").defaultBackend("b")));
                assertThat(isClosedByPeer(c)).isTrue();
                assertThat(lines.await(l -> l.contains(" tcp "))).contains(" tcp b/s1 ").contains(" KD ");
                assertThat(proxy.metrics().backend("b").server("s1").traffic().errors().total()).isZero();
            }
        }
    }

    @Test
    void aSessionStillConnectingToItsServerWhenTheProxyStopsIsLoggedKc() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (Blackhole silent = new Blackhole()) {
            Proxy proxy = start(lines, Backend.named("b").server("s1", silent.address()).connectTimeout(Duration.ofMinutes(1)),
                    TcpFrontend.bind("127.0.0.1:0"));
            try (Socket c = connect(proxy.port())) {
                // the server is picked and its connection attempt started in the same turn of the loop
                Await.until("the server picked", () -> proxy.control().server("b", "s1").totalSelected() == 1);
                proxy.close(Duration.ZERO);
                assertThat(isClosedByPeer(c)).isTrue();
            }
            assertThat(lines.await(l -> l.contains(" tcp "))).contains(" tcp b/s1 ").contains(" KC ");
            // the attempt's end gives the server back its load, after anything it counts
            Await.until("the attempt ended", () -> proxy.control().server("b", "s1").load() == 0);
            assertNoError(proxy);
        }
    }

    @Test
    void aPassthroughClientWithoutItsClientHelloWhenTheProxyStopsIsLoggedKr() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer echo = TcpEchoServer.start()) {
            Proxy proxy = start(lines, Backend.named("b").server("s1", echo.address()),
                    TcpFrontend.bind("127.0.0.1:0").tlsPassthrough().clientHelloTimeout(Duration.ofMinutes(1)));
            try (Socket c = connect(proxy.port())) {
                c.getOutputStream().write(new byte[] {22, 3, 1});
                awaitAccepted(proxy);
                proxy.close(Duration.ZERO);
                assertThat(isClosedByPeer(c)).isTrue();
            }
            assertThat(lines.await(l -> l.contains(" tcp "))).contains(" tcp -/- ").contains(" KR ");
            assertNoError(proxy);
            assertThat(echo.accepted()).isZero();
        }
    }

    @Test
    void aTerminatingFrontendsClientInItsHandshakeWhenTheProxyStopsIsLoggedKr() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer echo = TcpEchoServer.start();
             ServerTls tls = TlsTestSupport.serverTls(TlsTestSupport.server(ca, "www.example"))) {
            Proxy proxy = start(lines, Backend.named("b").server("s1", echo.address()),
                    TcpFrontend.bind("127.0.0.1:0").tls(tls).clientHelloTimeout(Duration.ofMinutes(1))
                            .clientTimeout(Duration.ofMinutes(1)));
            try (Socket c = connect(proxy.port())) {
                c.getOutputStream().write(clientHello(ca));
                // the proxy's first handshake flight: the handshake is under way, and stays so
                assertThat(c.getInputStream().read()).isEqualTo(22);
                proxy.close(Duration.ZERO);
            }
            assertThat(lines.await(l -> l.contains(" tcp "))).contains(" tcp -/- ").contains(" KR ");
            assertNoError(proxy);
            assertThat(echo.accepted()).isZero();
        }
    }

    /**
     * A TLS session whose client stopped reading, with the proxy's socket to it full: the stop closes it
     * at the socket. It went through the TLS handler's close, which waits up to 3 s for its
     * {@code close_notify} to leave the socket, so {@code close(300 ms)} took 3.3 s.
     */
    @Test
    void aTerminatedTlsSessionWhoseClientDoesNotReadIsCutAtTheDrainTimeout() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        CapturingLogger lines = new CapturingLogger();
        AtomicLong written = new AtomicLong();
        try (ServerSocket endless = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             ServerTls tls = TlsTestSupport.serverTls(TlsTestSupport.server(ca, "www.example"))) {
            Thread writer = new Thread(() -> {
                try (Socket s = endless.accept()) {
                    byte[] chunk = new byte[16384];
                    for (int i = 0; i < 65536; i++) {
                        s.getOutputStream().write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException e) {
                    // closed by the proxy's stop: what the test waits for
                }
            });
            writer.setDaemon(true);
            writer.start();
            Proxy proxy = start(lines, Backend.named("b").server("s1", "127.0.0.1:" + endless.getLocalPort()),
                    TcpFrontend.bind("127.0.0.1:0").tls(tls).clientTimeout(Duration.ofHours(1)));
            try (Socket tcp = new Socket()) {
                tcp.setReceiveBufferSize(8192);
                tcp.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
                tcp.setSoTimeout(5000);
                SSLSocket c = (SSLSocket) TlsTestSupport.clientContext(ca).getSocketFactory()
                        .createSocket(tcp, "www.example", proxy.port(), false);
                c.startHandshake();
                assertThat(c.getInputStream().read(new byte[1024])).as("the relay began").isPositive();
                long[] last = {-1};
                int[] still = {0};
                Await.until("the server's writes stalled", () -> {
                    long now = written.get();
                    still[0] = now == last[0] ? still[0] + 1 : 0;
                    last[0] = now;
                    return still[0] >= 100;
                });
                long start = System.nanoTime();
                CompletableFuture.runAsync(() -> proxy.close(Duration.ofMillis(300))).get(10, TimeUnit.SECONDS);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("close(300 ms) took")
                        .isGreaterThanOrEqualTo(Duration.ofMillis(300)).isLessThan(Duration.ofMillis(2500));
            }
            writer.join(10_000);
            assertThat(writer.isAlive()).as("the server connection still open").isFalse();
            assertThat(lines.await(l -> l.contains(" tcp "))).contains(" tcp b/s1 ").contains(" KD ");
            assertNoError(proxy);
        }
    }

    /** A real ClientHello for www.example, as a JDK client sends it. */
    private static byte[] clientHello(X509Bundle ca) throws Exception {
        SSLEngine engine = TlsTestSupport.clientContext(ca).createSSLEngine("www.example", 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("www.example")));
        engine.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }
}
