package io.lodestone.examples.haproxyseed;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.route.Decision;
import io.lodestone.core.route.TestRequest;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.RawGet;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.ExampleGateway;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HaproxySeedTest {

    @Test
    void appsGoToTheirBackendsAndTheRestToAllServers() throws Exception {
        try (ExampleGateway g = HaproxySeed.start(0)) {
            int port = g.port();
            Set<String> app1 = new HashSet<>();
            Set<String> app2 = new HashSet<>();
            Set<String> all = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                RawGet.Response r1 = RawGet.get(port, "example.com", "/shop/app1?i=" + i);
                assertThat(r1.body()).endsWith(": GET /shop/app1?i=" + i + "\n");
                app1.add(r1.header(EmbeddedHttpServer.SERVED_BY));
                app2.add(RawGet.get(port, "example.com", "/x/APP2").header(EmbeddedHttpServer.SERVED_BY));
                all.add(RawGet.get(port, "example.com", "/page/" + i).header(EmbeddedHttpServer.SERVED_BY));
            }
            // balance source: every request of this client lands on one app1 server
            assertThat(app1).hasSize(1).isSubsetOf("app1-a", "app1-b");
            assertThat(app1).containsExactly(g.proxy().routeAndPick(TestRequest.get("/shop/app1").source("127.0.0.1")).serverName());
            assertThat(app2).containsExactlyInAnyOrder("app2-a", "app2-b");
            assertThat(all).containsExactlyInAnyOrder("web1", "web2");
        }
    }

    @Test
    void adminIsDeniedUnderEverySpellingAndAllowedPathsArriveRaw() throws Exception {
        try (ExampleGateway g = HaproxySeed.start(0)) {
            int port = g.port();
            for (String path : new String[] {"/admin", "/admin/users", "//admin", "/%61dmin", "/%2561dmin/x",
                "/admin;jsessionid=1", "/admin/app1"}) {
                RawGet.Response r = RawGet.get(port, "example.com", path);
                assertThat(r.status()).as(path).isEqualTo(403);
                assertThat(r.body()).isEqualTo("Forbidden\n");
            }
            for (String path : new String[] {"/x/../admin", "/./admin", "/%2e/admin", "/admin/../app1"}) {
                assertThat(RawGet.get(port, "example.com", path).status()).as(path).isEqualTo(400);
            }
            long served = g.servers().values().stream().mapToLong(EmbeddedHttpServer::requests).sum();
            assertThat(served).isZero();
            // the raw path, its leading slashes folded into one
            assertThat(RawGet.get(port, "example.com", "//public/x%20y/app1").body())
                    .endsWith(": GET /public/x%20y/app1\n");
            assertThat(g.proxy().route(TestRequest.get("/ADMIN"))).isInstanceOf(Decision.Forward.class);
        }
    }

    @Test
    void runsFromTheExamplesJarCommandLine() throws Exception {
        try (MainRunner r = MainRunner.start("run", HaproxySeed.NAME, "--port=0")) {
            int port = r.awaitPort("haproxy-seed: a gateway on ");
            assertThat(RawGet.get(port, "example.com", "/admin").status()).isEqualTo(403);
            assertThat(r.stop()).isZero();
        }
    }
}
