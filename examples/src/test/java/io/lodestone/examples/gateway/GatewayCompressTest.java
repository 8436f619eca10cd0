package io.lodestone.examples.gateway;

import static io.lodestone.examples.gateway.GatewayOptionsTest.assertExits2;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Proxy;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.Compression;
import io.lodestone.l7.HttpFrontend;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** The launcher's {@code --compress} switch: parsing, the frontend it builds, and compressed responses. */
class GatewayCompressTest {

    private static final String BODY = "a line of text the gateway compresses\n".repeat(100);

    @Test
    void compressIsASwitchWithoutAValue() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--compress",
                "--backend", "127.0.0.1:1");
        assertThat(o.compress()).isTrue();
        assertThat(o.backends()).hasSize(1);
        assertThat(o.toString()).endsWith(" compress}");
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--compress")
                .compress()).isTrue();
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1").compress())
                .isFalse();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class,
                    f -> assertThat(f.compression()).isSameAs(Compression.defaults()));
        }
    }

    @Test
    void misusedCompressExits2NamingIt() {
        assertExits2("--compress: yes (expected: no value; --compress is a switch)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--compress=yes");
        assertExits2("--compress: on (given more than once)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--compress", "--compress");
        assertExits2("--compress: on (only in http mode: add --mode http)",
                "--listen", "127.0.0.1:0", "--backend", "h:1", "--compress");
        // a switch is not taken for a value: the flag before it still misses its own
        assertExits2("--listen: missing value", "--mode", "http", "--listen", "--compress", "--backend", "h:1");
    }

    @Test
    void theGatewayCompressesForClientsThatAcceptIt() throws Exception {
        EmbeddedHttpServer server = EmbeddedHttpServer.start("one", "127.0.0.1", 0,
                request -> EmbeddedHttpServer.Reply.text(BODY));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", server.hostPort(), "--compress")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; compressing (gzip, deflate");
            HttpRequest gzip = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t"))
                    .header("Accept-Encoding", "gzip").timeout(Duration.ofSeconds(10)).build();
            HttpResponse<byte[]> compressed = client.send(gzip, HttpResponse.BodyHandlers.ofByteArray());
            assertThat(compressed.statusCode()).isEqualTo(200);
            assertThat(compressed.headers().firstValue("content-encoding")).contains("gzip");
            assertThat(compressed.headers().firstValue("vary")).contains("Accept-Encoding");
            try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed.body()))) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(BODY);
            }
            HttpRequest plain = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/t"))
                    .timeout(Duration.ofSeconds(10)).build();
            HttpResponse<String> identity = client.send(plain, HttpResponse.BodyHandlers.ofString());
            assertThat(identity.headers().firstValue("content-encoding")).isEmpty();
            assertThat(identity.body()).isEqualTo(BODY);
            assertThat(r.stop()).isZero();
        } finally {
            server.close();
        }
    }

    @Test
    void helpListsTheSwitch() {
        MainRunner r = MainRunner.complete("gateway", "--help");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).contains("  --compress               http: compress responses");
    }
}
