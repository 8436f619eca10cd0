package io.lodestone.examples.checks;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.ServerState;
import io.lodestone.core.testing.Await;
import io.lodestone.examples.Http;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundRobinWithChecksTest {

    private static Map<String, Integer> servedBy(RoundRobinWithChecks example, int n) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = Http.get(example.url());
            assertThat(r.statusCode()).isEqualTo(200);
            counts.merge(r.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow(), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void aServerFailingItsChecksLeavesTheRotationAndComesBack() throws Exception {
        try (RoundRobinWithChecks example = RoundRobinWithChecks.start(0, Duration.ofMillis(50))) {
            assertThat(servedBy(example, 6)).containsOnly(Map.entry("web1", 2), Map.entry("web2", 2), Map.entry("web3", 2));

            example.setHealthy("web2", false);
            Await.until(Duration.ofSeconds(5), "web2 down", () -> example.state("web2") == ServerState.DOWN);
            assertThat(example.proxy().control().server("web", "web2").lastCheck().isHealthy()).isFalse();
            assertThat(servedBy(example, 6)).containsOnly(Map.entry("web1", 3), Map.entry("web3", 3));

            example.setHealthy("web2", true);
            Await.until(Duration.ofSeconds(5), "web2 up", () -> example.state("web2") == ServerState.UP);
            assertThat(servedBy(example, 6)).containsOnlyKeys("web1", "web2", "web3");
        }
    }
}
