package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Frontend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.Server;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HttpFrontendBuilderTest {

    @Test
    void aRuleTheTableRefusesIsNamedWithItsFrontend() {
        // a proxy of several frontends: the message says which one holds the rule
        assertThatThrownBy(() -> HttpFrontend.bind(8080).name("web").acl("is_admin", Acl.pathBegins("/admin"))
                .rule(Rule.whenNamed("is_admn").name("no-admin").deny(403)).defaultBackend("app").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend web rule #0 'no-admin' acl: is_admn (no such named ACL; known: [is_admin])");
        assertThatThrownBy(() -> HttpFrontend.bind(8080)
                .virtualHost("example.com", vh -> vh.rule(Rule.whenNamed("nope").deny(403)).defaultBackend("app"))
                .defaultBackend("app").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend http-8080 host example.com rule #0 acl: nope (no such named ACL; known: [])");
    }

    @Test
    void defaults() {
        HttpFrontend f = HttpFrontend.bind(8080).defaultBackend("app").build();
        assertThat(f.name()).isEqualTo("http-8080");
        assertThat(f.clientTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(f.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(f.tunnelTimeout()).isEqualTo(Duration.ofHours(1));
        assertThat(f.maxInitialLineLength()).isEqualTo(8192);
        assertThat(f.maxHeaderSize()).isEqualTo(16384);
        assertThat(f.maxHeaderCount()).isEqualTo(100);
        assertThat(f.maxBodySize()).isZero();
        assertThat(f.requestIdHeader()).isEqualTo("X-Request-ID");
        assertThat(f.requestIds()).isTrue();
        assertThat(f.forwardedFor()).isTrue();
        assertThat(f.forwarded()).isFalse();
        assertThat(f.via()).isNull();
        assertThat(f.retryBudgetRatio()).isEqualTo(0.2);
        assertThat(f.minRetryConcurrency()).isEqualTo(3);
        assertThat(f.maxIdlePerServer()).isEqualTo(1024);
        assertThat(f.poolIdleTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(f.backendNames()).containsExactly("app");
    }

    /**
     * A duration refused at its setter names the frontend, as a backend's setters name their backend
     * and the frontend's own build() does: by the name given before, else by the first address, all
     * that is known of it then. The messages began "frontend clientTimeout:", which did not say which
     * frontend of a proxy's several was wrong.
     */
    @Test
    void aRefusedDurationNamesItsFrontendByNameOrElseByAddress() {
        assertThatThrownBy(() -> HttpFrontend.bind("127.0.0.1:0").clientTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 127.0.0.1:0 clientTimeout: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> HttpFrontend.bind("[::1]:8443").bind(8080).keepAliveTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at [::1]:8443 keepAliveTimeout: PT0S (expected: > 0)");

        HttpFrontend.Builder named = HttpFrontend.bind("127.0.0.1:0").name("www");
        assertThatThrownBy(() -> named.clientTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("frontend www clientTimeout: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> named.keepAliveTimeout(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("frontend www keepAliveTimeout: null (expected: > 0)");
        assertThatThrownBy(() -> named.tunnelTimeout(Duration.ofDays(36_501)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend www tunnelTimeout: PT876024H (expected: at most 36500 days)");
        assertThatThrownBy(() -> named.backendPool(8, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("frontend www backendPool idleTimeout: PT0S (expected: > 0)");
        assertThatThrownBy(() -> named.poolMaxLifetime(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend www poolMaxLifetime: PT-0.001S (expected: > 0)");
        assertThatThrownBy(() -> named.hsts(Duration.ofSeconds(-1), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("frontend www hsts maxAge: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> named.http2ResetFloodLimit(200, Duration.ofMillis(10)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend www http2ResetFloodLimit window: PT0.01S (expected: 1 to 2147483647 seconds)");
        // the name given last before the setter
        assertThatThrownBy(() -> named.name("api").clientTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("frontend api clientTimeout: PT0S (expected: > 0)");
    }

    /** Every other refused setting likewise, whether the setter checks it or a shared check does. */
    @Test
    void everyRefusedSettingNamesItsFrontend() {
        HttpFrontend.Builder named = HttpFrontend.bind("127.0.0.1:0").name("www");
        assertThatThrownBy(() -> named.maxConnections(-1)).hasMessage("frontend www maxConnections: -1 (expected: >= 0)");
        assertThatThrownBy(() -> named.maxConnectionsPerSource(-1))
                .hasMessage("frontend www maxConnectionsPerSource: -1 (expected: >= 0)");
        assertThatThrownBy(() -> named.maxHeaderSize(10)).hasMessage("frontend www maxHeaderSize: 10 (expected: >= 256)");
        assertThatThrownBy(() -> named.defaultBackend("bad name")).hasMessageStartingWith("frontend www defaultBackend: bad name");
        assertThatThrownBy(() -> named.errorPage(200, "text/html", "x"))
                .hasMessage("frontend www errorPage status: 200 (expected: 400..599, a status the proxy answers with itself)");
        assertThatThrownBy(() -> named.compression(null)).isInstanceOf(NullPointerException.class).hasMessage("frontend www compression");
        assertThatThrownBy(() -> HttpFrontend.bind("127.0.0.1:0").name("two words"))
                .hasMessageStartingWith("frontend at 127.0.0.1:0 name: two words");
    }

    /** The admin endpoint's refresh interval likewise; it began "refresh:", without "frontend". */
    @Test
    void anAdminFrontendsRefusedRefreshNamesIt() {
        assertThatThrownBy(() -> AdminFrontend.bind(0).refresh(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 127.0.0.1:0 refresh: PT0S (expected: 1..3600 seconds)");
        assertThatThrownBy(() -> AdminFrontend.bind("[::1]:9000").refresh(Duration.ofHours(2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at [::1]:9000 refresh: PT2H (expected: 1..3600 seconds)");
        assertThatThrownBy(() -> AdminFrontend.bind(0).name("ops").refresh(Duration.ofMillis(500)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend ops refresh: PT0.5S (expected: 1..3600 seconds)");
    }

    @Test
    void invalidSettingsNameTheFieldAndValue() {
        HttpFrontend.Builder b = HttpFrontend.bind(8080);
        assertThatThrownBy(() -> b.clientTimeout(Duration.ZERO)).hasMessage("frontend at 0.0.0.0:8080 clientTimeout: PT0S (expected: > 0)");
        // counted in nanoseconds from a clock reading, 400 years overflowed a long on every connection
        Duration tooLong = Duration.ofDays(365L * 400);
        assertThatThrownBy(() -> b.clientTimeout(tooLong)).hasMessage("frontend at 0.0.0.0:8080 clientTimeout: PT3504000H (expected: at most 36500 days)");
        assertThatThrownBy(() -> b.keepAliveTimeout(tooLong)).hasMessage("frontend at 0.0.0.0:8080 keepAliveTimeout: PT3504000H (expected: at most 36500 days)");
        assertThatThrownBy(() -> b.tunnelTimeout(tooLong)).hasMessage("frontend at 0.0.0.0:8080 tunnelTimeout: PT3504000H (expected: at most 36500 days)");
        assertThatThrownBy(() -> b.backendPool(8, tooLong))
                .hasMessage("frontend at 0.0.0.0:8080 backendPool idleTimeout: PT3504000H (expected: at most 36500 days)");
        assertThatThrownBy(() -> b.maxHeaderCount(0)).hasMessage("frontend at 0.0.0.0:8080 maxHeaderCount: 0 (expected: >= 1)");
        // the upper bound was refused with "(expected: >= 1 s)"
        assertThatThrownBy(() -> b.http2ResetFloodLimit(200, Duration.ofSeconds(1L << 31)))
                .hasMessage("frontend at 0.0.0.0:8080 http2ResetFloodLimit window: PT596523H14M8S (expected: 1 to 2147483647 seconds)");
        assertThatThrownBy(() -> b.http2ResetFloodLimit(200, Duration.ofMillis(999)))
                .hasMessage("frontend at 0.0.0.0:8080 http2ResetFloodLimit window: PT0.999S (expected: 1 to 2147483647 seconds)");
        assertThatThrownBy(() -> b.maxBodySize(-1)).hasMessage("frontend at 0.0.0.0:8080 maxBodySize: -1 (expected: >= 0)");
        assertThatThrownBy(() -> b.retryBudget(1.5, 3)).hasMessage("frontend at 0.0.0.0:8080 retryBudget ratio: 1.5 (expected: 0..1)");
        assertThatThrownBy(() -> b.via("two words")).hasMessageContaining("frontend at 0.0.0.0:8080 via: two words");
        assertThatThrownBy(() -> b.requestIdHeader("bad:name")).hasMessageContaining("frontend at 0.0.0.0:8080 requestIdHeader: bad:name");
        // the id is set on the request and the response: as Content-Length it replaced the response's
        // framing with 32 hex digits, as Host it routed the request
        for (String field : new String[] {"Content-Length", "transfer-encoding", "Host", "Connection", "Upgrade", "TE",
                "X-Forwarded-For", "X-Real-IP", "Via"}) {
            assertThatThrownBy(() -> b.requestIdHeader(field)).hasMessage("frontend at 0.0.0.0:8080 requestIdHeader: " + field
                    + " (expected: a field of its own, not one that frames, routes or controls a message or that the proxy sets)");
        }
        // a credential as the id would be echoed to the client and written to the access log
        for (String field : new String[] {"Authorization", "proxy-authorization", "Cookie", "Set-Cookie"}) {
            assertThatThrownBy(() -> b.requestIdHeader(field)).hasMessage("frontend at 0.0.0.0:8080 requestIdHeader: " + field
                    + " (expected: a field of its own, not one that carries credentials or cookies: the id is returned to"
                    + " the client, written to the access log, and set on responses)");
        }
        assertThat(HttpFrontend.bind(8080).defaultBackend("app").requestIdHeader("X-Correlation-ID").build().requestIdHeader())
                .isEqualTo("X-Correlation-ID");
        assertThatThrownBy(() -> HttpFrontend.bind(70000)).hasMessage("bind: 70000 (expected: a port in 0..65535)");
        assertThatThrownBy(() -> b.defaultBackend("app", "app"))
                .hasMessage("frontend at 0.0.0.0:8080 defaultBackend backup: app (expected: a backend other than app, which it backs up)");
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("defaultBackend: null");
    }

    @Test
    void aBackendOfAnHttpFrontendCannotAskForAProxyHeader() {
        // the L7 engine writes no PROXY header: a server set up to read one would have waited for it
        Backend withHeader = Backend.named("app").proxyProtocol(ProxyProtocol.V1).server("s1", "127.0.0.1:8081").build();
        assertThatThrownBy(() -> Proxy.builder().backend(withHeader).frontend(HttpFrontend.bind(0).name("web").defaultBackend("app").build())
                .build()).isInstanceOf(IllegalArgumentException.class).hasMessage("backend app proxyProtocol: V1 (expected: NONE, since"
                        + " frontend web speaks HTTP to the servers and sends no PROXY header; the TCP engine sends one)");
        Backend serverWithHeader = Backend.named("app").server("s1", "127.0.0.1:8081")
                .server("s2", "127.0.0.1:8082", s -> s.proxyProtocol(ProxyProtocol.V2)).build();
        assertThatThrownBy(() -> Proxy.builder().backend(serverWithHeader).frontend(HttpFrontend.bind(0).name("web").defaultBackend("app").build())
                .build()).hasMessageStartingWith("server app/s2 proxyProtocol: V2 (expected: NONE");
        // a server that turns its backend's setting off, and a backend without one, build
        Backend off = Backend.named("app").server("s1", "127.0.0.1:8081", s -> s.proxyProtocol(ProxyProtocol.NONE)).build();
        Proxy.builder().backend(off).frontend(HttpFrontend.bind(0).name("web").defaultBackend("app").build()).build().close();
    }

    @Test
    void aServerAddedAtRunTimeToABackendOfAnHttpFrontendCannotAskForAProxyHeader() {
        // the check of build() was not made at run time: the server was added, sent no header, and
        // a server set up to read one refused every request
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", "127.0.0.1:8081"))
                .backend(Backend.named("spare").server("s1", "127.0.0.1:8081"))
                .frontend(HttpFrontend.bind(0).name("web").defaultBackend("app"))
                .build()) {
            assertThatThrownBy(() -> proxy.control().addServer("app",
                    Server.builder("s2", "127.0.0.1:8082").proxyProtocol(ProxyProtocol.V2).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("server app/s2 proxyProtocol: V2 (expected: NONE, since"
                            + " frontend web speaks HTTP to the servers and sends no PROXY header; the TCP engine sends one)");
            assertThat(proxy.control().servers("app")).hasSize(1);
            proxy.control().addServer("app", Server.builder("s3", "127.0.0.1:8083").proxyProtocol(ProxyProtocol.NONE).build());
            // no HTTP frontend sends to spare
            proxy.control().addServer("spare", Server.builder("s2", "127.0.0.1:8082").proxyProtocol(ProxyProtocol.V1).build());
            assertThat(proxy.control().servers("app")).hasSize(2);

            // the frontends of the configuration in force count
            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("app").server("s1", "127.0.0.1:8081"))
                    .backend(Backend.named("spare").server("s1", "127.0.0.1:8081"))
                    .frontend(HttpFrontend.bind(0).name("web").defaultBackend("spare", "app")));
            assertThatThrownBy(() -> proxy.control().addServer("spare",
                    Server.builder("s3", "127.0.0.1:8082").proxyProtocol(ProxyProtocol.V1).build()))
                    .hasMessageStartingWith("server spare/s3 proxyProtocol: V1 (expected: NONE, since frontend web");
        }
    }

    @Test
    void twoListenersOnOneAddressFailAtBuildAndAtReconfigure() {
        // the second bind failed with "Address already in use" only at start(): proxy.route and a
        // reconfiguration before start took the configuration
        Backend app = Backend.named("app").server("s1", "127.0.0.1:9").build();
        assertThatThrownBy(() -> Proxy.builder().backend(app)
                .frontend(HttpFrontend.bind("127.0.0.1:8080").name("web").defaultBackend("app"))
                .frontend(HttpFrontend.bind("127.0.0.1:8080").name("api").defaultBackend("app"))
                .build()).isInstanceOf(IllegalArgumentException.class).hasMessage("frontend api bind: 127.0.0.1:8080"
                        + " (expected: an address no other listener of the proxy takes; frontend web binds 127.0.0.1:8080)");
        assertThatThrownBy(() -> Proxy.builder().backend(app)
                .frontend(HttpFrontend.bind(8080).bind(8081).bind(8080).name("web").defaultBackend("app"))
                .build()).hasMessage("frontend web bind: 0.0.0.0:8080"
                        + " (expected: an address no other listener of the proxy takes; frontend web binds 0.0.0.0:8080)");
        // a wildcard takes the port on the addresses it covers: :: on every one, 0.0.0.0 on IPv4's
        assertThatThrownBy(() -> Proxy.builder().backend(app)
                .frontend(HttpFrontend.bind(8080).name("web").defaultBackend("app"))
                .frontend(AdminFrontend.bind("127.0.0.1:8080").token("0123456789"))
                .build()).hasMessage("frontend admin bind: 127.0.0.1:8080"
                        + " (expected: an address no other listener of the proxy takes; frontend web binds 0.0.0.0:8080)");
        assertThatThrownBy(() -> Proxy.builder().backend(app)
                .frontend(HttpFrontend.bind("[::]:8080").name("web").defaultBackend("app"))
                .frontend(HttpFrontend.bind("[::1]:8080").name("api").defaultBackend("app"))
                .build()).hasMessageStartingWith("frontend api bind: [::1]:8080 (expected:");
        assertThatThrownBy(() -> Proxy.builder().backend(app)
                .frontend(HttpFrontend.bind("localhost:8080").name("web").defaultBackend("app"))
                .frontend(HttpFrontend.bind("LOCALHOST:8080").name("api").defaultBackend("app"))
                .build()).hasMessageStartingWith("frontend api bind: LOCALHOST:8080 (expected:");
        // what the OS allows: port 0 twice, two addresses, 0.0.0.0 beside an IPv6 address
        try (Proxy proxy = Proxy.builder().backend(app)
                .frontend(HttpFrontend.bind(0).bind(0).name("web").defaultBackend("app"))
                .frontend(HttpFrontend.bind("127.0.0.1:8080").bind("[::1]:8080").name("api").defaultBackend("app"))
                .frontend(HttpFrontend.bind("127.0.0.2:8080").bind("0.0.0.0:8081").bind("[::1]:8081").name("other").defaultBackend("app"))
                .build()) {
            assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder().backend(app)
                    .frontend(HttpFrontend.bind("127.0.0.1:8080").name("api").defaultBackend("app"))
                    .frontend(HttpFrontend.bind("0.0.0.0:8080").name("other").defaultBackend("app"))))
                    .hasMessageStartingWith("frontend other bind: 0.0.0.0:8080 (expected:");
            assertThat(proxy.frontends()).extracting(Frontend::name).as("nothing changed").containsExactly("web", "api", "other");
        }
    }

    @Test
    void aCacheStatusHeaderCannotReplaceAFieldOfHttpOrTheRequestId() {
        // the status is set on every response the cache sees: Content-Length went out as
        // `Content-Length: MISS`, Transfer-Encoding as `Transfer-Encoding: HIT` beside the length, and
        // Connection replaced the `close` of a closing connection
        for (String field : new String[] {"Content-Length", "transfer-encoding", "Connection", "Content-Type",
                "Content-Encoding", "Cache-Control", "Age", "ETag", "Vary", "Location", "Set-Cookie"}) {
            assertThatThrownBy(() -> ResponseCache.builder().statusHeader(field)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cache statusHeader: " + field + " (expected: a field of its own, such as X-Cache, not one of"
                            + " HTTP's, which the status would replace in every response the cache sees)");
        }
        // the request id is set on responses too
        ResponseCache byId = ResponseCache.builder().maxBytes(1 << 20).statusHeader("x-request-id").build();
        assertThatThrownBy(() -> HttpFrontend.bind(8080).defaultBackend("app").cache(byId).build())
                .hasMessage("frontend http-8080 cache statusHeader: x-request-id (expected: another field than the"
                        + " requestIdHeader X-Request-ID)");
        assertThatThrownBy(() -> HttpFrontend.bind(8080).defaultBackend("app").requestIdHeader("X-Trace")
                .cache("app", ResponseCache.builder().maxBytes(1 << 20).statusHeader("X-Trace")).build())
                .hasMessageStartingWith("frontend http-8080 cache statusHeader: X-Trace (expected:");
        // without request ids, or with another id header, it is a field of its own
        assertThat(HttpFrontend.bind(8080).defaultBackend("app").requestIds(false).cache(byId).build().cache("app")).isSameAs(byId);
        assertThat(HttpFrontend.bind(8080).defaultBackend("app").requestIdHeader("X-Trace").cache(byId).build().cache("app"))
                .isSameAs(byId);
        assertThat(ResponseCache.builder().maxBytes(1 << 20).statusHeader("X-Cache").build().statusHeader()).isEqualTo("X-Cache");
    }

    @Test
    void rulesAclsVirtualHostsAndTheDefaultFeedOneRouting() {
        HttpFrontend plain = HttpFrontend.bind(8080).defaultBackend("app").build();
        assertThat(plain.routing()).isNull();
        assertThat(plain.defaultBackend()).isEqualTo("app");

        HttpFrontend f = HttpFrontend.bind(8080)
                .acl("is_api", Acl.hostBegins("api."))
                .rule(Rule.whenNamed("is_api").use("api"))
                .virtualHost("static.example.com", vh -> vh.defaultBackend("static"))
                .defaultBackend("app", "sorry")
                .build();
        assertThat(f.routing()).isNotNull();
        assertThat(f.routing().rules()).hasSize(1);
        assertThat(f.routing().virtualHosts()).containsExactly("static.example.com");
        assertThat(f.backendNames()).containsExactlyInAnyOrder("api", "static", "app", "sorry");
        assertThat(f.defaultBackend()).isEqualTo("app");

        HttpFrontend backupOnly = HttpFrontend.bind(8080).defaultBackend("app", "sorry").build();
        assertThat(backupOnly.routing()).isNotNull();

        HttpFrontend rulesOnly = HttpFrontend.bind(8080).rule(Rule.when(Acl.pathBegins("/a")).use("a")).build();
        assertThat(rulesOnly.defaultBackend()).isNull();
        assertThat(rulesOnly.backendNames()).containsExactly("a");
    }

    @Test
    void aWholeRoutingTableIsUsedAsGivenButNotBesideRules() {
        Routing table = Routing.builder().rule(Rule.when(Acl.path("/")).respond(200, "hi")).defaultBackend("app").build();
        HttpFrontend f = HttpFrontend.bind(8080).routing(table).build();
        assertThat(f.routing()).isSameAs(table);
        assertThatThrownBy(() -> HttpFrontend.bind(8080).routing(table).rule(Rule.always().use("x")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend http-8080 routing:")
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> HttpFrontend.bind(8080).rule(Rule.whenNamed("nope").deny()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("acl: nope (no such named ACL");
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", "127.0.0.1:9"))
                .frontend(HttpFrontend.bind(8080).routing(table))
                .build()) {
            assertThat(proxy.route(TestRequest.get("/"))).isInstanceOf(Decision.Respond.class);
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/x"))).backend()).isEqualTo("app");
        }
        assertThatThrownBy(() -> Proxy.builder()
                .backend(Backend.named("app").server("s1", "127.0.0.1:9"))
                .frontend(HttpFrontend.bind(8080).name("web").rule(Rule.always().use("apx")).defaultBackend("app"))
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend web rule #0 use: apx (no such backend");
    }
}
