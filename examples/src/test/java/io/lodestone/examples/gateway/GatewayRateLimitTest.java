package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Proxy;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.TestRequest;
import io.lodestone.examples.Http;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The launcher's {@code --rate-limit N/s}: parsed, turned into a rule, and enforced over the wire in both modes. */
class GatewayRateLimitTest {

    private static EmbeddedHttpServer one;

    @BeforeAll
    static void startBackend() {
        one = EmbeddedHttpServer.start("one", "127.0.0.1", 0);
    }

    @AfterAll
    static void stopBackend() {
        one.close();
    }

    @Test
    void httpModeAnswers429WithRetryAfterBeyondTheLimitPerClientAddress() throws Exception {
        // a minute's worth keeps the test independent of how fast it runs: the next token is 20 s away
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort(), "--rate-limit", "3/m")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; rate limit 3/m per client address");
            long before = one.requests();
            for (int i = 0; i < 3; i++) {
                assertThat(Http.get("http://127.0.0.1:" + port + "/r/" + i).statusCode()).isEqualTo(200);
            }
            HttpResponse<String> over = Http.get("http://127.0.0.1:" + port + "/r/3");
            assertThat(over.statusCode()).isEqualTo(429);
            assertThat(Long.parseLong(over.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 20L);
            assertThat(over.body()).isEqualTo("Too Many Requests\n");
            assertThat(one.requests() - before).as("requests that reached the server").isEqualTo(3);
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void tcpModeClosesConnectionsBeyondTheLimitPerClientAddress() throws Exception {
        try (MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort(), "--rate-limit=2/m")) {
            int port = r.awaitPort("gateway: listening on ");
            for (int i = 0; i < 2; i++) {
                assertThat(Http.get("http://127.0.0.1:" + port + "/t/" + i).statusCode()).isEqualTo(200);
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                assertThat(readOrReset(s)).as("the third connection is closed unanswered").isEqualTo(-1);
            }
            assertThat(r.stop()).isZero();
        }
    }

    private static int readOrReset(Socket s) throws IOException {
        try {
            return s.getInputStream().read();
        } catch (SocketException reset) {
            return -1;
        }
    }

    @Test
    void theFlagBecomesTheFirstRule() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--deny", "/admin", "--rate-limit", "100/s");
        RateLimit limit = o.rateLimit().orElseThrow();
        assertThat(limit.permits()).isEqualTo(100);
        assertThat(limit.period()).isEqualTo(Duration.ofSeconds(1));
        assertThat(limit.burst()).isEqualTo(100);
        assertThat(o.toString()).contains(" rateLimit=100/s");
        assertThat(GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--rate-limit=60/m").rateLimit().orElseThrow().period())
                .isEqualTo(Duration.ofMinutes(1));
        assertThat(GatewayOptions.parse("--listen", ":1", "--backend", "h:1").rateLimit()).isEmpty();
        // on the system clock: a minute's worth, so that no token comes back while the test runs
        GatewayOptions perMinute = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--deny", "/admin", "--rate-limit", "5/m");
        try (Proxy proxy = Gateway.newProxy(perMinute)) {
            assertThat(proxy.frontends().get(0).routing().rules().get(0).name()).isEqualTo(Gateway.RATE_LIMIT_RULE);
            for (int i = 0; i < 5; i++) {
                assertThat(proxy.route(TestRequest.get("/").source("10.0.0.1"))).isInstanceOf(Decision.Forward.class);
            }
            assertThat(proxy.route(TestRequest.get("/").source("10.0.0.1"))).isInstanceOfSatisfying(Decision.Deny.class,
                    d -> assertThat(d.status()).isEqualTo(429));
            assertThat(proxy.route(TestRequest.get("/").source("10.0.0.2"))).isInstanceOf(Decision.Forward.class);
        }
    }

    @Test
    void theBoundsTheMessageGivesAreAccepted() throws Exception {
        // 1000000000 has ten digits, and the parser refused every number of more than nine
        for (String value : new String[] {"1/s", "1000000000/s", "1000000000/m"}) {
            GatewayOptions o = GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--rate-limit", value);
            assertThat(o.rateLimit().orElseThrow().permits()).isEqualTo(Integer.parseInt(value.substring(0, value.indexOf('/'))));
        }
        assertThat(GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--rate-limit", "0000000007/s").rateLimit()
                .orElseThrow().permits()).isEqualTo(7);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0/s", "10", "10/h", "/s", "-1/s", "ten/s", "1000000001/s", "10/s/s", "9999999999/s", "99999999999/s"})
    void badValuesExit2NamingTheFlag(String value) {
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--rate-limit", value))
                .isInstanceOf(UsageException.class)
                .hasMessage("--rate-limit: " + value + " (expected: N/s or N/m with N in 1..1000000000, e.g. 100/s)");
        MainRunner r = MainRunner.complete("gateway", "--listen", ":1", "--backend", "h:1", "--rate-limit", value);
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).startsWith("gateway: --rate-limit: " + value + " (expected: ");
    }

    @Test
    void helpListsTheFlag() {
        MainRunner r = MainRunner.complete("gateway", "--help");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).contains("--rate-limit N/s");
        assertThat(List.of(r.out().split("\n"))).anyMatch(l -> l.contains("429"));
    }
}
