package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GatewayHttpTest {

    private static EmbeddedHttpServer one;
    private static EmbeddedHttpServer two;

    @BeforeAll
    static void startBackends() {
        one = EmbeddedHttpServer.start("one", "127.0.0.1", 0);
        two = EmbeddedHttpServer.start("two", "127.0.0.1", 0);
    }

    @AfterAll
    static void stopBackends() {
        one.close();
        two.close();
    }

    @Test
    void balancesRequestsOfOneKeepAliveConnectionRoundRobin() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort() + "," + two.hostPort())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("(http, roundrobin)");
            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/p/" + i))
                        .timeout(Duration.ofSeconds(10)).build();
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.headers().firstValue("x-request-id")).isPresent();
                String server = response.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow();
                assertThat(response.body()).isEqualTo("hello from " + server + ": GET /p/" + i + "\n");
                servedBy.add(server);
            }
            // one client connection, yet requests alternate: the L7 engine balances per request
            assertThat(servedBy).containsExactly("one", "two", "one", "two", "one", "two");
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void denyAndRouteFlagsOverTheWire() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (EmbeddedHttpServer api = EmbeddedHttpServer.start("api", "127.0.0.1", 0);
                MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                        "--backend", one.hostPort(), "--deny", "/admin", "--deny", "/private/",
                        "--route", "/api=" + api.hostPort())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; /api -> " + api.hostPort(), "; /admin denied");
            String base = "http://127.0.0.1:" + port;
            for (String path : List.of("/admin", "/admin/users", "//admin", "/%61dmin", "/private/x")) {
                HttpResponse<String> denied = client.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(denied.statusCode()).as(path).isEqualTo(403);
            }
            HttpResponse<String> routed = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/items?x=1")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(routed.body()).isEqualTo("hello from api: GET /api/v1/items?x=1\n");
            HttpResponse<String> rest = client.send(HttpRequest.newBuilder(URI.create(base + "/private")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(rest.body()).isEqualTo("hello from one: GET /private\n");
            assertThat(api.requests()).isEqualTo(1);
            assertThat(r.stop()).isZero();
        }
    }
}
