package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.BackendTls;
import io.lodestone.core.Proxy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.Stderr;
import io.lodestone.tls.ClientTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Backend TLS (re-encryption) at L7: certificate and host name verification, SNI, client certificates, health checks. */
class BackendTlsTest {

    private static X509Bundle ca;
    private static X509Bundle otherCa;
    private static X509Bundle backendCertificate;
    private static X509Bundle proxyCertificate;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private Proxy proxy;

    @BeforeAll
    static void certificates() throws Exception {
        ca = TlsPki.ca();
        otherCa = TlsPki.ca();
        backendCertificate = TlsPki.server(ca, "backend.test");
        proxyCertificate = new CertificateBuilder().subject("CN=lodestone-proxy").ecp256()
                .notBefore(Instant.now().minus(1, ChronoUnit.DAYS)).notAfter(Instant.now().plus(30, ChronoUnit.DAYS))
                .addExtendedKeyUsageClientAuth().buildIssuedBy(ca);
    }

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    private int start(ProtocolBackend b, ClientTls tls) {
        proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", b.address()).tls(tls).build())
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static ClientTls.Builder trusting(X509Bundle anchor) {
        return ClientTls.builder().trust(List.of(anchor.getCertificate()));
    }

    @Test
    void aVerifiedServerAnswersOverTlsAndAnIpAddressSendsNoSni() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null))) {
            int port = start(b, trusting(ca).build());
            HttpResponse<String> r = get(port, "/plain/one");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("http1:/plain/one");
            assertThat(get(port, "/plain/two").body()).isEqualTo("http1:/plain/two");
            // the certificate's IP address matched 127.0.0.1; the second request reused the connection
            assertThat(b.serverNames).containsExactly("");
            assertThat(b.connections).hasValue(1);
        }
    }

    @Test
    void theServerNameIsSentAsSniAndVerified() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null))) {
            int port = start(b, trusting(ca).serverName("backend.test").build());
            assertThat(get(port, "/plain/sni").statusCode()).isEqualTo(200);
            assertThat(b.serverNames).containsExactly("backend.test");
        }
    }

    @Test
    void aCertificateForAnotherHostNameIsRefusedWith502() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null))) {
            int port = start(b, trusting(ca).serverName("other.test").build());
            HttpResponse<String> r = get(port, "/plain/x");
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(b.requests).isEmpty();
            assertThat(proxy.control().server("app", "s1").status().failures()).isPositive();
        }
    }

    @Test
    void anUntrustedCertificateIsRefusedWith502() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null))) {
            int port = start(b, trusting(otherCa).build());
            assertThat(get(port, "/plain/x").statusCode()).isEqualTo(502);
            assertThat(b.requests).isEmpty();
        }
    }

    /**
     * A server whose certificate has expired gets 502 and a WARN that says so, and an HTTP health
     * check of it says so in its result (and so in the log line of the server going DOWN). With the
     * OpenSSL provider, the AUTO choice, both said "General OpenSslEngine problem", and the 502 was
     * logged at DEBUG only: the reason was in the exception's causes, which nothing printed.
     */
    @Test
    void aFailedHandshakeSaysWhyInTheLogAndInTheHealthCheck() throws Exception {
        X509Bundle expired = new CertificateBuilder().subject("CN=backend.test").ecp256().addSanIpAddress("127.0.0.1")
                .notBefore(Instant.parse("2020-01-01T00:00:00Z")).notAfter(Instant.parse("2020-02-01T00:00:00Z"))
                .addExtendedKeyUsageServerAuth().buildIssuedBy(ca);
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(expired, null))) {
            int port = start(b, trusting(ca).build());
            String log = Stderr.of(() -> {
                assertThat(get(port, "/plain/x").statusCode()).isEqualTo(502);
                assertThat(get(port, "/plain/y").statusCode()).isEqualTo(502);
            });
            assertThat(log).containsOnlyOnce("WARN io.lodestone.core.internal.BackendHandshake - TLS handshake with server " + b.address()
                    + " failed: the server's certificate (or its chain) has expired (NotAfter: ");
            assertThat(b.requests).isEmpty();
            proxy.close(Duration.ofMillis(300));

            startCheckedUntilFirstResult(b.address(), trusting(ca).build(),
                    HealthCheck.http("/plain/health").interval(Duration.ofMillis(50)).fall(1).rise(1).build());
            assertThat(proxy.control().server("app", "s1").status().lastCheck().detail())
                    .startsWith("TLS handshake failed: the server's certificate (or its chain) has expired (NotAfter: ");
        }
    }

    /**
     * Starts {@link #proxy} with one server {@code s1} of backend {@code app} at {@code address}, spoken
     * to over {@code tls} and checked with {@code check}, and waits for the check's first result.
     */
    private void startCheckedUntilFirstResult(String address, ClientTls tls, HealthCheck check) {
        proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", address).tls(tls).healthCheck(check).build())
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
        Await.until(Duration.ofSeconds(10), "checked", () -> proxy.control().server("app", "s1").status().lastCheck() != null);
    }

    @Test
    void theClientCertificateIsPresentedWhenTheServerAsksForOne() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, ca))) {
            TlsCertificate mine = TlsCertificate.of(proxyCertificate.getKeyPair().getPrivate(),
                    Arrays.asList(proxyCertificate.getCertificatePath()));
            int port = start(b, trusting(ca).clientCertificate(mine).build());
            assertThat(get(port, "/plain/mtls").statusCode()).isEqualTo(200);
            assertThat(b.clientCertificates).containsExactly("CN=lodestone-proxy");
        }
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, ca))) {
            proxy.close(Duration.ofMillis(300));
            int port = start(b, trusting(ca).build());
            assertThat(get(port, "/plain/none").statusCode()).isEqualTo(502);
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void theHttpHealthCheckSpeaksTlsAndFailsOnAnUntrustedServer() throws Exception {
        try (ProtocolBackend good = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null));
             ProtocolBackend bad = ProtocolBackend.http1(ProtocolBackend.serverTls(TlsPki.server(otherCa, "backend.test"), null))) {
            HealthCheck check = HealthCheck.http("/plain/health").interval(Duration.ofMillis(50)).fall(1).rise(1).build();
            proxy = Proxy.builder()
                    .backend(Backend.named("good").server("s1", good.address()).tls(trusting(ca).build()).healthCheck(check).build())
                    .backend(Backend.named("bad").server("s1", bad.address()).tls(trusting(ca).build()).healthCheck(check).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("good"))
                    .build();
            proxy.start();
            Await.until(Duration.ofSeconds(10), "both servers checked", () -> !good.requests.isEmpty()
                    && proxy.control().server("good", "s1").status().lastCheck() != null
                    && proxy.control().server("bad", "s1").status().lastCheck() != null);
            HealthCheckResult goodCheck = proxy.control().server("good", "s1").status().lastCheck();
            HealthCheckResult badCheck = proxy.control().server("bad", "s1").status().lastCheck();
            assertThat(good.requests).isNotEmpty();
            assertThat(good.requests.get(0).path()).isEqualTo("/plain/health");
            assertThat(goodCheck.isHealthy()).isTrue();
            assertThat(badCheck.isHealthy()).isFalse();
            assertThat(badCheck.detail()).contains("TLS handshake failed");
            assertThat(bad.requests).isEmpty();
        }
    }

    /**
     * A connection that speaks HTTP/1.1 (an HTTP/1.1 backend's, the HTTP health check's) offers ALPN
     * {@code http/1.1} alone, though the backend's ClientTls offers {@code h2} too (one ClientTls for an
     * H2 backend and an HTTP/1.1 one, or for a server that speaks both), as HAProxy speaks the protocol
     * the server chose. It offered the whole list: a server that speaks both chose h2 and got HTTP/1.1
     * (nginx: every request a 502; the health check: "invalid HTTP response", the server DOWN).
     */
    @Test
    void anHttp1ConnectionOffersOnlyHttp1ByAlpn() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null, "h2", "http/1.1"))) {
            startCheckedUntilFirstResult(b.address(), trusting(ca).alpn("h2", "http/1.1").build(),
                    HealthCheck.http("/plain/health").interval(Duration.ofMillis(50)).fall(1).rise(1).build());
            assertThat(get(proxy.port(), "/plain/one").statusCode()).isEqualTo(200);
            assertThat(b.applicationProtocols).isNotEmpty().containsOnly("http/1.1");
            assertThat(proxy.control().server("app", "s1").status().lastCheck().isHealthy()).isTrue();
        }
    }

    /**
     * A {@link BackendTls} of its own that lets the server choose h2 for an HTTP/1.1 connection fails
     * the connection, with the reason, before a request is sent on it: 502.
     */
    @Test
    void anHttp1ConnectionOnWhichTheServerChoseH2IsAFailedConnection() throws Exception {
        ClientTls offersH2 = trusting(ca).alpn("h2").build();
        BackendTls own = new BackendTls() {
            @Override
            public io.netty.handler.ssl.SslHandler newHandler(io.netty.buffer.ByteBufAllocator alloc, String host, int port) {
                return offersH2.newHandler(alloc, host, port);
            }

            @Override
            public List<String> applicationProtocols() {
                return offersH2.applicationProtocols();
            }
        };
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null, "h2", "http/1.1"))) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()).tls(own).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String log = Stderr.of(() -> assertThat(get(proxy.port(), "/plain/one").statusCode()).isEqualTo(502));
            assertThat(b.requests).isEmpty();
            assertThat(log).contains("TLS handshake with server " + b.address()
                    + " failed: the server chose h2 by ALPN, and this connection speaks HTTP/1.1");
        }
    }

    /**
     * The TCP health check of a backend with TLS completes the handshake too, as HAProxy's check of an
     * {@code ssl} server (a Layer 6 check) and Envoy's do: a server whose certificate the proxy refuses
     * is DOWN, not UP while every connection to it fails. It only connected, and such a server stayed
     * UP ("connected").
     */
    @Test
    void theTcpHealthCheckCompletesTheHandshake() throws Exception {
        try (ProtocolBackend good = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null));
             ProtocolBackend bad = ProtocolBackend.http1(ProtocolBackend.serverTls(TlsPki.server(otherCa, "backend.test"), null))) {
            HealthCheck check = HealthCheck.tcp().interval(Duration.ofMillis(50)).fall(1).rise(1).build();
            proxy = Proxy.builder()
                    .backend(Backend.named("good").server("s1", good.address()).tls(trusting(ca).build()).healthCheck(check).build())
                    .backend(Backend.named("bad").server("s1", bad.address()).tls(trusting(ca).build()).healthCheck(check).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("good"))
                    .build();
            proxy.start();
            Await.until(Duration.ofSeconds(10), "both servers checked", () -> proxy.control().server("good", "s1").status().lastCheck() != null
                    && proxy.control().server("bad", "s1").status().lastCheck() != null);
            HealthCheckResult badCheck = proxy.control().server("bad", "s1").status().lastCheck();
            assertThat(badCheck.isHealthy()).as("%s", badCheck).isFalse();
            assertThat(badCheck.detail()).startsWith("TLS handshake failed: the server's certificate is not trusted");
            assertThat(proxy.control().server("good", "s1").status().lastCheck().isHealthy()).isTrue();
            Await.until(Duration.ofSeconds(10), "a handshake with the good server", () -> !good.serverNames.isEmpty());
            assertThat(bad.requests).isEmpty();
        }
    }

    /**
     * A TLS 1.3 server that requires a client certificate the proxy does not present refuses it after
     * the proxy's side of the handshake is done (the client's certificate comes last). The TCP check,
     * which closes once its handshake is done, cannot see that and passes (as HAProxy's Layer 6 check
     * does; the README says so); the HTTP check sees the server's alert on its request and fails with
     * the reason in words. It said "I/O error: io.netty.handler.ssl.ReferenceCountedOpenSslEngine$
     * OpenSslException: error:10000412:...", the exception's class name first.
     */
    @Test
    void aTls13RefusalOfTheClientCertificateFailsTheHttpCheckWithItsReasonButNotTheTcpCheck() throws Exception {
        try (ProtocolBackend requiring = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, ca))) {
            HealthCheck tcp = HealthCheck.tcp().interval(Duration.ofMillis(50)).fall(1).rise(1).build();
            HealthCheck http = HealthCheck.http("/plain/health").interval(Duration.ofMillis(50)).fall(1).rise(1).build();
            proxy = Proxy.builder()
                    .backend(Backend.named("tcp").server("s1", requiring.address()).tls(trusting(ca).protocols("TLSv1.3").build())
                            .healthCheck(tcp).build())
                    .backend(Backend.named("http").server("s1", requiring.address()).tls(trusting(ca).protocols("TLSv1.3").build())
                            .healthCheck(http).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("http"))
                    .build();
            proxy.start();
            Await.until(Duration.ofSeconds(10), "both checked", () -> proxy.control().server("tcp", "s1").status().lastCheck() != null
                    && proxy.control().server("http", "s1").status().lastCheck() != null);
            assertThat(proxy.control().server("tcp", "s1").status().lastCheck().detail()).isEqualTo("connected, TLS handshake done");
            HealthCheckResult httpCheck = proxy.control().server("http", "s1").status().lastCheck();
            assertThat(httpCheck.isHealthy()).isFalse();
            assertThat(httpCheck.detail()).startsWith("TLS failed after the handshake: ").doesNotContain("OpenSslException")
                    .containsIgnoringCase("certificate");
            assertThat(requiring.requests).isEmpty();
        }
    }

    /** A TCP check sent to a port of its own only connects, as HAProxy checks such a port without ssl. */
    @Test
    void aTcpHealthCheckOnAPortOfItsOwnOnlyConnects() throws Exception {
        try (ProtocolBackend bad = ProtocolBackend.http1(ProtocolBackend.serverTls(TlsPki.server(otherCa, "backend.test"), null));
             java.net.ServerSocket plain = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            startCheckedUntilFirstResult(bad.address(), trusting(ca).build(),
                    HealthCheck.tcp().port(plain.getLocalPort()).interval(Duration.ofMillis(50)).fall(1).rise(1).build());
            assertThat(proxy.control().server("app", "s1").status().lastCheck().detail()).isEqualTo("connected");
        }
    }

    /**
     * An H2 backend's server that does not choose h2 by ALPN is a failed connection: 502, a failed
     * connection counted on the server, and a WARN naming it, as for a failed handshake.
     */
    @Test
    void anH2ServerThatDoesNotChooseH2IsAFailedConnectionAndSaysSo() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(backendCertificate, null, "http/1.1"))) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()).tls(trusting(ca).alpn("h2").build())
                            .protocol(BackendProtocol.H2).retries(0).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String log = Stderr.of(() -> assertThat(get(proxy.port(), "/plain/one").statusCode()).isEqualTo(502));
            assertThat(b.requests).isEmpty();
            assertThat(proxy.control().server("app", "s1").status().failures()).isPositive();
            assertThat(log).contains("WARN io.lodestone.core.internal.BackendHandshake - TLS handshake with server "
                    + b.address() + " failed: the server chose no protocol by ALPN, and this connection speaks h2");
        }
    }

    /**
     * A failed handshake of an H2 backend's connection, or of a TCP health check, is logged once by
     * the proxy with its reason (the check reports it in its result), not by Netty: only the TLS
     * handler is in those pipelines during the handshake, and Netty logged each failure, unthrottled, as
     * an exception that reached the tail of the pipeline, with a stack trace and OpenSSL's "General
     * OpenSslEngine problem": at every connection attempt, and at every check of a server that is DOWN.
     */
    @Test
    void aFailedHandshakeOfAnH2ConnectionOrATcpCheckIsNotLoggedByNettyAtEveryAttempt() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2(ProtocolBackend.serverTls(TlsPki.server(otherCa, "backend.test"), null, "h2"))) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()).tls(trusting(ca).alpn("h2").build())
                            .protocol(BackendProtocol.H2).retries(0).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String log = Stderr.of(() -> {
                for (int i = 0; i < 3; i++) {
                    assertThat(get(proxy.port(), "/plain/" + i).statusCode()).isEqualTo(502);
                }
                proxy.close(Duration.ofMillis(300));
            });
            assertThat(log).containsOnlyOnce("WARN io.lodestone.core.internal.BackendHandshake - TLS handshake with server "
                    + b.address() + " failed: the server's certificate is not trusted")
                    .doesNotContain("reached at the tail of the pipeline");
        }
        try (ProtocolBackend bad = ProtocolBackend.http1(ProtocolBackend.serverTls(TlsPki.server(otherCa, "backend.test"), null))) {
            HealthCheck check = HealthCheck.tcp().interval(Duration.ofMillis(20)).fall(1).rise(1).build();
            String log = Stderr.of(() -> {
                proxy = Proxy.builder()
                        .backend(Backend.named("app").server("s1", bad.address()).tls(trusting(ca).build()).healthCheck(check).build())
                        .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                        .build();
                proxy.start();
                Await.until(Duration.ofSeconds(10), "three failed handshakes", () -> bad.handshakeFailures.get() >= 3);
                Await.until(Duration.ofSeconds(10), "a failed check", () -> proxy.control().server("app", "s1").status().lastCheck() != null);
                assertThat(proxy.control().server("app", "s1").status().lastCheck().detail())
                        .startsWith("TLS handshake failed: the server's certificate is not trusted");
                proxy.close(Duration.ofMillis(300));
            });
            assertThat(log).doesNotContain("reached at the tail of the pipeline");
        }
    }

    /**
     * The WARN throttle of failed handshakes belongs to each proxy's server, on that proxy's clock. It
     * was one map for the whole JVM, keyed by server address and never emptied (it grew with every
     * address that ever failed a handshake: servers found by DNS, reconfigurations), and it compared
     * times read on different proxies' clocks: after a proxy whose manual clock a test had moved an
     * hour ahead logged a failure, another proxy's failures with the same server were DEBUG only for
     * an hour of the system clock.
     */
    @Test
    void eachProxyLogsAFailedHandshakeOnItsOwnClock() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(TlsPki.server(otherCa, "backend.test"), null))) {
            String warn = "WARN io.lodestone.core.internal.BackendHandshake - TLS handshake with server " + b.address()
                    + " failed: the server's certificate is not trusted";
            String log = Stderr.of(() -> {
                proxy = Proxy.builder().clock(new ManualClock().advance(Duration.ofHours(1)))
                        .backend(Backend.named("app").server("s1", b.address()).tls(trusting(ca).build()).retries(0).build())
                        .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                        .build();
                proxy.start();
                assertThat(get(proxy.port(), "/plain/first").statusCode()).isEqualTo(502);
                proxy.close(Duration.ofMillis(300));
                int port = start(b, trusting(ca).build());
                assertThat(get(port, "/plain/second").statusCode()).isEqualTo(502);
            });
            assertThat(log.split(java.util.regex.Pattern.quote(warn), -1)).as(log).hasSize(3);
        }
    }

    @Test
    void theProtocolMustFitTheTlsSetting() {
        assertThatThrownBy(() -> Backend.named("a").server("s", "127.0.0.1:1").protocol(BackendProtocol.H2).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("backend a protocol: H2");
        ClientTls noAlpn = trusting(ca).build();
        assertThatThrownBy(() -> Backend.named("a").server("s", "127.0.0.1:1").tls(noAlpn).protocol(BackendProtocol.H2).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: tls offering ALPN h2");
        assertThatThrownBy(() -> Backend.named("a").server("s", "127.0.0.1:1").tls(noAlpn).protocol(BackendProtocol.H2C).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("H2C with tls");
        assertThat(Backend.named("a").server("s", "127.0.0.1:1").tls(trusting(ca).alpn("h2").build())
                .protocol(BackendProtocol.H2).build().protocol()).isEqualTo(BackendProtocol.H2);
    }
}
