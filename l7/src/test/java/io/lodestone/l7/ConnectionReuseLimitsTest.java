package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.netty.channel.ChannelHandlerContext;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Limits on connection reuse: {@link HttpFrontend.Builder#poolMaxRequests(int)} (nginx's upstream
 * {@code keepalive_requests}), {@link HttpFrontend.Builder#poolMaxLifetime(Duration)} (nginx's
 * {@code keepalive_time}) and {@link HttpFrontend.Builder#keepAliveMaxRequests(int)} (nginx's
 * {@code keepalive_requests} for clients). The lifetime cases run the proxy on a manual clock.
 */
class ConnectionReuseLimitsTest {

    private static final Duration LONG = Duration.ofHours(1);
    private static final Duration LIFETIME = Duration.ofSeconds(10);
    private static final Duration ONE_MS = Duration.ofMillis(1);

    private Proxy proxy;
    private ManualClockLoop loop;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
        if (loop != null) {
            loop.close();
        }
    }

    private int start(RecordingBackend b, Consumer<HttpFrontend.Builder> frontend) {
        HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app");
        frontend.accept(f);
        proxy = Proxy.builder().backend(Backend.named("app").server("s1", b.address())).frontend(f).build();
        proxy.start();
        return proxy.port();
    }

    /** A proxy on a manual clock and one event loop the test holds; timeouts that could fire are 1 h. */
    private int startOnManualClock(RecordingBackend b, ManualClock clock, Consumer<HttpFrontend.Builder> frontend) {
        loop = new ManualClockLoop(clock);
        HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                .clientTimeout(LONG).keepAliveTimeout(LONG);
        frontend.accept(f);
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group())
                .backend(Backend.named("app").server("s1", b.address()).serverTimeout(LONG))
                .frontend(f)
                .build();
        proxy.start();
        return proxy.port();
    }

    private static RawHttp.Response get(RawHttp c, String path) throws Exception {
        return c.send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n").read();
    }

    // ---------------------------------------------------------------- poolMaxRequests

    @Test
    void aServerConnectionCarriesAtMostPoolMaxRequests() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> f.poolMaxRequests(3));
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 7; i++) {
                    RawHttp.Response r = get(c, "/r" + i);
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.body()).isEqualTo("b:/r" + i);
                    // the client connection is not limited
                    assertThat(r.header("connection")).isNull();
                }
            }
            // ceil(7 / 3): 3 + 3 + 1
            assertThat(b.connections.get()).isEqualTo(3);
            Map<Integer, Long> perConnection = b.requests.stream()
                    .collect(Collectors.groupingBy(RecordingBackend.Recorded::connection, Collectors.counting()));
            assertThat(perConnection).containsExactlyInAnyOrderEntriesOf(Map.of(1, 3L, 2, 3L, 3, 1L));
            // the two full connections were closed by the proxy after their third response; the third stays pooled
            Await.until("the full server connections closed", () -> b.open.size() == 1);
        }
    }

    @Test
    void poolMaxRequestsOfOneOpensAServerConnectionPerRequest() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> f.poolMaxRequests(1));
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 3; i++) {
                    assertThat(get(c, "/r" + i).status()).isEqualTo(200);
                }
            }
            assertThat(b.connections.get()).isEqualTo(3);
            Await.until("every server connection closed", () -> b.open.isEmpty());
        }
    }

    @Test
    void withoutPoolMaxRequestsOneServerConnectionCarriesEveryRequest() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> { });
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 20; i++) {
                    assertThat(get(c, "/r" + i).status()).isEqualTo(200);
                }
            }
            assertThat(b.connections.get()).isEqualTo(1);
        }
    }

    // ---------------------------------------------------------------- poolMaxLifetime

    @Test
    void anIdleConnectionPastItsLifetimeIsNotTaken() throws Exception {
        ManualClock clock = new ManualClock();
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = startOnManualClock(b, clock, f -> f.poolMaxLifetime(LIFETIME));
            try (RawHttp c = new RawHttp(port)) {
                assertThat(get(c, "/1").status()).isEqualTo(200);
                loop.advance(LIFETIME.minus(ONE_MS));
                assertThat(get(c, "/2").status()).isEqualTo(200);
                assertThat(b.connections.get()).as("reused before its lifetime").isEqualTo(1);
                loop.advance(ONE_MS);
                assertThat(get(c, "/3").status()).isEqualTo(200);
                assertThat(b.connections.get()).as("a new connection past the lifetime").isEqualTo(2);
                // the new connection's lifetime starts when it was opened
                loop.advance(LIFETIME.minus(ONE_MS));
                assertThat(get(c, "/4").status()).isEqualTo(200);
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::connection).containsExactly(1, 1, 2, 2);
            Await.until("the old server connection closed", () -> b.open.size() == 1);
        }
    }

    @Test
    void aConnectionThatOutlivesItsLifetimeDuringAnExchangeIsClosedWhenItEnds() throws Exception {
        ManualClock clock = new ManualClock();
        AtomicReference<ChannelHandlerContext> held = new AtomicReference<>();
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> {
            if (r.uri().equals("/slow")) {
                held.set(ctx);
            } else {
                RecordingBackend.ok(ctx, "b:" + r.uri(), Map.of());
            }
        })) {
            int port = startOnManualClock(b, clock, f -> f.poolMaxLifetime(LIFETIME));
            try (RawHttp c = new RawHttp(port)) {
                assertThat(get(c, "/1").status()).isEqualTo(200);
                c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
                Await.until("the slow request reached the server", () -> held.get() != null);
                loop.advance(LIFETIME);
                // the exchange under way is not cut
                assertThat(b.open).hasSize(1);
                RecordingBackend.ok(held.get(), "late", Map.of());
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("late");
                // closed when its exchange ended, without waiting for the next request
                Await.until("the server connection closed after its exchange", () -> b.open.isEmpty());
                assertThat(get(c, "/3").status()).isEqualTo(200);
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::connection).containsExactly(1, 1, 2);
        }
    }

    @Test
    void aReconfigurationChangesTheServerConnectionLimitsOfAPoolAlreadyMade() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            // one event loop, so that the second configuration's requests use the pool the first one made
            proxy = oneLoop(b, f -> f.poolMaxRequests(1)).build();
            proxy.start();
            int port = proxy.port();
            try (RawHttp c = new RawHttp(port)) {
                assertThat(get(c, "/1").status()).isEqualTo(200);
            }
            Await.until("the first server connection closed", () -> b.open.isEmpty());
            proxy.reconfigure(oneLoop(b, f -> f.poolMaxLifetime(LONG)));
            assertThat(proxy.port()).isEqualTo(port);
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 3; i++) {
                    assertThat(get(c, "/r" + i).status()).isEqualTo(200);
                }
            }
            // no request limit any more: the three share one connection
            assertThat(b.connections.get()).isEqualTo(2);
            assertThat(b.open).hasSize(1);
            proxy.reconfigure(oneLoop(b, f -> f.poolMaxRequests(4)));
            try (RawHttp c = new RawHttp(port)) {
                assertThat(get(c, "/4").status()).isEqualTo(200);
            }
            // its fourth exchange: closed at its end under the new limit, its count kept
            Await.until("the second server connection closed", () -> b.open.isEmpty());
            assertThat(b.connections.get()).isEqualTo(2);
        }
    }

    /**
     * The pool's size and idle timeout follow a reconfiguration too: idle connections beyond a
     * smaller {@code maxIdlePerServer} close at once, and the sweep follows a shorter
     * {@code poolIdleTimeout} from the reconfiguration on (before, a pool kept the ones it was made
     * with: the second connection stayed and the sweep came every 60 s).
     */
    @Test
    void aReconfigurationChangesThePoolSizeAndIdleTimeoutOfAPoolAlreadyMade() throws Exception {
        ManualClock clock = new ManualClock();
        Duration idleTimeout = Duration.ofSeconds(10);
        Queue<ChannelHandlerContext> held = new ConcurrentLinkedQueue<>();
        AtomicInteger arrived = new AtomicInteger();
        // answers /both only once two such requests are in, so that they take two server connections
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> {
            held.add(ctx);
            if (arrived.incrementAndGet() == 2) {
                held.forEach(h -> RecordingBackend.ok(h, "both", Map.of()));
            }
        })) {
            int port = startOnManualClock(b, clock, f -> { });
            try (RawHttp c1 = new RawHttp(port); RawHttp c2 = new RawHttp(port)) {
                c1.send("GET /both HTTP/1.1\r\nHost: h\r\n\r\n");
                c2.send("GET /both HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(c1.read().status()).isEqualTo(200);
                assertThat(c2.read().status()).isEqualTo(200);
            }
            assertThat(b.connections.get()).isEqualTo(2);
            assertThat(b.open).as("both server connections pooled").hasSize(2);

            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()).serverTimeout(LONG))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                            .clientTimeout(LONG).keepAliveTimeout(LONG)
                            .backendPool(1, idleTimeout)));
            Await.until("the connection beyond the smaller pool closed", () -> b.open.size() == 1);

            loop.advance(idleTimeout.minus(ONE_MS));
            assertThat(b.open).as("idle for less than the new idle timeout").hasSize(1);
            loop.advance(idleTimeout.dividedBy(2));
            Await.until("the idle connection closed at the sweep of the new idle timeout", () -> b.open.isEmpty());
            assertThat(b.connections.get()).isEqualTo(2);
        }
    }

    @Test
    void aReconfiguredServerTimeoutTimesAPooledConnectionItFindsThere() throws Exception {
        ManualClock clock = new ManualClock();
        Duration serverTimeout = Duration.ofSeconds(10);
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> {
            if (!r.uri().equals("/hang")) {
                RecordingBackend.ok(ctx, "b:" + r.uri(), Map.of());
            }
        })) {
            int port = startOnManualClock(b, clock, f -> { });
            try (RawHttp c = new RawHttp(port)) {
                assertThat(get(c, "/a").status()).isEqualTo(200);
                assertThat(b.open).as("the server connection pooled").hasSize(1);

                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("app").server("s1", b.address()).serverTimeout(serverTimeout))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                                .clientTimeout(LONG).keepAliveTimeout(LONG)));
                c.send("GET /hang HTTP/1.1\r\nHost: h\r\n\r\n");
                Await.until("the request at the server", () -> b.requests.size() == 2);
                loop.awaitDueTimers();
                loop.advance(serverTimeout);
                assertThat(c.read().status()).as("the new server timeout, on the pooled connection").isEqualTo(504);
            }
            assertThat(b.connections.get()).isEqualTo(1);
        }
    }

    private static Proxy.Builder oneLoop(RecordingBackend b, Consumer<HttpFrontend.Builder> frontend) {
        HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app");
        frontend.accept(f);
        return Proxy.builder().ioThreads(1).backend(Backend.named("app").server("s1", b.address())).frontend(f);
    }

    // ---------------------------------------------------------------- keepAliveMaxRequests

    @Test
    void theNthResponseToAClientClosesItsConnection() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> f.keepAliveMaxRequests(2));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response first = get(c, "/1");
                assertThat(first.status()).isEqualTo(200);
                assertThat(first.header("connection")).isNull();
                RawHttp.Response second = get(c, "/2");
                assertThat(second.status()).isEqualTo(200);
                assertThat(second.body()).isEqualTo("b:/2");
                assertThat(second.header("connection")).isEqualTo("close");
                assertThat(c.closedByPeer()).isTrue();
            }
            // the server connection is not the client's: it stays pooled
            assertThat(b.connections.get()).isEqualTo(1);
            assertThat(b.open).hasSize(1);
        }
    }

    @Test
    void requestsPipelinedBeyondTheLimitAreNotServed() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (RecordingBackend b = RecordingBackend.start("b")) {
            HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").keepAliveMaxRequests(2);
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b.address())).frontend(f).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                        + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
                        + "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
                RawHttp.Response first = c.read();
                RawHttp.Response second = c.read();
                assertThat(first.body()).isEqualTo("b:/1");
                assertThat(first.header("connection")).isNull();
                assertThat(second.body()).isEqualTo("b:/2");
                assertThat(second.header("connection")).isEqualTo("close");
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/1", "/2");
            // the dropped request is logged as one the proxy ended while it waited its turn
            Await.until("three access-log lines", () -> lines.lines().size() == 3);
            assertThat(lines.lines().get(2)).contains("GET /3 HTTP/1.1").contains(" PQ ");
        }
    }

    @Test
    void answersTheProxyMakesItselfCountToo() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> f.keepAliveMaxRequests(2)
                    .rule(Rule.when(Acl.pathBegins("/admin")).deny(403)));
            try (RawHttp c = new RawHttp(port)) {
                assertThat(get(c, "/admin").status()).isEqualTo(403);
                RawHttp.Response second = get(c, "/2");
                assertThat(second.status()).isEqualTo(200);
                assertThat(second.header("connection")).isEqualTo("close");
                assertThat(c.closedByPeer()).isTrue();
            }
        }
    }

    @Test
    void anHttp2ClientConnectionIsNotLimited() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> f.h2c(true).keepAliveMaxRequests(1));
            try (Socket s = Http2Test.h2c(port)) {
                OutputStream out = s.getOutputStream();
                // five streams one after the other, each answered in full, on one connection without a GOAWAY
                for (int stream = 1; stream <= 9; stream += 2) {
                    out.write(Http2Test.headers(stream, true));
                    out.flush();
                    assertThat(Http2Test.streamFrames(s.getInputStream(), stream)).as("stream %d", stream).containsExactly(1, 0);
                }
            }
            assertThat(b.requests).hasSize(5);
        }
    }

    @Test
    void withoutKeepAliveMaxRequestsAClientConnectionGoesOn() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(b, f -> { });
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 50; i++) {
                    assertThat(get(c, "/r" + i).header("connection")).isNull();
                }
            }
        }
    }

    // ---------------------------------------------------------------- setters

    @Test
    void settersRejectValuesBelowOneAndNoLifetime() {
        HttpFrontend.Builder b = HttpFrontend.bind(8080);
        assertThatThrownBy(() -> b.poolMaxRequests(0)).hasMessage("frontend at 0.0.0.0:8080 poolMaxRequests: 0 (expected: >= 1)");
        assertThatThrownBy(() -> b.poolMaxRequests(-5)).hasMessage("frontend at 0.0.0.0:8080 poolMaxRequests: -5 (expected: >= 1)");
        assertThatThrownBy(() -> b.keepAliveMaxRequests(0)).hasMessage("frontend at 0.0.0.0:8080 keepAliveMaxRequests: 0 (expected: >= 1)");
        assertThatThrownBy(() -> b.keepAliveMaxRequests(-1)).hasMessage("frontend at 0.0.0.0:8080 keepAliveMaxRequests: -1 (expected: >= 1)");
        assertThatThrownBy(() -> b.poolMaxLifetime(null)).hasMessage("frontend at 0.0.0.0:8080 poolMaxLifetime: null (expected: > 0)");
        assertThatThrownBy(() -> b.poolMaxLifetime(Duration.ZERO)).hasMessage("frontend at 0.0.0.0:8080 poolMaxLifetime: PT0S (expected: > 0)");
        assertThatThrownBy(() -> b.poolMaxLifetime(Duration.ofSeconds(-1))).hasMessage("frontend at 0.0.0.0:8080 poolMaxLifetime: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> b.poolMaxLifetime(Duration.ofDays(40_000)))
                .hasMessage("frontend at 0.0.0.0:8080 poolMaxLifetime: PT960000H (expected: at most 36500 days)");
    }

    @Test
    void theLimitsDefaultToNoneAndAreKept() {
        HttpFrontend none = HttpFrontend.bind(8080).defaultBackend("app").build();
        assertThat(none.poolMaxRequests()).isZero();
        assertThat(none.poolMaxLifetime()).isNull();
        assertThat(none.keepAliveMaxRequests()).isZero();
        HttpFrontend set = HttpFrontend.bind(8080).defaultBackend("app")
                .poolMaxRequests(100).poolMaxLifetime(Duration.ofMinutes(5)).keepAliveMaxRequests(1000).build();
        assertThat(set.poolMaxRequests()).isEqualTo(100);
        assertThat(set.poolMaxLifetime()).isEqualTo(Duration.ofMinutes(5));
        assertThat(set.keepAliveMaxRequests()).isEqualTo(1000);
    }
}
