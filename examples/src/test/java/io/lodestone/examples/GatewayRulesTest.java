package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.l7.HttpFrontend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GatewayRulesTest {

    static Proxy gateway() {
        return Proxy.builder()
            .backend(Backend.named("app1").balance(BalancingStrategy.sourceHash())
                .server("a1", "10.0.0.11:8080").server("a2", "10.0.0.12:8080"))
            .backend(Backend.named("app2").server("b1", "10.0.0.21:8080"))
            .backend(Backend.named("allServers").server("s1", "10.0.0.31:8080").server("s2", "10.0.0.32:8080"))
            .backend(Backend.named("backupServers").server("spare", "10.0.0.41:8080"))
            .backend(Backend.named("canary").server("c1", "10.0.0.51:8080"))
            .frontend(HttpFrontend.bind(8080)
                .acl("is_admin", Acl.pathBegins("/admin"))
                .rule(Rule.whenNamed("is_admin").name("no-admin").deny(403))
                .rule(Rule.when(Acl.pathEnds("/app1")).use("app1"))
                .rule(Rule.when(Acl.pathEnds("/app2")).use("app2"))
                .rule(Rule.when(Acl.and(Acl.pathBegins("/shop"), Acl.random(0.1))).name("canary").use("canary"))
                .rule(Rule.when(Acl.path("/")).respond(200, "Welcome to the reverse proxy!"))
                .defaultBackend("allServers", "backupServers"))
            .build();
    }

    @Test
    void adminIsDeniedUnderEverySpelling() {
        try (Proxy proxy = gateway()) {
            for (String path : new String[] {"/admin", "//admin/x", "/%61dmin", "/admin;jsessionid=1"}) {
                Decision d = proxy.route(TestRequest.get(path).host("example.com"));
                assertThat(d).isInstanceOf(Decision.Deny.class);
                assertThat(d.matched().name()).isEqualTo("no-admin");
            }
            // a dot segment is refused before any rule, as the proxy refuses it on the wire
            Decision.Deny refused = (Decision.Deny) proxy.route(TestRequest.get("/x/../admin"));
            assertThat(refused.status()).isEqualTo(400);
        }
    }

    @Test
    void appsGoToTheirOwnBackendsWithTheirRawPath() {
        try (Proxy proxy = gateway()) {
            TestRequest request = TestRequest.get("/x/app1?id=7").source("198.51.100.7");
            Decision.Forward f = (Decision.Forward) proxy.route(request);
            assertThat(f.backend()).isEqualTo("app1");
            assertThat(f.target(request)).isEqualTo("/x/app1?id=7");
            // source hashing: the same client keeps its server
            String server = proxy.routeAndPick(request).serverName();
            assertThat(proxy.routeAndPick(request).serverName()).isEqualTo(server);
        }
    }

    @Test
    void theRootIsAnsweredByTheProxy() {
        try (Proxy proxy = gateway()) {
            Decision.Respond r = (Decision.Respond) proxy.route(TestRequest.get("/"));
            assertThat(r.body()).isEqualTo("Welcome to the reverse proxy!");
        }
    }

    @Test
    void theBackupTakesOverWhenEveryServerIsDown() {
        try (Proxy proxy = gateway()) {
            proxy.control().server("allServers", "s1").state(ServerState.DOWN);
            proxy.control().server("allServers", "s2").maintenance();
            Decision.Forward f = (Decision.Forward) proxy.route(TestRequest.get("/home"));
            assertThat(f.backend()).isEqualTo("backupServers");
            assertThat(proxy.routeAndPick(TestRequest.get("/home")).serverName()).isEqualTo("spare");
        }
    }

    @Test
    void aboutOneShopperInTenSeesTheCanary() {
        try (Proxy proxy = gateway()) {
            SplittableRandom random = new SplittableRandom(42);   // same seed, same answer, every run
            int canary = 0;
            for (int i = 0; i < 1000; i++) {
                Decision.Forward f = (Decision.Forward) proxy.route(TestRequest.get("/shop/cart").random(random));
                if (f.backend().equals("canary")) {
                    canary++;
                }
            }
            assertThat(canary).isBetween(70, 130);
        }
    }
}
