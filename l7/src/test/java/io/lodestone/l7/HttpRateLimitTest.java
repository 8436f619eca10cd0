package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Rate-limiting rules (429 with Retry-After) and per-source connection limits of the HTTP engine, over real sockets. */
class HttpRateLimitTest {

    private final ManualClock clock = new ManualClock();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private RecordingBackend app;
    private Proxy proxy;

    @BeforeEach
    void backend() {
        app = RecordingBackend.start("app");
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close(Duration.ZERO);
        }
        app.close();
    }

    private Proxy start(HttpFrontend.Builder frontend) {
        proxy = Proxy.builder().clock(clock)
                .backend(Backend.named("app").server("a", app.address()))
                .frontend(frontend.name("web").defaultBackend("app"))
                .build();
        proxy.start();
        return proxy;
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void overTheLimitTheAnswerIs429WithRetryAfterAndTheBackendSeesNothing() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0").rule(Rule.when(Acl.pathBegins("/api")).name("api-rate")
                .rateLimit(RateLimit.perSecond(2))));
        assertThat(get("/api/1").statusCode()).isEqualTo(200);
        assertThat(get("/api/2").statusCode()).isEqualTo(200);
        HttpResponse<String> over = get("/api/3");
        assertThat(over.statusCode()).isEqualTo(429);
        assertThat(over.headers().firstValue("retry-after")).hasValue("1");
        assertThat(over.body()).isEqualTo("Too Many Requests\n");
        assertThat(get("/static").statusCode()).as("another path, no limit").isEqualTo(200);
        assertThat(app.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/api/1", "/api/2", "/static");

        clock.advance(Duration.ofMillis(499));
        assertThat(get("/api/4").statusCode()).isEqualTo(429);
        clock.advance(Duration.ofMillis(1));
        assertThat(get("/api/5").statusCode()).isEqualTo(200);

        // proxy.route counts in the same buckets as the engine: it takes the next token
        clock.advance(Duration.ofMillis(500));
        Decision d = proxy.route(TestRequest.get("/api/x").source("127.0.0.1"));
        assertThat(d).isInstanceOf(Decision.Forward.class);
        assertThat(get("/api/6").statusCode()).isEqualTo(429);
        assertThat(proxy.route(TestRequest.get("/api/x").source("127.0.0.1"))).isInstanceOfSatisfying(Decision.Deny.class,
                deny -> assertThat(deny.matched().name()).isEqualTo("api-rate"));

        assertThat(proxy.metrics().frontend("web").traffic().errors().denied()).isEqualTo(3);
        Await.until("three 4xx responses counted", () -> proxy.metrics().frontend("web").traffic().responses().clientError() == 3);
    }

    @Test
    void aLimitedClientKeepsItsKeepAliveConnection() throws IOException {
        // the keep-alive and pool idle timeouts follow the manual clock too: longer than the minute the test moves it
        start(HttpFrontend.bind("127.0.0.1:0").keepAliveTimeout(Duration.ofMinutes(5)).backendPool(256, Duration.ofMinutes(5))
                .rule(Rule.always().rateLimit(RateLimit.perMinute(1))));
        try (RawHttp c = new RawHttp(proxy.port())) {
            String req = "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n";
            assertThat(c.send(req).read().status()).isEqualTo(200);
            RawHttp.Response over = c.send(req).read();
            assertThat(over.status()).isEqualTo(429);
            assertThat(over.header("retry-after")).isEqualTo("60");
            assertThat(over.header("connection")).isNull();
            clock.advance(Duration.ofSeconds(60));
            assertThat(c.send(req).read().status()).as("same connection, a minute later").isEqualTo(200);
        }
        assertThat(app.connections.get()).isEqualTo(1);
    }

    @Test
    void aHeaderKeysTheBuckets() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0").rule(Rule.always().rateLimit(RateLimit.perSecond(1).byHeader("X-Api-Key"))));
        assertThat(get("/", "X-Api-Key", "alice").statusCode()).isEqualTo(200);
        assertThat(get("/", "X-Api-Key", "alice").statusCode()).isEqualTo(429);
        assertThat(get("/", "X-Api-Key", "bob").statusCode()).isEqualTo(200);
        assertThat(get("/").statusCode()).as("no key, no limit").isEqualTo(200);
        assertThat(get("/").statusCode()).isEqualTo(200);
    }

    @Test
    void aKeyFunctionKeysTheBuckets() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0").rule(Rule.always()
                .rateLimit(RateLimit.perSecond(1).byKey(r -> r.queryParam("tenant")))));
        assertThat(get("/?tenant=a").statusCode()).isEqualTo(200);
        assertThat(get("/?tenant=a").statusCode()).isEqualTo(429);
        assertThat(get("/?tenant=b").statusCode()).isEqualTo(200);
    }

    /** A raw connection from {@code from} (any 127.x address is the loopback on Linux). */
    private Socket connectFrom(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static int status(Socket s) throws IOException {
        s.getOutputStream().write("GET /s HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        String line = new String(s.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
        return Integer.parseInt(line.substring(9, 12));
    }

    private long refused() {
        return proxy.metrics().frontend("web").refusedConnections();
    }

    @Test
    void aSourceGetsAtMostSoManyConnectionsAtOnce() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0").maxConnectionsPerSource(2));
        List<RawHttp> open = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                RawHttp c = new RawHttp(proxy.port());
                open.add(c);
                assertThat(c.send("GET /k HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
            }
            try (RawHttp third = new RawHttp(proxy.port())) {
                assertThat(third.closedByPeer()).isTrue();
            }
            assertThat(refused()).isEqualTo(1);
            assertThat(proxy.metrics().frontend("web").traffic().totalConnections()).as("a refused connection is not opened")
                    .isEqualTo(2);
            try (Socket other = connectFrom("127.0.0.2")) {
                assertThat(status(other)).isEqualTo(200);
            }

            open.remove(0).close();
            Await.until("127.0.0.1 gets a connection again", () -> {
                try (RawHttp again = new RawHttp(proxy.port())) {
                    return again.send("GET /k HTTP/1.1\r\nHost: h\r\n\r\n").read().status() == 200;
                } catch (IOException e) {
                    return false;
                }
            });
            PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
            assertThat(p.value("lodestone_frontend_connections_refused_total", "frontend", "web")).isEqualTo((double) refused());
        } finally {
            for (RawHttp c : open) {
                c.close();
            }
        }
    }

    @Test
    void aSourceOpensAtMostSoManyConnectionsPerSecond() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0").maxConnectionRatePerSource(2));
        for (int i = 0; i < 2; i++) {
            try (RawHttp c = new RawHttp(proxy.port())) {
                assertThat(c.send("GET /r HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
            }
        }
        try (RawHttp over = new RawHttp(proxy.port())) {
            assertThat(over.closedByPeer()).isTrue();
        }
        assertThat(refused()).isEqualTo(1);
        try (Socket other = connectFrom("127.0.0.4")) {
            assertThat(status(other)).isEqualTo(200);
        }
        clock.advance(Duration.ofMillis(500));
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(c.send("GET /r HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
        }
        assertThat(refused()).isEqualTo(1);
    }

    @Test
    void theReadmeSnippetBuildsAndLimits() {
        HttpFrontend.Builder frontend = HttpFrontend.bind(8080)
                .maxConnectionsPerSource(100)
                .maxConnectionRatePerSource(50)
                .rule(Rule.when(Acl.pathBegins("/login")).name("login-rate")
                        .rateLimit(RateLimit.perMinute(10).burst(3)))
                .rule(Rule.when(Acl.pathBegins("/api")).rateLimit(RateLimit.perSecond(100).byHeader("X-Api-Key")))
                .rule(Rule.always().rateLimit(RateLimit.perSecond(20).byKey(r -> r.cookie("session"))))
                .defaultBackend("app");
        try (Proxy p = Proxy.builder().clock(clock).backend(Backend.named("app").server("a", "127.0.0.1:1")).frontend(frontend).build()) {
            for (int i = 0; i < 3; i++) {
                assertThat(p.route(TestRequest.post("/login").source("192.0.2.7"))).isInstanceOf(Decision.Forward.class);
            }
            assertThat(p.route(TestRequest.post("/login").source("192.0.2.7"))).isInstanceOfSatisfying(Decision.Deny.class,
                    d -> assertThat(d.matched().name()).isEqualTo("login-rate"));
            clock.advance(Duration.ofSeconds(6));
            assertThat(p.route(TestRequest.post("/login").source("192.0.2.7"))).isInstanceOf(Decision.Forward.class);
        }
    }

    @Test
    void badLimitsFailNamingTheField() {
        assertThatThrownBy(() -> HttpFrontend.bind(0).maxConnectionsPerSource(-1))
                .hasMessage("frontend at 0.0.0.0:0 maxConnectionsPerSource: -1 (expected: >= 0)");
        assertThatThrownBy(() -> HttpFrontend.bind(0).maxConnectionRatePerSource(-1))
                .hasMessage("frontend at 0.0.0.0:0 maxConnectionRatePerSource: -1 (expected: 0..1000000000)");
        HttpFrontend f = HttpFrontend.bind(0).defaultBackend("app").maxConnectionsPerSource(3).maxConnectionRatePerSource(4).build();
        assertThat(f.maxConnectionsPerSource()).isEqualTo(3);
        assertThat(f.maxConnectionRatePerSource()).isEqualTo(4);
    }
}
