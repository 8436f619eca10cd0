package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.route.internal.ConnectionView;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The client-certificate ACLs over {@link TestRequest} and the engines' connection view, and the certificate model. */
class ClientCertificateAclTest {

    private static final ClientCertificate ALICE = ClientCertificate.of("CN=alice,OU=Dev,O=Clients",
            "alice.clients.test", "spiffe://prod/alice");

    @Test
    void theCertificateModelReadsTheMostSpecificCommonName() {
        assertThat(ALICE.commonName()).isEqualTo("alice");
        assertThat(ALICE.subjectAltNames()).containsExactly("alice.clients.test", "spiffe://prod/alice");
        assertThat(ClientCertificate.of("CN=Acme\\, Inc.,O=Acme").commonName()).isEqualTo("Acme, Inc.");
        assertThat(ClientCertificate.of("O=No Name").commonName()).isNull();
        assertThat(ClientCertificate.of("CN=a+UID=7,O=x").commonName()).isEqualTo("a");
        assertThatThrownBy(() -> ClientCertificate.of("not a dn"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("client certificate subject: not a dn");
        assertThatThrownBy(() -> ClientCertificate.of(null)).hasMessageStartingWith("client certificate subject: null");
        assertThat(ClientCertificate.of("CN=alice,OU=Dev,O=Clients", "alice.clients.test", "spiffe://prod/alice")).isEqualTo(ALICE);
    }

    @Test
    void eachAclReadsItsPartAndIsFalseWithoutACertificate() {
        TestRequest with = TestRequest.get("/").clientCertificate(ALICE);
        TestRequest without = TestRequest.get("/");
        assertThat(Acl.clientCertificate().matches(with)).isTrue();
        assertThat(Acl.clientCertificate().matches(without)).isFalse();
        assertThat(Acl.clientSubject("CN=alice,OU=Dev,O=Clients").matches(with)).isTrue();
        assertThat(Acl.clientSubject("CN=alice").matches(with)).isFalse();
        assertThat(Acl.clientCommonName("bob", "alice").matches(with)).isTrue();
        assertThat(Acl.clientCommonName("Alice").matches(with)).isFalse();
        assertThat(Acl.clientSan("spiffe://prod/alice").matches(with)).isTrue();
        assertThat(Acl.clientSan("spiffe://prod").matches(with)).isFalse();
        assertThat(Acl.clientSanBegins("spiffe://prod/").matches(with)).isTrue();
        assertThat(Acl.clientSanBegins("spiffe://test/").matches(with)).isFalse();
        for (Acl acl : new Acl[] {Acl.clientSubject("CN=alice,OU=Dev,O=Clients"), Acl.clientCommonName("alice"),
            Acl.clientSan("alice.clients.test"), Acl.clientSanBegins("a")}) {
            assertThat(acl.matches(without)).as(acl.toString()).isFalse();
        }
        assertThat(Acl.clientCommonName("x").matches(TestRequest.get("/").clientCertificate("O=No Name"))).isFalse();
        assertThat(Acl.clientCertificate()).hasToString("ssl_c_used");
        assertThat(Acl.clientSanBegins("spiffe://prod/")).hasToString("ssl_c_san_beg spiffe://prod/");
        assertThatThrownBy(() -> Acl.clientCommonName()).hasMessage("ssl_c_s_dn(cn): [] (expected: at least one value)");
    }

    @Test
    void theyRouteConnectionsAtL4() {
        Routing routing = Routing.builder()
                .rule(Rule.when(Acl.not(Acl.clientCertificate())).reject())
                .rule(Rule.when(Acl.clientSanBegins("spiffe://prod/")).use("prod"))
                .defaultBackend("other")
                .build();
        Router router = routing.router(BackendStates.allUp());
        InetSocketAddress src = new InetSocketAddress("127.0.0.1", 40000);
        assertThat(router.route(new ConnectionView(src, 443, "db.example", null, ALICE)))
                .isInstanceOfSatisfying(Decision.Forward.class, f -> assertThat(f.backend()).isEqualTo("prod"));
        assertThat(router.route(new ConnectionView(src, 443, "db.example", null))).isInstanceOf(Decision.Deny.class);
        assertThat(router.route(TestRequest.connection().clientCertificate("CN=x", "spiffe://dev/x")))
                .isInstanceOfSatisfying(Decision.Forward.class, f -> assertThat(f.backend()).isEqualTo("other"));
    }
}
