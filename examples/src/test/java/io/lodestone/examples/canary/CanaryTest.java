package io.lodestone.examples.canary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.examples.support.EmbeddedHttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CanaryTest {

    /** A keep-alive client: the HTTP engine balances each request, so one connection sees the split. */
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** Sends {@code n} requests; returns the canary's share in percent. */
    private double canaryShare(Canary canary, int n) throws Exception {
        int toCanary = 0;
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(canary.url())).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            if (r.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow().equals("canary")) {
                toCanary++;
            }
        }
        return 100.0 * toCanary / n;
    }

    @Test
    void theSplitMovesAtRunTime() throws Exception {
        try (Canary canary = Canary.start(0)) {
            assertThat(canaryShare(canary, 500)).isBetween(18.0, 22.0);
            canary.split(50, 50);
            assertThat(canaryShare(canary, 500)).isBetween(48.0, 52.0);
            canary.split(100, 0);
            assertThat(canaryShare(canary, 100)).isZero();
            canary.split(0, 100);
            assertThat(canaryShare(canary, 100)).isEqualTo(100.0);
        }
    }

    @Test
    void aSplitOfNothingIsRefused() {
        try (Canary canary = Canary.start(0)) {
            assertThatThrownBy(() -> canary.split(0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("split: 0/0");
            assertThatThrownBy(() -> canary.split(300, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight: 300");
        }
    }
}
