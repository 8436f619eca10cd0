package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin endpoint over a real socket: the token, the read endpoints and the server operations. */
class AdminEndpointTest {

    private static final String TOKEN = "s3cret-token";
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static Proxy proxy;
    private static String base;

    @BeforeAll
    static void start() {
        proxy = Proxy.builder()
                .backend(Backend.named("app")
                        .server("web1", "127.0.0.1:1", s -> s.weight(10))
                        .server("web2", "127.0.0.1:2", s -> s.weight(20))
                        .server("spare", "127.0.0.1:3", s -> s.backup()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                        .cache("app", ResponseCache.ofSize(1 << 20)).maxConnectionsPerSource(1))
                .frontend(AdminFrontend.bind(0).token(TOKEN))
                .build();
        proxy.start();
        base = "http://127.0.0.1:" + proxy.port("admin");
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @BeforeEach
    void reset() {
        for (ServerControl s : proxy.control().servers("app")) {
            s.ready();
        }
        proxy.control().server("app", "web1").weight(10);
    }

    private static HttpResponse<String> send(String method, String path, String token, String body)
            throws IOException, InterruptedException {
        return send(method, path, token, body, null);
    }

    private static HttpResponse<String> send(String method, String path, String token, String body, String contentType)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(5))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    @Test
    void listensOnLoopbackByDefault() {
        assertThat(proxy.localAddresses("admin").get(0).getAddress().isLoopbackAddress()).isTrue();
    }

    @Test
    void refusesAMissingOrWrongTokenAndChangesNothing() throws Exception {
        ServerControl web1 = proxy.control().server("app", "web1");
        for (String token : new String[] {null, "wrong-token!", TOKEN + "x", TOKEN.substring(1), ""}) {
            for (String path : new String[] {"/api/servers/app/web1/drain", "/api/servers/app/web1/maintain",
                    "/api/servers/app/web1/weight?value=99"}) {
                HttpResponse<String> r = send("POST", path, token, null);
                assertThat(r.statusCode()).as(path + " with token " + token).isEqualTo(401);
                assertThat(r.headers().allValues("WWW-Authenticate")).anyMatch(v -> v.startsWith("Bearer"));
            }
            for (String path : new String[] {"/metrics", "/stats", "/api/servers", "/nothing"}) {
                assertThat(send("GET", path, token, null).statusCode()).as(path).isEqualTo(401);
            }
        }
        assertThat(web1.state()).isEqualTo(ServerState.UP);
        assertThat(web1.weight()).isEqualTo(10);
    }

    @Test
    void acceptsTheTokenAsABasicPasswordForBrowsers() throws Exception {
        String basic = Base64.getEncoder().encodeToString(("anyone:" + TOKEN).getBytes(StandardCharsets.UTF_8));
        String wrong = Base64.getEncoder().encodeToString("anyone:nope-nope".getBytes(StandardCharsets.UTF_8));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/api/servers")).timeout(Duration.ofSeconds(5));
        assertThat(CLIENT.send(b.copy().header("Authorization", "Basic " + basic).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        assertThat(CLIENT.send(b.copy().header("Authorization", "Basic " + wrong).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        assertThat(CLIENT.send(b.copy().header("Authorization", "Basic !!!").build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
    }

    @Test
    void drainsMaintainsReadiesAndReweightsAServer() throws Exception {
        ServerControl web2 = proxy.control().server("app", "web2");
        HttpResponse<String> drained = send("POST", "/api/servers/app/web2/drain", TOKEN, null);
        assertThat(drained.statusCode()).isEqualTo(200);
        assertThat(drained.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
        assertThat(drained.body()).contains("\"backend\":\"app\"", "\"name\":\"web2\"", "\"state\":\"DRAIN\"");
        assertThat(web2.state()).isEqualTo(ServerState.DRAIN);

        assertThat(send("POST", "/api/servers/app/web2/maintain", TOKEN, null).body()).contains("\"state\":\"MAINT\"");
        assertThat(web2.state()).isEqualTo(ServerState.MAINT);

        assertThat(send("POST", "/api/servers/app/web2/ready", TOKEN, null).body()).contains("\"state\":\"UP\"");
        assertThat(web2.state()).isEqualTo(ServerState.UP);

        HttpResponse<String> weighted = send("POST", "/api/servers/app/web2/weight?value=42", TOKEN, null);
        assertThat(weighted.statusCode()).isEqualTo(200);
        assertThat(weighted.body()).contains("\"weight\":42");
        assertThat(web2.weight()).isEqualTo(42);
        assertThat(send("POST", "/api/servers/app/web2/weight", TOKEN, "7").body()).contains("\"weight\":7");
        assertThat(send("POST", "/api/servers/app/web2/weight", TOKEN, "weight=8").body()).contains("\"weight\":8");
        assertThat(web2.weight()).isEqualTo(8);
        web2.weight(20);
    }

    @Test
    void answersBadWeightsUnknownServersAndWrongMethods() throws Exception {
        ServerControl web1 = proxy.control().server("app", "web1");
        HttpResponse<String> tooHeavy = send("POST", "/api/servers/app/web1/weight?value=300", TOKEN, null);
        assertThat(tooHeavy.statusCode()).isEqualTo(400);
        assertThat(tooHeavy.body()).contains("weight: 300 (expected: 0..256)");
        assertThat(send("POST", "/api/servers/app/web1/weight?value=abc", TOKEN, null).statusCode()).isEqualTo(400);
        assertThat(send("POST", "/api/servers/app/web1/weight", TOKEN, null).statusCode()).isEqualTo(400);
        assertThat(web1.weight()).isEqualTo(10);

        HttpResponse<String> noBackend = send("POST", "/api/servers/nope/web1/drain", TOKEN, null);
        assertThat(noBackend.statusCode()).isEqualTo(404);
        assertThat(noBackend.body()).contains("backend: nope (no such backend)");
        assertThat(send("POST", "/api/servers/app/nope/drain", TOKEN, null).statusCode()).isEqualTo(404);
        assertThat(send("POST", "/api/servers/app/web1/explode", TOKEN, null).statusCode()).isEqualTo(404);
        assertThat(send("GET", "/nothing/here", TOKEN, null).statusCode()).isEqualTo(404);

        HttpResponse<String> getDrain = send("GET", "/api/servers/app/web1/drain", TOKEN, null);
        assertThat(getDrain.statusCode()).isEqualTo(405);
        assertThat(getDrain.headers().firstValue("Allow")).hasValue("POST");
        HttpResponse<String> postMetrics = send("POST", "/metrics", TOKEN, null);
        assertThat(postMetrics.statusCode()).isEqualTo(405);
        assertThat(postMetrics.headers().firstValue("Allow")).hasValue("GET, HEAD");
        HttpResponse<String> headMetrics = send("HEAD", "/metrics", TOKEN, null);
        assertThat(headMetrics.statusCode()).isEqualTo(200);
        assertThat(headMetrics.body()).isEmpty();
        assertThat(headMetrics.headers().firstValue("Content-Length").map(Integer::parseInt)).hasValueSatisfying(n -> assertThat(n).isPositive());
        assertThat(send("GET", "/metrics", TOKEN, null).statusCode()).as("the connection after HEAD is in sync").isEqualTo(200);
        assertThat(web1.state()).isEqualTo(ServerState.UP);
    }

    /**
     * A weight given twice (two parameters, a parameter and a body) is ambiguous and one with a sign
     * or a space is not the documented N: all are 400 and change nothing; the first value was taken
     * and parseInt's signs accepted.
     */
    @Test
    void refusesAWeightGivenTwiceOrWithASign() throws Exception {
        ServerControl web1 = proxy.control().server("app", "web1");
        String[][] cases = {
            {"/api/servers/app/web1/weight?value=7&value=9", null},
            {"/api/servers/app/web1/weight?value=7&weight=9", null},
            {"/api/servers/app/web1/weight?value=7", "12"},
            {"/api/servers/app/web1/weight?value=%2B7", null},
            {"/api/servers/app/web1/weight?value=-0", null},
            {"/api/servers/app/web1/weight?value=7%207", null},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = send("POST", c[0], TOKEN, c[1]);
            assertThat(r.statusCode()).as(c[0] + " with body " + c[1]).isEqualTo(400);
            assertThat(r.body()).contains("(expected: one value 0..256)");
        }
        assertThat(web1.weight()).isEqualTo(10);
        assertThat(send("POST", "/api/servers/app/web1/weight?value=7", TOKEN, null).statusCode()).isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(7);
        assertThat(send("POST", "/api/servers/app/web1/weight", TOKEN, " weight=8\n").statusCode()).isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(8);
    }

    /** A form body names its value weight, as the query's ?weight=N does; another key is a bad request, not a weight. */
    @Test
    void refusesAFormBodyWithAnotherKey() throws Exception {
        ServerControl web1 = proxy.control().server("app", "web1");
        for (String body : new String[] {"foo=5", "value=5", "=5", "Weight=5", "weight =5", "xweight=5"}) {
            HttpResponse<String> r = send("POST", "/api/servers/app/web1/weight", TOKEN, body);
            assertThat(r.statusCode()).as(body).isEqualTo(400);
            assertThat(r.body()).as(body).contains("weight: " + body + " (expected: one value 0..256)");
        }
        assertThat(web1.weight()).isEqualTo(10);
        assertThat(send("POST", "/api/servers/app/web1/weight", TOKEN, "weight=5").statusCode()).isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(5);
        assertThat(send("POST", "/api/servers/app/web1/weight", TOKEN, "6").statusCode()).isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(6);
    }

    /** The weight as JSON, as the endpoint answers: {"weight": N} with the JSON media type, one member only. */
    @Test
    void takesAWeightAsAJsonObject() throws Exception {
        ServerControl web1 = proxy.control().server("app", "web1");
        String path = "/api/servers/app/web1/weight";
        HttpResponse<String> ok = send("POST", path, TOKEN, "{\"weight\": 33}", "application/json");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("\"weight\":33");
        assertThat(send("POST", path, TOKEN, "\n{ \"weight\" :\t34 }\r\n", "Application/JSON; charset=utf-8").statusCode())
                .isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(34);
        String[][] refused = {
            {"{\"weight\": 35, \"weight\": 36}", "application/json"},
            {"{\"weight\": 35, \"name\": \"web1\"}", "application/json"},
            {"{\"weight\": \"35\"}", "application/json"},
            {"{\"weight\": -35}", "application/json"},
            {"{\"weight\": 3.5}", "application/json"},
            {"{\"weight\": 35", "application/json"},
            {"{\"weight\": 35}", null},                       // not said to be JSON
            {"weight=35", "application/json"},                // not JSON
        };
        for (String[] r : refused) {
            HttpResponse<String> bad = send("POST", path, TOKEN, r[0], r[1]);
            assertThat(bad.statusCode()).as(r[0] + " as " + r[1]).isEqualTo(400);
            assertThat(bad.body()).contains("(expected: one value 0..256)");
        }
        HttpResponse<String> tooHeavy = send("POST", path, TOKEN, "{\"weight\":300}", "application/json");
        assertThat(tooHeavy.statusCode()).isEqualTo(400);
        assertThat(tooHeavy.body()).contains("weight: 300 (expected: 0..256)");
        assertThat(send("POST", path + "?value=7", TOKEN, "{\"weight\":7}", "application/json").statusCode())
                .as("given twice").isEqualTo(400);
        assertThat(web1.weight()).isEqualTo(34);
    }

    /** A request with a browser's Basic credentials and the given headers, as a page's form would send it. */
    private static HttpResponse<String> fromBrowser(String method, String path, String body, String... headers)
            throws IOException, InterruptedException {
        String basic = Base64.getEncoder().encodeToString(("anyone:" + TOKEN).getBytes(StandardCharsets.UTF_8));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(5))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Authorization", "Basic " + basic);
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /**
     * A page on another site can make a browser that holds the Basic credentials post a form to the
     * endpoint: a state change whose Origin is not the endpoint's or whose Sec-Fetch-Site is not
     * same-origin or none gets 403 and changes nothing; the same origin, and a client that sends
     * neither header, go on as before. Without the check every one of these was carried out.
     */
    @Test
    void refusesAStateChangeFromAnotherSitesPage() throws Exception {
        ServerControl web1 = proxy.control().server("app", "web1");
        String form = "application/x-www-form-urlencoded";
        String otherPort = "http://127.0.0.1:" + proxy.port("web");
        String[][] refused = {
            {"Origin", "https://attacker.example"},
            {"Origin", "null"},
            {"Origin", otherPort},                         // same site, another origin
            {"Origin", base + "/"},                        // not an origin
            {"Sec-Fetch-Site", "cross-site"},
            {"Sec-Fetch-Site", "same-site"},
            {"Origin", base, "Sec-Fetch-Site", "cross-site"},
        };
        for (String[] headers : refused) {
            for (String path : new String[] {"/api/servers/app/web1/weight", "/api/servers/app/web1/drain",
                    "/api/servers/app/web1/maintain"}) {
                HttpResponse<String> r = fromBrowser("POST", path, "weight=0", headers(headers, "Content-Type", form));
                assertThat(r.statusCode()).as(path + " with " + String.join(": ", headers)).isEqualTo(403);
                assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
                assertThat(r.body()).isEqualTo("{\"error\":\"cross-site request refused (Origin or Sec-Fetch-Site names another site)\"}\n");
            }
        }
        assertThat(fromBrowser("PUT", "/api/servers/app/web1/weight", "0", "Origin", "https://attacker.example")
                .statusCode()).as("any method that may change state").isEqualTo(403);
        assertThat(web1.weight()).isEqualTo(10);
        assertThat(web1.state()).isEqualTo(ServerState.UP);

        // reading is left to the browser's same-origin policy: the page cannot read the answer
        assertThat(fromBrowser("GET", "/api/servers", null, "Origin", "https://attacker.example",
                "Sec-Fetch-Site", "cross-site").statusCode()).isEqualTo(200);

        assertThat(fromBrowser("POST", "/api/servers/app/web1/weight", "weight=11", "Content-Type", form,
                "Origin", base, "Sec-Fetch-Site", "same-origin").statusCode()).isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(11);
        assertThat(fromBrowser("POST", "/api/servers/app/web1/weight", "weight=12", "Content-Type", form,
                "Sec-Fetch-Site", "none").statusCode()).as("typed by the user").isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(12);
        assertThat(fromBrowser("POST", "/api/servers/app/web1/weight", "weight=13", "Content-Type", form)
                .statusCode()).as("neither header").isEqualTo(200);
        assertThat(web1.weight()).isEqualTo(13);
        assertThat(fromBrowser("POST", "/api/servers/app/web1/drain", null, "Origin", base).statusCode())
                .as("the endpoint's own origin").isEqualTo(200);
        assertThat(web1.state()).isEqualTo(ServerState.DRAIN);
    }

    private static String[] headers(String[] first, String... more) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }

    /**
     * The Origin's host and port are compared with the Host header, case aside; an Origin on a request
     * without a Host cannot be compared, so that state change is refused.
     */
    @Test
    void comparesTheOriginWithTheHostHeader() throws Exception {
        int port = proxy.port("admin");
        ServerControl web1 = proxy.control().server("app", "web1");
        try (RawHttp c = new RawHttp(port)) {
            RawHttp.Response r = c.send("POST /api/servers/app/web1/drain HTTP/1.0\r\nOrigin: " + base
                    + "\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Length: 0\r\n\r\n").read();
            assertThat(r.status()).as("no Host").isEqualTo(403);
        }
        assertThat(web1.state()).isEqualTo(ServerState.UP);
        try (RawHttp c = new RawHttp(port)) {
            RawHttp.Response r = c.send("POST /api/servers/app/web1/drain HTTP/1.1\r\nHost: admin.example:" + port
                    + "\r\nOrigin: http://localhost:" + port + "\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Length: 0\r\n\r\n").read();
            assertThat(r.status()).as("another host").isEqualTo(403);
            assertThat(web1.state()).isEqualTo(ServerState.UP);
            r = c.send("POST /api/servers/app/web1/drain HTTP/1.1\r\nHost: admin.example:" + port
                    + "\r\nOrigin: http://Admin.Example:" + port + "\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Length: 0\r\n\r\n").read();
            assertThat(r.status()).as("the same host, case aside").isEqualTo(200);
        }
        assertThat(web1.state()).isEqualTo(ServerState.DRAIN);
    }

    @Test
    void answersABadPercentEncodingWith400AndKeepsTheConnection() throws Exception {
        try (RawHttp c = new RawHttp(proxy.port("admin"))) {
            for (String target : new String[] {"/api/servers/app/%ZZ/drain", "/api/servers/app/web1%2/drain",
                    "/api/servers/app/web1/weight?value=%ZZ"}) {
                RawHttp.Response r = c.send("POST " + target + " HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + TOKEN
                        + "\r\nContent-Length: 0\r\n\r\n").read();
                assertThat(r.status()).as(target).isEqualTo(400);
                assertThat(r.body()).as(target).startsWith("{\"error\":\"malformed request: ");
            }
            assertThat(c.send("GET /api/servers HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n")
                    .read().status()).as("the connection goes on").isEqualTo(200);
        }
        assertThat(proxy.control().server("app", "web1").state()).isEqualTo(ServerState.UP);
        assertThat(proxy.control().server("app", "web1").weight()).isEqualTo(10);
    }

    @Test
    void servesPrometheusTextThatPassesTheStrictChecker() throws Exception {
        proxy.control().server("app", "web2").drain();
        HttpResponse<String> r = send("GET", "/metrics", TOKEN, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue(PrometheusFormat.CONTENT_TYPE);
        PrometheusChecker metrics = PrometheusChecker.check(r.body());
        assertThat(metrics.value("lodestone_server_weight", "backend", "app", "server", "web1")).isEqualTo(10);
        assertThat(metrics.value("lodestone_server_state", "backend", "app", "server", "web2", "state", "DRAIN")).isEqualTo(1);
        assertThat(metrics.value("lodestone_server_state", "backend", "app", "server", "web1", "state", "UP")).isEqualTo(1);
        assertThat(metrics.has("lodestone_frontend_connections_total", "frontend", "web")).isTrue();
        // the admin endpoint counts its own requests on its frontend
        assertThat(metrics.value("lodestone_frontend_connections_total", "frontend", "admin")).isGreaterThanOrEqualTo(1);
        // and the first-byte time of each answer, whole at once, as every frontend does; it recorded none
        Await.until("the scrape counted", () -> proxy.metrics().frontend("admin").traffic().requests() >= 1);
        TrafficSnapshot admin = proxy.metrics().frontend("admin").traffic();
        assertThat(admin.firstByteTime().count()).isEqualTo(admin.totalTime().count()).isPositive();
    }

    @Test
    void listsServersAsJson() throws Exception {
        proxy.control().server("app", "spare").maintenance();
        HttpResponse<String> r = send("GET", "/api/servers", TOKEN, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).startsWith("{\"backends\":[{\"name\":\"app\",\"usable_servers\":2,\"current_queue\":0,\"servers\":[")
                .contains("\"name\":\"web1\",\"address\":\"127.0.0.1:1\",\"backup\":false,\"state\":\"UP\",\"weight\":10")
                .contains("\"name\":\"spare\",\"address\":\"127.0.0.1:3\",\"backup\":true,\"state\":\"MAINT\"")
                .contains("\"check\":null", "\"responses\":{\"1xx\":0,\"2xx\":0")
                .contains("\"errors\":{\"connect\":0,\"timeout\":0,\"reset\":0,\"denied\":0,\"invalid\":0,\"response\":0}");
        assertKeptBothConnectionKeys(r.body(), 3);
        assertKeptBothConnectionKeys(send("POST", "/api/servers/app/web1/ready", TOKEN, null).body(), 1);
    }

    /**
     * A backend's {@code current_queue} is the number of requests waiting in its queue (HAProxy's
     * {@code qcur}): a request held by a server of {@code maxConnections(1)} makes the next one wait.
     */
    @Test
    void listsTheRequestsWaitingInABackendsQueue() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder held = (r, ctx) -> {
            if (r.uri().equals("/held")) {
                release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "held", Map.of())));
            } else {
                RecordingBackend.ok(ctx, r.uri(), Map.of());
            }
        };
        HttpClient http11 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (RecordingBackend b1 = RecordingBackend.start("b1", held)) {
            Proxy queued = Proxy.builder()
                    .backend(Backend.named("slow").server("s1", b1.address(), s -> s.maxConnections(1))
                            .queueTimeout(Duration.ofSeconds(10)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("slow"))
                    .frontend(AdminFrontend.bind(0).token(TOKEN))
                    .build();
            try {
                queued.start();
                String web = "http://127.0.0.1:" + queued.port("web");
                HttpRequest servers = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + queued.port("admin") + "/api/servers"))
                        .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(5)).build();
                assertThat(CLIENT.send(servers, HttpResponse.BodyHandlers.ofString()).body())
                        .startsWith("{\"backends\":[{\"name\":\"slow\",\"usable_servers\":1,\"current_queue\":0,\"servers\":[");

                CompletableFuture<HttpResponse<String>> first = http11.sendAsync(HttpRequest.newBuilder(URI.create(web + "/held"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                Await.until(Duration.ofSeconds(5), "the held request to reach the server", () -> b1.requests.size() == 1);
                CompletableFuture<HttpResponse<String>> second = http11.sendAsync(HttpRequest.newBuilder(URI.create(web + "/next"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                Await.until(Duration.ofSeconds(5), "the second request to queue", () -> queued.control().queuedRequests("slow") == 1);
                String json = CLIENT.send(servers, HttpResponse.BodyHandlers.ofString()).body();
                assertThat(json).startsWith("{\"backends\":[{\"name\":\"slow\",\"usable_servers\":0,\"current_queue\":1,\"servers\":[");
                assertThat(json.split("\"current_queue\"", -1)).as("the queue is the backend's, not a server's").hasSize(2);

                release.complete(null);
                assertThat(first.get(5, TimeUnit.SECONDS).body()).isEqualTo("held");
                assertThat(second.get(5, TimeUnit.SECONDS).body()).isEqualTo("/next");
                assertThat(CLIENT.send(servers, HttpResponse.BodyHandlers.ofString()).body()).contains("\"current_queue\":0,");
            } finally {
                release.complete(null);
                queued.close(Duration.ofSeconds(2));
            }
        }
    }

    /**
     * Every traffic object has {@code current_connections}, the native metric's name, and right after it
     * {@code connections_current}, the deprecated key of earlier versions, with the same value.
     */
    private static void assertKeptBothConnectionKeys(String json, int objects) {
        Matcher m = Pattern.compile("\"current_connections\":(\\d+),\"connections_current\":(\\d+),").matcher(json);
        int found = 0;
        while (m.find()) {
            assertThat(m.group(2)).isEqualTo(m.group(1));
            found++;
        }
        assertThat(found).as(json).isEqualTo(objects);
        assertThat(json.split("\"connections_current\"", -1)).hasSize(objects + 1);
    }

    @Test
    void listsFrontendsWithTheirRefusedConnectionsAndCachesAsJsonAndOnTheStatsPage() throws Exception {
        int port = proxy.port("web");
        try (RawHttp held = new RawHttp(port)) {
            // no server answers: the proxy does, and the cache counts a miss
            RawHttp.Response r = held.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertThat(r.status()).isGreaterThanOrEqualTo(500);
            assertThat(r.header("connection")).as("the first connection stays open").isNotEqualTo("close");
            try (RawHttp second = new RawHttp(port)) {
                assertThat(second.closedByPeer()).isTrue();
            }
        }
        Await.until("the refusal counted", () -> proxy.metrics().frontend("web").refusedConnections() == 1);
        HttpResponse<String> json = send("GET", "/api/frontends", TOKEN, null);
        assertThat(json.statusCode()).isEqualTo(200);
        assertThat(json.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
        assertThat(json.body()).startsWith("{\"frontends\":[{\"name\":\"web\",\"current_connections\":")
                .contains("\"connections_refused\":1,\"refused_connections\":1,\"caches\":[{\"backend\":\"app\",\"hits\":0,\"misses\":1,")
                .contains("\"max_bytes\":1048576}]}")
                .contains("{\"name\":\"admin\",").contains("\"connections_refused\":0,\"refused_connections\":0,\"caches\":[]}");
        assertKeptBothConnectionKeys(json.body(), 2);
        assertThat(send("POST", "/api/frontends", TOKEN, "").statusCode()).isEqualTo(405);

        String page = send("GET", "/stats", TOKEN, null).body();
        assertThat(page).contains("<table class=\"cache\" id=\"cache-web\">", "<tr data-backend=\"app\"><td class=\"n\">app</td>"
                + "<td>0</td><td>1</td><td>0.0</td>", "<td>1048576</td></tr>",
                "Refused connections (per-source limits): <span class=\"refused\">1</span>")
                .doesNotContain("id=\"cache-admin\"");
    }

    @Test
    void servesTheStatsPageWithEveryServerAndItsState() throws Exception {
        proxy.control().server("app", "web2").drain();
        HttpResponse<String> r = send("GET", "/stats", TOKEN, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(r.body()).contains("<meta http-equiv=\"refresh\" content=\"5\">", "<h2>Frontend web</h2>",
                "<tr class=\"UP\" data-server=\"web1\">", "<tr class=\"DRAIN\" data-server=\"web2\">",
                "spare (backup)")
                .doesNotContain("<script", "http://", "https://");
    }

    @Test
    void refusesToBuildWithoutAToken() {
        assertThatThrownBy(() -> AdminFrontend.bind(0).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("token: null");
        assertThatThrownBy(() -> AdminFrontend.bind(0).token("short")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token: 5 characters (expected: at least 8)");
        assertThatThrownBy(() -> AdminFrontend.bind(0).token("has a space")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("token: character 3");
        assertThatThrownBy(() -> AdminFrontend.bind(70000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bind port: 70000 (expected: 0..65535)");
    }

    /**
     * A client that sends requests without reading the answers holds the endpoint to one answer
     * at a time: the requests behind wait in the socket, answers do not pile up in memory, and the
     * proxy's close is not held. Every request read was answered at once into the connection's
     * outbound buffer before (all 3,000 here, some 14 MB), and the close waited seconds for the
     * event loop to get through them.
     */
    @Test
    void aClientThatDoesNotReadItsAnswersIsAnsweredOneRequestAtATime() throws Exception {
        int pipelined = 3000;
        Proxy own = Proxy.builder()
                .backend(Backend.named("app").server("web1", "127.0.0.1:1"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                .frontend(AdminFrontend.bind(0).token(TOKEN))
                .build();
        own.start();
        try (java.net.Socket client = new java.net.Socket()) {
            client.setReceiveBufferSize(8192);
            client.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), own.port("admin")));
            client.setSoTimeout(5000);
            byte[] request = ("GET /stats HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            byte[] all = new byte[request.length * pipelined];
            for (int i = 0; i < pipelined; i++) {
                System.arraycopy(request, 0, all, i * request.length, request.length);
            }
            // from another thread: once the endpoint stops reading, the write blocks
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    client.getOutputStream().write(all);
                } catch (IOException e) {
                    // the close below ends it
                }
            });
            long[] last = {-1};
            int[] still = {0};
            Await.until(Duration.ofSeconds(20), "the answers to stop", () -> {
                long now = own.metrics().frontend("admin").traffic().requests();
                still[0] = now == last[0] ? still[0] + 1 : 0;
                last[0] = now;
                return still[0] >= 200;
            });
            // what the sockets take of the first answers (some 4.6 kB each; NIO's buffers take most), then no more
            assertThat(own.metrics().frontend("admin").traffic().requests()).as("requests answered").isLessThan(pipelined / 2);

            long start = System.nanoTime();
            own.close(Duration.ofMillis(300));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the close took").isLessThan(Duration.ofMillis(1500));
            byte[] buffer = new byte[65536];
            try {
                while (client.getInputStream().read(buffer) >= 0) {
                    // the answers the sockets held, then the end
                }
            } catch (IOException e) {
                // a reset: the endpoint closed with requests it had not read
            }
            writing.get(5, TimeUnit.SECONDS);
        } finally {
            own.close(Duration.ZERO);
        }
    }

    /**
     * A reconfiguration keeps the admin endpoint's socket, its port (here one the OS chose) and its open
     * connections, and applies its new token, and the new backends, to the next requests. It closed
     * the endpoint, with its connections (a scraper's keep-alive one), and bound it afresh, on another
     * port when it was bound to port 0.
     */
    @Test
    void aReconfigurationKeepsTheEndpointsSocketAndConnectionsAndAppliesItsNewToken() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            Proxy own = Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a"))
                    .frontend(AdminFrontend.bind(0).token("first-token"))
                    .build();
            own.start();
            try (own; RawHttp admin = new RawHttp(own.port("admin"))) {
                int port = own.port("admin");
                String get = "GET /api/servers HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\r\n\r\n";
                assertThat(admin.send(get.formatted("first-token")).read().status()).isEqualTo(200);

                own.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .backend(Backend.named("b").server("s2", b2.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a"))
                        .frontend(AdminFrontend.bind(0).token("second-token")));

                assertThat(own.port("admin")).as("the endpoint kept its socket").isEqualTo(port);
                assertThat(admin.send(get.formatted("first-token")).read().status())
                        .as("the open connection, with the old token").isEqualTo(401);
                assertThat(admin.send(get.formatted("second-token")).read().body()).contains("\"s2\"");
                assertThat(admin.send("POST /api/servers/b/s2/drain HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer second-token\r\n"
                        + "Content-Length: 0\r\n\r\n").read().status()).as("a backend the reconfiguration added").isEqualTo(200);
                assertThat(own.control().server("b", "s2").state()).isEqualTo(ServerState.DRAIN);
            }
        }
    }

    /**
     * An endpoint bound to port 0 and then listed by the number of the port the OS chose keeps its
     * socket and its open connections, as HTTP and TCP frontends do. The proxy bound it afresh while
     * its own socket held the port: the reconfiguration failed with "Address already in use".
     */
    @Test
    void anEndpointBoundToPortZeroListedByNumberKeepsItsSocket() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1")) {
            Proxy own = Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(AdminFrontend.bind(0).token("first-token"))
                    .build();
            own.start();
            try (own; RawHttp admin = new RawHttp(own.port("admin"))) {
                int port = own.port("admin");
                String get = "GET /api/servers HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\r\n\r\n";
                assertThat(admin.send(get.formatted("first-token")).read().status()).isEqualTo(200);

                own.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .frontend(AdminFrontend.bind(port).token("second-token")));

                assertThat(own.port("admin")).isEqualTo(port);
                assertThat(admin.send(get.formatted("second-token")).read().status())
                        .as("the open connection, with the new token").isEqualTo(200);
            }
        }
    }

    /**
     * Requests pipelined around one over the size limit are answered in order: the 413 comes in the
     * refused request's turn, the connection stays open (the request asked for keep-alive; its body
     * is read and dropped), and the request behind it is answered. Netty's aggregator wrote its 413 at
     * once, ahead of the answer to a request still waiting its turn, then closed the connection: on
     * io_uring the client read {@code 200 413 200}, taking the 413 for its second request's answer;
     * on every transport the fourth request got no answer.
     */
    @Test
    void aRequestOverTheLimitIsAnsweredInItsTurnAmongPipelinedRequests() throws Exception {
        String auth = "Authorization: Bearer " + TOKEN + "\r\n";
        byte[] body = new byte[20_000];
        Arrays.fill(body, (byte) 'a');
        String pipelined = "GET /api/servers HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n"
                + "GET /api/frontends HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n"
                + "POST /api/servers/app/web1/weight HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Length: " + body.length + "\r\n\r\n";
        String last = "GET /api/frontends HTTP/1.1\r\nHost: h\r\n" + auth + "Connection: close\r\n\r\n";
        try (java.net.Socket client = new java.net.Socket()) {
            client.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), proxy.port("admin")));
            client.setSoTimeout(5000);
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            all.write(pipelined.getBytes(StandardCharsets.US_ASCII));
            all.write(body);
            all.write(last.getBytes(StandardCharsets.US_ASCII));
            client.getOutputStream().write(all.toByteArray());
            java.io.ByteArrayOutputStream read = new java.io.ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = client.getInputStream().read(buffer)) >= 0; ) {
                    read.write(buffer, 0, n);
                }
            } catch (IOException e) {
                // a reset: the endpoint closed with bytes it had not read (the assertion below says what came)
            }
            String answers = read.toString(StandardCharsets.ISO_8859_1);
            Matcher status = Pattern.compile("HTTP/1\\.1 (\\d{3})").matcher(answers);
            java.util.List<String> statuses = new java.util.ArrayList<>();
            while (status.find()) {
                statuses.add(status.group(1));
            }
            assertThat(statuses).as(answers).containsExactly("200", "200", "413", "200");
            assertThat(answers).contains("request larger than 16384 bytes");
        }
        assertThat(proxy.control().server("app", "web1").weight()).isEqualTo(10);
    }
}
