package io.lodestone.examples.https;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import io.lodestone.examples.RawGet;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class HttpsExampleTest {

    /** A JDK client that trusts only the example's self-signed certificate. */
    static HttpClient client(X509Certificate trusted, HttpClient.Version version, HttpClient.Redirect redirect) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("example", trusted);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ctx).version(version).followRedirects(redirect)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static HttpResponse<String> get(HttpClient client, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void http2AndHttp11OverTlsReachBothBackendsWithHsts() throws Exception {
        try (HttpsExample e = HttpsExample.start(0, 0)) {
            HttpClient h2 = client(e.certificate(), HttpClient.Version.HTTP_2, HttpClient.Redirect.NEVER);
            Set<String> servedBy = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = get(h2, "https://127.0.0.1:" + e.httpsPort() + "/hello?i=" + i);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(r.body()).endsWith(": GET /hello?i=" + i + " (X-Forwarded-Proto: https)\n");
                assertThat(r.headers().firstValue("strict-transport-security")).contains("max-age=31536000");
                servedBy.add(r.body().substring("hello from ".length(), r.body().indexOf(':')));
            }
            assertThat(servedBy).containsExactlyInAnyOrder("web1", "web2");
            HttpResponse<String> h1 = get(client(e.certificate(), HttpClient.Version.HTTP_1_1, HttpClient.Redirect.NEVER),
                    "https://localhost:" + e.httpsPort() + "/one");
            assertThat(h1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
            assertThat(h1.body()).endsWith(": GET /one (X-Forwarded-Proto: https)\n");
        }
    }

    @Test
    void plainHttpIsRedirectedToTheHttpsPortAndAClientThatFollowsGetsThere() throws Exception {
        try (HttpsExample e = HttpsExample.start(0, 0)) {
            RawGet.Response r = RawGet.get(e.httpPort(), "localhost:" + e.httpPort(), "/a/b?c=d");
            assertThat(r.status()).isEqualTo(301);
            assertThat(r.header("location")).isEqualTo("https://localhost:" + e.httpsPort() + "/a/b?c=d");
            assertThat(e.servers().stream().mapToLong(s -> s.requests()).sum()).isZero();

            HttpResponse<String> followed = get(client(e.certificate(), HttpClient.Version.HTTP_2, HttpClient.Redirect.NORMAL),
                    "http://127.0.0.1:" + e.httpPort() + "/follow");
            assertThat(followed.statusCode()).isEqualTo(200);
            assertThat(followed.uri().toString()).isEqualTo("https://127.0.0.1:" + e.httpsPort() + "/follow");
            assertThat(followed.body()).endsWith(": GET /follow (X-Forwarded-Proto: https)\n");
        }
    }

    @Test
    void runsFromTheExamplesJarCommandLine() throws Exception {
        try (MainRunner r = MainRunner.start("run", HttpsExample.NAME, "--port=0", "--http-port", "0")) {
            int https = r.awaitPort("https: a gateway on ");
            int http = r.awaitPort("http: a redirect on ");
            assertThat(RawGet.get(http, "localhost:" + http, "/x").header("location")).isEqualTo("https://localhost:" + https + "/x");
            assertThat(r.awaitOut("Ctrl-C")).contains("curl -k --http2 https://localhost:" + https + "/hello");
            assertThat(r.stop()).isZero();
        }
        MainRunner bad = MainRunner.complete("run", HttpsExample.NAME, "--http-port", "70000");
        assertThat(bad.awaitStatus()).isEqualTo(2);
        assertThat(bad.err()).startsWith("https: --http-port: 70000 (expected: a port in 0..65535)");
    }
}
