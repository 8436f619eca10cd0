package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.TestTls;
import io.netty.pkitesting.X509Bundle;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway launcher's TLS flags end to end: HTTPS and HTTP/2 terminated, TCP terminated, passthrough by SNI. */
class GatewayTlsTest {

    private static X509Bundle ca;
    private static EmbeddedHttpServer web;

    @TempDir
    static Path dir;

    private static Path cert;
    private static Path key;

    @BeforeAll
    static void setUp() throws Exception {
        ca = TestTls.ca();
        Path[] pem = TestTls.writePem(TestTls.server(ca, "gateway.example"), dir, "gateway");
        cert = pem[0];
        key = pem[1];
        web = EmbeddedHttpServer.start("web", "127.0.0.1", 0);
    }

    @AfterAll
    static void tearDown() {
        web.close();
    }

    /** One HTTPS GET; over HTTP/1.1 with Connection: close, so no idle connection holds the gateway's graceful close. */
    private static HttpResponse<String> get(HttpClient.Version version, int port, String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(version).sslContext(TestTls.clientContext(ca)).build();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (version == HttpClient.Version.HTTP_1_1) {
            request.header("Connection", "close");
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void httpModeTerminatesTlsAndSpeaksHttp2ByAlpnAndHttp11() throws Exception {
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", web.hostPort(), "--tls-cert", cert.toString(), "--tls-key", key.toString())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("(http, roundrobin)", "; TLS terminated with " + cert);
            HttpResponse<String> h2 = get(HttpClient.Version.HTTP_2, port, "/over/h2");
            assertThat(h2.statusCode()).isEqualTo(200);
            assertThat(h2.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(h2.body()).isEqualTo("hello from web: GET /over/h2\n");
            HttpResponse<String> h1 = get(HttpClient.Version.HTTP_1_1, port, "/over/h1");
            assertThat(h1.statusCode()).isEqualTo(200);
            assertThat(h1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
            assertThat(h1.body()).isEqualTo("hello from web: GET /over/h1\n");
            // the HTTP/2 connection stays open and idle; draining sends GOAWAY and closes it at once,
            // well before the 10 s drain timeout
            long start = System.nanoTime();
            assertThat(r.stop()).isZero();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void tcpModeTerminatesTlsAndRelaysPlaintext() throws Exception {
        try (MainRunner r = MainRunner.start("gateway", "--mode", "tcp", "--listen", "127.0.0.1:0",
                "--backend", web.hostPort(), "--tls-cert=" + cert, "--tls-key=" + key)) {
            int port = r.awaitPort("gateway: listening on ");
            HttpResponse<String> response = get(HttpClient.Version.HTTP_1_1, port, "/relayed");
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello from web: GET /relayed\n");
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void sniPassesTlsThroughToTheServerOfEachNameAndTheRestToTheBackend() throws Exception {
        try (TestTls.EchoServer shop = new TestTls.EchoServer(TestTls.server(ca, "shop.example"));
             TestTls.EchoServer api = new TestTls.EchoServer(TestTls.server(ca, "api.example"));
             TestTls.EchoServer other = new TestTls.EchoServer(TestTls.server(ca, "other.example"));
             MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0", "--backend", other.hostPort(),
                     "--sni", "shop.example=" + shop.hostPort(), "--sni=API.example=" + api.hostPort())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; SNI shop.example -> " + shop.hostPort(), "; SNI api.example -> " + api.hostPort());
            // each backend presents its own certificate: the gateway holds no key and never terminates
            try (SSLSocket s = TestTls.connect(ca, port, "shop.example")) {
                assertThat(TestTls.peerName(s)).isEqualTo("CN=shop.example");
                assertThat(TestTls.echo(s, "to the shop")).isEqualTo("to the shop");
            }
            try (SSLSocket s = TestTls.connect(ca, port, "api.example")) {
                assertThat(TestTls.peerName(s)).isEqualTo("CN=api.example");
                assertThat(TestTls.echo(s, "to the api")).isEqualTo("to the api");
            }
            try (SSLSocket s = TestTls.connect(ca, port, "unknown.example")) {
                assertThat(TestTls.peerName(s)).isEqualTo("CN=other.example");
                assertThat(TestTls.echo(s, "to the rest")).isEqualTo("to the rest");
            }
            assertThat(shop.accepted.get()).isEqualTo(1);
            assertThat(api.accepted.get()).isEqualTo(1);
            assertThat(other.accepted.get()).isEqualTo(1);
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void timeoutClientHelloClosesAClientThatSendsNoClientHelloAndPassesTheOthersThrough() throws Exception {
        try (TestTls.EchoServer shop = new TestTls.EchoServer(TestTls.server(ca, "shop.example"));
             MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0", "--backend", shop.hostPort(),
                     "--sni", "shop.example=" + shop.hostPort(), "--timeout-client-hello", "300ms", "--access-log", "text")) {
            int port = r.awaitPort("gateway: listening on ");
            long start = System.nanoTime();
            try (Socket silent = new Socket("127.0.0.1", port)) {
                // within the read timeout, below the default ClientHello timeout (5 s): only the flag's closes it
                silent.setSoTimeout(3000);
                assertThat(silent.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(r.awaitOut(" cR ")).contains(" gateway -/- ");
            try (SSLSocket s = TestTls.connect(ca, port, "shop.example")) {
                assertThat(TestTls.echo(s, "in time")).isEqualTo("in time");
            }
            assertThat(shop.accepted.get()).isEqualTo(1);
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void aCertificateFileThatDoesNotLoadExits2NamingTheFlagAndTheFile() {
        Path missing = dir.resolve("missing.crt");
        MainRunner r = MainRunner.complete("gateway", "--mode", "http", "--listen", "127.0.0.1:0", "--backend", web.hostPort(),
                "--tls-cert", missing.toString(), "--tls-key", key.toString());
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).startsWith("gateway: --tls-cert: " + missing + " (cannot load it: ")
                .contains("Try 'gateway --help'.");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aKeyThatDoesNotMatchTheCertificateExits2NamingTheKeyFlagAndFile() throws Exception {
        Path[] otherPem = TestTls.writePem(TestTls.server(ca, "other.example"), dir, "other");
        MainRunner r = MainRunner.complete("gateway", "--listen", "127.0.0.1:0", "--backend", web.hostPort(),
                "--tls-cert", cert.toString(), "--tls-key", otherPem[1].toString());
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).startsWith("gateway: --tls-key: " + otherPem[1] + " (cannot load it: ")
                .contains("does not match");
        Path notPem = otherPem[0];
        MainRunner r2 = MainRunner.complete("gateway", "--listen", "127.0.0.1:0", "--backend", web.hostPort(),
                "--tls-cert", cert.toString(), "--tls-key", notPem.toString());
        assertThat(r2.awaitStatus()).isEqualTo(2);
        assertThat(r2.err()).startsWith("gateway: --tls-key: " + notPem + " (cannot load it: ");
    }
}
