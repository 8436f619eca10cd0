package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.tls.ClientAuth;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/** TLS termination in tcp mode routed on the verified client certificate, over real mTLS handshakes. */
class TcpMutualTlsTest {

    private static final Instant NOT_BEFORE = Instant.now().minus(1, ChronoUnit.DAYS);
    private static final Instant NOT_AFTER = Instant.now().plus(30, ChronoUnit.DAYS);

    private static X509Bundle client(X509Bundle ca, String cn, String uri) throws Exception {
        return new CertificateBuilder().subject("CN=" + cn + ",O=Clients").ecp256().notBefore(NOT_BEFORE).notAfter(NOT_AFTER)
                .addExtendedKeyUsageClientAuth().addSanUriName(uri).buildIssuedBy(ca);
    }

    private static SSLContext context(X509Bundle serverCa, X509Bundle clientCert) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        KeyManagerFactory kmf = clientCert == null ? null : clientCert.toKeyManagerFactory();
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), serverCa.toTrustManagerFactory().getTrustManagers(), null);
        return ctx;
    }

    @Test
    void connectionsGoWhereTheirCertificateSaysAndOnesWithoutAreClosed() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        X509Bundle clientCa = new CertificateBuilder().subject("CN=Client CA").ecp256().notBefore(NOT_BEFORE)
                .notAfter(NOT_AFTER).setIsCertificateAuthority(true).buildSelfSigned();
        X509Bundle alice = client(clientCa, "alice", "spiffe://test/alice");
        X509Bundle bob = client(clientCa, "bob", "spiffe://test/svc/bob");
        X509Bundle carol = client(clientCa, "carol", "spiffe://other/carol");
        X509Bundle server = TlsTestSupport.server(ca, "db.example");
        try (TcpEchoServer a = TcpEchoServer.start(); TcpEchoServer b = TcpEchoServer.start();
             ServerTls tls = ServerTls.builder()
                     .certificate(TlsCertificate.of(server.getKeyPair().getPrivate(), Arrays.asList(server.getCertificatePath())))
                     .clientAuth(ClientAuth.OPTIONAL, List.of(clientCa.getCertificate()))
                     .build()) {
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named("a").server("a1", a.address()))
                    .backend(Backend.named("b").server("b1", b.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").tls(tls)
                            .rule(Rule.when(Acl.not(Acl.clientCertificate())).reject())
                            .rule(Rule.when(Acl.clientCommonName("alice")).use("a"))
                            .rule(Rule.when(Acl.clientSanBegins("spiffe://test/svc/")).use("b"))
                            .rule(Rule.always().reject())
                            .defaultBackend("a"))
                    .build();
            proxy.start();
            try (proxy) {
                try (SSLSocket s = TlsTestSupport.connect(context(ca, alice), proxy.port(), "db.example")) {
                    assertEcho(s, "alice's bytes");
                }
                try (SSLSocket s = TlsTestSupport.connect(context(ca, bob), proxy.port(), "db.example")) {
                    assertEcho(s, "bob's bytes");
                }
                assertThat(a.accepted()).isEqualTo(1);
                assertThat(b.accepted()).isEqualTo(1);
                try (SSLSocket s = TlsTestSupport.connect(context(ca, null), proxy.port(), "db.example")) {
                    assertThat(isClosedByPeer(s)).isTrue();
                }
                try (SSLSocket s = TlsTestSupport.connect(context(ca, carol), proxy.port(), "db.example")) {
                    assertThat(isClosedByPeer(s)).isTrue();
                }
                assertThat(a.accepted() + b.accepted()).isEqualTo(2);
                assertThat(proxy.route(TestRequest.connection().clientCertificate("CN=x", "spiffe://test/svc/x")))
                        .isInstanceOfSatisfying(Decision.Forward.class, f -> assertThat(f.backend()).isEqualTo("b"));
            }
        }
    }
}
