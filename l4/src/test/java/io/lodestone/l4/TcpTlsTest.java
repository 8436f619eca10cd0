package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.l4.TlsTestSupport.TlsEchoServer;
import io.lodestone.tls.ServerTls;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** TLS in the TCP engine: passthrough routed by SNI (the proxy holds no key) and termination. */
class TcpTlsTest {

    private static X509Bundle ca;
    private static TlsEchoServer shop;
    private static TlsEchoServer api;
    private static TlsEchoServer www;

    @BeforeAll
    static void backends() throws Exception {
        ca = TlsTestSupport.ca();
        shop = new TlsEchoServer(TlsTestSupport.server(ca, "shop.example"));
        api = new TlsEchoServer(TlsTestSupport.server(ca, "api.example"));
        www = new TlsEchoServer(TlsTestSupport.server(ca, "www.example"));
    }

    @AfterAll
    static void stop() {
        shop.close();
        api.close();
        www.close();
    }

    /** A fresh client context per connection, so that no session is resumed across backends. */
    private static SSLSocket tlsConnect(int port, String sni, String... protocols) throws IOException {
        try {
            return TlsTestSupport.connect(TlsTestSupport.clientContext(ca), port, sni, protocols);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Proxy passthrough() {
        return passthrough(AccessLog.off(), Duration.ofMinutes(5));
    }

    private static Proxy passthrough(AccessLog accessLog, Duration clientTimeout) {
        Proxy proxy = Proxy.builder()
                .accessLog(accessLog)
                .backend(Backend.named("shop").server("s1", shop.address()))
                .backend(Backend.named("api").server("a1", api.address()))
                .backend(Backend.named("www").server("w1", www.address()))
                .frontend(TcpFrontend.bind("127.0.0.1:0")
                        .name("sni")
                        .tlsPassthrough()
                        .clientTimeout(clientTimeout)
                        .rule(Rule.when(Acl.sni("shop.example")).use("shop"))
                        .rule(Rule.when(Acl.sni("api.example")).use("api"))
                        .defaultBackend("www"))
                .build();
        proxy.start();
        return proxy;
    }

    @Test
    void passthroughRoutesEachSniNameToItsBackendWhichPresentsItsOwnCertificate() throws IOException {
        try (Proxy proxy = passthrough()) {
            try (SSLSocket s = tlsConnect(proxy.port(), "shop.example")) {
                assertThat(TlsTestSupport.peerName(s)).isEqualTo("CN=shop.example");
                assertEcho(s, "to the shop");
            }
            try (SSLSocket s = tlsConnect(proxy.port(), "api.example")) {
                assertThat(TlsTestSupport.peerName(s)).isEqualTo("CN=api.example");
                assertEcho(s, "to the api");
            }
            try (SSLSocket s = tlsConnect(proxy.port(), "other.example")) {
                assertThat(TlsTestSupport.peerName(s)).isEqualTo("CN=www.example");
                assertEcho(s, "to the default");
            }
        }
    }

    @Test
    void passthroughClosesAConnectionThatDoesNotStartWithAClientHello() throws IOException {
        int before = shop.accepted.get() + api.accepted.get() + www.accepted.get();
        try (Proxy proxy = passthrough(); Socket s = connect(proxy.port())) {
            s.getOutputStream().write(TlsTestSupport.ascii("GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"));
            assertThat(isClosedByPeer(s)).isTrue();
        }
        assertThat(shop.accepted.get() + api.accepted.get() + www.accepted.get()).isEqualTo(before);
    }

    @Test
    void passthroughClosesAClientThatSendsNoClientHelloWithinTheClientTimeout() throws IOException {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("www").server("w1", www.address()))
                .frontend(TcpFrontend.bind("127.0.0.1:0").tlsPassthrough().clientTimeout(Duration.ofMillis(200))
                        .defaultBackend("www"))
                .build();
        proxy.start();
        try (proxy; Socket s = connect(proxy.port())) {
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01});
            assertThat(isClosedByPeer(s)).isTrue();
        }
    }

    private static int backendsAccepted() {
        return shop.accepted.get() + api.accepted.get() + www.accepted.get();
    }

    private static ErrorCounts frontendErrors(Proxy proxy) {
        return proxy.metrics().frontend("sni").traffic().errors();
    }

    @Test
    void passthroughLogsANonTlsConnectionAsAProtocolRejectionAndCountsItDenied() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        int before = backendsAccepted();
        try (Proxy proxy = passthrough(AccessLog.text(lines), Duration.ofMinutes(5)); Socket s = connect(proxy.port())) {
            s.getOutputStream().write(TlsTestSupport.ascii("GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"));
            assertThat(isClosedByPeer(s)).isTrue();
            assertThat(lines.await(l -> l.contains(" sni "))).contains(" sni -/- ").contains(" PR \"-\" ");
            assertThat(frontendErrors(proxy).denied()).isEqualTo(1);
            assertThat(frontendErrors(proxy).total()).isEqualTo(1);
        }
        assertThat(backendsAccepted()).isEqualTo(before);
    }

    @Test
    void passthroughLogsAClientHelloOverTheBoundAsAProtocolRejection() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        int before = backendsAccepted();
        try (Proxy proxy = passthrough(AccessLog.text(lines), Duration.ofMinutes(5)); Socket s = connect(proxy.port())) {
            // a handshake record whose ClientHello announces 40,000 bytes: more than the 32 KiB the proxy reads
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, (byte) 0x9c, 0x40});
            assertThat(isClosedByPeer(s)).isTrue();
            assertThat(lines.await(l -> l.contains(" sni "))).contains(" PR \"-\" ");
            assertThat(frontendErrors(proxy).denied()).isEqualTo(1);
        }
        assertThat(backendsAccepted()).isEqualTo(before);
    }

    @Test
    void passthroughLogsAClientHelloTimeoutAsAClientTimeoutInTheRequest() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        int before = backendsAccepted();
        try (Proxy proxy = passthrough(AccessLog.text(lines), Duration.ofMillis(200)); Socket s = connect(proxy.port())) {
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01});
            assertThat(isClosedByPeer(s)).isTrue();
            assertThat(lines.await(l -> l.contains(" sni "))).contains(" cR \"-\" ");
            assertThat(frontendErrors(proxy).timeout()).isEqualTo(1);
            assertThat(frontendErrors(proxy).total()).isEqualTo(1);
        }
        assertThat(backendsAccepted()).isEqualTo(before);
    }

    @Test
    void passthroughLogsAClientThatLeavesBeforeItsWholeClientHelloAsAClientAbortInTheRequest() throws IOException {
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = passthrough(AccessLog.text(lines), Duration.ofMinutes(5))) {
            try (Socket s = connect(proxy.port())) {
                s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01});
            }
            assertThat(lines.await(l -> l.contains(" sni "))).contains(" CR \"-\" ");
            assertThat(frontendErrors(proxy).total()).isZero();
        }
    }

    @Test
    void terminationRelaysPlaintextAndRoutesOnTheHandshakeSni() throws Exception {
        try (TcpEchoServer plainA = TcpEchoServer.start(); TcpEchoServer plainB = TcpEchoServer.start();
             ServerTls tls = TlsTestSupport.serverTls(TlsTestSupport.server(ca, "proxy.example"),
                     TlsTestSupport.server(ca, "b.example"))) {
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named("a").server("a1", plainA.address()))
                    .backend(Backend.named("b").server("b1", plainB.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").tls(tls)
                            .rule(Rule.when(Acl.sni("b.example")).use("b"))
                            .defaultBackend("a"))
                    .build();
            proxy.start();
            try (proxy) {
                try (SSLSocket s = tlsConnect(proxy.port(), "proxy.example")) {
                    assertThat(TlsTestSupport.peerName(s)).isEqualTo("CN=proxy.example");
                    assertEcho(s, "plaintext behind");
                }
                try (SSLSocket s = tlsConnect(proxy.port(), "b.example")) {
                    assertThat(TlsTestSupport.peerName(s)).isEqualTo("CN=b.example");
                    assertEcho(s, "to b");
                }
                assertThat(plainA.accepted()).isEqualTo(1);
                assertThat(plainB.accepted()).isEqualTo(1);
                // TLS 1.1 is refused before any backend is contacted
                assertThatThrownBy(() -> tlsConnect(proxy.port(), "proxy.example", "TLSv1.1"))
                        .isInstanceOf(SSLException.class);
                assertThat(plainA.accepted()).isEqualTo(1);
            }
        }
    }

    /**
     * On io_uring this also checks the close guard: the TLS handler closes while its alert is in
     * flight and then asks for another read, which, without the guard, left the socket open with a
     * poll pending and the client waiting for a close that never came.
     */
    @Test
    void terminationLogsAClientThatDoesNotSpeakTlsAsAProtocolRejection() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (TcpEchoServer plain = TcpEchoServer.start();
             ServerTls tls = TlsTestSupport.serverTls(TlsTestSupport.server(ca, "proxy.example"))) {
            Proxy proxy = Proxy.builder()
                    .accessLog(AccessLog.text(lines))
                    .backend(Backend.named("a").server("a1", plain.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("sni").tls(tls).defaultBackend("a"))
                    .build();
            proxy.start();
            try (proxy; Socket s = connect(proxy.port())) {
                s.getOutputStream().write(TlsTestSupport.ascii("GET / HTTP/1.1\r\nHost: proxy.example\r\n\r\n"));
                assertThat(isClosedByPeer(s)).isTrue();
                assertThat(lines.await(l -> l.contains(" sni "))).contains(" PR \"-\" ");
                assertThat(frontendErrors(proxy).denied()).isEqualTo(1);
                assertThat(plain.accepted()).isZero();
            }
        }
    }

    @Test
    void tlsAndPassthroughTogetherFailAtBuild() throws Exception {
        try (ServerTls tls = TlsTestSupport.serverTls(TlsTestSupport.server(ca, "x.example"))) {
            assertThatThrownBy(() -> TcpFrontend.bind(0).tls(tls).tlsPassthrough().defaultBackend("b").build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("tls");
        }
    }
}
