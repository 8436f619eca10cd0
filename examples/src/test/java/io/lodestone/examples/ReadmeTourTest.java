package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l4.TcpFrontend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's tour of the API, run against embedded backends on ephemeral ports. */
class ReadmeTourTest {

    @Test
    void theTourRunsAsWritten() throws Exception {
        try (EmbeddedHttpServer web1 = EmbeddedHttpServer.start("web1", "127.0.0.1", 0);
                EmbeddedHttpServer web2 = EmbeddedHttpServer.start("web2", "127.0.0.1", 0);
                EmbeddedHttpServer spare = EmbeddedHttpServer.start("spare", "127.0.0.1", 0)) {
            Backend app = Backend.named("app")
                    .balance(BalancingStrategy.roundRobin())
                    .server("web1", web1.hostPort())
                    .server("web2", web2.hostPort(), s -> s.weight(2))
                    .server("spare", spare.hostPort(), s -> s.backup())
                    .connectTimeout(Duration.ofSeconds(2))
                    .retries(2)
                    .build();

            Proxy proxy = Proxy.builder()
                    .backend(app)
                    .frontend(TcpFrontend.bind("127.0.0.1:0")
                            .name("front")
                            .defaultBackend("app")
                            .clientTimeout(Duration.ofMinutes(5))
                            .maxConnections(10_000))
                    .build();

            proxy.start();
            assertThat(proxy.localAddresses("front")).hasSize(1);
            String url = "http://127.0.0.1:" + proxy.port() + "/";

            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                servedBy.add(Http.get(url).headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow());
            }
            // a cycle of the total weight (3): web1 once, web2 twice, the backup never
            assertThat(servedBy).containsExactlyInAnyOrder("web1", "web2", "web2");

            ServerControl web1Control = proxy.control().server("app", "web1");
            web1Control.drain();
            assertThat(web1Control.state()).isEqualTo(ServerState.DRAIN);
            for (int i = 0; i < 3; i++) {
                assertThat(Http.get(url).headers().firstValue(EmbeddedHttpServer.SERVED_BY)).hasValue("web2");
            }
            web1Control.ready();
            assertThat(web1Control.state()).isEqualTo(ServerState.UP);

            proxy.close();
            assertThat(spare.requests()).isZero();
        }
    }

    @Test
    void aBadConfigurationFailsAtBuildNamingTheFieldAndValue() {
        assertThatThrownBy(() -> Backend.named("app").server("web1", "127.0.0.1:9001", s -> s.weight(300)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("weight: 300");
        assertThatThrownBy(() -> Proxy.builder()
                .backend(Backend.named("app").server("web1", "127.0.0.1:9001"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("nope"))
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("backend: nope");
    }
}
