package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Cookie insertion (HAProxy's {@code cookie SRV insert indirect nocache}) over real sockets. */
class HttpStickyCookieTest {

    private static final StickyCookie COOKIE = StickyCookie.insert("SRV").indirect().nocache().httpOnly().secure().sameSite("Lax");

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    private static String get(String path, String cookie) {
        return "GET " + path + " HTTP/1.1\r\nHost: h\r\n" + (cookie == null ? "" : "Cookie: " + cookie + "\r\n") + "\r\n";
    }

    private static String cookieValue(RawHttp.Response r) {
        List<String> set = r.headers().get("set-cookie");
        assertThat(set).hasSize(1);
        String header = set.get(0);
        assertThat(header).startsWith("SRV=").contains("; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax");
        return header.substring(4, header.indexOf(';'));
    }

    @Test
    void aCookieKeepsAClientOnItsServerAndMovesItWhenThatServerGoesAway() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).server("s2", b2.address()).cookie(COOKIE))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response first = c.send(get("/1", null)).read();
                assertThat(first.status()).isEqualTo(200);
                String value = cookieValue(first);
                assertThat(value).as("an opaque id, not the address").hasSize(16)
                        .doesNotContain("127.0.0.1").doesNotContain(String.valueOf(b1.port())).doesNotContain(String.valueOf(b2.port()))
                        .doesNotContain("s1").doesNotContain("s2");
                assertThat(first.headers().get("cache-control")).containsExactly("private");
                String stuckTo = first.body().substring(0, 2);
                String other = stuckTo.equals("b1") ? "s2" : "s1";
                String mine = stuckTo.equals("b1") ? "s1" : "s2";

                for (int i = 0; i < 10; i++) {
                    RawHttp.Response r = c.send(get("/again" + i, "a=1; SRV=" + value + "; b=2")).read();
                    assertThat(r.body()).startsWith(stuckTo + ":");
                    assertThat(r.headers().get("set-cookie")).as("no new cookie while the server is usable").isNull();
                }
                RecordingBackend mineBackend = stuckTo.equals("b1") ? b1 : b2;
                assertThat(mineBackend.requests).allSatisfy(req -> {
                    String cookies = req.headers().get("cookie");
                    if (cookies != null) {
                        assertThat(cookies).doesNotContain("SRV=");
                    }
                });
                assertThat(mineBackend.requests.get(mineBackend.requests.size() - 1).headers().get("cookie"))
                        .as("indirect removes only the sticky cookie").isEqualTo("a=1; b=2");

                proxy.control().server("app", mine).maintenance();
                RawHttp.Response moved = c.send(get("/moved", "SRV=" + value)).read();
                assertThat(moved.status()).isEqualTo(200);
                assertThat(moved.body()).startsWith(other.equals("s1") ? "b1:" : "b2:");
                String newValue = cookieValue(moved);
                assertThat(newValue).isNotEqualTo(value);

                RawHttp.Response back = c.send(get("/back", "SRV=" + newValue)).read();
                assertThat(back.body()).startsWith(other.equals("s1") ? "b1:" : "b2:");
                assertThat(back.headers().get("set-cookie")).isNull();
            }
        }
    }

    /** A browser-like client: the JDK HttpClient with its own cookie jar. */
    private static final class Browser {
        private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .cookieHandler(new CookieManager()).build();
        private final int port;

        Browser(int port) {
            this.port = port;
        }

        HttpResponse<String> get(String path) throws Exception {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r;
        }

        /** The backend that answered {@code path} ("b1" or "b2"). */
        String server(String path) throws Exception {
            return get(path).body().substring(0, 2);
        }
    }

    private static String otherThan(String backend) {
        return backend.equals("b1") ? "b2" : "b1";
    }

    @Test
    void aStuckClientStaysOnItsServerWhileItDrainsOrHasWeightZeroAndMovesWhenItGoesIntoMaintenance() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).server("s2", b2.address())
                            .cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            Browser stuck = new Browser(proxy.port());
            HttpResponse<String> first = stuck.get("/first");
            assertThat(first.headers().allValues("set-cookie")).hasSize(1);
            String mine = first.body().substring(0, 2);
            String other = otherThan(mine);
            ServerControl server = proxy.control().server("app", mine.equals("b1") ? "s1" : "s2");

            server.drain();
            assertThat(server.state()).isEqualTo(ServerState.DRAIN);
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = stuck.get("/draining" + i);
                assertThat(r.body()).as("a draining server still serves its persistent clients").startsWith(mine + ":");
                assertThat(r.headers().allValues("set-cookie")).as("its cookie stands").isEmpty();
                assertThat(new Browser(proxy.port()).server("/new" + i)).as("a new client is balanced elsewhere").isEqualTo(other);
            }

            server.ready();
            server.weight(0);
            for (int i = 0; i < 4; i++) {
                assertThat(stuck.server("/weight0-" + i)).as("a server of weight 0 still serves its persistent clients").isEqualTo(mine);
                assertThat(new Browser(proxy.port()).server("/new-w0-" + i)).isEqualTo(other);
            }

            server.maintenance();
            HttpResponse<String> moved = stuck.get("/maintenance");
            assertThat(moved.body()).as("a server in maintenance serves nobody").startsWith(other + ":");
            assertThat(moved.headers().allValues("set-cookie")).as("the client is stuck to its new server").hasSize(1);
            server.ready();
            server.weight(1);
            for (int i = 0; i < 4; i++) {
                assertThat(stuck.server("/after" + i)).as("it stays on its new server").isEqualTo(other);
            }
        }
    }

    @Test
    void aStuckClientOfADrainedServerMovesWhenTheServerFailsItsHealthCheck() throws Exception {
        ManualClock clock = new ManualClock();
        Set<String> failing = ConcurrentHashMap.newKeySet();
        HealthCheck check = HealthCheck.custom(target -> CompletableFuture.completedFuture(
                        failing.contains(target.server().name()) ? HealthCheckResult.unhealthy("told to fail") : HealthCheckResult.healthy("ok")))
                .interval(Duration.ofSeconds(2)).rise(1).fall(1).build();
        try (ManualClockLoop loop = new ManualClockLoop(clock);
                RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group())
                    .backend(Backend.named("app").server("s1", b1.address()).server("s2", b2.address())
                            .healthCheck(check).cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            loop.advance(Duration.ofSeconds(2));
            Browser stuck = new Browser(proxy.port());
            String mine = stuck.server("/first");
            String other = otherThan(mine);
            String name = mine.equals("b1") ? "s1" : "s2";
            ServerControl server = proxy.control().server("app", name);

            server.drain();
            assertThat(stuck.server("/draining")).isEqualTo(mine);
            failing.add(name);
            loop.advance(Duration.ofSeconds(2));
            assertThat(server.lastCheck().isHealthy()).isFalse();
            HttpResponse<String> moved = stuck.get("/down");
            assertThat(moved.body()).as("a server that fails its checks serves nobody").startsWith(other + ":");
            assertThat(moved.headers().allValues("set-cookie")).hasSize(1);

            failing.remove(name);
            loop.advance(Duration.ofSeconds(2));
            server.ready();
            assertThat(server.state()).isEqualTo(ServerState.UP);
            assertThat(stuck.server("/back")).as("stuck to its new server").isEqualTo(other);
            proxy.close(Duration.ofSeconds(2));
            proxy = null;
        }
    }

    @Test
    void aClientStuckToABackupGoesBackToThePrimaryOnceItIsUsable() throws Exception {
        try (RecordingBackend primary = RecordingBackend.start("p1"); RecordingBackend spare = RecordingBackend.start("b1")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("p1", primary.address())
                            .server("b1", spare.address(), s -> s.backup()).cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                proxy.control().server("app", "p1").maintenance();
                RawHttp.Response onBackup = c.send(get("/1", null)).read();
                assertThat(onBackup.body()).startsWith("b1:");
                String backupCookie = "SRV=" + COOKIE.valueFor("app", "b1") + "; Path=/";
                assertThat(onBackup.headers().get("set-cookie")).containsExactly(backupCookie);

                proxy.control().server("app", "p1").ready();
                RawHttp.Response back = c.send(get("/2", "SRV=" + COOKIE.valueFor("app", "b1"))).read();
                assertThat(back.body()).as("backups serve only while no primary is usable").startsWith("p1:");
                assertThat(back.headers().get("set-cookie")).containsExactly("SRV=" + COOKIE.valueFor("app", "p1") + "; Path=/");
            }
        }
    }

    @ParameterizedTest(name = "draining: {0}")
    @ValueSource(booleans = {false, true})
    void aClientWhoseServerIsOnlyFullIsServedElsewhereAndKeepsItsCookie(boolean draining) throws Exception {
        CompletableFuture<ChannelHandlerContext> held = new CompletableFuture<>();
        RecordingBackend.Responder holdOrAnswer = (r, ctx) -> {
            if (r.uri().equals("/hold")) {
                held.complete(ctx);
            } else {
                RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
            }
        };
        try (RecordingBackend b1 = RecordingBackend.start("b1", holdOrAnswer); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                            .server("s2", b2.address()).cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String s1 = "SRV=" + COOKIE.valueFor("app", "s1");
            if (draining) {
                proxy.control().server("app", "s1").drain();   // its limit applies to its persistent clients as before
            }
            try (RawHttp holder = new RawHttp(proxy.port()); RawHttp c = new RawHttp(proxy.port())) {
                holder.send(get("/hold", s1));
                ChannelHandlerContext ctx = held.get(5, TimeUnit.SECONDS);
                assertThat(proxy.control().server("app", "s1").load()).isEqualTo(1);

                RawHttp.Response overflow = c.send(get("/overflow", s1)).read();
                assertThat(overflow.body()).as("s1 is at its limit").startsWith("b2:");
                assertThat(overflow.headers().get("set-cookie")).as("a full server is still the client's server").isNull();

                RecordingBackend.ok(ctx, "b1:/hold", Map.of());
                assertThat(holder.read().body()).isEqualTo("b1:/hold");
                RawHttp.Response back = c.send(get("/back", s1)).read();
                assertThat(back.body()).startsWith("b1:");
                assertThat(back.headers().get("set-cookie")).isNull();
            }
        }
    }

    @Test
    void aCookieOfTheStickyNameThatTheServerSetsIsRemovedAsHaproxysInsertDoes() throws Exception {
        RecordingBackend.Responder setsCookies = answersWith(HttpHeaderNames.SET_COOKIE,
                "session=abc; HttpOnly", "SRV=app-value; Path=/", "SRVX=1", "SRV = spaced");
        try (RecordingBackend b1 = RecordingBackend.start("b1", setsCookies)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String mine = "SRV=" + COOKIE.valueFor("app", "s1");
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response first = c.send(get("/new", null)).read();
                assertThat(first.status()).isEqualTo(200);
                assertThat(first.headers().get("set-cookie")).as("the server's SRV is dropped, the proxy's inserted")
                        .containsExactly("session=abc; HttpOnly", "SRVX=1", mine + "; Path=/");
                RawHttp.Response again = c.send(get("/again", mine)).read();
                assertThat(again.headers().get("set-cookie")).as("a client with a valid cookie keeps it: nothing overwrites it")
                        .containsExactly("session=abc; HttpOnly", "SRVX=1");
            }
        }
    }

    /**
     * {@code nocache} marks a response that inserts the cookie private without losing the server's
     * other directives: with two {@code Cache-Control} fields, only the first was kept (and
     * {@code must-revalidate} in the second was dropped). HAProxy adds a field of its own and keeps
     * the server's.
     */
    @Test
    void nocacheKeepsEveryCacheControlFieldOfTheServer() throws Exception {
        RecordingBackend.Responder twoFields = answersWith(HttpHeaderNames.CACHE_CONTROL, "public, max-age=60", "must-revalidate");
        try (RecordingBackend b1 = RecordingBackend.start("b1", twoFields)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).cookie(StickyCookie.insert("SRV").nocache()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response first = c.send(get("/new", null)).read();
                assertThat(first.headers().get("set-cookie")).hasSize(1);
                assertThat(String.join(", ", first.headers().get("cache-control")))
                        .isEqualTo("public, max-age=60, must-revalidate, private");
                RawHttp.Response stuck = c.send(get("/again", "SRV=" + COOKIE.valueFor("app", "s1"))).read();
                assertThat(stuck.headers().get("cache-control")).as("no cookie inserted: the server's fields as they were")
                        .containsExactly("public, max-age=60", "must-revalidate");
            }
        }
    }

    @Test
    void aWebSocketHandshakesAnswerCarriesTheCookieAsHaproxysDoes() throws Exception {
        String switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSet-Cookie: SRV=app-value\r\n\r\n";
        String handshake = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        try (RawBackend ws = RawBackend.answeringAfterTheHead(switching)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", ws.address()).cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String mine = "SRV=" + COOKIE.valueFor("app", "s1");
            try (RawHttp c = new RawHttp(proxy.port())) {
                String head = RawBackend.nextHead(c.send(handshake + "\r\n").in).toLowerCase(Locale.ROOT);
                assertThat(head).startsWith("http/1.1 101").contains("\r\nset-cookie: " + mine.toLowerCase(Locale.ROOT) + "; path=/\r\n")
                        .as("the server's SRV is dropped").doesNotContain("app-value");
            }
            try (RawHttp c = new RawHttp(proxy.port())) {
                String head = RawBackend.nextHead(c.send(handshake + "Cookie: " + mine + "\r\n\r\n").in).toLowerCase(Locale.ROOT);
                assertThat(head).startsWith("http/1.1 101").as("a client with a valid cookie gets none").doesNotContain("set-cookie");
            }
        }
    }

    @Test
    void anUnknownCookieIsRebalancedAndReplaced() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).cookie(StickyCookie.insert("SRV")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response r = c.send(get("/", "SRV=forged")).read();
                assertThat(r.body()).startsWith("b1:");
                assertThat(r.headers().get("set-cookie")).containsExactly("SRV=" + COOKIE.valueFor("app", "s1") + "; Path=/");
                assertThat(r.headers().get("cache-control")).as("no nocache: no Cache-Control added").isNull();
                assertThat(b1.requests.get(0).headers().get("cookie")).as("without indirect the cookie is passed on").isEqualTo("SRV=forged");
            }
        }
    }

    /**
     * A browser that holds the cookie for two paths (or domains) sends the name twice, the longer
     * path first: a stale cookie of another path must not hide the proxy's. HAProxy 2.6 takes the
     * first value that names a usable server ({@code SRV=stale; SRV=<s1>} goes to s1 with no new
     * cookie); taking only the first value moved such a client to another server on every request,
     * each time with a new cookie that the stale one kept hiding.
     */
    @Test
    void theFirstOfSeveralCookiesOfTheNameThatNamesAUsableServerWinsAsWithHaproxy() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2");
                RecordingBackend b3 = RecordingBackend.start("b3")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).server("s2", b2.address())
                            .server("s3", b3.address()).cookie(COOKIE))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String s2 = COOKIE.valueFor("app", "s2");
            String s3 = COOKIE.valueFor("app", "s3");
            proxy.control().server("app", "s3").maintenance();
            try (RawHttp c = new RawHttp(proxy.port())) {
                for (String cookies : List.of("SRV=stale; SRV=" + s2, "SRV=" + s3 + "; a=1; SRV=" + s2,
                        "SRV=stale; a=1\r\nCookie: SRV=" + s2)) {
                    for (int i = 0; i < 3; i++) {
                        RawHttp.Response r = c.send(get("/" + i, cookies)).read();
                        assertThat(r.body()).as(cookies).startsWith("b2:");
                        assertThat(r.headers().get("set-cookie")).as("no new cookie for " + cookies).isNull();
                    }
                }
                assertThat(b2.requests).allSatisfy(req -> assertThat(req.headers().getAll("cookie")).as("indirect removes every value")
                        .allSatisfy(v -> assertThat(v).doesNotContain("SRV=")));
                // two stale values: balanced afresh and given the cookie of the server that answered
                RawHttp.Response fresh = c.send(get("/fresh", "SRV=stale; SRV=" + s3)).read();
                assertThat(fresh.headers().get("set-cookie")).hasSize(1);
            }
            assertThat(proxy.routeAndPick(TestRequest.get("/").host("h").cookie("SRV", "stale").cookie("SRV", s2)).server().name())
                    .as("routeAndPick as the engine").isEqualTo("s2");
        }
    }

    /**
     * A first value naming a server that is only at its connection limit ends the search: the engine
     * serves the client elsewhere this time (it keeps its cookie) and does not go on to a later value,
     * as HAProxy stops at the first value naming a running server (it queues there). routeAndPick
     * named the server of the later value instead (here s3, draining, which a balanced pick never
     * takes), where the engine sent the request to s1.
     */
    @Test
    void aFirstValueNamingAFullServerEndsTheSearchInTheEngineAndInRouteAndPick() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder held = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "b2:" + r.uri(), Map.of())));
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2", held);
                RecordingBackend b3 = RecordingBackend.start("b3")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).server("s2", b2.address(), s -> s.maxConnections(1))
                            .server("s3", b3.address()).cookie(COOKIE))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            String s2 = COOKIE.valueFor("app", "s2");
            String s3 = COOKIE.valueFor("app", "s3");
            proxy.control().server("app", "s3").drain();
            try (RawHttp holder = new RawHttp(proxy.port()); RawHttp c = new RawHttp(proxy.port())) {
                holder.send(get("/held", "SRV=" + s2));
                Await.until(Duration.ofSeconds(5), "s2 to hold a request", () -> proxy.control().server("app", "s2").load() == 1);
                RawHttp.Response r = c.send(get("/x", "SRV=" + s2 + "; SRV=" + s3)).read();
                assertThat(r.body()).as("the engine: balanced, s3 draining").startsWith("b1:");
                assertThat(r.headers().get("set-cookie")).as("the client keeps its cookie").isNull();
                assertThat(proxy.routeAndPick(TestRequest.get("/x").host("h").cookie("SRV", s2).cookie("SRV", s3)).server().name())
                        .as("routeAndPick as the engine").isEqualTo("s1");
                release.complete(null);
                assertThat(holder.read().body()).isEqualTo("b2:/held");
            }
        }
    }

    @Test
    void invalidOptionsFailWithTheFieldAndValue() {
        assertThatThrownBy(() -> StickyCookie.insert("bad name")).hasMessage("cookie name: bad name (expected: a token, e.g. SERVERID)");
        assertThatThrownBy(() -> StickyCookie.insert("SRV").sameSite("lax")).hasMessage("cookie sameSite: lax (expected: Strict, Lax or None)");
        assertThat(StickyCookie.insert("SRV").key("k1").valueFor("app", "s1"))
                .isNotEqualTo(StickyCookie.insert("SRV").key("k2").valueFor("app", "s1"))
                .isEqualTo(StickyCookie.insert("OTHER").key("k1").valueFor("app", "s1"));
    }

    /** A server answering {@code b1:<uri>} with one field of {@code name} per value, in order. */
    private static RecordingBackend.Responder answersWith(CharSequence name, String... values) {
        return (r, ctx) -> {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer("b1:" + r.uri(), StandardCharsets.UTF_8));
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            for (String value : values) {
                response.headers().add(name, value);
            }
            ctx.writeAndFlush(response);
        };
    }
}
