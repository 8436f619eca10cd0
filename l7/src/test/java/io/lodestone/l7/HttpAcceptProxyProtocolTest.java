package io.lodestone.l7;

import static io.lodestone.core.testing.ProxyHeaders.ascii;
import static io.lodestone.core.testing.ProxyHeaders.concat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.core.testing.ProxyHeaders;
import io.lodestone.tls.ServerTls;
import io.netty.pkitesting.X509Bundle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP frontends that accept the PROXY protocol from their clients: the header's client is the one in
 * {@code X-Forwarded-For}, {@code X-Real-IP} and {@code Forwarded}, in source ACLs and in the access
 * log; a connection without a valid header is closed without an answer and the next one served.
 * Headers are written by hand ({@link ProxyHeaders}) over raw sockets; a recording backend shows what
 * the server saw.
 */
class HttpAcceptProxyProtocolTest {

    private static final String GET = "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n";

    private final CapturingLogger lines = new CapturingLogger();
    private RecordingBackend backend;
    private Proxy proxy;
    private ServerTls tls;

    @AfterEach
    void close() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
        if (tls != null) {
            tls.close();
        }
    }

    private int start(HttpFrontend.Builder frontend) {
        backend = RecordingBackend.start("app");
        proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(frontend.name("web").defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    private ErrorCounts errors() {
        return proxy.metrics().frontend("web").traffic().errors();
    }

    private static RawHttp.Response exchange(int port, byte[] header, String request) throws IOException {
        try (RawHttp c = new RawHttp(port)) {
            c.out.write(concat(header, ascii(request)));
            c.out.flush();
            return c.read();
        }
    }

    /** Version 1: the forwarded headers and the access log name the header's client. */
    @Test
    void aVersion1HeadersClientIsForwardedAndLogged() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().forwarded(true));
        RawHttp.Response r = exchange(port, ProxyHeaders.v1("192.0.2.10", 40000, "198.51.100.1", 443), GET);
        assertThat(r.status()).isEqualTo(200);
        RecordingBackend.Recorded seen = backend.last();
        assertThat(seen.header("x-forwarded-for")).isEqualTo("192.0.2.10");
        assertThat(seen.header("x-real-ip")).isEqualTo("192.0.2.10");
        assertThat(seen.header("forwarded")).startsWith("for=192.0.2.10;");
        assertThat(lines.await(l -> l.contains(" web "))).startsWith("192.0.2.10:40000 ");
    }

    /** Version 2 (with a TLV, ignored), several requests on the kept-alive connection: each is forwarded for the header's client. */
    @Test
    void aVersion2HeaderHoldsForTheWholeConnection() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol());
        try (RawHttp c = new RawHttp(port)) {
            c.out.write(ProxyHeaders.v2("203.0.113.7", 51000, "198.51.100.1", 443, ProxyHeaders.tlv(0x02, "example.com")));
            c.send(GET);
            assertThat(c.read().status()).isEqualTo(200);
            assertThat(backend.last().header("x-forwarded-for")).isEqualTo("203.0.113.7");
            assertThat(c.send(GET).read().status()).isEqualTo(200);
            assertThat(backend.last().header("x-forwarded-for")).isEqualTo("203.0.113.7");
        }
        assertThat(lines.awaitCount(2)).allSatisfy(l -> assertThat(l).startsWith("203.0.113.7:51000 "));
    }

    /** HTTP/2 with prior knowledge after the header: every stream of the connection is forwarded for the header's client. */
    @Test
    void everyStreamOfAnHttp2ConnectionIsForwardedForTheHeadersClient() throws Exception {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().h2c(true));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(concat(ProxyHeaders.v2("203.0.113.9", 52000, "198.51.100.1", 80),
                    ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")));
            s.getOutputStream().write(Http2Test.frame(0, 4, 0, new byte[0]));
            s.getOutputStream().write(Http2Test.headers(1, true));
            s.getOutputStream().flush();
            assertThat(Http2Test.readUntilFrame(s.getInputStream(), 1, 1)).isTrue();
            s.getOutputStream().write(Http2Test.headers(3, true));
            s.getOutputStream().flush();
            assertThat(Http2Test.readUntilFrame(s.getInputStream(), 1, 3)).isTrue();
        }
        assertThat(backend.requests).hasSize(2)
                .allSatisfy(r -> assertThat(r.header("x-forwarded-for")).isEqualTo("203.0.113.9"));
        assertThat(lines.awaitCount(2)).allSatisfy(l -> assertThat(l).startsWith("203.0.113.9:52000 "));
    }

    /** A LOCAL command or an UNKNOWN family keeps the connection's own address. */
    @Test
    void aLocalCommandOrUnknownFamilyKeepsTheConnectionsOwnAddress() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol());
        assertThat(exchange(port, ProxyHeaders.v2Local(), GET).status()).isEqualTo(200);
        assertThat(backend.last().header("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(exchange(port, ProxyHeaders.v1Unknown(), GET).status()).isEqualTo(200);
        assertThat(backend.last().header("x-forwarded-for")).isEqualTo("127.0.0.1");
    }

    /** A source ACL sees the header's address, though every connection comes from 127.0.0.1. */
    @Test
    void anAclOnTheSourceSeesTheHeadersAddress() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol()
                .rule(Rule.when(Acl.source("192.0.2.0/24")).deny(403)));
        assertThat(exchange(port, ProxyHeaders.v1("192.0.2.99", 1234, "127.0.0.1", port), GET).status()).isEqualTo(403);
        assertThat(exchange(port, ProxyHeaders.v2("203.0.113.5", 1234, "127.0.0.1", port), GET).status()).isEqualTo(200);
        assertThat(backend.requests).hasSize(1);
    }

    /** Per-source limits count the header's source: a second connection "from" 192.0.2.10 is refused while the first is open. */
    @Test
    void perSourceLimitsCountTheHeadersSource() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().maxConnectionsPerSource(1));
        try (RawHttp first = new RawHttp(port); RawHttp second = new RawHttp(port)) {
            first.out.write(ProxyHeaders.v1("192.0.2.10", 1000, "127.0.0.1", port));
            assertThat(first.send(GET).read().status()).isEqualTo(200);
            second.out.write(concat(ProxyHeaders.v1("192.0.2.10", 1001, "127.0.0.1", port), ascii(GET)));
            assertThat(second.closedByPeer()).isTrue();
            assertThat(exchange(port, ProxyHeaders.v1("192.0.2.11", 1000, "127.0.0.1", port), GET).status()).isEqualTo(200);
        }
        assertThat(proxy.metrics().frontend("web").refusedConnections()).isEqualTo(1);
    }

    /**
     * A connection that starts with a request, or with a malformed header, is closed without an answer
     * (no 400: HAProxy closes silently too) and counted invalid; the next one is served.
     */
    @Test
    void aConnectionWithoutAValidHeaderIsClosedWithoutAnAnswer() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol());
        try (RawHttp plain = new RawHttp(port)) {
            plain.send(GET);
            assertThat(plain.closedByPeer()).as("closed, nothing written").isTrue();
        }
        try (RawHttp malformed = new RawHttp(port)) {
            malformed.send("PROXY TCP4 192.0.2.1 127.0.0.1 99999 80\r\n" + GET);
            assertThat(malformed.closedByPeer()).isTrue();
        }
        try (RawHttp badV2 = new RawHttp(port)) {
            byte[] v2 = ProxyHeaders.v2("192.0.2.1", 1, "127.0.0.1", 2);
            v2[12] = 0x31; // version 3
            badV2.out.write(concat(v2, ascii(GET)));
            assertThat(badV2.closedByPeer()).isTrue();
        }
        assertThat(exchange(port, ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", port), GET).status()).isEqualTo(200);
        Await.until("three invalid headers counted", () -> errors().invalid() == 3);
        assertThat(backend.requests).hasSize(1);
        assertThat(lines.await(l -> l.contains(" web "))).startsWith("192.0.2.10:40000 ");
        assertThat(lines.lines()).hasSize(1);
        assertThat(proxy.metrics().frontend("web").traffic().totalConnections()).as("only the valid one opened").isEqualTo(1);
    }

    /**
     * A header whose addresses Netty's decoder lets through but that are no IP address (an IPv6 zone)
     * is as malformed as any other: closed without an answer and counted invalid, as HAProxy rejects
     * it. It was served as if it had been a {@code LOCAL} one, with the load balancer's address, which
     * ACLs and limits meant for the load balancer's network then let through.
     */
    @Test
    void aHeaderWhoseAddressesAreNoIpAddressesIsInvalid() throws IOException {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol()
                .rule(Rule.when(Acl.source("127.0.0.0/8")).use("app")));
        try (RawHttp zoned = new RawHttp(port)) {
            zoned.send("PROXY TCP6 fe80::1%eth0 ::1 40000 80\r\n" + GET);
            assertThat(zoned.closedByPeer()).as("closed, nothing written").isTrue();
        }
        Await.until("the invalid header counted", () -> errors().invalid() == 1);
        assertThat(backend.requests).isEmpty();
        assertThat(exchange(port, ProxyHeaders.v1("127.0.0.2", 40000, "127.0.0.1", port), GET).status()).isEqualTo(200);
    }

    /** Trusted sources: from 127.0.0.0/8 the header is read; from a network that excludes 127.0.0.1 it is a bad request line. */
    @Test
    void onlyTrustedSourcesHeadersAreRead() throws Exception {
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocolFrom("127.0.0.0/8"));
        assertThat(exchange(port, ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", port), GET).status()).isEqualTo(200);
        assertThat(backend.last().header("x-forwarded-for")).isEqualTo("192.0.2.10");
        close();
        proxy = null;
        backend = null;

        port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocolFrom("10.0.0.0/8", "2001:db8::/32"));
        assertThat(exchange(port, new byte[0], GET).status()).as("served with its own address").isEqualTo(200);
        assertThat(backend.last().header("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(exchange(port, ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", port), GET).status())
                .as("the header read as a request line").isEqualTo(400);
        assertThat(backend.requests).hasSize(1);
    }

    /** TLS termination: the header comes before the ClientHello; the request is forwarded for the header's client. */
    @Test
    void theHeaderComesBeforeTheClientHello() throws Exception {
        X509Bundle ca = TlsPki.ca();
        tls = TlsPki.serverTls(List.of("http/1.1"), TlsPki.server(ca, "www.example"));
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().tls(tls));
        try (Socket raw = new Socket("127.0.0.1", port)) {
            raw.getOutputStream().write(ProxyHeaders.v2("198.51.100.20", 33000, "127.0.0.1", 443));
            assertThat(getOverTls(raw, port, ca)).startsWith("HTTP/1.1 200 ");
        }
        assertThat(backend.last().header("x-forwarded-for")).isEqualTo("198.51.100.20");
        assertThat(lines.await(l -> l.contains(" web "))).startsWith("198.51.100.20:33000 ");
    }

    /**
     * TLS termination, the header and the ClientHello in one segment: the bytes after the header reach
     * the TLS handler once and in order when the reader and the decoder leave.
     */
    @Test
    void theHeaderAndTheClientHelloInOneSegment() throws Exception {
        X509Bundle ca = TlsPki.ca();
        tls = TlsPki.serverTls(List.of("http/1.1"), TlsPki.server(ca, "www.example"));
        int port = start(HttpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().tls(tls));
        try (Socket raw = new HeaderFirstSocket(ProxyHeaders.v1("198.51.100.22", 33002, "127.0.0.1", 443))) {
            raw.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            assertThat(getOverTls(raw, port, ca)).startsWith("HTTP/1.1 200 ");
        }
        assertThat(backend.last().header("x-forwarded-for")).isEqualTo("198.51.100.22");
    }

    /**
     * Layers TLS (SNI {@code www.example}) on {@code raw}, connected to the frontend on {@code port},
     * sends a {@code GET /tls} that closes the connection, and returns all of the answer.
     */
    private static String getOverTls(Socket raw, int port, X509Bundle ca) throws Exception {
        SSLSocket s = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(raw, "127.0.0.1", port, true);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName("www.example")));
        s.setSSLParameters(p);
        s.setSoTimeout(5000);
        s.startHandshake();
        s.getOutputStream().write(ascii("GET /tls HTTP/1.1\r\nHost: www.example\r\nConnection: close\r\n\r\n"));
        s.getOutputStream().flush();
        String answer = readAll(s.getInputStream());
        s.close();
        return answer;
    }

    /** A socket whose first write (the ClientHello of a TLS socket layered on it) starts with {@code header}, in one write. */
    static final class HeaderFirstSocket extends Socket {
        private final byte[] header;
        private java.io.OutputStream out;

        HeaderFirstSocket(byte[] header) throws IOException {
            this.header = header;
            setTcpNoDelay(true);
        }

        @Override
        public synchronized java.io.OutputStream getOutputStream() throws IOException {
            if (out == null) {
                java.io.OutputStream plain = super.getOutputStream();
                out = new java.io.FilterOutputStream(plain) {
                    private boolean sent;

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        if (!sent) {
                            sent = true;
                            plain.write(concat(header, Arrays.copyOfRange(b, off, off + len)));
                        } else {
                            plain.write(b, off, len);
                        }
                    }
                };
            }
            return out;
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * The header is bounded by the client timeout on the proxy's clock: 1 ms before it a client that
     * sent part of it can still finish; at it, one is closed without an answer and counted as a timeout.
     */
    @Test
    void theHeaderIsBoundedByTheClientTimeoutOnTheProxyClock() throws IOException {
        Duration timeout = Duration.ofSeconds(30);
        ManualClock clock = new ManualClock();
        try (ManualClockLoop loop = new ManualClockLoop(clock)) {
            backend = RecordingBackend.start("app");
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", backend.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").acceptProxyProtocol().clientTimeout(timeout)
                            .defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            byte[] header = ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", port);
            try (RawHttp early = new RawHttp(port)) {
                early.out.write(Arrays.copyOf(header, 10));
                early.out.flush();
                loop.awaitDueTimers();
                loop.awaitDueTimers();
                loop.advance(timeout.minus(Duration.ofMillis(1)));
                early.out.write(Arrays.copyOfRange(header, 10, header.length));
                assertThat(early.send(GET).read().status()).isEqualTo(200);
            }
            try (RawHttp late = new RawHttp(port)) {
                late.out.write(Arrays.copyOf(header, 10));
                late.out.flush();
                loop.awaitDueTimers();
                loop.awaitDueTimers();
                loop.advance(timeout.minus(Duration.ofMillis(1)));
                assertThat(errors().timeout()).isZero();
                loop.advance(Duration.ofMillis(1));
                assertThat(late.closedByPeer()).as("closed without a 408").isTrue();
            }
            Await.until("the timeout counted", () -> errors().timeout() == 1);
            proxy.close();
            proxy = null;
        }
    }

    /**
     * The proxy's drain closes a connection still waiting for its header at once, as it closes an idle
     * keep-alive connection (HAProxy's soft stop closes one that has sent no request yet), and the
     * close returns without waiting for it. It was held until the header's timeout, or the drain
     * timeout when that was shorter.
     */
    @Test
    void theDrainClosesAConnectionStillWaitingForItsHeader() throws Exception {
        ManualClock clock = new ManualClock();
        try (ManualClockLoop loop = new ManualClockLoop(clock)) {
            backend = RecordingBackend.start("app");
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", backend.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").acceptProxyProtocol().clientTimeout(Duration.ofMinutes(5))
                            .defaultBackend("app"))
                    .build();
            proxy.start();
            byte[] header = ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", proxy.port());
            try (RawHttp waiting = new RawHttp(proxy.port())) {
                waiting.socket.setSoTimeout(5_000);
                waiting.out.write(Arrays.copyOf(header, 10));
                waiting.out.flush();
                loop.awaitDueTimers();
                loop.awaitDueTimers();
                Proxy stopping = proxy;
                Thread closer = new Thread(() -> stopping.close(Duration.ofMinutes(1)), "closer");
                closer.start();
                assertThat(waiting.closedByPeer()).as("closed by the drain").isTrue();
                closer.join(10_000);
                assertThat(closer.isAlive()).as("the close still waiting").isFalse();
            }
            assertThat(errors().timeout()).isZero();
            assertThat(backend.requests).isEmpty();
            proxy = null;
        }
    }

    @Test
    void trustedSourcesAreCheckedAtBuild() {
        assertThatThrownBy(() -> HttpFrontend.bind(0).name("web").defaultBackend("b").acceptProxyProtocolFrom().build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend web acceptProxyProtocolFrom: []");
        assertThatThrownBy(() -> HttpFrontend.bind(0).name("web").defaultBackend("b").acceptProxyProtocolFrom("2001:db8::/129").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend web acceptProxyProtocolFrom: 2001:db8::/129 (expected:");
        assertThatThrownBy(() -> HttpFrontend.bind(0).name("web").defaultBackend("b").acceptProxyProtocolFrom((String) null).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend web acceptProxyProtocolFrom: null");
        HttpFrontend f = HttpFrontend.bind(0).defaultBackend("b").acceptProxyProtocolFrom("10.0.0.0/8", "192.0.2.7").build();
        assertThat(f.acceptsProxyProtocol()).isTrue();
        assertThat(f.proxyProtocolSources()).containsExactly("10.0.0.0/8", "192.0.2.7");
        assertThat(HttpFrontend.bind(0).defaultBackend("b").acceptProxyProtocol().build().proxyProtocolSources()).isEmpty();
        assertThat(HttpFrontend.bind(0).defaultBackend("b").build().acceptsProxyProtocol()).isFalse();
    }
}
