package io.lodestone.examples.snipassthrough;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.route.Decision;
import io.lodestone.core.route.TestRequest;
import io.lodestone.examples.MainRunner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class SniPassthroughTest {

    /** A context that trusts both backends' self-signed certificates (and nothing else). */
    private static SSLContext trusting(X509Certificate... certs) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        for (int i = 0; i < certs.length; i++) {
            ks.setCertificateEntry("c" + i, certs[i]);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private static SSLSocket connect(SSLContext ctx, int port, String sni) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(5000);
        if (sni != null) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(sni)));
            s.setSSLParameters(p);
        }
        s.startHandshake();
        return s;
    }

    /** Sends a GET with Connection: close over the TLS socket and returns the whole answer. */
    private static String get(SSLSocket s, String host, String path) throws IOException {
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) > 0; ) {
            all.write(buf, 0, n);
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    @Test
    void eachNameReachesItsBackendWhichPresentsItsOwnCertificate() throws Exception {
        try (SniPassthrough e = SniPassthrough.start(0)) {
            // a fresh client context per connection: the JDK client would otherwise offer the shop's
            // session to the API (both are 127.0.0.1:port to it)
            X509Certificate[] both = {e.certificate(SniPassthrough.SHOP), e.certificate(SniPassthrough.API)};
            try (SSLSocket s = connect(trusting(both), e.port(), SniPassthrough.SHOP)) {
                assertThat(s.getSession().getPeerCertificates()[0]).isEqualTo(e.certificate(SniPassthrough.SHOP));
                assertThat(get(s, SniPassthrough.SHOP, "/cart")).startsWith("HTTP/1.1 200")
                        .endsWith("hello from shop.example.com over its own TLS: GET /cart\n");
            }
            try (SSLSocket s = connect(trusting(both), e.port(), SniPassthrough.API)) {
                assertThat(s.getSession().getPeerCertificates()[0]).isEqualTo(e.certificate(SniPassthrough.API));
                assertThat(get(s, SniPassthrough.API, "/v1")).endsWith("hello from api.example.com over its own TLS: GET /v1\n");
            }
            assertThat(e.servers().get(0).requests()).isEqualTo(1);
            assertThat(e.servers().get(1).requests()).isEqualTo(1);
            assertThat(e.proxy().route(TestRequest.connection().sni("API.example.com")))
                    .isInstanceOfSatisfying(Decision.Forward.class, f -> assertThat(f.backend()).isEqualTo("api"));
        }
    }

    @Test
    void anotherNameOrNoneIsClosedWithoutReachingABackend() throws Exception {
        try (SniPassthrough e = SniPassthrough.start(0)) {
            SSLContext ctx = trusting(e.certificate(SniPassthrough.SHOP), e.certificate(SniPassthrough.API));
            for (String sni : new String[] {"www.example.com", null}) {
                IOException failure = null;
                try (SSLSocket s = connect(ctx, e.port(), sni)) {
                    assertThat(s.getInputStream().read()).isNegative();
                } catch (IOException closed) {
                    failure = closed;
                }
                assertThat(failure).as(String.valueOf(sni)).isNotNull();
            }
            assertThat(e.servers().get(0).requests() + e.servers().get(1).requests()).isZero();
        }
    }

    @Test
    void runsFromTheExamplesJarCommandLine() throws Exception {
        try (MainRunner r = MainRunner.start("run", SniPassthrough.NAME, "--port=0")) {
            int port = r.awaitPort("sni-passthrough: a gateway on ");
            assertThat(r.awaitOut("Ctrl-C")).contains("curl -kv --resolve shop.example.com:" + port + ":127.0.0.1");
            SSLContext any = SSLContext.getInstance("TLS");
            any.init(null, new javax.net.ssl.TrustManager[] {new TrustAll()}, null);
            try (SSLSocket s = connect(any, port, SniPassthrough.SHOP)) {
                assertThat(get(s, SniPassthrough.SHOP, "/")).endsWith("hello from shop.example.com over its own TLS: GET /\n");
            }
            assertThat(r.stop()).isZero();
        }
    }

    /** The command line's certificates are made inside it, so this one client trusts any. */
    private static final class TrustAll implements javax.net.ssl.X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
