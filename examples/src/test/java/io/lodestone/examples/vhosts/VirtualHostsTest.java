package io.lodestone.examples.vhosts;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.ProxyControl;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.RawGet;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.ExampleGateway;
import org.junit.jupiter.api.Test;

class VirtualHostsTest {

    private static String servedBy(int port, String host, String target) throws Exception {
        return RawGet.get(port, host, target).header(EmbeddedHttpServer.SERVED_BY);
    }

    @Test
    void eachHostHasItsOwnBackend() throws Exception {
        try (ExampleGateway g = VirtualHosts.start(0)) {
            int port = g.port();
            assertThat(servedBy(port, "www.example.com", "/")).isEqualTo("www1");
            assertThat(servedBy(port, "WWW.Example.com:8080", "/")).isEqualTo("www1");
            assertThat(RawGet.get(port, "api.example.com", "/v1/users?id=2").body()).matches("hello from api[12]: GET /users\\?id=2\n");
            assertThat(servedBy(port, "eu.api.example.com", "/v1/x")).startsWith("api");
            assertThat(servedBy(port, "example.org", "/")).startsWith("web");
            assertThat(servedBy(port, "api.example.com.evil.org", "/")).startsWith("web");
            assertThat(g.servers().get("spare").requests()).isZero();
        }
    }

    @Test
    void theBackupTakesOverWhenAllServersHasNoUsableServerAndHandsBack() throws Exception {
        try (ExampleGateway g = VirtualHosts.start(0)) {
            int port = g.port();
            ProxyControl control = g.proxy().control();
            assertThat(servedBy(port, "example.org", "/")).startsWith("web");

            control.server("allServers", "web1").maintenance();
            assertThat(servedBy(port, "example.org", "/")).isEqualTo("web2");
            control.server("allServers", "web2").maintenance();
            for (int i = 0; i < 3; i++) {
                assertThat(servedBy(port, "example.org", "/" + i)).isEqualTo("spare");
            }
            // the virtual hosts are not affected
            assertThat(servedBy(port, "www.example.com", "/")).isEqualTo("www1");

            control.server("allServers", "web2").ready();
            assertThat(servedBy(port, "example.org", "/")).isEqualTo("web2");
            assertThat(g.servers().get("spare").requests()).isEqualTo(3);
        }
    }

    @Test
    void runsFromTheExamplesJarCommandLine() throws Exception {
        try (MainRunner r = MainRunner.start("run", VirtualHosts.NAME, "--port", "0")) {
            int port = r.awaitPort("vhosts: a gateway on ");
            assertThat(servedBy(port, "www.example.com", "/")).isEqualTo("www1");
            assertThat(r.stop()).isZero();
        }
    }
}
