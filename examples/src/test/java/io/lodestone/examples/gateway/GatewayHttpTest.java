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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
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
    void hashKeyFlagKeepsEachTenantOnOneServer() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort() + "," + two.hostPort(), "--hash-key", "header:X-Tenant")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("(http, hash header:X-Tenant)");
            Map<String, String> owner = new HashMap<>();
            for (int round = 0; round < 2; round++) {
                for (int t = 0; t < 20; t++) {
                    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t/" + round))
                            .header("X-Tenant", "tenant-" + t).timeout(Duration.ofSeconds(10)).build();
                    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                    String server = response.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow();
                    assertThat(owner.computeIfAbsent("tenant-" + t, k -> server)).as("tenant-%s", t).isEqualTo(server);
                }
            }
            // the hash is fixed, and 20 tenants reach both servers
            assertThat(owner.values()).contains("one", "two");
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void busyPollFlagProxiesAsBeforeAndStops() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort(), "--busy-poll", "50us", "--io-threads", "1")) {
            int port = r.awaitPort("gateway: listening on ");
            for (int i = 0; i < 50; i++) {
                HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/b/" + i))
                        .timeout(Duration.ofSeconds(10)).build();
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).isEqualTo("hello from one: GET /b/" + i + "\n");
            }
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void requestIdAndForwardedForFlagsDecideTheHeadersTheServersGet() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        EmbeddedHttpServer echo = EmbeddedHttpServer.start("echo", "127.0.0.1", 0, request -> {
            seen.add(request.header("x-trace") + " " + request.header("x-request-id") + " " + request.header("x-forwarded-for")
                    + " " + request.header("x-real-ip"));
            return EmbeddedHttpServer.hello(request);
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (echo) {
            try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                    "--backend", echo.hostPort(), "--request-id", "X-Trace")) {
                HttpResponse<String> response = send(client, r.awaitPort("gateway: listening on "), "/named");
                String id = response.headers().firstValue("x-trace").orElseThrow();
                assertThat(response.headers().firstValue("x-request-id")).isEmpty();
                assertThat(seen).containsExactly(id + " null 127.0.0.1 127.0.0.1");
                assertThat(r.stop()).isZero();
            }
            seen.clear();
            try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                    "--backend", echo.hostPort(), "--request-id", "off", "--forwarded-for", "off")) {
                int port = r.awaitPort("gateway: listening on ");
                assertThat(r.out()).contains("; no request ids; no X-Forwarded headers");
                HttpResponse<String> response = send(client, port, "/off");
                assertThat(response.body()).isEqualTo("hello from echo: GET /off\n");
                assertThat(response.headers().firstValue("x-request-id")).isEmpty();
                assertThat(seen).containsExactly("null null null null");
                assertThat(r.stop()).isZero();
            }
        }
    }

    @Test
    void headersWithUnderscoresDropKeepsAClientFromPassingOffTheProxysHeaders() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        EmbeddedHttpServer echo = EmbeddedHttpServer.start("echo", "127.0.0.1", 0, request -> {
            seen.add(request.header("x_real_ip") + " " + request.header("x-real-ip"));
            return EmbeddedHttpServer.hello(request);
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (echo; MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", echo.hostPort(), "--headers-with-underscores", "drop")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; header names with an underscore dropped");
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/u"))
                    .header("X_Real_IP", "6.6.6.6").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(seen).containsExactly("null 127.0.0.1");
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void healthCheckTakesAServerWhoseStatusFailsOutOfTheRotation() throws Exception {
        AtomicInteger servedBySick = new AtomicInteger();
        EmbeddedHttpServer sick = EmbeddedHttpServer.start("sick", "127.0.0.1", 0, request -> {
            if (request.uri().equals("/status")) {
                return EmbeddedHttpServer.Reply.text(503, "not ready\n");
            }
            servedBySick.incrementAndGet();
            return EmbeddedHttpServer.hello(request);
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort() + "," + sick.hostPort(), "--health-check", "/status")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("checked with GET /status");
            // two failed checks one second apart take the sick server out: poll, bounded, with requests
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int before;
            do {
                assertThat(System.nanoTime()).as("the sick server taken out within 10 s").isLessThan(deadline);
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                before = servedBySick.get();
                for (int i = 0; i < 4; i++) {
                    send(client, port);
                }
            } while (servedBySick.get() != before);
            for (int i = 0; i < 20; i++) {
                assertThat(send(client, port).headers().firstValue(EmbeddedHttpServer.SERVED_BY)).hasValue("one");
            }
            assertThat(servedBySick.get()).isEqualTo(before);
            assertThat(r.stop()).isZero();
        } finally {
            sick.close();
        }
    }

    @Test
    void healthCheckCoversTheRouteServersToo() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", one.hostPort(),
                "--route", "/api=127.0.0.1:1", "--health-check", "/status");
        try (io.lodestone.core.Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends().get(Gateway.ROUTE_BACKEND_PREFIX + "1").healthCheck())
                    .isSameAs(proxy.backends().get(Gateway.BACKEND).healthCheck()).isNotNull();
        }
        AtomicInteger served = new AtomicInteger();
        EmbeddedHttpServer sick = EmbeddedHttpServer.start("sick", "127.0.0.1", 0, request -> {
            if (request.uri().equals("/status")) {
                return EmbeddedHttpServer.Reply.text(503, "not ready\n");
            }
            served.incrementAndGet();
            return EmbeddedHttpServer.hello(request);
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort(), "--route", "/api=" + sick.hostPort(), "--health-check", "/status")) {
            int port = r.awaitPort("gateway: listening on ");
            HttpRequest api = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/x"))
                    .timeout(Duration.ofSeconds(10)).build();
            // two failed checks one second apart take the route's only server out: then 503, polled with a bound
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int status;
            do {
                assertThat(System.nanoTime()).as("the route's server taken out within 10 s").isLessThan(deadline);
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                status = client.send(api, HttpResponse.BodyHandlers.ofString()).statusCode();
            } while (status == 200);
            assertThat(status).isEqualTo(503);
            int before = served.get();
            assertThat(client.send(api, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
            assertThat(served.get()).isEqualTo(before);
            assertThat(send(client, port, "/other").body()).isEqualTo("hello from one: GET /other\n");
            assertThat(r.stop()).isZero();
        } finally {
            sick.close();
        }
    }

    private static HttpResponse<String> send(HttpClient client, int port) throws Exception {
        return send(client, port, "/x");
    }

    private static HttpResponse<String> send(HttpClient client, int port, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response;
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

    @Test
    void cacheFlagAnswersRepeatsFromMemoryWithXCache() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (EmbeddedHttpServer origin = EmbeddedHttpServer.start("origin", "127.0.0.1", 0,
                request -> EmbeddedHttpServer.hello(request).withHeader("Cache-Control", "max-age=60"));
                MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                        "--backend", origin.hostPort(), "--cache", "64m")) {
            int port = r.awaitPort("gateway: listening on ");
            URI uri = URI.create("http://127.0.0.1:" + port + "/page?x=1");
            HttpResponse<String> first = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> second = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(first.headers().firstValue("x-cache")).hasValue("MISS");
            assertThat(second.headers().firstValue("x-cache")).hasValue("HIT");
            assertThat(second.body()).isEqualTo(first.body()).isEqualTo("hello from origin: GET /page?x=1\n");
            assertThat(origin.requests()).isEqualTo(1);
            assertThat(r.stop()).isZero();
        }
    }
}
