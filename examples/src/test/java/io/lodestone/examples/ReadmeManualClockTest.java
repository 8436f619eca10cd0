package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Clock;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.HeaderEdit;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.Await;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The README's "Testing timeouts with a manual clock", followed as a user would: its clock class as
 * written, then the timers it lists (keep-alive, health-check rise and fall, slow start, rate limits)
 * driven by moving that clock, never by sleeping.
 */
class ReadmeManualClockTest {

    /** The README's class, as written. */
    static final class ManualClock implements Clock {
        private final AtomicLong nanos = new AtomicLong();
        public long nanoTime() { return nanos.get(); }
        public long currentTimeMillis() { return 1_767_225_600_000L + nanos.get() / 1_000_000; }
        void advance(Duration d) { nanos.addAndGet(d.toNanos()); }
    }

    @Test
    void theKeptAliveConnectionIsClosedWhenTheClockPassesTheKeepAliveTimeout() throws Exception {
        ManualClock clock = new ManualClock();
        try (EmbeddedHttpServer s1 = EmbeddedHttpServer.start("s1", "127.0.0.1", 0);
                Proxy proxy = Proxy.builder().clock(clock)
                        .backend(Backend.named("app").server("s1", s1.hostPort()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").keepAliveTimeout(Duration.ofSeconds(20)).defaultBackend("app"))
                        .build()) {
            proxy.start();
            try (Socket client = new Socket("127.0.0.1", proxy.port())) {
                client.setSoTimeout(10_000);
                OutputStream out = client.getOutputStream();
                InputStream in = client.getInputStream();
                out.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(readResponse(in)).startsWith("HTTP/1.1 200");
                clock.advance(Duration.ofSeconds(20));   // the proxy closes the idle connection now
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void healthChecksRiseAndFallAsTheClockMoves() {
        ManualClock clock = new ManualClock();
        AtomicInteger status = new AtomicInteger(200);
        AtomicInteger checks = new AtomicInteger();
        try (EmbeddedHttpServer s1 = EmbeddedHttpServer.start("s1", "127.0.0.1", 0, r -> {
                    if (r.uri().equals("/status")) {
                        checks.incrementAndGet();
                    }
                    return new EmbeddedHttpServer.Reply(status.get(), "text/plain", "s1\n");
                });
                Proxy proxy = Proxy.builder().clock(clock)
                        .backend(Backend.named("app").server("s1", s1.hostPort())
                                .healthCheck(HealthCheck.http("/status").interval(Duration.ofSeconds(2)).rise(2).fall(3)))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                        .build()) {
            proxy.start();
            ServerControl s = proxy.control().server("app", "s1");
            Await.until("the first check", () -> s.lastCheck() != null);
            assertThat(s.state()).isEqualTo(ServerState.UP);
            status.set(500);
            for (int failed = 1; failed <= 2; failed++) {
                // a new result, not the last one (a check that reached the server may not be recorded yet)
                Object previous = s.lastCheck();
                clock.advance(Duration.ofSeconds(2));
                Await.until("failed check " + failed, () -> s.lastCheck() != previous && !s.lastCheck().isHealthy());
                assertThat(s.state()).as("after %d failed checks", failed).isEqualTo(ServerState.UP);
            }
            // the check runs after the move, so its result is awaited; the state it leads to, and the
            // servers in rotation with it, are in place once the result is seen: read at once
            Object beforeThird = s.lastCheck();
            clock.advance(Duration.ofSeconds(2));
            Await.until("the third failed check", () -> s.lastCheck() != beforeThird);
            assertThat(s.state()).as("after 3 failed checks").isEqualTo(ServerState.DOWN);
            assertThat(proxy.routeAndPick(TestRequest.get("/")).server()).isNull();
            status.set(200);
            Object previous = s.lastCheck();
            clock.advance(Duration.ofSeconds(2));
            Await.until("a passed check", () -> s.lastCheck() != previous && s.lastCheck().isHealthy());
            assertThat(s.state()).as("after 1 passed check").isEqualTo(ServerState.DOWN);
            Object beforeSecondPass = s.lastCheck();
            clock.advance(Duration.ofSeconds(2));
            Await.until("the second passed check", () -> s.lastCheck() != beforeSecondPass);
            assertThat(s.state()).as("after 2 passed checks").isEqualTo(ServerState.UP);
            assertThat(proxy.routeAndPick(TestRequest.get("/")).serverName()).isEqualTo("s1");
        }
    }

    @Test
    void slowStartRampsTheWeightAsTheClockMoves() {
        ManualClock clock = new ManualClock();
        try (Proxy proxy = Proxy.builder().clock(clock)
                .backend(Backend.named("app").slowStart(Duration.ofSeconds(30))
                        .server("s1", "127.0.0.1:1", s -> s.weight(100)).server("s2", "127.0.0.1:2", s -> s.weight(100)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build()) {
            ServerControl s1 = proxy.control().server("app", "s1");
            s1.maintenance();
            s1.ready();
            int start = s1.effectiveWeight();
            clock.advance(Duration.ofSeconds(15));
            int half = s1.effectiveWeight();
            clock.advance(Duration.ofSeconds(15));
            assertThat(start).isLessThan(half);
            assertThat(half).isBetween(40, 60);
            assertThat(s1.effectiveWeight()).isEqualTo(100);
        }
    }

    @Test
    void aRateLimitRefillsAsTheClockMoves() {
        ManualClock clock = new ManualClock();
        try (Proxy proxy = Proxy.builder().clock(clock)
                .backend(Backend.named("app").server("s1", "127.0.0.1:1"))
                .frontend(HttpFrontend.bind("127.0.0.1:0")
                        .rule(Rule.when(Acl.pathBegins("/login")).rateLimit(RateLimit.perSecond(2)))
                        .defaultBackend("app"))
                .build()) {
            TestRequest login = TestRequest.get("/login").source("192.0.2.7");
            assertThat(proxy.route(login)).isInstanceOf(Decision.Forward.class);
            assertThat(proxy.route(login)).isInstanceOf(Decision.Forward.class);
            Decision.Deny over = (Decision.Deny) proxy.route(login);
            assertThat(over.status()).isEqualTo(429);
            assertThat(over.responseHeaders()).contains(new HeaderEdit(HeaderEdit.Op.SET, "Retry-After", "1"));
            clock.advance(Duration.ofMillis(499));
            assertThat(proxy.route(login)).isInstanceOf(Decision.Deny.class);
            clock.advance(Duration.ofMillis(1));
            assertThat(proxy.route(login)).isInstanceOf(Decision.Forward.class);
        }
    }

    private static String readResponse(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            head.append((char) c);
        }
        String h = head.toString().toLowerCase(java.util.Locale.ROOT);
        int at = h.indexOf("content-length:");
        int length = Integer.parseInt(h.substring(at + 15, h.indexOf('\r', at)).trim());
        in.readNBytes(length);
        return head.toString();
    }
}
