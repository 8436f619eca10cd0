package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.examples.MainRunner;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The gateway's {@code --admin}, {@code --admin-token} and {@code --access-log} flags. */
class GatewayAdminTest {

    private static final String TOKEN = "gateway-admin-token";
    private static final List<String> MINIMAL = List.of("--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001");

    private static GatewayOptions parse(String... extra) throws Exception {
        List<String> args = new ArrayList<>(MINIMAL);
        args.addAll(List.of(extra));
        return GatewayOptions.parse(args);
    }

    @Test
    void adminAndAccessLogAreOffByDefault() throws Exception {
        GatewayOptions o = parse();
        assertThat(o.admin()).isEmpty();
        assertThat(o.adminToken()).isEmpty();
        assertThat(o.accessLog()).isEqualTo(AccessLog.Format.OFF);
    }

    @Test
    void parsesTheAdminAddressTokenAndAccessLogFormat() throws Exception {
        GatewayOptions o = parse("--admin", "127.0.0.1:9000", "--admin-token", TOKEN, "--access-log", "json");
        assertThat(o.admin()).contains(new HostPort("127.0.0.1", 9000));
        assertThat(o.adminToken()).contains(TOKEN);
        assertThat(o.accessLog()).isEqualTo(AccessLog.Format.JSON);
        assertThat(o.toString()).contains("admin=127.0.0.1:9000", "accessLog=json").doesNotContain(TOKEN);
        GatewayOptions eq = parse("--admin=*:9000", "--admin-token=" + TOKEN, "--access-log=text");
        assertThat(eq.admin().orElseThrow().anyHost()).isTrue();
        assertThat(eq.accessLog()).isEqualTo(AccessLog.Format.TEXT);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--admin-token: missing (expected: --admin-token TOKEN with --admin; the admin endpoint never runs without a token)|--admin 127.0.0.1:9000",
        "--admin: missing (expected: --admin HOST:PORT with --admin-token)|--admin-token gateway-admin-token",
        "--admin: 9000 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--admin 9000 --admin-token gateway-admin-token",
        "--admin-token: token: 5 characters (expected: at least 8)|--admin 127.0.0.1:0 --admin-token short",
        "--admin-token: (hidden) (given more than once)|--admin 127.0.0.1:0 --admin-token aaaaaaaaa --admin-token bbbbbbbbb",
        "--access-log: xml (expected: text or json)|--access-log xml",
        "--access-log: missing value|--access-log",
    })
    void badAdminOrAccessLogFlagsExit2NamingTheFlag(String message, String extra) {
        List<String> args = new ArrayList<>(List.of("gateway"));
        args.addAll(MINIMAL);
        args.addAll(List.of(extra.split(" ")));
        MainRunner r = MainRunner.complete(args.toArray(String[]::new));
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).startsWith("gateway: " + message + "\n");
        assertThat(r.err()).doesNotContain("aaaaaaaaa", "bbbbbbbbb");
    }

    @Test
    void helpListsTheNewFlags() {
        MainRunner r = MainRunner.complete("gateway", "--help");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).contains("--admin HOST:PORT", "--admin-token TOKEN", "--access-log text|json");
    }

    @Test
    void servesTheAdminEndpointWithTheGatewaysMetrics() throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (TcpEchoServer echo = TcpEchoServer.start();
             MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0", "--backend", echo.address(),
                     "--admin", "127.0.0.1:0", "--admin-token", TOKEN, "--access-log", "text")) {
            int port = r.awaitPort("gateway: listening on ");
            int adminPort = r.awaitPort("gateway: admin endpoint on http://");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write("ping".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                assertThat(new String(in.readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
            }
            URI metrics = URI.create("http://127.0.0.1:" + adminPort + "/metrics");
            HttpResponse<String> refused = client.send(HttpRequest.newBuilder(metrics).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(401);
            HttpRequest authorized = HttpRequest.newBuilder(metrics).header("Authorization", "Bearer " + TOKEN).build();
            Await.until("the session is counted", () -> {
                PrometheusChecker m = PrometheusChecker.check(scrape(client, authorized));
                return m.value("lodestone_frontend_bytes_out_total", "frontend", "gateway") == 4
                        && m.value("lodestone_server_connections_total", "backend", "backend", "server", "s1") == 1;
            });
            assertThat(r.stop()).isZero();
            // the access log line is printed alone on standard output, not through the logging provider
            assertThat(r.out().lines().filter(l -> l.contains(" gateway backend/s1 "))).singleElement()
                    .satisfies(l -> assertThat(l).startsWith("127.0.0.1:").contains(" - 4 4 -- \"-\""));
        }
    }

    private static String scrape(HttpClient client, HttpRequest request) {
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
