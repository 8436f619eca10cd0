package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.route.HeaderEdit.Op;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RouterTest {

    private static Router router(Routing.Builder b) {
        return b.build().router(BackendStates.allUp());
    }

    private static Decision.Forward forward(Decision d) {
        assertThat(d).isInstanceOf(Decision.Forward.class);
        return (Decision.Forward) d;
    }

    @Test
    void rulesRunInOrderAndTheFirstTerminalOneWins() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/admin")).name("no-admin").deny(403))
                .rule(Rule.when(Acl.pathBegins("/a")).use("a"))
                .rule(Rule.when(Acl.pathBegins("/")).use("all"))
                .defaultBackend("never"));
        Decision admin = r.route(TestRequest.get("/admin/x"));
        assertThat(admin).isInstanceOf(Decision.Deny.class);
        assertThat(((Decision.Deny) admin).status()).isEqualTo(403);
        assertThat(((Decision.Deny) admin).body()).isEqualTo("Forbidden\n");
        assertThat(admin.matched()).isEqualTo(new MatchedRule("frontend", 0, "no-admin", "path_beg /admin"));
        assertThat(admin.matched().toString()).isEqualTo("frontend rule #0 'no-admin' (path_beg /admin)");
        assertThat(forward(r.route(TestRequest.get("/abc"))).backend()).isEqualTo("a");
        Decision all = r.route(TestRequest.get("/xyz"));
        assertThat(forward(all).backend()).isEqualTo("all");
        assertThat(all.matched().index()).isEqualTo(2);
        assertThat(all.matched().name()).isNull();
    }

    @Test
    void everyOccurrenceOfAQueryParameterOrCookieIsReadByTheIndexAsByTheAcl() {
        // two rules on each name, so that the index decides them by value
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.queryParam("debug", "1")).deny(403))
                .rule(Rule.when(Acl.queryParam("debug", "2")).use("two"))
                .rule(Rule.when(Acl.cookie("role", "admin")).deny(403))
                .rule(Rule.when(Acl.cookie("role", "ops")).use("ops"))
                .defaultBackend("app"));
        assertThat(r.route(TestRequest.get("/x?debug=0&debug=1"))).isInstanceOf(Decision.Deny.class);
        assertThat(r.route(TestRequest.get("/x?debug=1&debug=0"))).isInstanceOf(Decision.Deny.class);
        assertThat(r.route(TestRequest.get("/x?debug=2&a&debug=%31"))).isInstanceOf(Decision.Deny.class);
        assertThat(forward(r.route(TestRequest.get("/x?debug=0&debug=2"))).backend()).isEqualTo("two");
        assertThat(r.route(TestRequest.get("/x").cookie("role", "user").cookie("role", "admin"))).isInstanceOf(Decision.Deny.class);
        assertThat(r.route(TestRequest.get("/x").header("Cookie", "role=user").header("Cookie", "x=1; role=admin")))
                .isInstanceOf(Decision.Deny.class);
        assertThat(forward(r.route(TestRequest.get("/x").cookie("role", "user").cookie("role", "ops"))).backend()).isEqualTo("ops");
        assertThat(forward(r.route(TestRequest.get("/x?debug=0&debug=3").cookie("role", "user"))).backend()).isEqualTo("app");
    }

    @ParameterizedTest(name = "{0} is denied")
    @ValueSource(strings = {
        "/admin", "//admin", "/./admin", "/x/../admin", "/%61dmin", "/admin;x=1", "/%2e/admin", "/admin/",
        "/admin/users", "/%2561dmin", "/%2fadmin", "/\\admin", "/admin%2fusers", "/ADMIN/../admin"
    })
    void aDeniedPathStaysDeniedUnderEverySpelling(String raw) {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/admin")).deny(403))
                .defaultBackend("app"));
        assertThat(r.route(TestRequest.get(raw))).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void caseIsSignificantUnlessTheIgnoreCaseVariantIsUsed() {
        Router strict = router(Routing.builder().rule(Rule.when(Acl.pathBegins("/admin")).deny()).defaultBackend("app"));
        Router lenient = router(Routing.builder().rule(Rule.when(Acl.pathBeginsIgnoreCase("/admin")).deny()).defaultBackend("app"));
        assertThat(strict.route(TestRequest.get("/ADMIN"))).isInstanceOf(Decision.Forward.class);
        assertThat(lenient.route(TestRequest.get("/ADMIN"))).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void theRawPathIsWhatIsForwardedWithItsLeadingSlashesFolded() {
        Router r = router(Routing.builder().rule(Rule.when(Acl.path("/app")).use("app")).defaultBackend("other"));
        TestRequest req = TestRequest.get("/x/../app;v=1?q=1");
        Decision.Forward f = forward(r.route(req));
        assertThat(f.backend()).isEqualTo("app");
        assertThat(f.path()).isNull();
        assertThat(f.target(req)).isEqualTo("/x/../app;v=1?q=1");
        // a URL parser reads //evil/admin as host evil, path /admin: no rule saw that path
        TestRequest authorityLike = TestRequest.get("//evil/admin?q=//x");
        assertThat(forward(r.route(authorityLike)).target(authorityLike)).isEqualTo("/evil/admin?q=//x");
        TestRequest backslash = TestRequest.get("/\\/\\evil//admin");
        assertThat(forward(r.route(backslash)).target(backslash)).isEqualTo("/evil//admin");
        Router strip = router(Routing.builder().rule(Rule.when(Acl.pathBegins("/svc")).stripPrefix("/svc")).defaultBackend("app"));
        TestRequest rest = TestRequest.get("/svc//evil/admin");
        assertThat(forward(strip.route(rest)).target(rest)).isEqualTo("/evil/admin");
    }

    @Test
    void editsAccumulateUntilTheTerminalRule() {
        Router r = router(Routing.builder()
                .rule(Rule.always().setRequestHeader("X-Forwarded-Proto", "https"))
                .rule(Rule.when(Acl.headerExists("X-Debug")).removeRequestHeader("X-Debug"))
                .rule(Rule.always().addResponseHeader("Strict-Transport-Security", "max-age=63072000"))
                .rule(Rule.when(Acl.pathBegins("/api")).addRequestHeader("X-Api", "1"))
                .rule(Rule.when(Acl.pathBegins("/api")).setHost("api.internal"))
                .rule(Rule.when(Acl.pathBegins("/api")).use("api"))
                .rule(Rule.always().setResponseHeader("X-Never", "1"))
                .defaultBackend("app"));
        Decision.Forward api = forward(r.route(TestRequest.get("/api/x").header("X-Debug", "1")));
        assertThat(api.backend()).isEqualTo("api");
        assertThat(api.requestHeaders()).containsExactly(
                new HeaderEdit(Op.SET, "X-Forwarded-Proto", "https"),
                new HeaderEdit(Op.REMOVE, "X-Debug", null),
                new HeaderEdit(Op.ADD, "X-Api", "1"));
        assertThat(api.responseHeaders()).containsExactly(new HeaderEdit(Op.ADD, "Strict-Transport-Security", "max-age=63072000"));
        assertThat(api.host()).isEqualTo("api.internal");
        Decision.Forward other = forward(r.route(TestRequest.get("/web")));
        assertThat(other.backend()).isEqualTo("app");
        assertThat(other.requestHeaders()).containsExactly(new HeaderEdit(Op.SET, "X-Forwarded-Proto", "https"));
        assertThat(other.responseHeaders()).hasSize(2);
        assertThat(other.host()).isNull();
    }

    @Test
    void responseHeaderEditsAlsoApplyToDenyRedirectAndRespond() {
        Router r = router(Routing.builder()
                .rule(Rule.always().setResponseHeader("X-Served-By", "lodestone"))
                .rule(Rule.when(Acl.path("/d")).deny(404))
                .rule(Rule.when(Acl.path("/r")).redirect(302, "/x"))
                .rule(Rule.when(Acl.path("/s")).respond(200, "ok")));
        for (String p : List.of("/d", "/r", "/s", "/none")) {
            assertThat(r.route(TestRequest.get(p)).responseHeaders()).containsExactly(new HeaderEdit(Op.SET, "X-Served-By", "lodestone"));
        }
    }

    @Test
    void pathRewrites() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/service1")).stripPrefix("/service1/"))
                .rule(Rule.when(Acl.pathBegins("/service1")).use("s1"))
                .rule(Rule.when(Acl.pathBegins("/v1")).replacePrefix("/v1", "/api/v1/"))
                .rule(Rule.when(Acl.pathBegins("/v1")).use("api"))
                .rule(Rule.when(Acl.pathBegins("/old")).replacePath("^/old/(.*)$", "/new/$1"))
                .rule(Rule.when(Acl.pathBegins("/old")).use("new"))
                .defaultBackend("app"));
        TestRequest s1 = TestRequest.get("/service1/a/b?x=1");
        Decision.Forward f = forward(r.route(s1));
        assertThat(f.backend()).isEqualTo("s1");
        assertThat(f.path()).isEqualTo("/a/b");
        assertThat(f.target(s1)).isEqualTo("/a/b?x=1");
        assertThat(forward(r.route(TestRequest.get("/service1"))).path()).isEqualTo("/");
        assertThat(forward(r.route(TestRequest.get("/service1x/y"))).path()).as("segment boundary").isNull();
        assertThat(forward(r.route(TestRequest.get("/service1/a%20b"))).path()).isEqualTo("/a%20b");
        assertThat(forward(r.route(TestRequest.get("/v1/users"))).path()).isEqualTo("/api/v1/users");
        assertThat(forward(r.route(TestRequest.get("/old/a/b"))).path()).isEqualTo("/new/a/b");
        assertThat(forward(r.route(TestRequest.get("/other"))).path()).isNull();
    }

    @Test
    void prefixRewritesReplaceThePrefixInItsRawFormAndKeepTheRest() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/svc")).stripPrefix("/svc"))
                .rule(Rule.when(Acl.pathBegins("/v1")).replacePrefix("/v1", "/api v1"))
                .rule(Rule.when(Acl.pathBegins("/re")).replacePath("^/re/(.*)$", "/new/$1"))
                .defaultBackend("app"));
        assertThat(forward(r.route(TestRequest.get("/svc/page;jsessionid=ABC?x=1"))).target(TestRequest.get("/svc/page;jsessionid=ABC?x=1")))
                .isEqualTo("/page;jsessionid=ABC?x=1");
        assertThat(forward(r.route(TestRequest.get("/svc/a%2Fb"))).path()).isEqualTo("/a%2Fb");
        assertThat(forward(r.route(TestRequest.get("/svc/a%252Fb"))).path()).isEqualTo("/a%252Fb");
        assertThat(forward(r.route(TestRequest.get("/%73vc/page"))).path()).isEqualTo("/page");
        assertThat(forward(r.route(TestRequest.get("/%2573vc;x=1/page"))).path()).as("a doubly encoded prefix").isEqualTo("/page");
        assertThat(forward(r.route(TestRequest.get("//svc//page"))).path()).isEqualTo("//page");
        assertThat(forward(r.route(TestRequest.get("/svc"))).path()).isEqualTo("/");
        assertThat(forward(r.route(TestRequest.get("/%73vc;x"))).path()).isEqualTo("/");
        assertThat(forward(r.route(TestRequest.get("/svc\\page"))).path()).isEqualTo("/\\page");
        assertThat(forward(r.route(TestRequest.get("/svc%2Fa%2Fb;p"))).path()).as("the prefix ends at an encoded slash: the normalised rest")
                .isEqualTo("/a/b");
        assertThat(forward(r.route(TestRequest.get("/v1/a;p=1/b%2Fc"))).path()).isEqualTo("/api%20v1/a;p=1/b%2Fc");
        assertThat(forward(r.route(TestRequest.get("/re/a;p=1/b%2Fc"))).path()).as("a regex rewrite reads and sends the normalised path")
                .isEqualTo("/new/a/b/c");
        assertThat(forward(r.route(TestRequest.get("/svcx/a%2Fb"))).path()).isNull();
    }

    @Test
    void redirects() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.path("/moved")).redirect(301, "https://example.com/new"))
                .rule(Rule.when(Acl.localPort(80)).redirectScheme(308, "https"))
                .rule(Rule.when(Acl.hostBegins("www.")).redirectPrefix(302, "https://example.com/"))
                .defaultBackend("app"));
        Decision.Redirect moved = (Decision.Redirect) r.route(TestRequest.get("/moved?x=1").host("h"));
        assertThat(moved.status()).isEqualTo(301);
        assertThat(moved.location()).isEqualTo("https://example.com/new");
        Decision.Redirect scheme = (Decision.Redirect) r.route(TestRequest.get("/a/b?x=1&y=2").host("Example.com:8080"));
        assertThat(scheme.status()).isEqualTo(308);
        assertThat(scheme.location()).isEqualTo("https://Example.com:8080/a/b?x=1&y=2");
        Decision.Redirect prefix = (Decision.Redirect) r.route(TestRequest.get("/p?q=1").host("www.example.com").localPort(443));
        assertThat(prefix.location()).isEqualTo("https://example.com/p?q=1");
        assertThat(r.route(TestRequest.get("/p").host("example.com").localPort(443))).isInstanceOf(Decision.Forward.class);
    }

    @Test
    void respondAnswersDirectly() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.path("/")).respond(200, "Welcome to the reverse proxy!"))
                .rule(Rule.when(Acl.path("/health")).respond(200, "application/json", "{\"ok\":true}")));
        Decision.Respond welcome = (Decision.Respond) r.route(TestRequest.get("/"));
        assertThat(welcome.status()).isEqualTo(200);
        assertThat(welcome.contentType()).isEqualTo("text/plain; charset=utf-8");
        assertThat(welcome.body()).isEqualTo("Welcome to the reverse proxy!");
        Decision.Respond health = (Decision.Respond) r.route(TestRequest.get("/health"));
        assertThat(health.contentType()).isEqualTo("application/json");
    }

    @Test
    void noRuleAndNoDefaultIs503() {
        Router r = router(Routing.builder().rule(Rule.when(Acl.path("/x")).use("x")));
        Decision.Deny d = (Decision.Deny) r.route(TestRequest.get("/y"));
        assertThat(d.status()).isEqualTo(503);
        assertThat(d.matched().index()).isEqualTo(-1);
        assertThat(d.matched().condition()).isEqualTo("no rule matched and no default backend");
    }

    @Test
    void aDenyTellsWhetherItsBodyIsTheDefaultOne() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.path("/plain")).deny(403))
                .rule(Rule.when(Acl.path("/teapot")).deny(418))
                .rule(Rule.when(Acl.path("/edited")).setResponseHeader("X-A", "1"))
                .rule(Rule.when(Acl.path("/edited")).deny(404))
                .rule(Rule.when(Acl.path("/own")).deny(403, "go away\n"))
                .rule(Rule.when(Acl.path("/x")).use("x")));
        assertThat(((Decision.Deny) r.route(TestRequest.get("/plain"))).hasDefaultBody()).isTrue();
        assertThat(((Decision.Deny) r.route(TestRequest.get("/teapot"))).hasDefaultBody()).isTrue();
        assertThat(((Decision.Deny) r.route(TestRequest.get("/edited"))).hasDefaultBody()).isTrue();
        assertThat(((Decision.Deny) r.route(TestRequest.get("/own"))).hasDefaultBody()).isFalse();
        // the 503 of a request no rule routes
        assertThat(((Decision.Deny) r.route(TestRequest.get("/y"))).hasDefaultBody()).isTrue();
    }

    @Test
    void virtualHosts() {
        Router r = router(Routing.builder()
                .virtualHost("example.com", vh -> vh
                        .rule(Rule.when(Acl.pathBegins("/blog")).use("blog"))
                        .defaultBackend("site"))
                .virtualHost("*.example.com", vh -> vh.rule(Rule.when(Acl.pathBegins("/api")).use("tenant-api")))
                .virtualHost("*.eu.example.com", vh -> vh.defaultBackend("eu"))
                .virtualHost("Static.Example.COM", vh -> vh.defaultBackend("static"))
                .rule(Rule.when(Acl.pathBegins("/admin")).deny())
                .defaultBackend("fallback"));
        assertThat(forward(r.route(TestRequest.get("/blog/1").host("example.com"))).backend()).isEqualTo("blog");
        Decision site = r.route(TestRequest.get("/admin").host("EXAMPLE.com:80"));
        assertThat(forward(site).backend()).as("a host with its own default never reaches the frontend table").isEqualTo("site");
        assertThat(site.matched().table()).isEqualTo("host example.com");
        assertThat(site.matched().index()).isEqualTo(-1);
        assertThat(forward(r.route(TestRequest.get("/x").host("static.example.com"))).backend()).isEqualTo("static");
        assertThat(forward(r.route(TestRequest.get("/api/x").host("acme.example.com"))).backend()).isEqualTo("tenant-api");
        assertThat(r.route(TestRequest.get("/admin").host("acme.example.com"))).as("falls back to the frontend's rules")
                .isInstanceOf(Decision.Deny.class);
        assertThat(forward(r.route(TestRequest.get("/x").host("acme.example.com"))).backend()).isEqualTo("fallback");
        assertThat(forward(r.route(TestRequest.get("/api").host("a.eu.example.com"))).backend())
                .as("the longest wildcard wins").isEqualTo("eu");
        assertThat(forward(r.route(TestRequest.get("/x").host("other.org"))).backend()).isEqualTo("fallback");
        assertThat(forward(r.route(TestRequest.get("/x"))).backend()).isEqualTo("fallback");
    }

    @Test
    void namedAclsAreResolvedAndShownByName() {
        Router r = router(Routing.builder()
                .acl("is_admin", Acl.pathBegins("/admin"))
                .acl("from_office", Acl.source("10.0.0.0/8"))
                .acl("outsider_admin", Acl.and(Acl.named("is_admin"), Acl.not(Acl.named("from_office"))))
                .rule(Rule.whenNamed("outsider_admin").deny())
                .rule(Rule.unless(Acl.named("is_admin")).use("app"))
                .defaultBackend("admin"));
        Decision denied = r.route(TestRequest.get("/admin").source("203.0.113.5"));
        assertThat(denied).isInstanceOf(Decision.Deny.class);
        assertThat(denied.matched().condition()).isEqualTo("outsider_admin");
        assertThat(forward(r.route(TestRequest.get("/admin").source("10.1.1.1"))).backend()).isEqualTo("admin");
        Decision app = r.route(TestRequest.get("/home"));
        assertThat(forward(app).backend()).isEqualTo("app");
        assertThat(app.matched().condition()).isEqualTo("!is_admin");
    }

    @Test
    void usableServerCountAndBackupBackends() {
        Map<String, Integer> up = new HashMap<>(Map.of("app", 2, "spare", 1, "api", 1));
        Routing routing = Routing.builder()
                .rule(Rule.when(Acl.usableServersBelow("api", 1)).name("api-down").respond(503, "api down"))
                .rule(Rule.when(Acl.pathBegins("/api")).use("api"))
                .defaultBackend("app", "spare")
                .build();
        Router r = routing.router(b -> up.getOrDefault(b, 0));
        assertThat(forward(r.route(TestRequest.get("/"))).backend()).isEqualTo("app");
        up.put("app", 0);
        Decision spare = r.route(TestRequest.get("/"));
        assertThat(forward(spare).backend()).isEqualTo("spare");
        assertThat(spare.matched().condition()).isEqualTo("default; backup: app has no usable server");
        up.put("api", 0);
        assertThat(r.route(TestRequest.get("/api")).matched().name()).isEqualTo("api-down");
        assertThat(routing.backendNames()).containsExactlyInAnyOrder("api", "app", "spare");
    }

    @Test
    void ruleBackupBackend() {
        Map<String, Integer> up = new HashMap<>(Map.of("primary", 1, "backup", 1));
        Router r = Routing.builder()
                .rule(Rule.always().setRequestHeader("X-A", "1"))
                .rule(Rule.when(Acl.always()).use("primary", "backup"))
                .build().router(b -> up.get(b));
        assertThat(forward(r.route(TestRequest.get("/"))).backend()).isEqualTo("primary");
        up.put("primary", 0);
        Decision.Forward f = forward(r.route(TestRequest.get("/")));
        assertThat(f.backend()).isEqualTo("backup");
        assertThat(f.requestHeaders()).hasSize(1);
    }

    @Test
    void connectionOnlyRoutingForL4() {
        Router r = router(Routing.builder()
                .connectionOnly()
                .rule(Rule.when(Acl.not(Acl.source("10.0.0.0/8", "127.0.0.1"))).reject())
                .rule(Rule.when(Acl.sni("db.example.com")).use("db"))
                .rule(Rule.when(Acl.localPort(5433)).use("replica"))
                .defaultBackend("db"));
        assertThat(r.route(TestRequest.connection().source("203.0.113.1"))).isInstanceOf(Decision.Deny.class);
        assertThat(forward(r.route(TestRequest.connection().localPort(5433))).backend()).isEqualTo("replica");
        assertThat(forward(r.route(TestRequest.connection().source("10.0.0.9").localPort(5433).sni("DB.example.com"))).backend())
                .isEqualTo("db");
    }

    @Test
    void routeIsDeterministicAndFixedDecisionsAreMadeOnce() {
        Router r = router(Routing.builder()
                .rule(Rule.when(Acl.random(0.5)).use("canary"))
                .rule(Rule.when(Acl.pathBegins("/admin")).deny())
                .defaultBackend("app"));
        for (int seed = 0; seed < 50; seed++) {
            TestRequest req = TestRequest.get("/x").seed(seed);
            Decision first = r.route(req);
            for (int i = 0; i < 5; i++) {
                assertThat(r.route(req)).isEqualTo(first);
            }
        }
        Decision a = r.route(TestRequest.get("/").seed(1));
        Decision b = r.route(TestRequest.get("/other").seed(1));
        assertThat(a).isSameAs(b);
    }
}
