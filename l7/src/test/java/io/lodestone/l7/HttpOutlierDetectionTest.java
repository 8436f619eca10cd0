package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Passive health checking (Envoy's outlier detection) on live HTTP traffic, on the manual clock: a
 * server whose responses are 5xx too many times in a row gets no requests until its ejection time is
 * up, to the millisecond, and the metrics say so.
 */
class HttpOutlierDetectionTest {

    private static final Duration EJECTION = Duration.ofSeconds(30);
    private static final Duration ONE_MS = Duration.ofMillis(1);

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
        loop.close();
    }

    /** Starts {@link #proxy} on the manual clock: backend "app" of s1 and s2, ejecting after two failures in a row. */
    private void start(String s1, String s2) {
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group())
                .backend(Backend.named("app").server("s1", s1).server("s2", s2)
                        .outlierDetection(OutlierDetection.consecutiveFailures(2).baseEjectionTime(EJECTION)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                .build();
        proxy.start();
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n";
    }

    @Test
    void consecutiveServerErrorsEjectAServerUntilItsTimeIsUp() throws Exception {
        try (RecordingBackend failing = RecordingBackend.start("b1",
                (r, ctx) -> RecordingBackend.respond(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "b1:oops", Map.of()));
                RecordingBackend healthy = RecordingBackend.start("b2")) {
            start(failing.address(), healthy.address());
            ServerControl s1 = proxy.control().server("app", "s1");
            try (RawHttp c = new RawHttp(proxy.port())) {
                // round robin: s1, s2, s1 — the second 500 in a row from s1 ejects it
                assertThat(c.send(get("/1")).read().status()).isEqualTo(500);
                assertThat(c.send(get("/2")).read().status()).isEqualTo(200);
                assertThat(s1.state()).as("one failure of two").isEqualTo(ServerState.UP);
                assertThat(c.send(get("/3")).read().status()).isEqualTo(500);
                assertThat(s1.state()).isEqualTo(ServerState.DOWN);
                assertThat(s1.isEjected()).isTrue();
                assertThat(proxy.control().usableServers("app")).isEqualTo(1);

                for (int i = 0; i < 4; i++) {
                    assertThat(c.send(get("/ejected" + i)).read().body()).startsWith("b2:");
                }
                loop.advance(EJECTION.minus(ONE_MS));
                assertThat(s1.isEjected()).as("1 ms before the ejection time is up").isTrue();
                assertThat(c.send(get("/still")).read().body()).startsWith("b2:");

                loop.advance(ONE_MS);
                assertThat(s1.isEjected()).isFalse();
                assertThat(s1.state()).isEqualTo(ServerState.UP);
                int toS1 = 0;
                for (int i = 0; i < 2; i++) {
                    if (c.send(get("/back" + i)).read().status() == 500) {
                        toS1++;
                    }
                }
                assertThat(toS1).as("s1 is back in the rotation").isEqualTo(1);
            }
            assertThat(failing.requests).hasSize(3);
            var snapshot = proxy.metrics().backend("app").server("s1");
            assertThat(snapshot.status().ejections()).isEqualTo(1);
            assertThat(snapshot.traffic().responses().serverError()).isEqualTo(3);
            assertThat(PrometheusFormat.text(proxy.metrics())).contains("lodestone_server_ejections_total{backend=\"app\",server=\"s1\"} 1");
        }
    }

    /**
     * Envoy counts an event that makes the proxy answer 5xx on the server's behalf (a reset, a close
     * before the response) as a 5xx: a server that accepts and then closes every connection is
     * ejected, even though each request is retried elsewhere and the clients see only 200s.
     */
    @Test
    void aServerThatClosesBeforeItsResponseIsEjectedToo() throws Exception {
        try (RawBackend closing = new RawBackend((socket, connection) -> {
            RawBackend.nextHead(socket.getInputStream());
        });
                RecordingBackend healthy = RecordingBackend.start("b2")) {
            start(closing.address(), healthy.address());
            ServerControl s1 = proxy.control().server("app", "s1");
            try (RawHttp c = new RawHttp(proxy.port())) {
                for (int i = 0; i < 3; i++) {
                    RawHttp.Response r = c.send(get("/" + i)).read();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.body()).startsWith("b2:");
                }
                assertThat(closing.connections.get()).as("s1 was tried for the first and the third request").isEqualTo(2);
                assertThat(s1.isEjected()).isTrue();
                assertThat(s1.state()).isEqualTo(ServerState.DOWN);
                for (int i = 0; i < 4; i++) {
                    assertThat(c.send(get("/ejected" + i)).read().body()).startsWith("b2:");
                }
                assertThat(closing.connections.get()).as("no connection to an ejected server").isEqualTo(2);
            }
        }
    }
}
