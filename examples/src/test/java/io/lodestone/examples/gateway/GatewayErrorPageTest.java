package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Proxy;
import io.lodestone.core.testing.RefusingPort;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --error-page STATUS=FILE}: parsing, content types, the frontend it builds, and over the wire. */
class GatewayErrorPageTest {

    private static final String[] HTTP = {"--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1"};

    private static GatewayOptions parse(String... more) throws UsageException {
        String[] args = new String[HTTP.length + more.length];
        System.arraycopy(HTTP, 0, args, 0, HTTP.length);
        System.arraycopy(more, 0, args, HTTP.length, more.length);
        return GatewayOptions.parse(args);
    }

    @Test
    void theFlagRepeatsOnePagePerStatusWithATypeFromTheExtension(@TempDir Path dir) throws Exception {
        Path html = Files.writeString(dir.resolve("503.HTML"), "<p>sorry</p>");
        Path json = Files.writeString(dir.resolve("429.json"), "{\"error\":\"slow\"}");
        Path txt = Files.writeString(dir.resolve("502.txt"), "bad gateway");
        Path other = Files.writeString(dir.resolve("504.page"), "slow");
        GatewayOptions o = parse("--error-page", "503=" + html, "--error-page=429=" + json,
                "--error-page", "502=" + txt, "--error-page", "504=" + other);
        assertThat(o.errorPages()).extracting(GatewayOptions.ErrorPageFile::status).containsExactly(503, 429, 502, 504);
        assertThat(o.errorPages()).extracting(GatewayOptions.ErrorPageFile::contentType).containsExactly(
                "text/html; charset=utf-8", "application/json", "text/plain; charset=utf-8", "application/octet-stream");
        assertThat(o.toString()).contains(" errorPages=[503=" + html);
        assertThat(o.forWarmUp(new HostPort("127.0.0.1", 9)).errorPages()).as("the warm-up copy").isEqualTo(o.errorPages());
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class, f -> {
                assertThat(f.errorPages()).containsOnlyKeys(429, 502, 503, 504);
                assertThat(new String(f.errorPages().get(503).body(), StandardCharsets.UTF_8)).isEqualTo("<p>sorry</p>");
                assertThat(f.errorPages().get(429).contentType()).isEqualTo("application/json");
            });
        }
        assertThat(parse().errorPages()).isEmpty();
        assertThat(parse().toString()).doesNotContain("errorPages");
    }

    @Test
    void mistakesExitWithUsageNamingTheFlag(@TempDir Path dir) throws Exception {
        for (String bad : new String[] {"503", "503=", "=x.html", "x=y.html", "200=x.html", "600=x.html"}) {
            assertThatThrownBy(() -> parse("--error-page", bad)).as(bad).isInstanceOf(UsageException.class)
                    .hasMessage("--error-page: " + bad + " (expected: STATUS=FILE with STATUS 400..599, e.g. 503=sorry.html)");
        }
        assertThatThrownBy(() -> parse("--error-page", "503=a.html", "--error-page", "503=b.html"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--error-page: 503=b.html (a page for 503 is given already: 503=a.html)");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--error-page", "503=a.html")).isInstanceOf(UsageException.class)
                .hasMessage("--error-page: 503=a.html (only in http mode: add --mode http)");
        Path missing = dir.resolve("missing.html");
        GatewayOptions o = parse("--error-page", "503=" + missing);
        assertThatThrownBy(() -> Gateway.newProxy(o)).isInstanceOf(UsageException.class)
                .hasMessageStartingWith("--error-page: 503=" + missing + " (cannot load it: ");
        Path big = Files.write(dir.resolve("big.html"), new byte[HttpFrontend.MAX_ERROR_PAGE_SIZE + 1]);
        GatewayOptions tooBig = parse("--error-page", "503=" + big);
        assertThatThrownBy(() -> Gateway.newProxy(tooBig)).isInstanceOf(UsageException.class)
                .hasMessageContaining("65537 bytes; expected: at most 65536");
        MainRunner r = MainRunner.complete("gateway", "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--error-page", "503=" + missing);
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).contains("--error-page: 503=" + missing);
    }

    @Test
    void theGatewayAnswersWithThePagesOverTheWire(@TempDir Path dir) throws Exception {
        Path page = Files.writeString(dir.resolve("502.html"), "<h1>We are on it</h1>\n");
        Path forbidden = Files.writeString(dir.resolve("403.json"), "{\"error\":\"forbidden\"}");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (EmbeddedHttpServer one = EmbeddedHttpServer.start("one", "127.0.0.1", 0);
                MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                        "--backend", one.hostPort(), "--route", "/down=" + RefusingPort.address(), "--retries", "0",
                        "--deny", "/admin", "--error-page", "502=" + page, "--error-page", "403=" + forbidden)) {
            int port = r.awaitPort("gateway: listening on ");
            String base = "http://127.0.0.1:" + port;
            HttpResponse<String> down = client.send(HttpRequest.newBuilder(URI.create(base + "/down/x"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(down.statusCode()).isEqualTo(502);
            assertThat(down.body()).isEqualTo("<h1>We are on it</h1>\n");
            assertThat(down.headers().firstValue("content-type")).contains("text/html; charset=utf-8");
            HttpResponse<String> denied = client.send(HttpRequest.newBuilder(URI.create(base + "/admin"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(denied.statusCode()).isEqualTo(403);
            assertThat(denied.body()).isEqualTo("{\"error\":\"forbidden\"}");
            assertThat(denied.headers().firstValue("content-type")).contains("application/json");
            HttpResponse<String> ok = client.send(HttpRequest.newBuilder(URI.create(base + "/fine"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ok.body()).isEqualTo("hello from one: GET /fine\n");
            assertThat(r.stop()).isZero();
        }
    }
}
