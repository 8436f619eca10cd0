package io.lodestone.examples.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.ServerState;
import io.lodestone.core.testing.Await;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HighAvailabilityTest {

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private HttpResponse<String> get(HighAvailability ha, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(ha.url())).timeout(Duration.ofSeconds(10));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r;
    }

    private static String servedBy(HttpResponse<String> r) {
        return r.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow();
    }

    /** The {@code SERVERID=...} pair of the response's Set-Cookie. */
    private static String cookie(HttpResponse<String> r) {
        String set = r.headers().firstValue("set-cookie").orElseThrow();
        assertThat(set).startsWith(HighAvailability.COOKIE + "=").contains("HttpOnly");
        return set.substring(0, set.indexOf(';'));
    }

    @Test
    void aCookieKeepsTheClientOnItsServerUntilItFailsThenTheBackupAnswers() throws Exception {
        try (HighAvailability ha = HighAvailability.start(0, Duration.ofMillis(50))) {
            Await.until(Duration.ofSeconds(5), "both primaries up", () -> ha.proxy().control().usableServers(HighAvailability.PRIMARY) == 2);

            HttpResponse<String> first = get(ha, null);
            String home = servedBy(first);
            assertThat(home).isIn("web1", "web2");
            String cookie = cookie(first);
            assertThat(cookie).doesNotContain("127.0.0.1").doesNotContain(home);
            assertThat(first.headers().firstValue("cache-control")).hasValue("private");
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> r = get(ha, cookie);
                assertThat(servedBy(r)).isEqualTo(home);
                assertThat(r.headers().firstValue("set-cookie")).isEmpty();
            }

            ha.server(home).close();
            Await.until(Duration.ofSeconds(5), home + " marked down",
                    () -> ha.proxy().control().server(HighAvailability.PRIMARY, home).state() == ServerState.DOWN);
            HttpResponse<String> moved = get(ha, cookie);
            String other = home.equals("web1") ? "web2" : "web1";
            assertThat(servedBy(moved)).isEqualTo(other);
            assertThat(cookie(moved)).isNotEqualTo(cookie);

            ha.server(other).close();
            Await.until(Duration.ofSeconds(5), "no primary left", () -> ha.proxy().control().usableServers(HighAvailability.PRIMARY) == 0);
            assertThat(servedBy(get(ha, cookie(moved)))).isEqualTo("spare");
        }
    }
}
