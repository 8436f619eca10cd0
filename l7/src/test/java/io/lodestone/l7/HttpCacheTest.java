package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The response cache over real sockets: RFC 9111 rules, expiry on a manual clock, coalescing, bounds, purges. */
class HttpCacheTest {

    private final ManualClock clock = new ManualClock(System.currentTimeMillis());
    private RecordingBackend backend;
    private Proxy proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private void start(RecordingBackend.Responder responder, ResponseCache cache) {
        backend = RecordingBackend.start("app", responder);
        startProxy(backend.address(), cache);
    }

    /** Starts the proxy, on the test's clock, with one server at {@code server} (host:port) and {@code cache} on backend app. */
    private void startProxy(String server, ResponseCache cache) {
        proxy = Proxy.builder()
                .clock(clock)
                .backend(Backend.named("app").server("s1", server))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").cache("app", cache))
                .build();
        proxy.start();
    }

    private static ResponseCache cache() {
        return ResponseCache.builder().maxBytes(1 << 20).maxEntryBytes(64 * 1024).statusHeader("X-Cache").build();
    }

    private static RecordingBackend.Responder fixed(Map<String, String> headers) {
        return (r, ctx) -> RecordingBackend.ok(ctx, "body of " + r.uri() + " #" + System.nanoTime(), headers);
    }

    private RawHttp.Response get(RawHttp c, String target, String... headers) throws Exception {
        StringBuilder sb = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\nHost: h\r\n");
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        return c.send(sb.append("\r\n").toString()).read();
    }

    private CacheSnapshot stats() {
        return proxy.metrics().cache("web", "app");
    }

    private long served(String uri) {
        return backend.requests.stream().filter(r -> r.uri().equals(uri)).count();
    }

    @Test
    void aSecondRequestIsAHitWithItsAge() throws Exception {
        start(fixed(Map.of("Cache-Control", "max-age=60")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response first = get(c, "/a");
            clock.advance(Duration.ofSeconds(3));
            RawHttp.Response second = get(c, "/a");
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.header("x-cache")).isEqualTo("MISS");
            assertThat(second.header("x-cache")).isEqualTo("HIT");
            assertThat(second.body()).isEqualTo(first.body());
            assertThat(second.header("age")).isEqualTo("3");
            assertThat(second.header("x-request-id")).isNotEqualTo(first.header("x-request-id"));
            assertThat(second.header("content-length")).isEqualTo(Integer.toString(first.body().length()));
        }
        assertThat(served("/a")).isEqualTo(1);
        CacheSnapshot s = stats();
        assertThat(s.hits()).isEqualTo(1);
        assertThat(s.misses()).isEqualTo(1);
        assertThat(s.stores()).isEqualTo(1);
        assertThat(s.entries()).isEqualTo(1);
        assertThat(s.bytes()).isPositive().isLessThanOrEqualTo(s.maxBytes());
        String text = PrometheusFormat.text(proxy.metrics());
        PrometheusChecker.check(text);
        assertThat(text).contains("lodestone_cache_hits_total{frontend=\"web\",backend=\"app\"} 1")
                .contains("lodestone_cache_misses_total{frontend=\"web\",backend=\"app\"} 1");
    }

    @Test
    void noStorePrivateSetCookieAndAuthorisedResponsesAreNotCached() throws Exception {
        start((r, ctx) -> {
            Map<String, String> h = switch (r.uri()) {
                case "/no-store" -> Map.of("Cache-Control", "max-age=60, no-store");
                case "/private" -> Map.of("Cache-Control", "private, max-age=60");
                case "/cookie" -> Map.of("Cache-Control", "max-age=60", "Set-Cookie", "a=b");
                case "/none" -> Map.of();
                default -> Map.of("Cache-Control", "max-age=60");
            };
            RecordingBackend.ok(ctx, "x", h);
        }, cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (int i = 0; i < 2; i++) {
                assertThat(get(c, "/no-store").header("x-cache")).isEqualTo("MISS");
                assertThat(get(c, "/private").header("x-cache")).isEqualTo("MISS");
                assertThat(get(c, "/cookie").header("x-cache")).isEqualTo("MISS");
                assertThat(get(c, "/none").header("x-cache")).isEqualTo("MISS");
                assertThat(get(c, "/auth", "Authorization: Basic dTpw").header("x-cache")).isEqualTo("BYPASS");
                assertThat(get(c, "/req-no-store", "Cache-Control: no-store").header("x-cache")).isEqualTo("BYPASS");
                RawHttp.Response post = c.send("POST /post HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").read();
                assertThat(post.header("x-cache")).isEqualTo("BYPASS");
            }
        }
        for (String uri : List.of("/no-store", "/private", "/cookie", "/none", "/auth", "/req-no-store", "/post")) {
            assertThat(served(uri)).as(uri).isEqualTo(2);
        }
        assertThat(stats().entries()).isZero();
        assertThat(stats().bypasses()).isEqualTo(6);
    }

