package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Frontend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProxyRouteTest {

    private static Backend backend(String name, String... servers) {
        Backend.Builder b = Backend.named(name);
        for (int i = 0; i < servers.length; i++) {
            b.server(servers[i], "127.0.0.1:" + (10001 + i));
        }
        return b.build();
    }

    private static Proxy seedGateway() {
        Routing routing = Routing.builder()
                .acl("is_admin", Acl.pathBegins("/admin"))
                .rule(Rule.whenNamed("is_admin").name("no-admin").deny(403))
                .rule(Rule.when(Acl.pathEnds("/app1")).use("app1"))
                .rule(Rule.when(Acl.pathEnds("/app2")).use("app2"))
                .rule(Rule.when(Acl.usableServersBelow("allServers", 1)).use("backupServers"))
                .defaultBackend("allServers")
                .build();
        return Proxy.builder()
                .backend(Backend.named("app1").balance(BalancingStrategy.sourceHash())
                        .server("a1", "127.0.0.1:10001").server("a2", "127.0.0.1:10002").build())
                .backend(backend("app2", "b1"))
                .backend(backend("allServers", "s1", "s2", "s3"))
                .backend(backend("backupServers", "spare"))
                .frontend(new RoutedFrontend("web", routing))
                .build();
    }

    @Test
    void routesTheSeedGatewayWithoutASocket() {
        try (Proxy proxy = seedGateway()) {
            Decision admin = proxy.route(TestRequest.get("/admin/x").host("example.com"));
            assertThat(admin).isInstanceOf(Decision.Deny.class);
            assertThat(admin.matched().name()).isEqualTo("no-admin");
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/x/app1"))).backend()).isEqualTo("app1");
            assertThat(((Decision.Forward) proxy.route("web", TestRequest.get("/x/app2"))).backend()).isEqualTo("app2");
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/home"))).backend()).isEqualTo("allServers");
        }
    }

    @Test
    void aRequestTheEngineCanOnlyRefuseFailsWhenMadeNamingTheValue() {
        assertThatThrownBy(() -> TestRequest.get("admin")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("target: admin (expected: a path such as /a?b=c");
        assertThatThrownBy(() -> TestRequest.get("/a#top")).hasMessageStartingWith("target: /a#top (expected:");
        assertThatThrownBy(() -> TestRequest.get("/a b")).hasMessageStartingWith("target: /a b (expected:");
        assertThatThrownBy(() -> TestRequest.get("http://u@example.com/")).hasMessageStartingWith("target: http://u@example.com/ (");
        assertThatThrownBy(() -> TestRequest.request("G@T", "/")).hasMessageStartingWith("method: G@T (");
        assertThatThrownBy(() -> TestRequest.get("/").header("Host", "a").header("host", "b"))
                .hasMessageStartingWith("header host: b (a second Host");
        assertThatThrownBy(() -> TestRequest.get("/").host("u@a")).hasMessageStartingWith("header Host: u@a (");
        assertThat(TestRequest.request("OPTIONS", "*").rawPath()).isEqualTo("*");
        assertThat(TestRequest.get("/caf\u00e9").path()).isEqualTo(TestRequest.get("/caf%C3%A9").path());
    }

    @Test
    void anAbsoluteFormTargetsAuthorityIsTheHostWhateverTheHostField() {
        TestRequest r = TestRequest.get("http://Shop.Example.com:8080?x=1").host("other.example");
        assertThat(r.host()).isEqualTo("shop.example.com");
        assertThat(r.header("Host")).isEqualTo("Shop.Example.com:8080");
        assertThat(r.headers("host")).containsExactly("Shop.Example.com:8080");
        assertThat(r.rawPath()).isEqualTo("/");
        assertThat(r.query()).isEqualTo("x=1");
    }

    @Test
    void whatTheEngineRefusesBeforeTheRulesIsDecidedAsItAnswers() {
        try (Proxy proxy = seedGateway()) {
            for (String path : new String[] {"/x/../admin", "/x/../home", "/%2e%2e/home", "/home/.", "/a/..;/b"}) {
                Decision.Deny d = (Decision.Deny) proxy.route(TestRequest.get(path));
                assertThat(d.status()).isEqualTo(400);
                assertThat(d.body()).isEqualTo("400 Bad Request\n");
                assertThat(d.matched().index()).isEqualTo(-1);
                assertThat(d.matched().condition()).contains("dot segment");
            }
            Decision.Deny connect = (Decision.Deny) proxy.route("web", TestRequest.request("CONNECT", "example.com:443"));
            assertThat(connect.status()).isEqualTo(501);
            assertThat(proxy.routeAndPick(TestRequest.get("/x/../x/app1")).server()).isNull();
        }
    }

    @Test
    void aStickyCookieLeadsRouteAndPickToItsServer() {
        StickyCookie cookie = StickyCookie.insert("SRV");
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").cookie(cookie).server("w1", "127.0.0.1:10001").server("w2", "127.0.0.1:10002"))
                .frontend(new RoutedFrontend("web", Routing.builder().defaultBackend("app").build()))
                .build()) {
            for (int i = 0; i < 4; i++) {
                assertThat(proxy.routeAndPick(TestRequest.get("/").cookie("SRV", cookie.valueFor("app", "w2"))).serverName())
                        .isEqualTo("w2");
            }
            proxy.control().server("app", "w2").maintenance();
            assertThat(proxy.routeAndPick(TestRequest.get("/").cookie("SRV", cookie.valueFor("app", "w2"))).serverName())
                    .isEqualTo("w1");
        }
    }

    /** A frontend whose engine removes the fields with an underscore in their name before its rules. */
    private record DroppingFrontend(String name, Routing routing) implements Frontend {
        @Override
        public Set<String> backendNames() {
            return routing.backendNames();
        }

        @Override
        public Listener start(EngineContext context) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean removesRequestHeader(String header) {
            return header.indexOf('_') >= 0;
        }
    }

    /**
     * A request routed without the fields its frontend removes is still one seeded request: routing
     * it again draws the same numbers (the view without the fields starts the request's draws again).
     */
    @Test
    void aSeededRequestWithoutTheFieldsItsFrontendRemovesDecidesTheSameAgain() {
        try (Proxy proxy = Proxy.builder()
                .backend(backend("first", "f")).backend(backend("second", "s")).backend(backend("app", "a", "b"))
                .backend(backend("x", "x1"))
                .frontend(new DroppingFrontend("web", Routing.builder()
                        .rule(Rule.when(Acl.headerExists("X_A")).use("x"))
                        .rule(Rule.when(Acl.random(0.5)).use("first"))
                        .rule(Rule.when(Acl.random(0.5)).use("second"))
                        .defaultBackend("app").build()))
                .build()) {
            int second = 0;
            for (int seed = 0; seed < 1000; seed++) {
                TestRequest r = TestRequest.get("/").header("X_A", "1").seed(seed);
                String backend = ((Decision.Forward) proxy.route(r)).backend();
                assertThat(((Decision.Forward) proxy.route(r)).backend()).as("seed %d again", seed).isEqualTo(backend);
                assertThat(proxy.routeAndPick(r).decision()).isEqualTo(proxy.route(r));
                if (backend.equals("second")) {
                    second++;
                }
            }
            assertThat(second).isBetween(200, 300);
        }
    }

    @Test
    void theDrawsOfOneSeededRequestAreIndependentAndRoutingItAgainDecidesTheSame() {
        // two canaries of 50 %: the engine sends a quarter of the requests to the second
        try (Proxy proxy = Proxy.builder()
                .backend(backend("first", "f")).backend(backend("second", "s")).backend(backend("app", "a", "b"))
                .frontend(new RoutedFrontend("web", Routing.builder()
                        .rule(Rule.when(Acl.random(0.5)).use("first"))
                        .rule(Rule.when(Acl.random(0.5)).use("second"))
                        .defaultBackend("app").build()))
                .build()) {
            int second = 0;
            for (int seed = 0; seed < 1000; seed++) {
                TestRequest r = TestRequest.get("/").seed(seed);
                String backend = ((Decision.Forward) proxy.route(r)).backend();
                assertThat(((Decision.Forward) proxy.route(r)).backend()).as("seed %d again", seed).isEqualTo(backend);
                if (backend.equals("second")) {
                    second++;
                }
            }
            assertThat(second).isBetween(200, 300);
        }
    }

    @Test
    void liveServerStatesDriveStateAclsAndBackups() {
        try (Proxy proxy = seedGateway()) {
            for (String s : List.of("s1", "s2", "s3")) {
                assertThat(((Decision.Forward) proxy.route(TestRequest.get("/"))).backend()).isEqualTo("allServers");
                proxy.control().server("allServers", s).state(ServerState.DOWN);
            }
            Decision failover = proxy.route(TestRequest.get("/"));
            assertThat(((Decision.Forward) failover).backend()).isEqualTo("backupServers");
            assertThat(failover.matched().condition()).isEqualTo("nbsrv(allServers) lt 1");
            proxy.control().server("allServers", "s2").state(ServerState.UP);
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/"))).backend()).isEqualTo("allServers");
        }
    }

    @Test
    void defaultBackupBackendTakesOverWhenThePrimaryDrainsOrGoesIntoMaintenance() {
        Routing routing = Routing.builder().defaultBackend("primary", "spare").build();
        try (Proxy proxy = Proxy.builder()
                .backend(backend("primary", "p1", "p2"))
                .backend(backend("spare", "x1"))
                .frontend(new RoutedFrontend("web", routing))
                .build()) {
            assertThat(proxy.routeAndPick(TestRequest.get("/")).decision()).isInstanceOf(Decision.Forward.class);
            proxy.control().server("primary", "p1").drain();
            assertThat(proxy.routeAndPick(TestRequest.get("/")).serverName()).isEqualTo("p2");
            proxy.control().server("primary", "p2").maintenance();
            RouteResult r = proxy.routeAndPick(TestRequest.get("/"));
            assertThat(((Decision.Forward) r.decision()).backend()).isEqualTo("spare");
            assertThat(r.serverName()).isEqualTo("x1");
            proxy.control().server("spare", "x1").state(ServerState.DOWN);
            RouteResult none = proxy.routeAndPick(TestRequest.get("/"));
            assertThat(((Decision.Forward) none.decision()).backend()).isEqualTo("spare");
            assertThat(none.server()).as("no usable server: the engine answers 503").isNull();
        }
    }

    @Test
    void routeAndPickNamesTheServerAndGivesItsLoadBack() {
        try (Proxy proxy = seedGateway()) {
            List<String> picks = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                picks.add(proxy.routeAndPick(TestRequest.get("/")).serverName());
            }
            assertThat(picks).containsExactly("s1", "s2", "s3", "s1", "s2", "s3");
            assertThat(proxy.control().server("allServers", "s1").load()).isZero();
            assertThat(proxy.control().server("allServers", "s1").totalSelected()).isEqualTo(2);
            String first = proxy.routeAndPick(TestRequest.get("/x/app1").source("198.51.100.7")).serverName();
            for (int i = 0; i < 5; i++) {
                assertThat(proxy.routeAndPick(TestRequest.get("/y/app1").source("198.51.100.7")).serverName()).isEqualTo(first);
            }
            RouteResult denied = proxy.routeAndPick(TestRequest.get("/admin"));
            assertThat(denied.server()).isNull();
        }
    }

    @Test
    void routeAndPickHashesTheBackendsRequestKeyAsTheClientSentIt() {
        // a rule rewrites the path and sets the header: the key is read before, from the request as sent
        Routing routing = Routing.builder()
                .rule(Rule.always().setRequestHeader("X-Tenant", "rewritten"))
                .rule(Rule.always().stripPrefix("/t"))
                .defaultBackend("app").build();
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.header("X-Tenant")))
                        .server("a", "127.0.0.1:1").server("b", "127.0.0.1:2").server("c", "127.0.0.1:3").build())
                .backend(Backend.named("byPath").balance(BalancingStrategy.hashOn(HashKey.path()))
                        .server("a", "127.0.0.1:1").server("b", "127.0.0.1:2").server("c", "127.0.0.1:3").build())
                .frontend(new RoutedFrontend("web", routing))
                .frontend(new RoutedFrontend("paths", Routing.builder().defaultBackend("byPath").build()))
                .build()) {
            Set<String> servers = new java.util.HashSet<>();
            for (int t = 0; t < 30; t++) {
                String first = proxy.routeAndPick(TestRequest.get("/t/x").header("X-Tenant", "t" + t)).serverName();
                for (int i = 0; i < 3; i++) {
                    // another client, another path: the same tenant, the same server
                    assertThat(proxy.routeAndPick(TestRequest.get("/t/y" + i).header("x-tenant", "t" + t).source("10.0.0." + i))
                            .serverName()).isEqualTo(first);
                }
                servers.add(first);
            }
            assertThat(servers).containsExactlyInAnyOrder("a", "b", "c");
            // without the header: round robin, whatever the rule sets
            List<String> picks = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                picks.add(proxy.routeAndPick(TestRequest.get("/t/x")).serverName());
            }
            assertThat(picks).containsExactly("a", "b", "c", "a", "b", "c");
            String onPath = proxy.routeAndPick("paths", TestRequest.get("/img/1.png?v=1")).serverName();
            assertThat(proxy.routeAndPick("paths", TestRequest.get("/img/1.png?v=2").source("10.9.9.9")).serverName())
                    .isEqualTo(onPath);
        }
    }

    @Test
    void randomStrategiesAreDeterministicWithASeed() {
        Routing routing = Routing.builder().defaultBackend("app").build();
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").balance(BalancingStrategy.random())
                        .server("a", "127.0.0.1:1").server("b", "127.0.0.1:2").server("c", "127.0.0.1:3").build())
                .frontend(new RoutedFrontend("web", routing))
                .build()) {
            for (int seed = 0; seed < 20; seed++) {
                String first = proxy.routeAndPick(TestRequest.get("/").seed(seed)).serverName();
                assertThat(proxy.routeAndPick(TestRequest.get("/").seed(seed)).serverName()).isEqualTo(first);
            }
        }
    }

    @Test
    void picksTheFrontendByName() {
        Routing web = Routing.builder().defaultBackend("web").build();
        Routing db = Routing.builder().connectionOnly().rule(Rule.when(Acl.source("10.0.0.0/8")).use("db")).build();
        try (Proxy proxy = Proxy.builder()
                .backend(backend("web", "w")).backend(backend("db", "d"))
                .frontend(new RoutedFrontend("http", web))
                .frontend(new RoutedFrontend("tcp", db))
                .build()) {
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/"))).backend()).isEqualTo("web");
            assertThat(((Decision.Forward) proxy.route("tcp", TestRequest.connection().source("10.0.0.1"))).backend()).isEqualTo("db");
            assertThat(proxy.route("tcp", TestRequest.connection())).isInstanceOf(Decision.Deny.class);
            assertThatThrownBy(() -> proxy.route("nope", TestRequest.get("/")))
                    .hasMessage("frontend: nope (no such frontend; known: [http, tcp])");
        }
    }

    @Test
    void buildRejectsARuleNamingAnUnknownBackend() {
        Routing routing = Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/api")).name("api").use("apx"))
                .defaultBackend("app").build();
        assertThatThrownBy(() -> Proxy.builder().backend(backend("app", "a")).backend(backend("api", "b"))
                .frontend(new RoutedFrontend("web", routing)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend web rule #0 'api' use: apx (no such backend; known: [api, app])");
    }

    @Test
    void routeNeedsAFrontendWithRoutingOrADefaultBackend() {
        Frontend plain = new Frontend() {
            @Override
            public String name() {
                return "plain";
            }

            @Override
            public Set<String> backendNames() {
                return Set.of("app");
            }

            @Override
            public Listener start(EngineContext context) {
                throw new UnsupportedOperationException();
            }
        };
        Frontend none = new Frontend() {
            @Override
            public String name() {
                return "none";
            }

            @Override
            public Set<String> backendNames() {
                return Set.of();
            }

            @Override
            public Listener start(EngineContext context) {
                throw new UnsupportedOperationException();
            }
        };
        try (Proxy proxy = Proxy.builder().backend(backend("app", "a")).frontend(none).build()) {
            assertThatThrownBy(() -> proxy.route(TestRequest.get("/"))).isInstanceOf(IllegalStateException.class)
                    .hasMessage("no frontend has routing rules or a default backend: [none]");
            assertThatThrownBy(() -> proxy.route("none", TestRequest.get("/")))
                    .hasMessage("frontend: none (it has no routing rules and no default backend)");
        }
        // a frontend without rules sends everything to its one backend, and route says so
        try (Proxy proxy = Proxy.builder().backend(backend("app", "a")).backend(backend("api", "b"))
                .frontend(plain)
                .frontend(new RoutedFrontend("web", Routing.builder()
                        .rule(Rule.when(Acl.pathBegins("/api")).use("api")).defaultBackend("app").build()))
                .build()) {
            assertThat(((Decision.Forward) proxy.route("plain", TestRequest.get("/api"))).backend()).isEqualTo("app");
            assertThat(proxy.routeAndPick("plain", TestRequest.connection()).serverName()).isEqualTo("a");
            // the first frontend with rules stays the one route(request) reads
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/api"))).backend()).isEqualTo("api");
        }
        try (Proxy proxy = Proxy.builder().backend(backend("app", "a")).frontend(plain).build()) {
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/"))).backend()).isEqualTo("app");
        }
    }
}
