package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.StickyCookie;
import java.time.Duration;
import io.netty.channel.ChannelHandlerContext;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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

                proxy.control().server("app", mine).drain();
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

    @Test
    void aClientWhoseServerIsOnlyFullIsServedElsewhereAndKeepsItsCookie() throws Exception {
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

    @Test
    void invalidOptionsFailWithTheFieldAndValue() {
        assertThatThrownBy(() -> StickyCookie.insert("bad name")).hasMessage("cookie name: bad name (expected: a token, e.g. SERVERID)");
        assertThatThrownBy(() -> StickyCookie.insert("SRV").sameSite("lax")).hasMessage("cookie sameSite: lax (expected: Strict, Lax or None)");
        assertThat(StickyCookie.insert("SRV").key("k1").valueFor("app", "s1"))
                .isNotEqualTo(StickyCookie.insert("SRV").key("k2").valueFor("app", "s1"))
                .isEqualTo(StickyCookie.insert("OTHER").key("k1").valueFor("app", "s1"));
    }
}
