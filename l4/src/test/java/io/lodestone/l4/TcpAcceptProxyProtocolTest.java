package io.lodestone.l4;

import static io.lodestone.core.testing.ProxyHeaders.ascii;
import static io.lodestone.core.testing.ProxyHeaders.concat;
import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.readExactly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.core.testing.ProxyHeaders;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.l4.TcpProxyProtocolTest.Header;
import io.lodestone.l4.TlsTestSupport.TlsEchoServer;
import io.lodestone.tls.ServerTls;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TCP frontends that accept the PROXY protocol from their clients: the header's addresses stand for
 * the client's in rules, per-source limits, the access log and the PROXY header sent on to the server;
 * a connection without a valid header is closed and the next one served. Headers are written by hand
 * ({@link ProxyHeaders}) over raw sockets.
 */
class TcpAcceptProxyProtocolTest {

    private static EventLoopGroup group;
    private final CapturingLogger lines = new CapturingLogger();
    private TcpEchoServer echo;
    private Proxy proxy;
    /** A server that records the PROXY headers it gets ({@link #passingOn}), closed after each test. */
    private Channel headerServer;

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close(Duration.ZERO);
        }
        if (echo != null) {
            echo.close();
        }
        if (headerServer != null) {
            headerServer.close().syncUninterruptibly();
        }
    }

    private static String address(Channel server) {
        return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
    }

    private Proxy start(Backend.Builder backend, TcpFrontend.Builder frontend) {
        proxy = Proxy.builder().accessLog(AccessLog.text(lines)).backend(backend).frontend(frontend.name("pp")).build();
        proxy.start();
        return proxy;
    }

    /**
     * Starts a frontend that accepts the PROXY protocol in front of a server that records the headers
     * it gets into {@code headers}, sent to it in version {@code out}.
     */
    private void passingOn(ProxyProtocol out, BlockingQueue<Header> headers) {
        headerServer = TcpProxyProtocolTest.proxyProtocolServer(group, headers);
        start(Backend.named("pp-out").server("s1", address(headerServer)).proxyProtocol(out),
                TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().defaultBackend("pp-out"));
    }

    private Proxy startEcho(TcpFrontend.Builder frontend) {
        echo = TcpEchoServer.start();
        return start(Backend.named("echo").server("e1", echo.address()), frontend.defaultBackend("echo"));
    }

    private ErrorCounts errors() {
        return proxy.metrics().frontend("pp").traffic().errors();
    }

    private static void write(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    /** The client of a header is the one the server's PROXY header names (v1 in, v1 out) and the access log shows. */
    @Test
    void aVersion1HeadersClientIsPassedOnToTheServerAndLogged() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        passingOn(ProxyProtocol.V1, headers);
        try (Socket c = connect(proxy.port())) {
            write(c, ProxyHeaders.v1("192.0.2.10", 40000, "198.51.100.1", 5432));
            assertEcho(c, "after the header");
            assertThat(headers.poll(5, TimeUnit.SECONDS))
                    .isEqualTo(new Header(HAProxyProtocolVersion.V1, "192.0.2.10", 40000, "198.51.100.1", 5432));
        }
        assertThat(lines.await(l -> l.contains(" pp "))).startsWith("192.0.2.10:40000 ");
    }

    /**
     * A header whose source is IPv4-mapped and destination plain IPv6 (the JVM reads the first as an IPv4
     * address): passed on as TCP6 with the IPv4 address mapped, as HAProxy does for mixed families, in
     * version 1 and 2 (the header comes in as version 1); the destination is kept, not written {@code 0.0.0.0}.
     */
    @Test
    void mixedFamiliesArePassedOnAsTcp6WithTheIpv4AddressMapped() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        passingOn(ProxyProtocol.V1, headers);
        try (Socket c = connect(proxy.port())) {
            write(c, ProxyHeaders.v1("::ffff:192.0.2.10", 40000, "2001:db8::1", 5432));
            assertEcho(c, "mixed");
            assertThat(headers.poll(5, TimeUnit.SECONDS))
                    .isEqualTo(new Header(HAProxyProtocolVersion.V1, "::ffff:192.0.2.10", 40000, "2001:db8::1", 5432));
        }
        try (Socket c = connect(proxy.port())) {
            write(c, ProxyHeaders.v1("2001:db8::7", 51000, "::ffff:198.51.100.1", 443));
            assertEcho(c, "the other way");
            assertThat(headers.poll(5, TimeUnit.SECONDS))
                    .isEqualTo(new Header(HAProxyProtocolVersion.V1, "2001:db8::7", 51000, "::ffff:198.51.100.1", 443));
        }
        proxy.close(Duration.ZERO);
        headerServer.close().syncUninterruptibly();
        passingOn(ProxyProtocol.V2, headers);
        try (Socket c = connect(proxy.port())) {
            write(c, ProxyHeaders.v1("::ffff:192.0.2.10", 40000, "2001:db8::1", 5432));
            assertEcho(c, "mixed, v2 out");
            Header h = headers.poll(5, TimeUnit.SECONDS);
            assertThat(h).isNotNull();
            assertThat(h.version()).isEqualTo(HAProxyProtocolVersion.V2);
            assertThat(h.source()).as("TCP6, the IPv4 address mapped").isEqualTo("0:0:0:0:0:ffff:c000:20a");
            assertThat(InetAddress.getByName(h.destination())).isEqualTo(InetAddress.getByName("2001:db8::1"));
        }
    }

    /** Version 2, with a TLV (ignored), and the bytes after the header in the same write: v2 out carries the header's addresses. */
    @Test
    void aVersion2HeaderWithATlvIsPassedOnAsVersion2() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        passingOn(ProxyProtocol.V2, headers);
        try (Socket c = connect(proxy.port())) {
            byte[] header = ProxyHeaders.v2("2001:db8::7", 51000, "2001:db8::1", 443, ProxyHeaders.tlv(0x02, "example.com"));
            write(c, concat(header, ascii("early")));
            assertThat(new String(readExactly(c.getInputStream(), 5), StandardCharsets.US_ASCII)).isEqualTo("early");
            Header h = headers.poll(5, TimeUnit.SECONDS);
            assertThat(h).isNotNull();
            assertThat(h.version()).isEqualTo(HAProxyProtocolVersion.V2);
            assertThat(InetAddress.getByName(h.source())).isEqualTo(InetAddress.getByName("2001:db8::7"));
            assertThat(h.sourcePort()).isEqualTo(51000);
            assertThat(InetAddress.getByName(h.destination())).isEqualTo(InetAddress.getByName("2001:db8::1"));
            assertThat(h.destinationPort()).isEqualTo(443);
        }
        assertThat(lines.await(l -> l.contains(" pp "))).startsWith("[2001:db8::7]:51000 ");
    }

    /** A LOCAL command (a load balancer's health check) keeps the connection's own addresses. */
    @Test
    void aLocalCommandKeepsTheConnectionsOwnAddress() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        passingOn(ProxyProtocol.V1, headers);
        try (Socket c = connect(proxy.port())) {
            write(c, ProxyHeaders.v2Local());
            assertEcho(c, "health");
            assertThat(headers.poll(5, TimeUnit.SECONDS))
                    .isEqualTo(new Header(HAProxyProtocolVersion.V1, "127.0.0.1", c.getLocalPort(), "127.0.0.1", proxy.port()));
        }
        try (Socket c = connect(proxy.port())) {
            write(c, ProxyHeaders.v1Unknown());
            assertEcho(c, "unknown");
            assertThat(headers.poll(5, TimeUnit.SECONDS))
                    .isEqualTo(new Header(HAProxyProtocolVersion.V1, "127.0.0.1", c.getLocalPort(), "127.0.0.1", proxy.port()));
        }
    }

    /** An ACL on the source sees the header's address: 192.0.2.0/24 is denied, others relayed, all from 127.0.0.1. */
    @Test
    void anAclOnTheSourceRoutesOnTheHeadersAddress() throws IOException {
        startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol()
                .rule(Rule.when(Acl.source("192.0.2.0/24")).deny()));
        try (Socket denied = connect(proxy.port())) {
            write(denied, ProxyHeaders.v1("192.0.2.99", 1234, "127.0.0.1", proxy.port()));
            assertThat(isClosedByPeer(denied)).isTrue();
        }
        try (Socket allowed = connect(proxy.port())) {
            write(allowed, ProxyHeaders.v2("203.0.113.5", 1234, "127.0.0.1", proxy.port()));
            assertEcho(allowed, "allowed");
        }
        Await.until("the denied connection counted", () -> errors().denied() == 1);
    }

    /**
     * Source hashing picks on the header's address: for each of several clients behind one load
     * balancer the server is the one {@code proxy.routeAndPick} names for that address.
     */
    @Test
    void sourceHashingPicksOnTheHeadersAddress() throws IOException {
        try (TcpEchoServer a = TcpEchoServer.start(); TcpEchoServer b = TcpEchoServer.start()) {
            start(Backend.named("pair").balance(BalancingStrategy.sourceHash()).server("a", a.address()).server("b", b.address()),
                    TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().defaultBackend("pair"));
            Set<String> picked = new HashSet<>();
            for (int i = 1; i <= 8; i++) {
                String client = "192.0.2." + i;
                String expected = proxy.routeAndPick("pp", TestRequest.get("/").source(client)).serverName();
                picked.add(expected);
                int before = (expected.equals("a") ? a : b).accepted();
                try (Socket c = connect(proxy.port())) {
                    write(c, ProxyHeaders.v1(client, 40000 + i, "127.0.0.1", 5432));
                    assertEcho(c, "from " + client);
                }
                assertThat((expected.equals("a") ? a : b).accepted()).as(client).isEqualTo(before + 1);
            }
            assertThat(picked).as("the eight clients are spread over both servers").containsExactlyInAnyOrder("a", "b");
        }
    }

    /** The per-source limits count the header's source: a second connection "from" 192.0.2.10 is refused, another source served. */
    @Test
    void perSourceLimitsCountTheHeadersSource() throws IOException {
        startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().maxConnectionsPerSource(1));
        try (Socket first = connect(proxy.port()); Socket second = connect(proxy.port()); Socket other = connect(proxy.port())) {
            write(first, ProxyHeaders.v1("192.0.2.10", 1000, "127.0.0.1", 5432));
            assertEcho(first, "first");
            write(second, ProxyHeaders.v1("192.0.2.10", 1001, "127.0.0.1", 5432));
            assertThat(isClosedByPeer(second)).isTrue();
            write(other, ProxyHeaders.v1("192.0.2.11", 1000, "127.0.0.1", 5432));
            assertEcho(other, "another source");
        }
        assertThat(proxy.metrics().frontend("pp").refusedConnections()).isEqualTo(1);
    }

    /** A connection without a header (or with a malformed one) is closed, counted invalid, and the next one is served. */
    @Test
    void aConnectionWithoutAValidHeaderIsClosedAndTheNextServed() throws IOException {
        startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol());
        try (Socket plain = connect(proxy.port())) {
            write(plain, ascii("SSH-2.0-OpenSSH_9.6\r\n"));
            assertThat(isClosedByPeer(plain)).isTrue();
        }
        try (Socket malformed = connect(proxy.port())) {
            write(malformed, ascii("PROXY TCP4 192.0.2.300 127.0.0.1 1 2\r\nhello"));
            assertThat(isClosedByPeer(malformed)).isTrue();
        }
        try (Socket tooLong = connect(proxy.port())) {
            // no CRLF within the 107 bytes a version 1 line may have
            write(tooLong, ascii("PROXY TCP4 " + "1".repeat(120)));
            assertThat(isClosedByPeer(tooLong)).isTrue();
        }
        try (Socket good = connect(proxy.port())) {
            write(good, ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", 5432));
            assertEcho(good, "served");
        }
        Await.until("three invalid headers counted", () -> errors().invalid() == 3);
        assertThat(echo.accepted()).as("only the valid one reached the server").isEqualTo(1);
        assertThat(lines.await(l -> l.contains(" pp "))).startsWith("192.0.2.10:40000 ");
        assertThat(lines.lines()).hasSize(1);
    }

    /**
     * A version 1 line is at most 107 bytes, CRLF included (the protocol's own bound, which HAProxy and
     * Squid hold): the longest one, sent one byte at a time and followed by data, is read and the data
     * relayed; one byte more is refused as malformed, and so is one of 110 bytes that Netty's decoder took.
     */
    @Test
    void aVersion1LineOfAtMost107BytesIsReadAndALongerOneRefused() throws IOException {
        startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol());
        String six = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        byte[] longest = ascii("PROXY UNKNOWN " + six + " " + six + " 65535 65535\r\n");
        assertThat(longest).hasSize(107);
        try (Socket split = connect(proxy.port())) {
            for (byte b : longest) {
                write(split, new byte[] {b});
            }
            assertEcho(split, "after the longest line");
        }
        try (Socket oneMore = connect(proxy.port())) {
            write(oneMore, ascii("PROXY UNKNOWN " + six + " " + six + " 65535 655350\r\nhello"));
            assertThat(isClosedByPeer(oneMore)).isTrue();
        }
        try (Socket threeMore = connect(proxy.port())) {
            write(threeMore, ascii("PROXY TCP6 " + six + " " + six + " 65535 65535" + " ".repeat(6) + "\r\nhello"));
            assertThat(isClosedByPeer(threeMore)).isTrue();
        }
        Await.until("two invalid headers counted", () -> errors().invalid() == 2);
        assertThat(echo.accepted()).as("only the valid line reached the server").isEqualTo(1);
    }

    /** Trusted sources: from 127.0.0.0/8 the header is read; with a network that excludes 127.0.0.1, its bytes are data. */
    @Test
    void onlyTrustedSourcesHeadersAreRead() throws IOException {
        startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocolFrom("10.0.0.0/8", "127.0.0.0/8"));
        try (Socket trusted = connect(proxy.port())) {
            write(trusted, ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", 5432));
            assertEcho(trusted, "read");
        }
        assertThat(lines.await(l -> l.contains(" pp "))).startsWith("192.0.2.10:40000 ");
        proxy.close(Duration.ZERO);
        echo.close();

        startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocolFrom("10.0.0.0/8"));
        byte[] header = ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", 5432);
        try (Socket untrusted = connect(proxy.port())) {
            write(untrusted, header);
            assertThat(readExactly(untrusted.getInputStream(), header.length)).as("relayed as data").isEqualTo(header);
            assertEcho(untrusted, "plain");
        }
        String line = lines.await(l -> l.contains(" pp ") && l.startsWith("127.0.0.1:"));
        assertThat(line).startsWith("127.0.0.1:");
        assertThat(errors().total()).isZero();
    }

    /** TLS termination: the header comes before the ClientHello; the client it names is logged. */
    @Test
    void theHeaderComesBeforeTheClientHelloOfATerminatingFrontend() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        try (ServerTls serverTls = TlsTestSupport.serverTls(TlsTestSupport.server(ca, "www.example"))) {
            startEcho(TcpFrontend.bind("127.0.0.1:0").acceptProxyProtocol().tls(serverTls));
            try (Socket raw = connect(proxy.port())) {
                write(raw, ProxyHeaders.v2("198.51.100.20", 33000, "127.0.0.1", 443));
                try (SSLSocket tls = startTls(ca, raw, "www.example")) {
                    assertEcho(tls, "over tls");
                }
            }
            assertThat(lines.await(l -> l.contains(" pp "))).startsWith("198.51.100.20:33000 ");
            proxy.close(Duration.ZERO);
            proxy = null;
        }
    }

    /** SNI passthrough: the header comes before the ClientHello, which is routed on its SNI and relayed untouched. */
    @Test
    void theHeaderComesBeforeTheClientHelloOfAPassthroughFrontend() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        try (TlsEchoServer shop = new TlsEchoServer(TlsTestSupport.server(ca, "shop.example"))) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("shop").server("s1", shop.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("pp").acceptProxyProtocol().tlsPassthrough()
                            .rule(Rule.when(Acl.and(Acl.sni("shop.example"), Acl.source("198.51.100.0/24"))).use("shop")))
                    .build();
            proxy.start();
            try (Socket raw = connect(proxy.port())) {
                write(raw, ProxyHeaders.v1("198.51.100.21", 33001, "127.0.0.1", 443));
                try (SSLSocket tls = startTls(ca, raw, "shop.example")) {
                    assertEcho(tls, "passed through");
                }
            }
            assertThat(lines.await(l -> l.contains(" pp "))).startsWith("198.51.100.21:33001 ").contains(" shop/s1 ");
        }
    }

    private static SSLSocket startTls(X509Bundle ca, Socket raw, String sni) throws Exception {
        SSLSocket tls = (SSLSocket) TlsTestSupport.clientContext(ca).getSocketFactory()
                .createSocket(raw, "127.0.0.1", raw.getPort(), true);
        SSLParameters p = tls.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(sni)));
        tls.setSSLParameters(p);
        tls.setSoTimeout(5000);
        tls.startHandshake();
        return tls;
    }

    /**
     * The header must be whole within the client timeout, on the proxy's clock: 1 ms before it a
     * client that sent part of it can still finish; at it, one is closed and counted as a timeout.
     */
    @Test
    void theHeaderIsBoundedByTheClientTimeoutOnTheProxyClock() throws IOException {
        Duration timeout = Duration.ofSeconds(30);
        ManualClock clock = new ManualClock();
        try (ManualClockLoop loop = new ManualClockLoop(clock)) {
            echo = TcpEchoServer.start();
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                    .backend(Backend.named("echo").server("e1", echo.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("pp").acceptProxyProtocol().clientTimeout(timeout)
                            .defaultBackend("echo"))
                    .build();
            proxy.start();
            byte[] header = ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", 5432);
            try (Socket early = connect(proxy.port())) {
                write(early, Arrays.copyOf(header, 10));
                loop.awaitDueTimers();
                loop.awaitDueTimers();
                loop.advance(timeout.minus(Duration.ofMillis(1)));
                write(early, Arrays.copyOfRange(header, 10, header.length));
                assertEcho(early, "in time");
            }
            try (Socket late = connect(proxy.port())) {
                write(late, Arrays.copyOf(header, 10));
                loop.awaitDueTimers();
                loop.awaitDueTimers();
                loop.advance(timeout.minus(Duration.ofMillis(1)));
                assertThat(errors().timeout()).isZero();
                loop.advance(Duration.ofMillis(1));
                assertThat(isClosedByPeer(late)).isTrue();
            }
            Await.until("the timeout counted", () -> errors().timeout() == 1);
            assertThat(echo.accepted()).isEqualTo(1);
            proxy.close(Duration.ZERO);
            proxy = null;
        }
    }

    /**
     * The proxy's drain closes a connection still waiting for its header at once (HAProxy's soft stop
     * closes one that has sent nothing yet), while a relayed one goes on; the close returns once that
     * one ends. It was held until the header's timeout, or the drain timeout when that was shorter.
     */
    @Test
    void theDrainClosesAConnectionStillWaitingForItsHeader() throws Exception {
        ManualClock clock = new ManualClock();
        try (ManualClockLoop loop = new ManualClockLoop(clock)) {
            echo = TcpEchoServer.start();
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                    .backend(Backend.named("echo").server("e1", echo.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("pp").acceptProxyProtocol().clientTimeout(Duration.ofMinutes(5))
                            .defaultBackend("echo"))
                    .build();
            proxy.start();
            byte[] header = ProxyHeaders.v1("192.0.2.10", 40000, "127.0.0.1", 5432);
            try (Socket relayed = connect(proxy.port()); Socket waiting = connect(proxy.port())) {
                write(relayed, header);
                assertEcho(relayed, "relayed");
                write(waiting, Arrays.copyOf(header, 10));
                loop.awaitDueTimers();
                loop.awaitDueTimers();
                Proxy stopping = proxy;
                Thread closer = new Thread(() -> stopping.close(Duration.ofMinutes(1)), "closer");
                closer.start();
                assertThat(isClosedByPeer(waiting)).as("closed by the drain").isTrue();
                assertEcho(relayed, "still relayed");
                assertThat(closer.isAlive()).as("the close waits for the relayed connection").isTrue();
                relayed.close();
                closer.join(10_000);
                assertThat(closer.isAlive()).as("the close still waiting").isFalse();
            }
            assertThat(errors().timeout()).isZero();
            assertThat(echo.accepted()).isEqualTo(1);
            proxy = null;
        }
    }

    @Test
    void trustedSourcesAreCheckedAtBuild() {
        assertThatThrownBy(() -> TcpFrontend.bind(0).name("db").defaultBackend("b").acceptProxyProtocolFrom().build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend db acceptProxyProtocolFrom: []");
        assertThatThrownBy(() -> TcpFrontend.bind(0).name("db").defaultBackend("b").acceptProxyProtocolFrom("10.0.0.0/8", "10.0.0.0/33").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend db acceptProxyProtocolFrom: 10.0.0.0/33 (expected:");
        assertThatThrownBy(() -> TcpFrontend.bind(0).name("db").defaultBackend("b").acceptProxyProtocolFrom("not-an-address").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend db acceptProxyProtocolFrom: not-an-address (expected:");
        TcpFrontend f = TcpFrontend.bind(0).defaultBackend("b").acceptProxyProtocolFrom("10.0.0.0/8").build();
        assertThat(f.acceptsProxyProtocol()).isTrue();
        assertThat(f.proxyProtocolSources()).containsExactly("10.0.0.0/8");
        TcpFrontend all = TcpFrontend.bind(0).defaultBackend("b").acceptProxyProtocolFrom("10.0.0.0/8").acceptProxyProtocol().build();
        assertThat(all.proxyProtocolSources()).isEmpty();
        assertThat(TcpFrontend.bind(0).defaultBackend("b").build().acceptsProxyProtocol()).isFalse();
    }
}
