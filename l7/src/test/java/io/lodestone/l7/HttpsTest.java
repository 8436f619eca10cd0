package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.tls.ServerTls;
import io.netty.pkitesting.X509Bundle;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HTTPS frontends: TLS before the HTTP codec, forwarding headers, HSTS, SNI, the HTTP-to-HTTPS redirect. */
class HttpsTest {

    private static X509Bundle ca;
    private static ServerTls tls;
    private Proxy proxy;

    @BeforeAll
    static void certificates() throws Exception {
        ca = TlsPki.ca();
        tls = TlsPki.serverTls(List.of("http/1.1"), TlsPki.server(ca, "www.example"), TlsPki.server(ca, "shop.example"));
    }

    @AfterAll
    static void closeTls() {
        tls.close();
    }

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private int start(Proxy.Builder builder) {
        proxy = builder.build();
        proxy.start();
        return proxy.port();
    }

    @Test
    void anHttpsRequestReachesAPlainBackendWithForwardedProtoHttpsAndGetsHsts() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).forwarded(true)
                            .hsts(Duration.ofDays(365), true).defaultBackend("app")));
            HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/secure"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("b:/secure");
            assertThat(r.headers().firstValue("strict-transport-security")).contains("max-age=31536000; includeSubDomains");
            RecordingBackend.Recorded seen = b.last();
            assertThat(seen.header("x-forwarded-proto")).isEqualTo("https");
            assertThat(seen.header("forwarded")).endsWith(";proto=https");
        }
    }

    @Test
    void sniPicksTheCertificateAndRulesRouteOnIt() throws Exception {
        try (RecordingBackend www = RecordingBackend.start("www"); RecordingBackend shop = RecordingBackend.start("shop")) {
            int port = start(Proxy.builder()
                    .backend(Backend.named("www").server("w1", www.address()))
                    .backend(Backend.named("shop").server("s1", shop.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls)
                            .rule(Rule.when(Acl.sni("shop.example")).use("shop"))
                            .defaultBackend("www")));
            try (SSLSocket s = TlsPki.connect(ca, port, "shop.example")) {
                assertThat(TlsPki.peerName(s)).isEqualTo("CN=shop.example");
                assertThat(get(s, "/cart")).startsWith("HTTP/1.1 200").endsWith("shop:/cart");
            }
            try (SSLSocket s = TlsPki.connect(ca, port, "www.example")) {
                assertThat(TlsPki.peerName(s)).isEqualTo("CN=www.example");
                assertThat(get(s, "/")).startsWith("HTTP/1.1 200").endsWith("www:/");
            }
        }
    }

    @Test
    void anAnswerBeforeTheEndOfAnUploadOverTlsEndsWithCloseNotifyAndTheRestIsDropped() throws Exception {
        try (RawBackend b = RawBackend.answeringAfterTheHead("HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\ndenied")) {
            int port = start(Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).defaultBackend("app")));
            try (SSLSocket s = TlsPki.connect(ca, port, "www.example", "TLSv1.3")) {
                byte[] chunk = new byte[64 * 1024];
                OutputStream out = s.getOutputStream();
                out.write(("POST /upload HTTP/1.1\r\nHost: www.example\r\nContent-Length: " + 16 * chunk.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.write(chunk);
                out.flush();
                String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertThat(response).startsWith("HTTP/1.1 401 ").endsWith("\r\n\r\ndenied");
                // TLS 1.3 closes each direction on its own: the client goes on with its upload, which the proxy drops
                for (int i = 1; i < 16; i++) {
                    out.write(chunk);
                }
                out.flush();
            }
            Await.until(Duration.ofSeconds(10), "the client connection closed",
                    () -> proxy.metrics().frontend(proxy.frontends().get(0).name()).traffic().currentConnections() == 0);
        }
    }

    @Test
    void tls11IsRefused() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).defaultBackend("app")));
            assertThatThrownBy(() -> TlsPki.connect(ca, port, "www.example", "TLSv1.1")).isInstanceOf(SSLException.class);
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void aPlainFrontendRedirectsToHttps() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").rule(Rule.always().redirectScheme(301, "https"))
                            .defaultBackend("app")));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /login?next=%2F HTTP/1.1\r\nHost: www.example\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(301);
                assertThat(r.header("location")).isEqualTo("https://www.example/login?next=%2F");
            }
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void hstsWithoutTlsFailsAtBuild() {
        assertThatThrownBy(() -> HttpFrontend.bind(0).hsts(Duration.ofDays(1), false).defaultBackend("a").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hsts");
    }

    /**
     * h2c is HTTP/2 on a plain-text port; over TLS clients choose HTTP/2 through ALPN. On a TLS frontend
     * h2c(true) was ignored without a word, so a frontend whose ALPN list lacked h2 spoke HTTP/1.1 alone.
     */
    @Test
    void h2cOnATlsFrontendFailsAtBuild() {
        assertThatThrownBy(() -> HttpFrontend.bind(0).tls(tls).h2c(true).defaultBackend("a").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend http-0 h2c: true (expected: only on a plain-text frontend;"
                        + " over TLS, offer h2 in the ServerTls's ALPN list)");
        assertThat(HttpFrontend.bind(0).tls(tls).h2c(false).defaultBackend("a").build().h2c()).isFalse();
    }

    /** Sends a GET with Connection: close and returns the whole answer. */
    private static String get(SSLSocket s, String path) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
}
