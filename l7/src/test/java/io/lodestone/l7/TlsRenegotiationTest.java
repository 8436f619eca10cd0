package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.pkitesting.X509Bundle;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An HTTPS frontend closes a TLS 1.2 connection whose client asks for a renegotiation after a
 * request, with either provider, and goes on serving other clients.
 */
class TlsRenegotiationTest {

    private static X509Bundle ca;
    private static X509Bundle cert;
    private static RecordingBackend backend;
    private ServerTls tls;
    private Proxy proxy;

    @BeforeAll
    static void certificates() throws Exception {
        ca = TlsPki.ca();
        cert = TlsPki.server(ca, "www.example");
        backend = RecordingBackend.start("b");
    }

    @AfterAll
    static void closeBackend() throws Exception {
        backend.close();
    }

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
        if (tls != null) {
            tls.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void clientRenegotiationClosesTheConnection(TlsProvider provider) throws Exception {
        tls = ServerTls.builder().provider(provider)
                .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), Arrays.asList(cert.getCertificatePath())))
                .alpn("h2", "http/1.1")
                .build();
        proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("tls").tls(tls).defaultBackend("app"))
                .build();
        proxy.start();
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, ca.toTrustManagerFactory().getTrustManagers(), null);
        try (SSLSocket s = tls12(client, proxy.port())) {
            assertThat(get(s)).startsWith("HTTP/1.1 200 ");
            assertThatThrownBy(() -> {
                s.startHandshake();
                get(s);
            }).isInstanceOf(IOException.class).isNotInstanceOf(SocketTimeoutException.class);
        }
        try (SSLSocket other = tls12(client, proxy.port())) {
            assertThat(get(other)).startsWith("HTTP/1.1 200 ");
        }
    }

    private static SSLSocket tls12(SSLContext ctx, int port) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
        s.setEnabledProtocols(new String[] {"TLSv1.2"});
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    /** Sends a GET and reads the response (head and content-length body); an early end of stream is an {@link EOFException}. */
    private static String get(SSLSocket s) throws IOException {
        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: www.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (head.indexOf("\r\n\r\n") < 0) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("closed after " + head.length() + " bytes of the response head");
            }
            head.append((char) c);
        }
        String h = head.toString();
        int at = h.toLowerCase(java.util.Locale.ROOT).indexOf("content-length:");
        if (at >= 0) {
            int length = Integer.parseInt(h.substring(at + 15, h.indexOf('\r', at)).trim());
            if (in.readNBytes(length).length != length) {
                throw new EOFException("closed in the response body");
            }
        }
        return h;
    }
}
