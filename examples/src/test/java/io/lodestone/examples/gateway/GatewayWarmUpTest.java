package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.log.AccessLog;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The launcher's {@code --warm-up}: parsing, the options of the warm-up copy, and real warm-ups in
 * both modes, which must never reach the configured servers.
 */
class GatewayWarmUpTest {

    private static final Pattern WARMED = Pattern.compile("gateway: warmed up in [0-9.]+ s with ([0-9]+) requests(.*)\n");

    @Test
    void warmUpTakesADurationAndZeroTurnsItOff() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--warm-up", "2s");
        assertThat(o.warmUp()).contains(Duration.ofSeconds(2));
        assertThat(o.toString()).endsWith(" warmUp=PT2S}");
        assertThat(GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--warm-up=0").warmUp()).isEmpty();
        assertThat(GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1").warmUp()).isEmpty();
    }

    @Test
    void warmUpRefusesBadValuesAndTlsNamingTheFlag() {
        assertUsage("--warm-up: soon (expected: a duration like 500ms, 5s, 2m, 1h; 0 disables it)",
                "--listen", "127.0.0.1:0", "--backend", "h:1", "--warm-up", "soon");
        assertUsage("--warm-up: 11m (expected: at most 10m)", "--listen", "127.0.0.1:0", "--backend", "h:1", "--warm-up", "11m");
        assertUsage("--warm-up: 5s (not with --sni: the warm-up speaks plain HTTP/1.1 on both sides)",
                "--listen", "127.0.0.1:0", "--backend", "h:1", "--sni", "a.example=h:2", "--warm-up", "5s");
        assertUsage("--warm-up: 5s (not with --backend-tls: the warm-up speaks plain HTTP/1.1 on both sides)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--backend-tls", "insecure", "--warm-up", "5s");
        assertUsage("--warm-up: 5s (not with --backend-proto h2c: the warm-up speaks plain HTTP/1.1 on both sides)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--backend-proto", "h2c", "--warm-up", "5s");
    }

    @Test
    void theWarmUpCopyPointsEveryServerAtTheOriginAndLeavesOutWhatWouldLeakOrThrottle() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "0.0.0.0:18115",
                "--backend", "10.0.0.1:80,10.0.0.2:80", "--route", "/api=10.0.0.3:80", "--deny", "/admin",
                "--balance", "leastconn", "--timeout-server", "3s", "--compress", "--cache", "1m",
                "--admin", "127.0.0.1:0", "--admin-token", "secret-token-1234", "--access-log", "json",
                "--health-check", "/health", "--rate-limit", "10/s", "--warm-up", "1s");
        HostPort origin = new HostPort("127.0.0.1", 4242);
        GatewayOptions copy = o.forWarmUp(origin);
        assertThat(copy.listen()).isEqualTo(new HostPort("127.0.0.1", 0));
        assertThat(copy.backends()).containsExactly(origin, origin);
        assertThat(copy.routes()).containsExactly(new GatewayOptions.Route("/api", origin));
        assertThat(copy.denies()).containsExactly("/admin");
        assertThat(copy.balance()).isEqualTo(GatewayOptions.Balance.LEASTCONN);
        assertThat(copy.serverTimeout()).contains(Duration.ofSeconds(3));
        assertThat(copy.compress()).isTrue();
        assertThat(copy.cacheBytes()).hasValue(1 << 20);
        assertThat(copy.admin()).isEmpty();
        assertThat(copy.adminToken()).isEmpty();
        assertThat(copy.accessLog()).isEqualTo(AccessLog.Format.OFF);
        assertThat(copy.healthCheckPath()).isEmpty();
        assertThat(copy.rateLimit()).isEmpty();
        assertThat(copy.warmUp()).isEmpty();
    }

    @Test
    void anHttpWarmUpNeverReachesTheServersThenTheGatewayServesThem() throws Exception {
        try (EmbeddedHttpServer server = EmbeddedHttpServer.start("real", "127.0.0.1", 0);
                MainRunner r = warmedGateway("http", server)) {
            int port = awaitCleanWarmUp(r, server);
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello from real: GET /x\n");
            assertThat(server.requests()).isEqualTo(1);
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void aTcpWarmUpRelaysTheSameMixThenTheGatewayRelaysToTheServers() throws Exception {
        try (EmbeddedHttpServer server = EmbeddedHttpServer.start("real", "127.0.0.1", 0);
                MainRunner r = warmedGateway("tcp", server)) {
            int port = awaitCleanWarmUp(r, server);
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write("GET /y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                String response = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                assertThat(response).startsWith("HTTP/1.1 200 ").endsWith("hello from real: GET /y\n");
            }
            assertThat(server.requests()).isEqualTo(1);
            assertThat(r.stop()).isZero();
        }
    }

    /**
     * A warm-up of 1 s ends when its second has passed, after the round of traffic it is in: no fixed
     * amount of work besides. It took 10-13 s before the gateway listened (over 40 s on this loaded
     * machine): the io_uring steps' 40,000 writes and 2,000 connections, then at least one round of
     * every kind in each of the three passes (about 9 s on the 2 cores unloaded, by the README). Now
     * 1.8-3.4 s when this runs first in a JVM on this machine at a load of 14 (class loading, the
     * copy's start and its first round run interpreted): 7 s leaves room for a busier machine.
     */
    @Test
    void aShortWarmUpTakesAboutItsDurationBeforeTheGatewayListens() throws Exception {
        try (EmbeddedHttpServer server = EmbeddedHttpServer.start("real", "127.0.0.1", 0)) {
            long start = System.nanoTime();
            try (MainRunner r = warmedGateway("http", server)) {
                r.awaitPort("gateway: listening on ", Duration.ofSeconds(60));
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(took).as("from start to listening, out: %s", r.out()).isLessThan(Duration.ofSeconds(7));
                Matcher m = WARMED.matcher(r.out());
                assertThat(m.find()).as("warm-up line in %s", r.out()).isTrue();
                assertThat(Long.parseLong(m.group(1))).isPositive();
                assertThat(m.group(2)).isEmpty();
                assertThat(server.requests()).isZero();
                assertThat(r.stop()).isZero();
            }
        }
    }

    @Test
    void aWarmUpThatFailsSaysWhyAndTheGatewayStillStarts() throws Exception {
        try (EmbeddedHttpServer server = EmbeddedHttpServer.start("real", "127.0.0.1", 0);
                MainRunner r = warmedGateway("http", server, "--deny", "/")) {
            // its requests fail at once, but the io_uring steps before them take as long as in awaitCleanWarmUp
            r.awaitPort("gateway: listening on ", Duration.ofSeconds(60));
            Matcher m = WARMED.matcher(r.out());
            assertThat(m.find()).as("warm-up line in %s", r.out()).isTrue();
            assertThat(m.group(1)).isEqualTo("0");
            assertThat(m.group(2)).startsWith("; stopped early: java.io.IOException: /small: HTTP/1.1 403 ");
            assertThat(server.requests()).isZero();
            assertThat(r.stop()).isZero();
        }
    }

    /**
     * An io_uring step that fails, as the 40,000 writes did past their 10 s bound on this loaded
     * machine, stops the warm-up with the reason, as a failed request does, so that the gateway still
     * starts; it threw out of the warm-up, and the gateway exited 1 ("cannot start").
     */
    @Test
    void anIoUringStepThatFailsStopsTheWarmUpAndSaysWhy() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--warm-up", "10s");
        WarmUp.Result r = WarmUp.run(o, o.warmUp().get(), () -> {
            throw new IllegalStateException("wrapping io_uring's operation ids: java.util.concurrent.TimeoutException");
        });
        assertThat(r.ok()).isFalse();
        assertThat(r.requests()).isZero();
        assertThat(r.failure()).isEqualTo("java.lang.IllegalStateException: wrapping io_uring's operation ids: "
                + "java.util.concurrent.TimeoutException");
    }

    @Test
    void theWarmUpOriginAnswersALoadGeneratorsRequestWithAWebServersFields() throws Exception {
        try (EmbeddedHttpServer origin = EmbeddedHttpServer.start("warm-up", "127.0.0.1", 0, WarmUp::answer);
                Socket s = new Socket("127.0.0.1", origin.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(("GET /small HTTP/1.1\r\nHost: 127.0.0.1:" + origin.port() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String loadGenerator = readResponse(in, WarmUp.SMALL_BODY).toLowerCase();
            assertThat(loadGenerator).startsWith("http/1.1 200 ").contains("\r\nserver: ", "\r\ndate: ", "\r\nconnection: keep-alive\r\n")
                    .doesNotContain("etag: ");
            out.write("GET /medium HTTP/1.1\r\nHost: warm-up\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in, WarmUp.MEDIUM_BODY).toLowerCase())
                    .contains("\r\nlast-modified: ", "\r\netag: ", "\r\naccept-ranges: bytes\r\n");
            out.write("GET /small HTTP/1.1\r\nHost: warm-up\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in, WarmUp.SMALL_BODY).toLowerCase()).startsWith("http/1.1 200 ")
                    .doesNotContain("\r\nserver: ", "\r\ndate: ", "\r\nconnection: ");
        }
    }

    @Test
    void theWarmUpOriginClosesItsConnectionAfterAClosingAnswerToEitherKindOfClient() throws Exception {
        try (EmbeddedHttpServer origin = EmbeddedHttpServer.start("warm-up", "127.0.0.1", 0, WarmUp::answer)) {
            for (String fields : List.of("Host: 127.0.0.1:" + origin.port(), "Host: warm-up\r\nUser-Agent: curl/8")) {
                try (Socket s = new Socket("127.0.0.1", origin.port())) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(("GET /closing HTTP/1.1\r\n" + fields + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    InputStream in = s.getInputStream();
                    assertThat(readResponse(in, WarmUp.SMALL_BODY).toLowerCase()).startsWith("http/1.1 200 ")
                            .contains("\r\nconnection: close\r\n").doesNotContain("keep-alive");
                    assertThat(in.read()).as("the end of the response is the origin's FIN").isEqualTo(-1);
                }
            }
            assertThat(origin.requests()).isEqualTo(2);
        }
    }

    /** Reads one response head (the warm-up's own reader, which fails at end of stream) and its body of {@code bodyLength} bytes; returns the head. */
    private static String readResponse(InputStream in, int bodyLength) throws Exception {
        String head = WarmUp.readHead(in);
        assertThat(in.readNBytes(bodyLength)).hasSize(bodyLength);
        return head;
    }

    @Test
    void helpListsTheFlag() {
        MainRunner r = MainRunner.complete("gateway", "--help");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).contains("  --warm-up DUR            before listening, send a copy of the gateway");
    }

    /** Starts a gateway in {@code mode} in front of {@code server} with a 1 s warm-up and {@code more} flags. */
    private static MainRunner warmedGateway(String mode, EmbeddedHttpServer server, String... more) {
        List<String> args = new ArrayList<>(List.of("gateway", "--mode", mode, "--listen", "127.0.0.1:0",
                "--backend", server.hostPort(), "--warm-up", "1s"));
        args.addAll(List.of(more));
        return MainRunner.start(args.toArray(String[]::new));
    }

    /**
     * Waits for the gateway to listen and checks its warm-up: a line that reports requests and no
     * failure, before the listening line, and not one request at the real server. Returns the port.
     */
    private static int awaitCleanWarmUp(MainRunner r, EmbeddedHttpServer server) {
        // a warm-up of 1 s ends after its second, its round under way and the copy's close
        int port = r.awaitPort("gateway: listening on ", Duration.ofSeconds(60));
        String out = r.out();
        assertThat(server.requests()).isZero();
        Matcher m = WARMED.matcher(out);
        assertThat(m.find()).as("warm-up line in %s", out).isTrue();
        // how many requests fit in the second depends on the machine's speed and load: some did
        assertThat(Long.parseLong(m.group(1))).isPositive();
        assertThat(m.group(2)).isEmpty();
        assertThat(out.indexOf("gateway: warmed up")).isLessThan(out.indexOf("gateway: listening on"));
        return port;
    }

    private static void assertUsage(String message, String... args) {
        assertThatThrownBy(() -> GatewayOptions.parse(args)).isInstanceOf(UsageException.class).hasMessage(message);
    }
}
