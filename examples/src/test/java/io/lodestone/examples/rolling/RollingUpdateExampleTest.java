package io.lodestone.examples.rolling;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.RollingUpdate;
import io.lodestone.core.ServerState;
import io.lodestone.examples.Http;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RollingUpdateExampleTest {

    @Test
    void theUpdateStopsAtTheServerThatDoesNotComeBackAndNoRequestFails() throws Exception {
        try (RollingUpdateExample example = RollingUpdateExample.start(0, Duration.ofMillis(50), Duration.ofSeconds(2), Set.of("web3"))) {
            CompletableFuture<RollingUpdate.Result> update = example.update();
            int requests = 0;
            while (!update.isDone() && requests < 2_000) {
                HttpResponse<String> r = Http.get(example.url() + "during");
                assertThat(r.statusCode()).as("request %d during the update: %s", requests, r.body()).isEqualTo(200);
                requests++;
            }
            RollingUpdate.Result result = update.get(20, TimeUnit.SECONDS);
            assertThat(result.succeeded()).isFalse();
            assertThat(result.failedServer()).isEqualTo("web3");
            assertThat(result.updated()).containsExactly("web1", "web2");
            assertThat(example.proxy().control().server(RollingUpdateExample.BACKEND, "web3").state()).isEqualTo(ServerState.DOWN);

            Set<String> answers = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                HttpResponse<String> r = Http.get(example.url());
                assertThat(r.statusCode()).isEqualTo(200);
                answers.add(r.body());
            }
            assertThat(answers).containsExactlyInAnyOrder("hello from web1 v2: GET /\n", "hello from web2 v2: GET /\n");
        }
    }

    @Test
    void anUpdateOfHealthyBuildsUpdatesEveryServer() throws Exception {
        try (RollingUpdateExample example = RollingUpdateExample.start(0, Duration.ofMillis(50), Duration.ofSeconds(5), Set.of())) {
            RollingUpdate.Result result = example.update().get(30, TimeUnit.SECONDS);
            assertThat(result.succeeded()).as(result.toString()).isTrue();
            assertThat(result.updated()).containsExactly("web1", "web2", "web3");
            Set<String> answers = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                answers.add(Http.get(example.url()).body());
            }
            assertThat(answers).allMatch(body -> body.contains(" v2: "));
            assertThat(answers).hasSize(3);
        }
    }
}
