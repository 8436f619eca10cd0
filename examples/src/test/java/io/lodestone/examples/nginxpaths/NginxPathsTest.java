package io.lodestone.examples.nginxpaths;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import io.lodestone.examples.RawGet;
import io.lodestone.examples.support.ExampleGateway;
import org.junit.jupiter.api.Test;

class NginxPathsTest {

    @Test
    void servicesSeeTheirPathWithoutThePrefixAndTheRestIsWelcomed() throws Exception {
        try (ExampleGateway g = NginxPaths.start(0)) {
            int port = g.port();
            RawGet.Response root = RawGet.get(port, "localhost", "/service1/");
            assertThat(root.status()).isEqualTo(200);
            assertThat(root.body()).isEqualTo("hello from service1: GET /\n");
            assertThat(RawGet.get(port, "localhost", "/service1").body()).isEqualTo("hello from service1: GET /\n");
            assertThat(RawGet.get(port, "localhost", "/service2/a/b?c=1").body()).isEqualTo("hello from service2: GET /a/b?c=1\n");

            for (String other : new String[] {"/", "/service10", "/other/page"}) {
                RawGet.Response welcome = RawGet.get(port, "localhost", other);
                assertThat(welcome.status()).as(other).isEqualTo(200);
                assertThat(welcome.body()).as(other).isEqualTo(NginxPaths.WELCOME);
                assertThat(welcome.header("content-type")).isEqualTo("text/plain; charset=utf-8");
            }
            assertThat(g.servers().get("service1").requests()).isEqualTo(2);
            assertThat(g.servers().get("service2").requests()).isEqualTo(1);
        }
    }

    @Test
    void runsFromTheExamplesJarCommandLine() throws Exception {
        try (MainRunner r = MainRunner.start("run", NginxPaths.NAME, "--port", "0")) {
            int port = r.awaitPort("nginx-paths: a gateway on ");
            assertThat(RawGet.get(port, "localhost", "/service2/").body()).isEqualTo("hello from service2: GET /\n");
            assertThat(r.stop()).isZero();
        }
    }
}
