package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.Server;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import io.netty.channel.ChannelHandlerContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sticky-cookie options HAProxy users bring along, over real sockets: explicit server values,
 * {@code maxidle}/{@code maxlife} dates on the proxy's manual clock, {@code domain}, and the
 * {@code prefix} and {@code rewrite} modes. The expected strings are those HAProxy 2.6.12 wrote and
 * passed on for the same configuration and the same origin (see each test).
 */
class HttpStickyCookieModesTest {

    /** 2026-12-07T02:13:21Z, a second at which HAProxy wrote {@code axYWR} for the date ((T + 3) / 4 in its base64). */
    private static final long T0 = 1_796_609_601L;

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

    /** One request on a fresh connection (the manual clock jumps past the keep-alive timeout between requests). */
    private RawHttp.Response send(String cookie) throws Exception {
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response r = c.send(get("/", cookie)).read();
            assertThat(r.status()).isEqualTo(200);
            return r;
        }
    }

    private static List<String> setCookies(RawHttp.Response r) {
        List<String> v = r.headers().get("set-cookie");
        return v == null ? List.of() : v;
    }

    /** An origin that sets {@code JSESSIONID} (and another cookie) on every answer, as the HAProxy comparison's origin did. */
    private static RecordingBackend sessionOrigin(String name) {
        return RecordingBackend.start(name, (r, ctx) -> RecordingBackend.ok(ctx, name + ":" + r.uri(),
                Map.of("Set-Cookie", "JSESSIONID=abc123; Path=/; HttpOnly")));
    }

    private Proxy start(Backend.Builder backend, ManualClock clock) {
        Proxy.Builder b = Proxy.builder().backend(backend).frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"));
        if (clock != null) {
            b.clock(clock);
        }
        proxy = b.build();
        proxy.start();
        return proxy;
    }

    private String routed(String cookieValue) {
        return proxy.routeAndPick(TestRequest.get("/").host("h").cookie("SRV", cookieValue)).server().name();
    }

    /**
     * {@code server web1 ... cookie s1}: the inserted cookie carries the server's explicit value (as
     * HAProxy's {@code SRV=s1; path=/}), a client holding HAProxy's cookie goes to the same server
     * without a new cookie, and indirect removes it before the server.
     */
    @Test
    void explicitServerValuesAreWhatTheCookieCarriesSoHaproxysCookiesStayValid() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).server("web2", b2.address(), s -> s.cookie("s2"))
                    .cookie(StickyCookie.insert("SRV").indirect()), null);
            RawHttp.Response fresh = send(null);
            String server = fresh.body().substring(0, 2);
            assertThat(setCookies(fresh)).containsExactly("SRV=" + (server.equals("b1") ? "s1" : "s2") + "; Path=/");
            for (int i = 0; i < 4; i++) {
                RawHttp.Response r = send("a=1; SRV=s2; b=2");
                assertThat(r.body()).startsWith("b2:");
                assertThat(setCookies(r)).as("a valid cookie is not replaced").isEmpty();
                assertThat(b2.last().headers().get("cookie")).as("indirect").isEqualTo("a=1; b=2");
            }
            assertThat(routed("s2")).as("routeAndPick as the engine").isEqualTo("web2");
            assertThat(routed("s1")).isEqualTo("web1");
            RawHttp.Response hashed = send("SRV=" + StickyCookie.insert("SRV").valueFor("app", "web2"));
            assertThat(setCookies(hashed)).as("the default id no longer names web2: balanced anew").hasSize(1);
        }
    }

    @Test
    void explicitServerValuesAreCheckedAndUniqueWithinTheBackend() {
        assertThatThrownBy(() -> Server.builder("web1", "127.0.0.1:1").cookie("a;b"))
                .hasMessage("server web1 cookie: a;b (expected: 1 to 64 cookie-value characters, none of '|' and '~')");
        assertThatThrownBy(() -> Server.builder("web1", "127.0.0.1:1").cookie("s1|x")).hasMessageStartingWith("server web1 cookie: s1|x (");
        assertThatThrownBy(() -> Server.builder("web1", "127.0.0.1:1").cookie("")).hasMessageStartingWith("server web1 cookie:  (");
        Backend.Builder dup = Backend.named("app").server("web1", "127.0.0.1:1", s -> s.cookie("s1"))
                .server("web2", "127.0.0.1:2", s -> s.cookie("s1")).cookie(StickyCookie.insert("SRV"));
        assertThatThrownBy(dup::build)
                .hasMessage("backend app server web2 cookie: s1 (expected: unique within the backend; server web1 has it)");
        Proxy p = proxy = Proxy.builder().backend(Backend.named("app").server("web1", "127.0.0.1:1", s -> s.cookie("s1")).cookie(StickyCookie.insert("SRV")))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
        assertThatThrownBy(() -> p.control().addServer("app", Server.builder("web9", "127.0.0.1:9").cookie("s1").build()))
                .hasMessage("backend app server web9 cookie: s1 (expected: unique within the backend; server web1 has it)");
    }

    /**
     * Every character a cookie value may not hold, and the two the encodings use, fails at the call
     * naming the server and the value; so does a value equal to another server's default id, at
     * build(), naming both servers.
     */
    @Test
    void explicitValuesRefuseEveryForbiddenCharacterAndAnotherServersDefaultId() {
        for (String bad : List.of("a b", "a,b", "a\"b", "a\\b", "caf\u00e9", "a|b", "a~b", "a\tb", "a\u007fb", "x".repeat(65))) {
            assertThatThrownBy(() -> Server.builder("web1", "127.0.0.1:1").cookie(bad))
                    .hasMessage("server web1 cookie: " + bad + " (expected: 1 to 64 cookie-value characters, none of '|' and '~')");
        }
        assertThat(Server.builder("web1", "127.0.0.1:1").cookie("a=b!#$%&'()*+-./:<>?@[]^_`{}").build().cookie()).isEqualTo("a=b!#$%&'()*+-./:<>?@[]^_`{}");
        StickyCookie cookie = StickyCookie.insert("SRV");
        String web1 = cookie.valueFor("app", "web1");
        assertThatThrownBy(() -> Backend.named("app").server("web1", "127.0.0.1:1").server("web2", "127.0.0.1:2", s -> s.cookie(web1)).cookie(cookie).build())
                .hasMessage("backend app server web2 cookie: " + web1 + " (expected: unique within the backend; server web1 has it)");
    }

    /**
     * {@code cookie SRV insert indirect nocache maxidle 30m maxlife 8h domain .example.com domain
     * .example.org}: HAProxy 2.6 answered a client without a cookie at T0 with
     * {@code SRV=s1|axYWR|axYWR; path=/; domain=.example.com; domain=.example.org}; Lodestone writes
     * the same value and attributes (its attribute names capitalised). The cookie is refreshed once
     * its date is behind the clock, ignored once idle too long or too old, and a cookie without a
     * date (or with one that does not decode) is accepted and dated, as in HAProxy.
     */
    @Test
    void maxIdleAndMaxLifeDateTheCookieAsHaproxyAndExpireItOnTheProxysClock() throws Exception {
        ManualClock clock = new ManualClock(T0 * 1000);
        StickyCookie cookie = StickyCookie.insert("SRV").indirect().maxIdle(Duration.ofMinutes(30)).maxLife(Duration.ofHours(8))
                .domain(".example.com").domain(".example.org");
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).server("web2", b2.address(), s -> s.cookie("s2"))
                    .cookie(cookie), clock);
            RawHttp.Response fresh = send(null);
            String id = fresh.body().startsWith("b1") ? "s1" : "s2";
            assertThat(setCookies(fresh)).containsExactly("SRV=" + id + "|axYWR|axYWR; Path=/; Domain=.example.com; Domain=.example.org");

            // a cookie without dates (set before maxidle was turned on) is accepted and gets them
            RawHttp.Response undated = send("SRV=s1");
            assertThat(undated.body()).startsWith("b1:");
            assertThat(setCookies(undated)).containsExactly("SRV=s1|axYWR|axYWR; Path=/; Domain=.example.com; Domain=.example.org");
            assertThat(b1.last().headers().get("cookie")).as("indirect").isNull();
            RawHttp.Response garbled = send("SRV=s1|!!!!!");
            assertThat(garbled.body()).as("a date that does not decode is no date, as HAProxy reads it").startsWith("b1:");
            assertThat(setCookies(garbled)).hasSize(1);

            // web1 drains: only clients whose cookie is still valid go on to it
            proxy.control().server("app", "web1").drain();
            String dated = "SRV=s1|axYWR|axYWR";
            clock.advance(Duration.ofSeconds(2));
            RawHttp.Response same = send(dated);
            assertThat(same.body()).startsWith("b1:");
            assertThat(setCookies(same)).as("its date (T0 + 3) is not behind the clock: no refresh").isEmpty();
            assertThat(routed("s1|axYWR|axYWR")).as("routeAndPick as the engine").isEqualTo("web1");

            clock.advance(Duration.ofSeconds(2));
            RawHttp.Response refreshed = send(dated);
            assertThat(refreshed.body()).startsWith("b1:");
            assertThat(setCookies(refreshed)).as("last seen moves on, first seen stays")
                    .containsExactly("SRV=s1|axYWS|axYWR; Path=/; Domain=.example.com; Domain=.example.org");

            clock.advance(Duration.ofMinutes(30).plusSeconds(4));
            RawHttp.Response idle = send("SRV=s1|axYWS|axYWR");
            assertThat(idle.body()).as("idle for more than 30 minutes: balanced anew, away from the draining web1").startsWith("b2:");
            String now = setCookies(idle).get(0);
            assertThat(now).as("a new first date too").matches("SRV=s2\\|([A-Za-z0-9+/]{5})\\|\\1; Path=/; .*");
            assertThat(routed("SRV=s1|axYWS|axYWR".substring(4))).isEqualTo("web2");

            // still active, but first seen more than 8 hours ago
            String lastSeen = now.substring(7, 12);
            RawHttp.Response young = send("SRV=s1|" + lastSeen + "|axYWR");
            assertThat(young.body()).as("first seen 30 minutes ago: still web1's").startsWith("b1:");
            clock.advance(Duration.ofHours(8));
            String active = setCookies(send("SRV=s2")).get(0).substring(7, 12);
            RawHttp.Response old = send("SRV=s1|" + active + "|axYWR");
            assertThat(old.body()).as("first seen more than 8 hours ago").startsWith("b2:");
            assertThat(routed("s1|" + active + "|axYWR")).isEqualTo("web2");
            assertThat(routed("s1|" + active)).as("no first date: accepted").isEqualTo("web1");

            RawHttp.Response future = send("SRV=s1|zzzzz|zzzzz");
            assertThat(future.body()).as("dated far in the future: ignored").startsWith("b2:");
            RawHttp.Response empty = send("SRV=|" + active);
            assertThat(empty.body()).as("no id").startsWith("b2:");
        }
    }

    /**
     * The refresh is decided and dated at the response's time, as HAProxy does: with HAProxy 2.6.12
     * ({@code maxidle 60s}) a cookie dated now, sent to an origin that answered 8 s later, came back
     * refreshed to the answer's date ({@code axYgd} became {@code axYgf}). Until 2026-12-07 Lodestone
     * decided on the request's time: no refresh, so a client whose requests take longer than maxIdle
     * (long polls) was balanced anew on its next request.
     */
    @Test
    void maxIdleRefreshesAtTheResponsesTimeSoALongRequestDoesNotExpireTheNext() throws Exception {
        ManualClock clock = new ManualClock(T0 * 1000);
        CompletableFuture<ChannelHandlerContext> held = new CompletableFuture<>();
        try (RecordingBackend b1 = RecordingBackend.start("b1", (r, ctx) -> {
            if (!held.complete(ctx)) {
                RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
            }
        }); RecordingBackend b2 = RecordingBackend.start("b2")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).server("web2", b2.address(), s -> s.cookie("s2"))
                    .cookie(StickyCookie.insert("SRV").maxIdle(Duration.ofSeconds(20))), clock);
            proxy.control().server("app", "web1").drain();
            RawHttp.Response slow;
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(get("/", "SRV=s1|axYWR"));
                ChannelHandlerContext server = held.get(10, TimeUnit.SECONDS);
                clock.advance(Duration.ofSeconds(32));
                RecordingBackend.ok(server, "b1:/", Map.of());
                slow = c.read();
            }
            assertThat(slow.body()).startsWith("b1:");
            assertThat(setCookies(slow)).as("dated T0 + 35 (rounded up), the answer's time").containsExactly("SRV=s1|axYWZ; Path=/");
            RawHttp.Response next = send("SRV=s1|axYWZ");
            assertThat(next.body()).as("not idle: still the draining web1's").startsWith("b1:");
            assertThat(setCookies(next)).isEmpty();
        }
    }

    @Test
    void withoutMaxIdleADatedCookieStillLeadsToItsServerAndLosesItsDates() throws Exception {
        ManualClock clock = new ManualClock(T0 * 1000);
        try (RecordingBackend b1 = RecordingBackend.start("b1")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(StickyCookie.insert("SRV")), clock);
            RawHttp.Response r = send("SRV=s1|axYWR|axYWR");
            assertThat(r.body()).startsWith("b1:");
            assertThat(setCookies(r)).as("HAProxy drops a first date at once when maxlife is off").containsExactly("SRV=s1; Path=/");
            assertThat(setCookies(send("SRV=s1|axYWR"))).as("and a last date once it is behind the clock").isEmpty();
            clock.advance(Duration.ofSeconds(8));
            RawHttp.Response behind = send("SRV=s1|axYWR");
            assertThat(behind.body()).startsWith("b1:");
            assertThat(setCookies(behind)).containsExactly("SRV=s1; Path=/");
            assertThat(setCookies(send("SRV=s1"))).isEmpty();
        }
    }

    /**
     * {@code cookie JSESSIONID prefix} with {@code server web1 ... cookie s1}: HAProxy 2.6 turned the
     * origin's {@code JSESSIONID=abc123; Path=/; HttpOnly} into {@code JSESSIONID=s1~abc123; Path=/;
     * HttpOnly} and passed {@code JSESSIONID=s1~abc123; x=1} on as {@code JSESSIONID=abc123; x=1},
     * {@code zz~abc123} (no such server) as {@code abc123} too, and a value without {@code ~} as it is.
     */
    @Test
    void prefixModePrefixesTheServersCookieAndStripsThePrefixFromRequests() throws Exception {
        try (RecordingBackend b1 = sessionOrigin("b1"); RecordingBackend b2 = sessionOrigin("b2")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).server("web2", b2.address(), s -> s.cookie("s2"))
                    .cookie(StickyCookie.prefix("JSESSIONID")), null);
            RawHttp.Response fresh = send(null);
            String id = fresh.body().startsWith("b1") ? "s1" : "s2";
            assertThat(setCookies(fresh)).containsExactly("JSESSIONID=" + id + "~abc123; Path=/; HttpOnly");

            proxy.control().server("app", "web1").drain();
            RawHttp.Response stuck = send("JSESSIONID=s1~abc123; x=1");
            assertThat(stuck.body()).as("persistent to the draining web1").startsWith("b1:");
            assertThat(b1.last().headers().get("cookie")).isEqualTo("JSESSIONID=abc123; x=1");
            assertThat(setCookies(stuck)).as("without indirect the server's updates reach the client, prefixed")
                    .containsExactly("JSESSIONID=s1~abc123; Path=/; HttpOnly");
            assertThat(proxy.routeAndPick(TestRequest.get("/").host("h").cookie("JSESSIONID", "s1~abc123")).server().name())
                    .as("routeAndPick as the engine").isEqualTo("web1");

            RawHttp.Response unknown = send("JSESSIONID=zz~abc123; x=1");
            assertThat(unknown.body()).startsWith("b2:");
            assertThat(b2.last().headers().get("cookie")).as("the prefix goes whether it names a server or not").isEqualTo("JSESSIONID=abc123; x=1");
            assertThat(setCookies(unknown)).containsExactly("JSESSIONID=s2~abc123; Path=/; HttpOnly");

            send("x=1; JSESSIONID=plain");
            assertThat(b2.last().headers().get("cookie")).as("no ~: passed as it is").isEqualTo("x=1; JSESSIONID=plain");
            send("JSESSIONID=s1~a; JSESSIONID=s2~b");
            assertThat(b1.last().headers().get("cookie")).as("every value loses its prefix").isEqualTo("JSESSIONID=a; JSESSIONID=b");
        }
    }

    /**
     * An HTTP/2 client may split its cookies into several {@code cookie} fields (RFC 9113 8.2.3):
     * they reach the HTTP/1.1 server joined into one {@code Cookie} with {@code "; "}, the prefix gone
     * from every value of the name in every crumb, and the first crumb's value picks the server.
     */
    @Test
    void prefixModeStripsEveryCrumbOfAnHttp2ClientsCookiesAndJoinsThem() throws Exception {
        try (RecordingBackend b1 = sessionOrigin("b1"); RecordingBackend b2 = sessionOrigin("b2")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).server("web2", b2.address(), s -> s.cookie("s2"))
                            .cookie(StickyCookie.prefix("JSESSIONID")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("app")).build();
            proxy.start();
            java.io.ByteArrayOutputStream block = new java.io.ByteArrayOutputStream();
            // :method GET, :scheme http, :path /, :authority h, then three literal cookie fields
            block.writeBytes(new byte[] {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'});
            for (String crumb : List.of("a=1", "JSESSIONID=s2~x", "b=2; JSESSIONID=s1~y")) {
                block.writeBytes(new byte[] {0x00, 0x06});
                block.writeBytes("cookie".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                block.write(crumb.length());
                block.writeBytes(crumb.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            try (java.net.Socket s = Http2Test.h2c(proxy.port())) {
                s.getOutputStream().write(Http2Test.frame(1, 1, 0x5, block.toByteArray()));
                Await.until("the request at web2", () -> !b2.requests.isEmpty());
            }
            assertThat(b1.requests).as("the first crumb's value picks the server").isEmpty();
            assertThat(b2.last().headers().getAll("cookie")).containsExactly("a=1; JSESSIONID=x; b=2; JSESSIONID=y");
        }
    }

    /**
     * A cacheable answer that varies on {@code Cookie}, in prefix mode and in insert mode with
     * indirect: the cache stores it under the client's cookies as the client sent them, so the same
     * client's next request is a hit. Until 2026-12-07 it was stored under the cookies the server
     * got (the prefix stripped, the insert cookie removed) and looked up under the client's: every
     * request of a persistent client was a miss, and only a client sending the stripped cookie hit.
     */
    @Test
    void aResponseVaryingOnCookieIsCachedUnderTheClientsOwnCookies() throws Exception {
        Map<String, String> cacheable = Map.of("Cache-Control", "max-age=60", "Vary", "Cookie");
        for (StickyCookie cookie : List.of(StickyCookie.prefix("JSESSIONID"), StickyCookie.insert("SRV").indirect())) {
            try (RecordingBackend b1 = RecordingBackend.start("b1", (r, ctx) -> RecordingBackend.ok(ctx, "b1:" + r.uri(), cacheable))) {
                proxy = Proxy.builder().backend(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(cookie))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")
                                .cache(ResponseCache.builder().maxBytes(1 << 20).statusHeader("X-Cache"))).build();
                proxy.start();
                String client = cookie.mode() == StickyCookie.Mode.PREFIX ? "JSESSIONID=s1~abc; u=1" : "SRV=s1; u=1";
                String stripped = cookie.mode() == StickyCookie.Mode.PREFIX ? "JSESSIONID=abc; u=1" : "u=1";
                assertThat(send(client).headers().get("x-cache")).as(cookie + " first").containsExactly("MISS");
                assertThat(b1.last().headers().get("cookie")).isEqualTo(stripped);
                assertThat(send(client).headers().get("x-cache")).as(cookie + " the same client again").containsExactly("HIT");
                assertThat(b1.requests).hasSize(1);
                assertThat(send(stripped).headers().get("x-cache")).as(cookie + " other cookies").containsExactly("MISS");
                proxy.close(Duration.ofSeconds(2));
                proxy = null;
            }
        }
    }

    /** {@code cookie JSESSIONID prefix indirect}: HAProxy removed the server's cookie from the answer to a client that came by it. */
    @Test
    void prefixWithIndirectRemovesTheServersCookieOnlyForAClientThatCameByIt() throws Exception {
        try (RecordingBackend b1 = sessionOrigin("b1")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(StickyCookie.prefix("JSESSIONID").indirect()), null);
            assertThat(setCookies(send("JSESSIONID=s1~abc123; x=1"))).isEmpty();
            assertThat(b1.last().headers().get("cookie")).isEqualTo("JSESSIONID=abc123; x=1");
            assertThat(setCookies(send("JSESSIONID=zz~abc123"))).containsExactly("JSESSIONID=s1~abc123; Path=/; HttpOnly");
        }
    }

    /**
     * {@code cookie JSESSIONID rewrite}: HAProxy 2.6 turned the origin's {@code JSESSIONID=abc123;
     * Path=/; HttpOnly} into {@code JSESSIONID=s1; Path=/; HttpOnly} for every client, and passed the
     * request's cookie on unchanged.
     */
    @Test
    void rewriteModeReplacesTheValueOfTheServersCookieWithTheServersId() throws Exception {
        try (RecordingBackend b1 = sessionOrigin("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).server("web2", b2.address(), s -> s.cookie("s2"))
                    .cookie(StickyCookie.rewrite("JSESSIONID")), null);
            proxy.control().server("app", "web2").drain();
            RawHttp.Response fresh = send(null);
            assertThat(fresh.body()).startsWith("b1:");
            assertThat(setCookies(fresh)).containsExactly("JSESSIONID=s1; Path=/; HttpOnly");
            RawHttp.Response again = send("JSESSIONID=s1; x=1");
            assertThat(setCookies(again)).as("rewritten again: the server set it again").containsExactly("JSESSIONID=s1; Path=/; HttpOnly");
            assertThat(b1.last().headers().get("cookie")).isEqualTo("JSESSIONID=s1; x=1");

            proxy.control().server("app", "web2").ready();
            proxy.control().server("app", "web1").drain();
            RawHttp.Response persistent = send("JSESSIONID=s1");
            assertThat(persistent.body()).startsWith("b1:");
            RawHttp.Response other = send("JSESSIONID=s2");
            assertThat(other.body()).startsWith("b2:");
            assertThat(setCookies(other)).as("a server that sets no such cookie: the client gets none").isEmpty();
            assertThat(proxy.routeAndPick(TestRequest.get("/").host("h").cookie("JSESSIONID", "s1")).server().name()).isEqualTo("web1");
        }
    }

    /**
     * A server value quoted around a {@code ;} ({@code JSESSIONID="a;b"}, as servers write some
     * version-1 cookies): HAProxy 2.6 rewrote it whole, {@code JSESSIONID=s1; Path=/}, and prefixed
     * it whole, {@code JSESSIONID=s1~"a;b"; Path=/}. Lodestone ended the value at the {@code ;}
     * inside the quotes and sent {@code JSESSIONID=s1;b"; Path=/} until 2026-12-07.
     */
    @Test
    void aQuotedServerValueWithASemicolonIsRewrittenWhole() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", (r, ctx) -> RecordingBackend.ok(ctx, "b1:" + r.uri(),
                Map.of("Set-Cookie", "JSESSIONID=\"a;b\"; Path=/")))) {
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(StickyCookie.rewrite("JSESSIONID")), null);
            assertThat(setCookies(send(null))).containsExactly("JSESSIONID=s1; Path=/");
            proxy.close(Duration.ofSeconds(2));
            start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(StickyCookie.prefix("JSESSIONID")), null);
            assertThat(setCookies(send(null))).containsExactly("JSESSIONID=s1~\"a;b\"; Path=/");
        }
    }

    /**
     * A response in flight while the proxy is reconfigured from {@code prefix("JSESSIONID")} to
     * {@code insert("SRV")}: it must not get the cookie of the old mode inserted. Until 2026-12-07 the
     * response path took the new configuration's insert mode and the request's reading of the old
     * cookie, and added {@code JSESSIONID=s1; Path=/}, which overwrote the application's session
     * cookie in the browser.
     */
    @Test
    void aResponseInFlightAcrossAModeChangeGetsNoCookieOfTheOldMode() throws Exception {
        CompletableFuture<ChannelHandlerContext> held = new CompletableFuture<>();
        try (RecordingBackend b1 = RecordingBackend.start("b1", (r, ctx) -> {
            if (!held.complete(ctx)) {
                RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of("Set-Cookie", "JSESSIONID=abc123; Path=/; HttpOnly"));
            }
        })) {
            proxy = config(b1, StickyCookie.prefix("JSESSIONID")).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port("web"))) {
                c.send(get("/", null));
                ChannelHandlerContext server = held.get(10, TimeUnit.SECONDS);
                proxy.reconfigure(config(b1, StickyCookie.insert("SRV")));
                RecordingBackend.ok(server, "b1:/", Map.of("Set-Cookie", "JSESSIONID=abc123; Path=/; HttpOnly"));
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(setCookies(r)).as("the application's cookie only").containsExactly("JSESSIONID=abc123; Path=/; HttpOnly");
            }
            RawHttp.Response next = send(null);
            assertThat(setCookies(next)).as("the next request has the new mode").containsExactly("JSESSIONID=abc123; Path=/; HttpOnly", "SRV=s1; Path=/");
        }
    }

    private static Proxy.Builder config(RecordingBackend b1, StickyCookie cookie) {
        return Proxy.builder().backend(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(cookie))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"));
    }

    @Test
    void optionsThatDoNotApplyToAModeFailWithTheFieldAndValue() {
        assertThatThrownBy(() -> StickyCookie.rewrite("J").indirect())
                .hasMessage("cookie indirect: true (expected: insert or prefix mode; HAProxy refuses rewrite with indirect)");
        assertThatThrownBy(() -> StickyCookie.prefix("J").domain("example.com"))
                .hasMessage("cookie domain: example.com (expected: insert mode only; in prefix mode the server's Set-Cookie keeps its own attributes)");
        assertThatThrownBy(() -> StickyCookie.rewrite("J").maxIdle(Duration.ofMinutes(1))).hasMessageStartingWith("cookie maxIdle: PT1M (expected: insert mode only;");
        assertThatThrownBy(() -> StickyCookie.prefix("J").nocache()).hasMessageStartingWith("cookie nocache: true (expected: insert mode only;");
        assertThatThrownBy(() -> StickyCookie.insert("S").maxLife(Duration.ofMillis(500)))
                .hasMessage("cookie maxLife: PT0.5S (expected: 1 second to 2^31 seconds)");
        assertThatThrownBy(() -> StickyCookie.insert("S").domain("localhost"))
                .hasMessage("cookie domain: localhost (expected: a domain name with an embedded dot, e.g. example.com or .example.com)");
        assertThatThrownBy(() -> StickyCookie.insert("S").domain("a.com; Secure")).hasMessageStartingWith("cookie domain: a.com; Secure (");
        assertThat(StickyCookie.insert("S").domain("a.example.com").setCookie("v")).isEqualTo("S=v; Path=/; Domain=a.example.com");
        assertThat(StickyCookie.prefix("J").indirect().mode()).isEqualTo(StickyCookie.Mode.PREFIX);
    }
    /**
     * Malformed values in each mode are answered as any request: a value that leads nowhere is
     * balanced (insert mode: a new cookie), a date that does not decode is no date, nothing throws.
     */
    @Test
    void malformedValuesAreBalancedAnewInEveryMode() throws Exception {
        List<String> values = List.of("", "|", "s1|", "s1||||||", "s1|ab", "s1|abcde|", "~", "s1~", "=;=", "\"\"", "\"s1",
                "s1|\u00e9\u00e9\u00e9\u00e9\u00e9|\u00e9\u00e9\u00e9\u00e9\u00e9", "s1|zzzzz|", "|zzzzz|zzzzz", "s1~~~", "~s1");
        List<StickyCookie> cookies = List.of(StickyCookie.insert("SRV").indirect().maxIdle(Duration.ofMinutes(1)).maxLife(Duration.ofMinutes(2)),
                StickyCookie.prefix("SRV").indirect(), StickyCookie.rewrite("SRV"));
        try (RecordingBackend b1 = sessionOrigin("b1")) {
            for (StickyCookie cookie : cookies) {
                start(Backend.named("app").server("web1", b1.address(), s -> s.cookie("s1")).cookie(cookie), new ManualClock(T0 * 1000));
                for (String value : values) {
                    RawHttp.Response r;
                    try (RawHttp c = new RawHttp(proxy.port())) {
                        r = c.send(get("/", "a=1; SRV=" + value + "; SRV; ;=x")).read();
                    }
                    assertThat(r.status()).as(cookie + " " + value).isEqualTo(200);
                    assertThat(r.body()).startsWith("b1:");
                    proxy.routeAndPick(TestRequest.get("/").host("h").cookie("SRV", value));
                }
                proxy.close(Duration.ofSeconds(2));
                proxy = null;
            }
        }
    }
}
