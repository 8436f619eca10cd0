package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** TcpFrontend configuration: defaults, and failures that name the field and the value. */
class TcpFrontendConfigTest {

    @Test
    void defaults() {
        TcpFrontend f = TcpFrontend.bind(5432).defaultBackend("db").build();
        assertThat(f.name()).isEqualTo("tcp-5432");
        assertThat(f.bindAddresses()).containsExactly(new InetSocketAddress(5432));
        assertThat(f.defaultBackend()).isEqualTo("db");
        assertThat(f.backendNames()).containsExactly("db");
        assertThat(f.clientTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(f.maxConnections()).isZero();
    }

    @Test
    void aRuleTheTableRefusesIsNamedWithItsFrontend() {
        // a proxy of several frontends: the message says which one holds the rule
        assertThatThrownBy(() -> TcpFrontend.bind(5432).name("pg")
                .rule(Rule.when(Acl.pathBegins("/x")).name("r").use("db")).defaultBackend("db").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend pg rule #0 'r' acl: path_beg /x (expected: connection ACLs only");
        assertThatThrownBy(() -> TcpFrontend.bind(5432).rule(Rule.whenNamed("nope").use("db")).defaultBackend("db").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend tcp-5432 rule #0 acl: nope (no such named ACL; known: [])");
    }

    @Test
    void settings() {
        TcpFrontend f = TcpFrontend.bind("127.0.0.1:7000").bind(7001).name("pg")
                .defaultBackend("db").clientTimeout(Duration.ZERO).maxConnections(10).build();
        assertThat(f.name()).isEqualTo("pg");
        assertThat(f.bindAddresses()).extracting(InetSocketAddress::getPort).containsExactly(7000, 7001);
        assertThat(f.clientTimeout()).isEqualTo(Duration.ZERO);
        assertThat(f.maxConnections()).isEqualTo(10);
    }

    @Test
    void aBackendHashingOnARequestKeyCannotServeATcpFrontend() {
        Backend tenants = Backend.named("tenants").balance(BalancingStrategy.hashOn(HashKey.cookie("sid")))
                .server("a", "127.0.0.1:1").build();
        // named by a rule rather than as the default: a connection still has no cookie
        assertThatThrownBy(() -> Proxy.builder()
                .backend(tenants)
                .backend(Backend.named("db").server("d", "127.0.0.1:2"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("pg").rule(Rule.when(Acl.source("10.0.0.0/8")).use("tenants"))
                        .defaultBackend("db"))
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backend tenants balance: hashOn(cookie sid) (expected: a strategy that reads no HTTP request,"
                        + " e.g. sourceHash(), since frontend pg forwards connections, not HTTP requests)");
        // hashing on the source address is what a TCP frontend can do
        Proxy.builder()
                .backend(Backend.named("db").balance(BalancingStrategy.hashOn(HashKey.source())).server("d", "127.0.0.1:2"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("db"))
                .build().close();
    }

    @Test
    void aMissingDefaultBackendFailsAtBuild() {
        assertThatThrownBy(() -> TcpFrontend.bind(5432).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("defaultBackend: null");
    }

    @Test
    void aBackupBackendCannotBeTheDefaultBackendItself() {
        assertThatThrownBy(() -> TcpFrontend.bind(5432).defaultBackend("db", "db"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 0.0.0.0:5432 defaultBackend backup: db (expected: a backend other than db, which it backs up)");
    }

    @Test
    void aBadPortIsRejected() {
        assertThatThrownBy(() -> TcpFrontend.bind(70000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind: 70000");
        assertThatThrownBy(() -> TcpFrontend.bind(5432).bind(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind: -1");
        assertThatThrownBy(() -> TcpFrontend.bind("127.0.0.1:99999"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind: 127.0.0.1:99999");
    }

    @Test
    void aBadAddressIsRejected() {
        assertThatThrownBy(() -> TcpFrontend.bind("127.0.0.1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind: 127.0.0.1 (expected: host:port)");
        assertThatThrownBy(() -> TcpFrontend.bind("bad host!:80"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind: bad host!:80");
        assertThatThrownBy(() -> TcpFrontend.bind(5432).bind("::1:80"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind: ::1:80");
    }

    @Test
    void aClientHelloTimeoutThatIsNotPositiveIsRejectedNamingTheValue() {
        assertThatThrownBy(() -> TcpFrontend.bind(443).tlsPassthrough().clientHelloTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 0.0.0.0:443 clientHelloTimeout: PT0S (expected: > 0)");
        assertThatThrownBy(() -> TcpFrontend.bind(443).tlsPassthrough().clientHelloTimeout(Duration.ofMillis(-5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 0.0.0.0:443 clientHelloTimeout: PT-0.005S (expected: > 0)");
        assertThatThrownBy(() -> TcpFrontend.bind(443).tlsPassthrough().clientHelloTimeout(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 0.0.0.0:443 clientHelloTimeout: null (expected: > 0)");
    }

    /**
     * A duration refused at its setter names the frontend, as a backend's setters name their backend
     * and the frontend's own build() does: by the name given before, else by the first address, all
     * that is known of it then. The messages began "frontend clientTimeout:", which did not say which
     * frontend of a proxy's several was wrong.
     */
    @Test
    void aRefusedDurationNamesItsFrontendByNameOrElseByAddress() {
        assertThatThrownBy(() -> TcpFrontend.bind("127.0.0.1:0").clientTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 127.0.0.1:0 clientTimeout: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> TcpFrontend.bind("[::1]:5432").bind(5433).tlsPassthrough().clientHelloTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at [::1]:5432 clientHelloTimeout: PT0S (expected: > 0)");
        TcpFrontend.Builder named = TcpFrontend.bind("127.0.0.1:0").name("pg");
        assertThatThrownBy(() -> named.clientTimeout(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("frontend pg clientTimeout: null (expected: >= 0)");
        assertThatThrownBy(() -> named.clientTimeout(Duration.ofDays(36_501)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend pg clientTimeout: PT876024H (expected: at most 36500 days)");
        assertThatThrownBy(() -> named.clientHelloTimeout(Duration.ofMillis(-5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend pg clientHelloTimeout: PT-0.005S (expected: > 0)");
        // and every other refused setting, whether the setter checks it or a shared check does
        assertThatThrownBy(() -> named.maxConnections(-3)).hasMessage("frontend pg maxConnections: -3 (expected: >= 0)");
        assertThatThrownBy(() -> named.maxConnectionRatePerSource(-5))
                .hasMessage("frontend pg maxConnectionRatePerSource: -5 (expected: 0..1000000000)");
        assertThatThrownBy(() -> named.defaultBackend("db", "db"))
                .hasMessage("frontend pg defaultBackend backup: db (expected: a backend other than db, which it backs up)");
    }

    @Test
    void aClientHelloTimeoutOnAFrontendWithoutTlsFailsAtBuild() {
        TcpFrontend.Builder b = TcpFrontend.bind(5432).name("pg").defaultBackend("db").clientHelloTimeout(Duration.ofSeconds(3));
        assertThatThrownBy(b::build)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("frontend pg clientHelloTimeout: PT3S (expected: with tlsPassthrough() or tls(ServerTls)");
        assertThat(b.tlsPassthrough().build().clientHelloTimeout()).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void aTimeoutTooLongForTheEnginesTimersIsRejected() {
        // counted in nanoseconds from a clock reading, 400 years overflowed a long on every connection
        assertThatThrownBy(() -> TcpFrontend.bind(5432).clientTimeout(Duration.ofDays(365L * 400)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 0.0.0.0:5432 clientTimeout: PT3504000H (expected: at most 36500 days)");
        assertThatThrownBy(() -> TcpFrontend.bind(443).tlsPassthrough().clientHelloTimeout(Duration.ofDays(36_501)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 0.0.0.0:443 clientHelloTimeout: PT876024H (expected: at most 36500 days)");
        assertThat(TcpFrontend.bind(5432).defaultBackend("db").clientTimeout(Duration.ofDays(36_500)).build().clientTimeout())
                .isEqualTo(Duration.ofDays(36_500));
    }

    @Test
    void aNegativeTimeoutOrLimitIsRejected() {
        assertThatThrownBy(() -> TcpFrontend.bind(5432).clientTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("clientTimeout: PT-1S");
        assertThatThrownBy(() -> TcpFrontend.bind(5432).clientTimeout(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("clientTimeout: null");
        assertThatThrownBy(() -> TcpFrontend.bind(5432).maxConnections(-3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxConnections: -3");
    }

    @Test
    void aBadNameIsRejected() {
        assertThatThrownBy(() -> TcpFrontend.bind(5432).name("two words"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("name: two words");
        assertThatThrownBy(() -> TcpFrontend.bind(5432).defaultBackend(""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("defaultBackend: \"\"");
    }

    @Test
    void proxyBuildNamesAnUnknownBackend() {
        Proxy.Builder builder = Proxy.builder()
                .backend(Backend.named("app").server("s1", "127.0.0.1:8080"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("front").defaultBackend("nope"));
        assertThatThrownBy(builder::build)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("backend: nope")
                .hasMessageContaining("front");
    }

    @Test
    void anUnresolvableBindHostFailsAtStart() {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", "127.0.0.1:8080"))
                .frontend(TcpFrontend.bind("no-such-host.invalid:0").defaultBackend("app"))
                .build();
        try {
            assertThatThrownBy(proxy::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no-such-host.invalid");
        } finally {
            proxy.close();
        }
    }
}