    @Test
    void varyKeepsVariantsApart() throws Exception {
        start((r, ctx) -> RecordingBackend.ok(ctx, "lang=" + r.header("Accept-Language"),
                Map.of("Cache-Control", "max-age=60", "Vary", "Accept-Language")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(get(c, "/v", "Accept-Language: en").body()).isEqualTo("lang=en");
            assertThat(get(c, "/v", "Accept-Language: fr").body()).isEqualTo("lang=fr");
            RawHttp.Response en = get(c, "/v", "Accept-Language: en");
            RawHttp.Response fr = get(c, "/v", "Accept-Language: fr");
            assertThat(en.body()).isEqualTo("lang=en");
            assertThat(en.header("x-cache")).isEqualTo("HIT");
            assertThat(fr.body()).isEqualTo("lang=fr");
            assertThat(fr.header("x-cache")).isEqualTo("HIT");
            assertThat(get(c, "/v").body()).isEqualTo("lang=null");
        }
        assertThat(served("/v")).isEqualTo(3);
    }

    @Test
    void aResponseExpiresWithItsMaxAgeOnTheProxysClock() throws Exception {
        start(fixed(Map.of("Cache-Control", "max-age=10")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response first = get(c, "/e");
            clock.advance(Duration.ofSeconds(9));
            RawHttp.Response fresh = get(c, "/e");
            clock.advance(Duration.ofSeconds(2));
            RawHttp.Response expired = get(c, "/e");
            assertThat(fresh.header("x-cache")).isEqualTo("HIT");
            assertThat(fresh.header("age")).isEqualTo("9");
            assertThat(fresh.body()).isEqualTo(first.body());
            assertThat(expired.header("x-cache")).isIn("MISS", "EXPIRED");
            assertThat(expired.body()).isNotEqualTo(first.body());
        }
        assertThat(served("/e")).isEqualTo(2);
    }

    @Test
    void aDirectiveGivenTwiceCountsByItsFirstValue() throws Exception {
        // RFC 9111 4.2.1: the first occurrence, or stale; the last one made "max-age=0" (an application's
        // "do not keep this") lose to a default a framework appended after it
        start((r, ctx) -> RecordingBackend.ok(ctx, "body of " + r.uri() + " #" + System.nanoTime(), Map.of("Cache-Control",
                r.uri().equals("/shared") ? "s-maxage=0, max-age=60, s-maxage=3600" : "max-age=0, max-age=3600")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (String uri : List.of("/framework-default", "/shared")) {
                RawHttp.Response first = get(c, uri);
                clock.advance(Duration.ofSeconds(1));
                RawHttp.Response second = get(c, uri);
                assertThat(second.header("x-cache")).as(uri).isEqualTo("MISS");
                assertThat(second.body()).as(uri).isNotEqualTo(first.body());
            }
        }
    }

    @Test
    void expiresAndAgeFromTheBackendCount() throws Exception {
        start((r, ctx) -> {
            String date = io.netty.handler.codec.DateFormatter.format(new java.util.Date(clock.currentTimeMillis()));
            String expires = io.netty.handler.codec.DateFormatter.format(new java.util.Date(clock.currentTimeMillis() + 30_000));
            Map<String, String> h = r.uri().equals("/aged")
                    ? Map.of("Cache-Control", "max-age=30", "Age", "25")
                    : Map.of("Date", date, "Expires", expires);
            RecordingBackend.ok(ctx, "x", h);
        }, cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            get(c, "/aged");
            get(c, "/expires");
            clock.advance(Duration.ofSeconds(10));
            assertThat(get(c, "/aged").header("x-cache")).as("25 s old + 10 s > 30 s").isNotEqualTo("HIT");
            RawHttp.Response expires = get(c, "/expires");
            assertThat(expires.header("x-cache")).isEqualTo("HIT");
            assertThat(expires.header("age")).isEqualTo("10");
        }
    }

    @Test
    void aStaleResponseIsRevalidatedAndA304RefreshesIt() throws Exception {
        start((r, ctx) -> {
            if ("\"v1\"".equals(r.header("If-None-Match"))) {
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", Map.of("Cache-Control", "max-age=10", "ETag", "\"v1\""));
            } else {
                RecordingBackend.ok(ctx, "version one", Map.of("Cache-Control", "max-age=10", "ETag", "\"v1\""));
            }
        }, cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(get(c, "/r").header("x-cache")).isEqualTo("MISS");
            clock.advance(Duration.ofSeconds(11));
            RawHttp.Response revalidated = get(c, "/r");
            assertThat(revalidated.status()).isEqualTo(200);
            assertThat(revalidated.header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(revalidated.body()).isEqualTo("version one");
            assertThat(backend.last().header("If-None-Match")).isEqualTo("\"v1\"");
            clock.advance(Duration.ofSeconds(5));
            RawHttp.Response hit = get(c, "/r");
            assertThat(hit.header("x-cache")).isEqualTo("HIT");
            assertThat(hit.body()).isEqualTo("version one");
            // a conditional client request answered from the cache
            RawHttp.Response notModified = get(c, "/r", "If-None-Match: W/\"v0\", \"v1\"");
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("etag")).isEqualTo("\"v1\"");
            assertThat(notModified.header("x-cache")).isEqualTo("HIT");
            // the same list on two lines: one list (RFC 9110, 5.3), the second line's tag matches
            RawHttp.Response twoLines = get(c, "/r", "If-None-Match: W/\"v0\"", "If-None-Match: \"v1\"");
            assertThat(twoLines.status()).isEqualTo(304);
            assertThat(twoLines.header("x-cache")).isEqualTo("HIT");
            // a stale entry, a conditional client: the backend's 304 becomes the client's 304
            clock.advance(Duration.ofSeconds(11));
            RawHttp.Response both = get(c, "/r", "If-None-Match: \"v0\"", "If-None-Match: \"v1\"");
            assertThat(both.status()).isEqualTo(304);
            assertThat(both.header("x-cache")).isEqualTo("REVALIDATED");
            // the connection is still good, the response fresh again
            RawHttp.Response last = get(c, "/r");
            assertThat(last.body()).isEqualTo("version one");
            assertThat(last.header("x-cache")).isEqualTo("HIT");
        }
        assertThat(served("/r")).isEqualTo(3);
        assertThat(stats().revalidations()).isEqualTo(2);
    }

    @Test
    void aRevalidating304sCookieGoesToItsClientOnlyAndItsPrivateOrNoStoreEndsTheStoredResponse() throws Exception {
        // the server's 304 to a revalidation: with Set-Cookie (a refreshed session), or now private or no-store
        start((r, ctx) -> {
            Map<String, String> h = new java.util.HashMap<>(Map.of("Cache-Control", "max-age=10", "ETag", "\"v1\""));
            if ("\"v1\"".equals(r.header("If-None-Match"))) {
                switch (r.uri()) {
                    case "/cookie" -> h.put("Set-Cookie", "session=alice");
                    case "/private" -> h.put("Cache-Control", "private, max-age=60");
                    default -> h.put("Cache-Control", "no-store");
                }
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", h);
            } else {
                RecordingBackend.ok(ctx, "body of " + r.uri() + " #" + System.nanoTime(), h);
            }
        }, cache());
        List<String> uris = List.of("/cookie", "/private", "/no-store");
        try (RawHttp c = new RawHttp(proxy.port())) {
            Map<String, String> bodies = new java.util.HashMap<>();
            for (String uri : uris) {
                bodies.put(uri, get(c, uri).body());
            }
            clock.advance(Duration.ofSeconds(11));
            RawHttp.Response alice = get(c, "/cookie");
            assertThat(alice.header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(alice.body()).isEqualTo(bodies.get("/cookie"));
            assertThat(alice.header("set-cookie")).as("the 304 answered this client").isEqualTo("session=alice");
            RawHttp.Response bob = get(c, "/cookie");
            assertThat(bob.header("x-cache")).isEqualTo("HIT");
            assertThat(bob.header("set-cookie")).as("another client gets no one else's cookie").isNull();

            for (String uri : List.of("/private", "/no-store")) {
                RawHttp.Response revalidated = get(c, uri);
                assertThat(revalidated.header("x-cache")).as(uri).isEqualTo("REVALIDATED");
                assertThat(revalidated.body()).as(uri).isEqualTo(bodies.get(uri));
                assertThat(revalidated.header("cache-control")).as(uri).isIn("private, max-age=60", "no-store");
                RawHttp.Response next = get(c, uri);
                assertThat(next.header("x-cache")).as(uri + ": a shared cache no longer keeps it").isEqualTo("MISS");
                assertThat(next.body()).as(uri).isNotEqualTo(bodies.get(uri));
            }
        }
        assertThat(served("/cookie")).isEqualTo(2);
        assertThat(served("/private")).isEqualTo(3);
        assertThat(served("/no-store")).isEqualTo(3);
    }

    @Test
    void aConditionalMissTurnedInto304KeepsTheResponsesCookiesAndHasADate() throws Exception {
        // not storable (Set-Cookie): the proxy took the client's If-None-Match off to fill the cache, and
        // answers it itself from the 200; the server's cookie must still reach the client, as it would on
        // the server's own 304 or on the 200 nginx passes on in this case
        start((r, ctx) -> RecordingBackend.ok(ctx, "body", Map.of("ETag", "\"v1\"", "Cache-Control", "max-age=60",
                "Set-Cookie", "session=alice")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response notModified = get(c, "/c", "If-None-Match: \"v1\"");
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("x-cache")).isEqualTo("MISS");
            assertThat(notModified.header("set-cookie")).isEqualTo("session=alice");
            assertThat(notModified.header("etag")).isEqualTo("\"v1\"");
            assertThat(notModified.header("date")).as("RFC 9110 6.6.1: a proxy adds the Date a server left out").isNotNull();
            assertThat(get(c, "/c").header("x-cache")).isEqualTo("MISS");
        }
    }

    @Test
    void theResponsesTheCacheMakesFromAServersAnswerGetTheStickyCookieOfThatServer() throws Exception {
        backend = RecordingBackend.start("app", validated("max-age=10"));
        proxy = Proxy.builder()
                .clock(clock)
                .backend(Backend.named("app").server("s1", backend.address()).cookie(io.lodestone.core.StickyCookie.insert("SRV")))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").cache("app", cache()))
                .build();
        proxy.start();
        try (RawHttp c = new RawHttp(proxy.port())) {
            // a conditional miss the proxy answers 304 from the server's 200
            RawHttp.Response notModified = get(c, "/s", "If-None-Match: \"v1\"");
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("set-cookie")).startsWith("SRV=");
            // a hit involves no server: no cookie
            assertThat(get(c, "/s").header("set-cookie")).isNull();
            // a revalidation the server answered 304
            clock.advance(Duration.ofSeconds(11));
            RawHttp.Response revalidated = get(c, "/s");
            assertThat(revalidated.header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(revalidated.header("set-cookie")).isEqualTo(notModified.header("set-cookie"));
            // a client that has the cookie gets none
            clock.advance(Duration.ofSeconds(11));
            String cookie = notModified.header("set-cookie");
            RawHttp.Response withCookie = get(c, "/s", "Cookie: " + cookie.substring(0, cookie.indexOf(';') < 0 ? cookie.length() : cookie.indexOf(';')));
            assertThat(withCookie.header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(withCookie.header("set-cookie")).isNull();
        }
    }

    @Test
    void aRevalidating304ThatVariesOnOtherHeadersEndsTheStoredResponse() throws Exception {
        // the response varied on Accept; the server's 304 says it now varies on Accept-Language too: the
        // stored response, keyed by Accept only, must not answer a client with another language
        start((r, ctx) -> {
            if ("\"v1\"".equals(r.header("If-None-Match"))) {
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", Map.of("Cache-Control", "max-age=10", "ETag", "\"v1\"",
                        "Vary", "Accept, Accept-Language"));
            } else {
                RecordingBackend.ok(ctx, "lang=" + r.header("Accept-Language") + " #" + System.nanoTime(),
                        Map.of("Cache-Control", "max-age=10", "ETag", "\"v1\"", "Vary", "Accept"));
            }
        }, cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response en = get(c, "/v", "Accept: text/html", "Accept-Language: en");
            clock.advance(Duration.ofSeconds(11));
            RawHttp.Response revalidated = get(c, "/v", "Accept: text/html", "Accept-Language: en");
            assertThat(revalidated.header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(revalidated.body()).isEqualTo(en.body());
            RawHttp.Response fr = get(c, "/v", "Accept: text/html", "Accept-Language: fr");
            assertThat(fr.header("x-cache")).isEqualTo("MISS");
            assertThat(fr.body()).startsWith("lang=fr");
        }
    }

    /** A backend whose responses carry {@code cacheControl} and ETag "v1", and which answers If-None-Match "v1" with 304. */
    private static RecordingBackend.Responder validated(String cacheControl) {
        return (r, ctx) -> {
            Map<String, String> h = Map.of("Cache-Control", cacheControl, "ETag", "\"v1\"");
            if ("\"v1\"".equals(r.header("If-None-Match"))) {
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", h);
            } else {
                RecordingBackend.ok(ctx, "body of " + r.uri() + " #" + System.nanoTime(), h);
            }
        };
    }

    @Test
    void aRequestsMaxAgeAndMinFreshRefuseStoredResponsesTooOldOrTooCloseToStale() throws Exception {
        start(fixed(Map.of("Cache-Control", "max-age=60")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response first = get(c, "/m");
            clock.advance(Duration.ofSeconds(2));
            // 2 s old: too old for max-age=1, so the server is asked
            RawHttp.Response tooOld = get(c, "/m", "Cache-Control: max-age=1");
            assertThat(tooOld.header("x-cache")).isEqualTo("MISS");
            assertThat(tooOld.body()).isNotEqualTo(first.body());
            clock.advance(Duration.ofSeconds(1));
            RawHttp.Response young = get(c, "/m", "Cache-Control: max-age=1");
            assertThat(young.header("x-cache")).isEqualTo("HIT");
            assertThat(young.header("age")).isEqualTo("1");
            assertThat(young.body()).isEqualTo(tooOld.body());
            clock.advance(Duration.ofSeconds(2));
            // 3 s old, 57 s of freshness left
            RawHttp.Response notFreshEnough = get(c, "/m", "Cache-Control: min-fresh=58");
            assertThat(notFreshEnough.header("x-cache")).isEqualTo("MISS");
            clock.advance(Duration.ofSeconds(3));
            // the stored response is now 3 s old: 57 s left
            RawHttp.Response freshEnough = get(c, "/m", "Cache-Control: min-fresh=57");
            assertThat(freshEnough.header("x-cache")).isEqualTo("HIT");
            assertThat(freshEnough.body()).isEqualTo(notFreshEnough.body());
            assertThat(get(c, "/m", "Cache-Control: min-fresh=58").header("x-cache")).isEqualTo("MISS");
        }
        assertThat(served("/m")).isEqualTo(4);
    }

    @Test
    void onlyIfCachedIsAnsweredFromTheCacheOr504WithoutAskingTheServer() throws Exception {
        start(validated("max-age=10"), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response miss = get(c, "/o", "Cache-Control: only-if-cached");
            assertThat(miss.status()).isEqualTo(504);
            assertThat(miss.header("x-cache")).isEqualTo("MISS");
            assertThat(served("/o")).isZero();
            // the connection goes on
            RawHttp.Response stored = get(c, "/o");
            assertThat(stored.header("x-cache")).isEqualTo("MISS");
            clock.advance(Duration.ofSeconds(5));
            RawHttp.Response hit = get(c, "/o", "Cache-Control: only-if-cached");
            assertThat(hit.status()).isEqualTo(200);
            assertThat(hit.header("x-cache")).isEqualTo("HIT");
            assertThat(hit.body()).isEqualTo(stored.body());
            // stale: not without the server, unless the client accepts it stale
            clock.advance(Duration.ofSeconds(10));
            assertThat(get(c, "/o", "Cache-Control: only-if-cached").status()).isEqualTo(504);
            assertThat(get(c, "/o", "Cache-Control: only-if-cached, max-age=5").status()).isEqualTo(504);
            RawHttp.Response stale = get(c, "/o", "Cache-Control: only-if-cached, max-stale");
            assertThat(stale.status()).isEqualTo(200);
            assertThat(stale.body()).isEqualTo(stored.body());
        }
        assertThat(served("/o")).isEqualTo(1);
    }

    @Test
    void maxStaleAcceptsAStaleResponseUnlessTheResponseForbidsIt() throws Exception {
        start((r, ctx) -> validated(r.uri().equals("/must") ? "max-age=10, must-revalidate"
                : r.uri().equals("/shared") ? "s-maxage=10" : "max-age=10").respond(r, ctx), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response first = get(c, "/s");
            get(c, "/must");
            get(c, "/shared");
            clock.advance(Duration.ofSeconds(15));
            // stale by 5 s
            RawHttp.Response within = get(c, "/s", "Cache-Control: max-stale=5");
            assertThat(within.header("x-cache")).isEqualTo("HIT");
            assertThat(within.header("age")).isEqualTo("15");
            assertThat(within.body()).isEqualTo(first.body());
            assertThat(get(c, "/s", "Cache-Control: max-stale").header("x-cache")).isEqualTo("HIT");
            assertThat(served("/s")).isEqualTo(1);
            RawHttp.Response beyond = get(c, "/s", "Cache-Control: max-stale=4");
            assertThat(beyond.header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(beyond.body()).isEqualTo(first.body());
            assertThat(served("/s")).isEqualTo(2);
            // must-revalidate and s-maxage: never served stale
            assertThat(get(c, "/must", "Cache-Control: max-stale").header("x-cache")).isEqualTo("REVALIDATED");
            assertThat(get(c, "/shared", "Cache-Control: max-stale").header("x-cache")).isEqualTo("REVALIDATED");
        }
        assertThat(served("/must")).isEqualTo(2);
        assertThat(served("/shared")).isEqualTo(2);
    }

    @Test
    void aRequestsNoCacheRevalidatesAFreshStoredResponseWithItsValidators() throws Exception {
        start(validated("max-age=60"), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response first = get(c, "/n");
            for (String reload : new String[] {"Cache-Control: no-cache", "Pragma: no-cache", "Cache-Control: max-age=0"}) {
                RawHttp.Response r = get(c, "/n", reload);
                assertThat(r.status()).as(reload).isEqualTo(200);
                assertThat(r.header("x-cache")).as(reload).isEqualTo("REVALIDATED");
                assertThat(r.body()).as(reload).isEqualTo(first.body());
                assertThat(backend.last().header("If-None-Match")).as(reload).isEqualTo("\"v1\"");
            }
            assertThat(get(c, "/n").header("x-cache")).isEqualTo("HIT");
        }
        assertThat(served("/n")).isEqualTo(4);
        assertThat(stats().revalidations()).isEqualTo(3);
    }

    @Test
    void fiftyConcurrentMissesMakeOneBackendRequest() throws Exception {
        backend = RecordingBackend.start("app", (r, ctx) -> new Thread(() -> {
            // answer only once every other request is waiting behind this one
            Await.until("49 coalesced requests", () -> proxy.metrics().cache("web", "app").coalesced() == 49);
            RecordingBackend.ok(ctx, "shared", Map.of("Cache-Control", "max-age=60"));
        }).start());
        proxy = Proxy.builder()
                .clock(clock)
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").cache(cache()))
                .build();
        proxy.start();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool).build();
        try {
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/hot")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            int hits = 0;
            for (CompletableFuture<HttpResponse<String>> f : all) {
                HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("shared");
                hits += "HIT".equals(r.headers().firstValue("x-cache").orElse("")) ? 1 : 0;
            }
            assertThat(hits).isEqualTo(49);
        } finally {
            pool.shutdownNow();
        }
        assertThat(backend.requests).hasSize(1);
        CacheSnapshot s = stats();
        assertThat(s.coalesced()).isEqualTo(49);
        assertThat(s.misses()).isEqualTo(1);
        assertThat(s.hits()).isEqualTo(49);
    }

    @Test
    void requestsWaitingForAFillThatCannotBeStoredGoToTheServerWithoutWaitingForItsBody() throws Exception {
        // both responses cannot be stored, one by its announced length, one by the body it grows to;
        // each sends the start of its body and then holds the rest, as a large file to a slow client does
        start((r, ctx) -> {
            DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, "max-age=60");
            if (r.uri().equals("/chunked")) {
                HttpUtil.setTransferEncodingChunked(head, true);
            } else {
                head.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 1 << 20);
            }
            ctx.write(head);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[128 * 1024])));
        }, cache());
        for (String target : List.of("/fixed", "/chunked")) {
            try (RawHttp first = new RawHttp(proxy.port()); RawHttp second = new RawHttp(proxy.port())) {
                first.send("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(head(first)).startsWith("HTTP/1.1 200");
                // past the entry limit: the fill has given up storing, while its body is still to come
                assertThat(first.in.readNBytes(100 * 1024)).hasSize(100 * 1024);
                // the second waited for the whole body of the first, which never came
                second.socket.setSoTimeout(5000);
                second.send("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(head(second)).as(target).startsWith("HTTP/1.1 200").containsIgnoringCase("X-Cache: MISS");
                // both leave with a reset, which ends their stalled responses at once (after a FIN they
                // would go on, as HAProxy's do, until the server timeout or the proxy's drain timeout)
                first.socket.setSoLinger(true, 0);
                second.socket.setSoLinger(true, 0);
            }
            assertThat(served(target)).isEqualTo(2);
        }
        assertThat(stats().entries()).isZero();
    }

    /** Reads a response head, up to and with its blank line. */
    private static String head(RawHttp c) throws java.io.IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = c.in.read();
            if (b < 0) {
                throw new java.io.EOFException("end of input in a response head: " + head);
            }
            head.append((char) b);
        }
        return head.toString();
    }

    @Test
    void theByteBoundHoldsUnderAStreamOfDistinctKeys() throws Exception {
        char[] body = new char[4000];
        Arrays.fill(body, 'b');
        String big = new String(body);
        start((r, ctx) -> RecordingBackend.ok(ctx, big, Map.of("Cache-Control", "max-age=600")),
                ResponseCache.builder().maxBytes(64 * 1024).maxEntryBytes(8 * 1024).build());
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (int i = 0; i < 300; i++) {
                assertThat(get(c, "/k" + i).body()).hasSize(4000);
                CacheSnapshot s = stats();
                assertThat(s.bytes()).as("after %d keys", i + 1).isLessThanOrEqualTo(64 * 1024);
            }
        }
        CacheSnapshot s = stats();
        assertThat(s.evictions()).isGreaterThan(250);
        assertThat(s.entries()).isBetween(1L, 16L);
    }

    @Test
    void aResponseLargerThanTheEntryLimitStreamsThroughUncached() throws Exception {
        int size = 1 << 20;
        CountDownLatch clientHasFirstBytes = new CountDownLatch(1);
        start((r, ctx) -> {
            boolean chunked = r.uri().equals("/chunked");
            DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, "max-age=60");
            if (chunked) {
                HttpUtil.setTransferEncodingChunked(head, true);
            } else {
                head.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, size);
            }
            ctx.write(head);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[16 * 1024])));
            new Thread(() -> {
                try {
                    // the rest only once the client has read the start: nothing holds the response back
                    if (chunked && !clientHasFirstBytes.await(10, TimeUnit.SECONDS)) {
                        ctx.close();
                        return;
                    }
                    // the last piece goes with the end: an empty end written after it could still be queued
                    // when the proxy, which has the whole Content-Length body, sends the next request
                    for (int sent = 16 * 1024; sent < size; sent += 64 * 1024) {
                        int n = Math.min(64 * 1024, size - sent);
                        ctx.writeAndFlush(sent + n < size ? new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[n]))
                                : new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[n])));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).start();
        }, ResponseCache.builder().maxBytes(4 << 20).maxEntryBytes(256 * 1024).statusHeader("X-Cache").build());
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n");
            StringBuilder headAndStart = new StringBuilder();
            while (!headAndStart.toString().endsWith("\r\n\r\n")) {
                headAndStart.append((char) c.in.read());
            }
            byte[] start = c.in.readNBytes(1024);
            assertThat(start).hasSize(1024);
            clientHasFirstBytes.countDown();
            long total = 1024;
            // the rest of the chunked body (chunk framing included): read until the terminating chunk
            byte[] buf = new byte[64 * 1024];
            StringBuilder tail = new StringBuilder();
            int n;
            while ((n = c.in.read(buf)) > 0) {
                total += n;
                tail.append(new String(buf, Math.max(0, n - 5), Math.min(5, n), java.nio.charset.StandardCharsets.ISO_8859_1));
                if (tail.toString().endsWith("0\r\n\r\n")) {
                    break;
                }
                tail.setLength(0);
            }
            assertThat(total).isGreaterThan(size);
            for (int i = 0; i < 2; i++) {
                RawHttp.Response r = get(c, "/fixed");
                assertThat(r.body()).hasSize(size);
                assertThat(r.header("x-cache")).isEqualTo("MISS");
            }
            RawHttp.Response again = c.send("GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertThat(again.body()).hasSize(size);
            assertThat(again.header("x-cache")).isEqualTo("MISS");
        }
        assertThat(served("/fixed")).isEqualTo(2);
        assertThat(served("/chunked")).isEqualTo(2);
        assertThat(stats().entries()).isZero();
    }

    @Test
    void anInvalidResponseToARequestTheCacheWouldFillIs502AndNothingIsStored() throws Exception {
        // a start line longer than the limit: the decoder's stand-in for it (status 999) must not be
        // taken for a response when the cache is filling
        try (RawBackend raw = RawBackend.answeringAfterTheHead("HTTP/1.1 200 " + "x".repeat(8192) + "\r\n\r\n")) {
            startProxy(raw.address(), cache());
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response r = get(c, "/page");
                assertThat(r.status()).isEqualTo(502);
                assertThat(r.header("x-cache")).isNotEqualTo("HIT");
            }
            assertThat(stats().entries()).isZero();
        }
    }

    @Test
    void headIsAnsweredFromAStoredGet() throws Exception {
        start(fixed(Map.of("Cache-Control", "max-age=60")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response get = get(c, "/h");
            RawHttp.Response head = c.send("HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n").read(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("x-cache")).isEqualTo("HIT");
            assertThat(head.header("content-length")).isEqualTo(Integer.toString(get.body().length()));
            assertThat(get(c, "/h").body()).isEqualTo(get.body());
        }
        assertThat(served("/h")).isEqualTo(1);
    }

    @Test
    void purgeByKeyAndByPrefix() throws Exception {
        start(fixed(Map.of("Cache-Control", "max-age=60", "Vary", "Accept")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (String p : List.of("/img/a.png", "/img/b.png", "/index.html")) {
                get(c, p);
                get(c, p, "Accept: text/x");
            }
            assertThat(proxy.control().cache().purgePrefix("h/img/")).isEqualTo(4);
            assertThat(proxy.control().cache().purge("h/index")).isZero();
            assertThat(proxy.control().cache().purge("h/index.html")).isEqualTo(2);
            assertThat(get(c, "/img/a.png").header("x-cache")).isEqualTo("MISS");
            assertThat(get(c, "/index.html").header("x-cache")).isEqualTo("MISS");
        }
    }

    @Test
    void aResponseInFlightWhenItsKeyIsPurgedIsNotStored() throws Exception {
        // an operator purges after changing the content; a fill the server answered before the change
        // but that ends after the purge would put the old content back for its whole max-age
        CompletableFuture<ChannelHandlerContext> held = new CompletableFuture<>();
        start((r, ctx) -> {
            if (!held.isDone()) {
                held.complete(ctx);
            } else {
                RecordingBackend.ok(ctx, "new", Map.of("Cache-Control", "max-age=60"));
            }
        }, cache());
        try (RawHttp reader = new RawHttp(proxy.port()); RawHttp c = new RawHttp(proxy.port())) {
            reader.send("GET /img/logo.png HTTP/1.1\r\nHost: h\r\n\r\n");
            ChannelHandlerContext ctx = held.get(10, TimeUnit.SECONDS);
            assertThat(proxy.control().cache().purgePrefix("h/img/")).as("nothing stored yet").isZero();
            ctx.executor().execute(() -> RecordingBackend.ok(ctx, "old", Map.of("Cache-Control", "max-age=60")));
            assertThat(reader.read().body()).isEqualTo("old");
            RawHttp.Response next = get(c, "/img/logo.png");
            assertThat(next.header("x-cache")).isEqualTo("MISS");
            assertThat(next.body()).isEqualTo("new");
        }
    }

    @Test
    void anUnsafeRequestsSuccessInvalidatesItsUrlAndSameHostLocations() throws Exception {
        start((r, ctx) -> {
            if (r.method().equals("GET") || r.method().equals("HEAD")) {
                RecordingBackend.ok(ctx, "v of " + r.uri() + " " + r.header("Accept") + " #" + System.nanoTime(),
                        Map.of("Cache-Control", "max-age=60", "Vary", "Accept"));
            } else if (r.uri().equals("/denied")) {
                RecordingBackend.respond(ctx, HttpResponseStatus.FORBIDDEN, "no", Map.of());
            } else {
                RecordingBackend.ok(ctx, "done", Map.of("Location", "/other#top", "Content-Location", "http://H/cl"));
            }
        }, cache());
        List<String> cached = List.of("/r", "/other", "/cl", "/keep", "/denied");
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(c.send("HEAD /r HTTP/1.1\r\nHost: h\r\n\r\n").read(true).header("x-cache")).isEqualTo("MISS");
            for (String p : cached) {
                get(c, p);
                get(c, p, "Accept: text/x");
                assertThat(get(c, p).header("x-cache")).as(p).isEqualTo("HIT");
            }
            // an error answer leaves the cache alone
            RawHttp.Response denied = c.send("DELETE /denied HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertThat(denied.status()).isEqualTo(403);
            assertThat(get(c, "/denied").header("x-cache")).isEqualTo("HIT");

            RawHttp.Response post = c.send("POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").read();
            assertThat(post.status()).isEqualTo(200);
            for (String p : List.of("/r", "/other", "/cl")) {
                assertThat(get(c, p).header("x-cache")).as(p).isEqualTo("MISS");
                assertThat(get(c, p, "Accept: text/x").header("x-cache")).as(p).isEqualTo("MISS");
            }
            assertThat(c.send("HEAD /r HTTP/1.1\r\nHost: h\r\n\r\n").read(true).header("x-cache")).isEqualTo("HIT");
            assertThat(get(c, "/keep").header("x-cache")).isEqualTo("HIT");
            assertThat(get(c, "/keep", "Accept: text/x").header("x-cache")).isEqualTo("HIT");

            // PUT, PATCH and DELETE too
            for (String m : List.of("PUT", "PATCH", "DELETE")) {
                assertThat(get(c, "/r").header("x-cache")).isEqualTo("HIT");
                assertThat(c.send(m + " /r HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(get(c, "/r").header("x-cache")).as(m).isEqualTo("MISS");
            }
        }
        assertThat(served("/keep")).isEqualTo(2);
        assertThat(served("/denied")).isEqualTo(3);
    }

    @Test
    void aResponseInFlightWhenAnUnsafeRequestInvalidatesItsUrlIsNotStored() throws Exception {
        // the GET reaches the server before the POST changes the resource, and its answer arrives after the
        // POST's: stored, it would be served for its whole max-age although the POST invalidated the URL
        CompletableFuture<ChannelHandlerContext> held = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger version = new java.util.concurrent.atomic.AtomicInteger(1);
        start((r, ctx) -> {
            if (r.method().equals("POST")) {
                version.incrementAndGet();
                RecordingBackend.ok(ctx, "done", Map.of());
            } else if (r.uri().equals("/held") && !held.isDone()) {
                held.complete(ctx);
            } else {
                RecordingBackend.ok(ctx, "version " + version.get(), Map.of("Cache-Control", "max-age=60"));
            }
        }, cache());
        try (RawHttp reader = new RawHttp(proxy.port()); RawHttp writer = new RawHttp(proxy.port())) {
            reader.send("GET /held HTTP/1.1\r\nHost: h\r\n\r\n");
            ChannelHandlerContext ctx = held.get(10, TimeUnit.SECONDS);
            RawHttp.Response post = writer.send("POST /held HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").read();
            assertThat(post.status()).isEqualTo(200);
            ctx.executor().execute(() -> RecordingBackend.ok(ctx, "version 1", Map.of("Cache-Control", "max-age=60")));
            RawHttp.Response old = reader.read();
            assertThat(old.body()).isEqualTo("version 1");
            assertThat(old.header("x-cache")).isEqualTo("MISS");
            RawHttp.Response next = get(writer, "/held");
            assertThat(next.header("x-cache")).isEqualTo("MISS");
            assertThat(next.body()).isEqualTo("version 2");
            assertThat(get(writer, "/held").header("x-cache")).isEqualTo("HIT");
        }
        assertThat(served("/held")).isEqualTo(3);
    }

    @Test
    void aConditionalMissIsForwardedWholeFillsTheCacheAndIsAnsweredByItsConditions() throws Exception {
        String lastModified = "Tue, 01 Dec 2026 10:00:00 GMT";
        start((r, ctx) -> {
            String cc = r.uri().startsWith("/nostore") ? "no-store" : "max-age=60";
            RecordingBackend.ok(ctx, "body of " + r.uri(), Map.of("Cache-Control", cc, "ETag", "\"v1\"", "Last-Modified", lastModified));
        }, cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response inm = get(c, "/c", "If-None-Match: W/\"v0\", \"v1\"");
            assertThat(inm.status()).isEqualTo(304);
            assertThat(inm.body()).isEmpty();
            assertThat(inm.header("etag")).isEqualTo("\"v1\"");
            assertThat(inm.header("cache-control")).isEqualTo("max-age=60");
            assertThat(inm.header("x-cache")).isEqualTo("MISS");
            // the body went to the cache only, and the connection goes on
            RawHttp.Response hit = get(c, "/c");
            assertThat(hit.status()).isEqualTo(200);
            assertThat(hit.header("x-cache")).isEqualTo("HIT");
            assertThat(hit.body()).isEqualTo("body of /c");

            RawHttp.Response other = get(c, "/d", "If-None-Match: \"v0\"");
            assertThat(other.status()).isEqualTo(200);
            assertThat(other.body()).isEqualTo("body of /d");
            assertThat(get(c, "/d").header("x-cache")).isEqualTo("HIT");

            assertThat(get(c, "/e", "If-Modified-Since: Tue, 01 Dec 2026 11:00:00 GMT").status()).isEqualTo(304);
            assertThat(get(c, "/f", "If-Modified-Since: Tue, 01 Dec 2026 09:00:00 GMT").body()).isEqualTo("body of /f");
            // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
            assertThat(get(c, "/g", "If-None-Match: \"v0\"", "If-Modified-Since: Tue, 01 Dec 2026 11:00:00 GMT").status())
                    .isEqualTo(200);
            assertThat(get(c, "/e").header("x-cache")).isEqualTo("HIT");
            assertThat(get(c, "/f").header("x-cache")).isEqualTo("HIT");

            // a response the cache cannot keep still answers the client's conditions
            assertThat(get(c, "/nostore", "If-None-Match: \"v1\"").status()).isEqualTo(304);
            assertThat(get(c, "/nostore").header("x-cache")).isEqualTo("MISS");
            assertThat(proxy.metrics().frontend("web").traffic().totalConnections()).as("one client connection throughout").isEqualTo(1);
        }
        for (RecordingBackend.Recorded r : backend.requests) {
            assertThat(r.header("If-None-Match")).as(r.uri()).isNull();
            assertThat(r.header("If-Modified-Since")).as(r.uri()).isNull();
        }
        for (String uri : List.of("/c", "/d", "/e", "/f", "/g")) {
            assertThat(served(uri)).as(uri).isEqualTo(1);
        }
        assertThat(served("/nostore")).isEqualTo(2);
    }

    @Test
    void aConditionalMissAnswered304DoesNotReadTheBodyOfAResponseThatWillNotBeStored() throws Exception {
        // the server sends the head and a first piece of a body larger than maxEntryBytes, then holds the rest
        CountDownLatch rest = new CountDownLatch(1);
        String piece = "x".repeat(1000);
        try (RawBackend raw = new RawBackend((s, n) -> {
            java.io.InputStream in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                if (head.startsWith("GET /large ")) {
                    RawBackend.write(s, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nETag: \"v1\"\r\nContent-Length: 200000\r\n\r\n" + piece);
                    try {
                        rest.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        return;
                    }
                    RawBackend.write(s, "x".repeat(200_000 - piece.length()));
                } else {
                    RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
                }
            }
        })) {
            startProxy(raw.address(), cache());
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response notModified = get(c, "/large", "If-None-Match: \"v1\"");
                assertThat(notModified.status()).isEqualTo(304);
                assertThat(notModified.header("x-cache")).isEqualTo("MISS");
                // the next request on the connection is answered at once, not after the rest of a body the
                // client will not get and the cache will not keep (it waited for all 200,000 bytes)
                c.socket.setSoTimeout(3_000);
                RawHttp.Response next = get(c, "/next");
                assertThat(next.status()).isEqualTo(200);
                assertThat(next.body()).isEqualTo("small");
            } finally {
                rest.countDown();
            }
            assertThat(stats().stores()).isZero();
        }
    }

    @Test
    void anyUnderstoodStatusWithExplicitFreshnessIsStoredTheHeuristicOnlyForDefaultCacheableOnesOrPublic() throws Exception {
        String lastModified = io.netty.handler.codec.DateFormatter.format(new java.util.Date(clock.currentTimeMillis() - 10 * 86_400_000L));
        start((r, ctx) -> {
            Map<String, String> moved = Map.of("Location", "/elsewhere");
            switch (r.uri()) {
                case "/302-max-age" -> RecordingBackend.respond(ctx, HttpResponseStatus.FOUND, "moved",
                        Map.of("Location", "/elsewhere", "Cache-Control", "max-age=60", "ETag", "\"r\""));
                case "/302" -> RecordingBackend.respond(ctx, HttpResponseStatus.FOUND, "moved", moved);
                case "/307-expires" -> RecordingBackend.respond(ctx, HttpResponseStatus.TEMPORARY_REDIRECT, "moved", Map.of(
                        "Location", "/elsewhere", "Expires",
                        io.netty.handler.codec.DateFormatter.format(new java.util.Date(clock.currentTimeMillis() + 60_000))));
                case "/403-s-maxage" -> RecordingBackend.respond(ctx, HttpResponseStatus.FORBIDDEN, "no", Map.of("Cache-Control", "s-maxage=60"));
                case "/500-max-age" -> RecordingBackend.respond(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "oops",
                        Map.of("Cache-Control", "max-age=60"));
                case "/500" -> RecordingBackend.respond(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "oops", Map.of());
                case "/302-last-modified" -> RecordingBackend.respond(ctx, HttpResponseStatus.FOUND, "moved",
                        Map.of("Location", "/elsewhere", "Last-Modified", lastModified));
                case "/302-public-last-modified" -> RecordingBackend.respond(ctx, HttpResponseStatus.FOUND, "moved",
                        Map.of("Location", "/elsewhere", "Cache-Control", "public", "Last-Modified", lastModified));
                case "/200-last-modified" -> RecordingBackend.ok(ctx, "x", Map.of("Last-Modified", lastModified));
                case "/299-max-age" -> RecordingBackend.respond(ctx, new HttpResponseStatus(299, "Unknown"), "x",
                        Map.of("Cache-Control", "max-age=60"));
                case "/599-max-age" -> RecordingBackend.respond(ctx, new HttpResponseStatus(599, "Unknown"), "x",
                        Map.of("Cache-Control", "max-age=60"));
                case "/429-max-age" -> RecordingBackend.respond(ctx, HttpResponseStatus.TOO_MANY_REQUESTS, "slow down",
                        Map.of("Cache-Control", "max-age=60"));
                case "/302-no-store" -> RecordingBackend.respond(ctx, HttpResponseStatus.FOUND, "moved",
                        Map.of("Location", "/elsewhere", "Cache-Control", "max-age=60, no-store"));
                default -> RecordingBackend.respond(ctx, HttpResponseStatus.NOT_FOUND, "?", Map.of());
            }
        }, cache());
        List<String> stored = List.of("/302-max-age", "/307-expires", "/403-s-maxage", "/500-max-age", "/302-public-last-modified",
                "/200-last-modified");
        List<String> notStored = List.of("/302", "/500", "/302-last-modified", "/299-max-age", "/599-max-age", "/429-max-age",
                "/302-no-store");
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (String uri : stored) {
                RawHttp.Response first = get(c, uri);
                clock.advance(Duration.ofSeconds(1));
                RawHttp.Response second = get(c, uri);
                assertThat(first.header("x-cache")).as(uri).isEqualTo("MISS");
                assertThat(second.header("x-cache")).as(uri).isEqualTo("HIT");
                assertThat(second.status()).as(uri).isEqualTo(first.status());
                assertThat(second.body()).as(uri).isEqualTo(first.body());
                assertThat(second.header("location")).as(uri).isEqualTo(first.header("location"));
            }
            for (String uri : notStored) {
                RawHttp.Response first = get(c, uri);
                RawHttp.Response second = get(c, uri);
                assertThat(second.status()).as(uri).isEqualTo(first.status());
                assertThat(second.header("x-cache")).as(uri).isEqualTo("MISS");
            }
            // a client's validators are not evaluated against a stored 302 (RFC 9110 13.2.1): it gets the 302
            RawHttp.Response conditional = get(c, "/302-max-age", "If-None-Match: \"r\"");
            assertThat(conditional.status()).isEqualTo(302);
            assertThat(conditional.header("x-cache")).isEqualTo("HIT");
            assertThat(conditional.header("location")).isEqualTo("/elsewhere");
        }
        for (String uri : stored) {
            assertThat(served(uri)).as(uri).isEqualTo(1);
        }
        for (String uri : notStored) {
            assertThat(served(uri)).as(uri).isEqualTo(2);
        }
        assertThat(stats().entries()).isEqualTo(stored.size());
    }

    @Test
    void aFillWhoseServerSaysCloseDoesNotReuseTheServerConnection() throws Exception {
        // the test server keeps its connections open whatever it says: the proxy must go by what it says
        start(fixed(Map.of("Cache-Control", "max-age=60", "Connection", "close")), cache());
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(get(c, "/one").status()).isEqualTo(200);
            assertThat(get(c, "/two").status()).isEqualTo(200);
            assertThat(get(c, "/two").header("x-cache")).isEqualTo("HIT");
        }
        assertThat(backend.requests).hasSize(2);
        assertThat(backend.requests.get(1).connection()).isNotEqualTo(backend.requests.get(0).connection());
    }

    @Test
    void invalidConfigurationFailsAtBuild() {
        assertThatThrownBy(() -> ResponseCache.builder().build()).hasMessageContaining("maxBytes");
        assertThatThrownBy(() -> ResponseCache.builder().maxBytes(10).maxEntryBytes(20).build())
                .hasMessageContaining("maxEntryBytes: 20");
        assertThatThrownBy(() -> ResponseCache.builder().statusHeader("X Cache")).hasMessageContaining("statusHeader: X Cache");
        assertThatThrownBy(() -> HttpFrontend.bind(0).defaultBackend("app").cache("nope", ResponseCache.ofSize(1000)).build())
                .hasMessageContaining("cache backend: nope");
        assertThat(ResponseCache.ofSize(1000).maxEntryBytes()).isEqualTo(1000);
    }
}
