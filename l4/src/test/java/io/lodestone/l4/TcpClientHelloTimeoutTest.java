package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.staysSilent;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.l4.TlsTestSupport.TlsEchoServer;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ClientHello timeout of TLS frontends (HAProxy's {@code tcp-request inspect-delay}): a client
 * that sends nothing, or part of a ClientHello, is closed when it expires, logged {@code cR} and
 * counted as a timeout, though the client timeout is 5 minutes; one whose ClientHello comes in time
 * is not cut by it later.
 *
 * <p>These tests run on the system clock, with short timeouts, and wait for the close with a
 * bounded blocking read; none sleeps. {@link TcpProxyClockTimeoutsTest} runs the same timer on a
 * manual clock.
 */
class TcpClientHelloTimeoutTest {

    private static final Duration HELLO_TIMEOUT = Duration.ofMillis(300);
    /** Far beyond any wait of these tests: a close within them is the ClientHello timeout's. */
    private static final Duration CLIENT_TIMEOUT = Duration.ofMinutes(5);

    private static X509Bundle ca;
    private static TlsEchoServer www;
    /** A real ClientHello for www.example, as a JDK client sends it. */
    private static byte[] clientHello;

    @BeforeAll
    static void setUp() throws Exception {
        ca = TlsTestSupport.ca();
        www = new TlsEchoServer(TlsTestSupport.server(ca, "www.example"));
        SSLEngine engine = TlsTestSupport.clientContext(ca).createSSLEngine("www.example", 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("www.example")));
        engine.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        clientHello = new byte[out.remaining()];
        out.get(clientHello);
        assertThat(clientHello[0]).as("a handshake record").isEqualTo((byte) 22);
    }

    @AfterAll
    static void tearDown() {
        www.close();
    }

    private static Proxy passthrough(CapturingLogger lines, TcpFrontend.Builder frontend) {
        Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(Backend.named("www").server("w1", www.address()))
                .frontend(frontend.name("sni").tlsPassthrough().clientTimeout(CLIENT_TIMEOUT).defaultBackend("www"))
                .build();
        proxy.start();
        return proxy;
    }

    private static Proxy passthrough(CapturingLogger lines) {
        return passthrough(lines, TcpFrontend.bind("127.0.0.1:0").clientHelloTimeout(HELLO_TIMEOUT));
    }

    private static ErrorCounts frontendErrors(Proxy proxy) {
        return proxy.metrics().frontend("sni").traffic().errors();
    }

    private static SSLSocket tlsConnect(int port) throws Exception {
        return TlsTestSupport.connect(TlsTestSupport.clientContext(ca), port, "www.example");
    }

    /**
     * Asserts that the proxy closes {@code s} at the ClientHello timeout (not before it, and well
     * before the client timeout) and logs and counts it as a client timeout before any server.
     */
    private static void assertClosedByTheTimeout(Proxy proxy, CapturingLogger lines, Socket s, long connectedAt,
            Duration timeout) throws IOException {
        assertThat(isClosedAfterItsBytes(s)).as("closed within the socket's 5 s read timeout").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - connectedAt)).isGreaterThanOrEqualTo(timeout);
        assertThat(lines.await(l -> l.contains(" sni "))).contains(" sni -/- ").contains(" cR \"-\" ");
        assertThat(frontendErrors(proxy).timeout()).isEqualTo(1);
        assertThat(frontendErrors(proxy).total()).isEqualTo(1);
    }

    /** Reads what the proxy sends (a terminating one's handshake messages) until it closes or the read times out. */
    private static boolean isClosedAfterItsBytes(Socket s) throws IOException {
        byte[] buffer = new byte[4096];
        try {
            while (true) {
                if (s.getInputStream().read(buffer) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true;
        }
    }

    @Test
    void aClientThatSendsNothingIsClosedAtTheClientHelloTimeout() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        int before = www.accepted.get();
        try (Proxy proxy = passthrough(lines)) {
            long start = System.nanoTime();
            try (Socket s = connect(proxy.port())) {
                assertClosedByTheTimeout(proxy, lines, s, start, HELLO_TIMEOUT);
            }
        }
        assertThat(www.accepted.get()).isEqualTo(before);
    }

    @Test
    void aClientThatSendsHalfAClientHelloIsClosedAtTheClientHelloTimeout() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        int before = www.accepted.get();
        try (Proxy proxy = passthrough(lines)) {
            long start = System.nanoTime();
            try (Socket s = connect(proxy.port())) {
                s.getOutputStream().write(Arrays.copyOf(clientHello, clientHello.length / 2));
                s.getOutputStream().flush();
                assertClosedByTheTimeout(proxy, lines, s, start, HELLO_TIMEOUT);
            }
        }
        assertThat(www.accepted.get()).isEqualTo(before);
    }

    @Test
    void aClientHelloInTimeIsRoutedAndItsConnectionOutlivesTheTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = passthrough(lines)) {
            try (SSLSocket s = tlsConnect(proxy.port())) {
                assertThat(TlsTestSupport.peerName(s)).isEqualTo("CN=www.example");
                assertEcho(s, "routed");
                // idle for three ClientHello timeouts: the proxy neither closes nor resets it
                assertThat(staysSilent(s, (int) HELLO_TIMEOUT.toMillis() * 3)).isTrue();
                assertEcho(s, "still relayed after the ClientHello timeout");
            }
            assertThat(lines.await(l -> l.contains(" sni "))).contains(" sni www/w1 ").contains(" -- \"-\" ");
            assertThat(frontendErrors(proxy).total()).isZero();
        }
    }

    @Test
    void aSilentClientGivesBackItsConnectionSlotAtTheClientHelloTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = passthrough(lines,
                TcpFrontend.bind("127.0.0.1:0").clientHelloTimeout(HELLO_TIMEOUT).maxConnections(1));
             Socket silent = connect(proxy.port())) {
            // waits in the backlog until the silent client's slot is given back, then is served
            try (SSLSocket s = tlsConnect(proxy.port())) {
                assertEcho(s, "served once the slot was free");
            }
            assertThat(isClosedByPeer(silent)).isTrue();
            assertThat(lines.await(l -> l.contains(" cR "))).contains(" sni -/- ");
        }
    }

    @Test
    void theDefaultIsFiveSeconds() {
        TcpFrontend f = TcpFrontend.bind(443).tlsPassthrough().defaultBackend("www").build();
        assertThat(f.clientHelloTimeout()).isEqualTo(Duration.ofSeconds(5)).isEqualTo(TcpFrontend.DEFAULT_CLIENT_HELLO_TIMEOUT);
    }

    private static Proxy terminating(CapturingLogger lines, TcpEchoServer plain, ServerTls tls,
            TcpFrontend.Builder frontend) {
        Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(Backend.named("plain").server("p1", plain.address()))
                .frontend(frontend.name("sni").tls(tls).clientTimeout(CLIENT_TIMEOUT).defaultBackend("plain"))
                .build();
        proxy.start();
        return proxy;
    }

    private static ServerTls serverTls(Duration handshakeTimeout) throws Exception {
        X509Bundle c = TlsTestSupport.server(ca, "www.example");
        return ServerTls.builder()
                .certificate(TlsCertificate.of(c.getKeyPair().getPrivate(), Arrays.asList(c.getCertificatePath())))
                .handshakeTimeout(handshakeTimeout)
                .build();
    }

    @Test
    void aTerminatingFrontendClosesAClientThatSendsNothingAtTheClientHelloTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        // the handshake timeout (10 s by default) also bounds the SNI wait: the ClientHello timeout is shorter
        try (TcpEchoServer plain = TcpEchoServer.start(); ServerTls tls = serverTls(Duration.ofSeconds(10));
             Proxy proxy = terminating(lines, plain, tls, TcpFrontend.bind("127.0.0.1:0").clientHelloTimeout(HELLO_TIMEOUT))) {
            long start = System.nanoTime();
            try (Socket s = connect(proxy.port())) {
                s.getOutputStream().write(Arrays.copyOf(clientHello, 3));
                assertClosedByTheTimeout(proxy, lines, s, start, HELLO_TIMEOUT);
            }
            assertThat(plain.accepted()).isZero();
        }
    }

    @Test
    void aTerminatingFrontendLogsItsHandshakeTimeoutBeforeTheClientHelloAsAClientTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        Duration handshake = Duration.ofMillis(300);
        // the default ClientHello timeout, 5 s, is longer: the TLS handler's bound of its SNI wait expires first
        try (TcpEchoServer plain = TcpEchoServer.start(); ServerTls tls = serverTls(handshake);
             Proxy proxy = terminating(lines, plain, tls, TcpFrontend.bind("127.0.0.1:0"))) {
            long start = System.nanoTime();
            try (Socket s = connect(proxy.port())) {
                assertClosedByTheTimeout(proxy, lines, s, start, handshake);
            }
            assertThat(plain.accepted()).isZero();
        }
    }

    @Test
    void aTerminatingFrontendLetsTheHandshakeGoOnAfterTheClientHelloAndLogsItsTimeoutAsAClientTimeout()
            throws Exception {
        CapturingLogger lines = new CapturingLogger();
        Duration handshake = Duration.ofMillis(900);
        try (TcpEchoServer plain = TcpEchoServer.start(); ServerTls tls = serverTls(handshake);
             Proxy proxy = terminating(lines, plain, tls, TcpFrontend.bind("127.0.0.1:0").clientHelloTimeout(HELLO_TIMEOUT))) {
            long start = System.nanoTime();
            try (Socket s = connect(proxy.port())) {
                // a whole ClientHello, then nothing: the handshake timeout closes it, not the ClientHello timeout
                s.getOutputStream().write(clientHello);
                s.getOutputStream().flush();
                assertClosedByTheTimeout(proxy, lines, s, start, handshake);
            }
            assertThat(plain.accepted()).isZero();
        }
    }

    /**
     * A client that ends its input (a FIN) before its TLS is set up can never finish its handshake:
     * it is closed at once and logged {@code CR} (it left first), not held until the ClientHello or
     * handshake timeout (both far beyond the socket's 5 s read timeout here) and logged {@code cR}.
     */
    @Test
    void aTerminatingFrontendClosesAClientThatEndsItsInputDuringTheHandshakeAsAClientAbort() throws Exception {
        Duration longWait = Duration.ofSeconds(30);
        for (int sent : new int[] {100, clientHello.length}) {
            CapturingLogger lines = new CapturingLogger();
            try (TcpEchoServer plain = TcpEchoServer.start(); ServerTls tls = serverTls(longWait);
                 Proxy proxy = terminating(lines, plain, tls, TcpFrontend.bind("127.0.0.1:0").clientHelloTimeout(longWait))) {
                try (Socket s = connect(proxy.port())) {
                    s.getOutputStream().write(Arrays.copyOf(clientHello, sent));
                    s.shutdownOutput();
                    assertThat(isClosedAfterItsBytes(s)).as("closed after a FIN in %s of %s ClientHello bytes",
                            sent, clientHello.length).isTrue();
                }
                assertThat(lines.await(l -> l.contains(" sni "))).contains(" sni -/- ").contains(" CR \"-\" ");
                assertThat(frontendErrors(proxy).total()).isZero();
                assertThat(plain.accepted()).isZero();
            }
        }
    }

    /** A client that resets its connection during the handshake left first too: {@code CR}, not {@code CC}. */
    @Test
    void aTerminatingFrontendLogsAClientThatResetsDuringTheHandshakeAsAClientAbortInTheRequest() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        Duration longWait = Duration.ofSeconds(30);
        try (TcpEchoServer plain = TcpEchoServer.start(); ServerTls tls = serverTls(longWait);
             Proxy proxy = terminating(lines, plain, tls, TcpFrontend.bind("127.0.0.1:0").clientHelloTimeout(longWait))) {
            Socket s = connect(proxy.port());
            s.getOutputStream().write(clientHello);
            // the proxy's first handshake flight shows it has the ClientHello
            assertThat(s.getInputStream().read()).isEqualTo(22);
            s.setSoLinger(true, 0);
            s.close();
            assertThat(lines.await(l -> l.contains(" sni "))).contains(" sni -/- ").contains(" CR \"-\" ");
            assertThat(frontendErrors(proxy).total()).isZero();
            assertThat(plain.accepted()).isZero();
        }
    }
}
