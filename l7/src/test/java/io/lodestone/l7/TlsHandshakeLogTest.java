package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An HTTPS frontend accounts a connection whose TLS handshake does not succeed as the TCP engine
 * does: one access log line (PR, cR or CR) and the frontend's denied or timeout error; a connection
 * whose handshake succeeds gets none. Each case on a frontend offering h2 and http/1.1 by ALPN, and
 * on an http/1.1-only one.
 */
class TlsHandshakeLogTest {

    private static X509Bundle ca;
    private static X509Bundle cert;
    private static RecordingBackend backend;
    private final CapturingLogger lines = new CapturingLogger();
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

    private int start(boolean h2, Duration handshakeTimeout) {
        tls = ServerTls.builder()
                .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), Arrays.asList(cert.getCertificatePath())))
                .alpn(h2 ? new String[] {"h2", "http/1.1"} : new String[] {"http/1.1"})
                .handshakeTimeout(handshakeTimeout)
                .build();
        proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("tls").tls(tls).defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    private ErrorCounts errors() {
        return proxy.metrics().frontend("tls").traffic().errors();
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Reads until the proxy closes the connection (a FIN, maybe after a TLS alert, or a reset); times out otherwise. */
    private static boolean closedByPeer(Socket s) throws IOException {
        try {
            s.getInputStream().readAllBytes();
        } catch (SocketException reset) {
            // a reset is a close too
        }
        return true;
    }

    @ParameterizedTest(name = "h2 offered: {0}")
    @ValueSource(booleans = {true, false})
    void plainHttpOnTheTlsPortIsLoggedPrAndCountedDenied(boolean h2) throws IOException {
        int port = start(h2, Duration.ofSeconds(10));
        try (Socket s = connect(port)) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: www.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(closedByPeer(s)).isTrue();
        }
        String line = lines.await(l -> l.contains(" tls "));
        assertThat(line).contains(" tls -/- ").contains(" - 0 0 PR \"-\" ");
        Await.until("the denied error", () -> errors().denied() == 1);
        assertThat(errors().total()).isEqualTo(1);
        assertThat(lines.lines()).hasSize(1);
    }

    @ParameterizedTest(name = "h2 offered: {0}")
    @ValueSource(booleans = {true, false})
    void aSilentClientIsClosedAtTheHandshakeTimeoutLoggedCrAndCountedTimeout(boolean h2) throws IOException {
        int port = start(h2, Duration.ofMillis(200));
        try (Socket s = connect(port)) {
            assertThat(closedByPeer(s)).isTrue();
        }
        assertThat(lines.await(l -> l.contains(" tls "))).contains(" tls -/- ").contains(" cR \"-\" ");
        Await.until("the timeout error", () -> errors().timeout() == 1);
        assertThat(errors().total()).isEqualTo(1);
        assertThat(lines.lines()).hasSize(1);
    }

    /**
     * A client that leaves in the middle of its handshake: after two bytes of a ClientHello record
     * announcing 80 (the SNI handler is still reading it), or after a whole ClientHello (the TLS
     * handler is under way).
     */
    @ParameterizedTest(name = "h2 offered: {0}, whole ClientHello sent: {1}")
    @CsvSource({"true,false", "false,false", "true,true", "false,true"})
    void aClientThatLeavesMidHandshakeIsLoggedCrAndCountsNoError(boolean h2, boolean wholeHello) throws Exception {
        int port = start(h2, Duration.ofSeconds(10));
        try (Socket s = connect(port)) {
            OutputStream out = s.getOutputStream();
            out.write(wholeHello ? clientHello() : new byte[] {0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0x00});
            out.flush();
        }
        assertThat(lines.await(l -> l.contains(" tls "))).contains(" tls -/- ").contains(" CR \"-\" ");
        Await.until("the connection closed", () -> proxy.metrics().frontend("tls").traffic().currentConnections() == 0);
        assertThat(errors().total()).isZero();
        assertThat(lines.lines()).hasSize(1);
    }

    @ParameterizedTest(name = "h2 offered: {0}")
    @ValueSource(booleans = {true, false})
    void aClientWithNoSharedCipherIsLoggedPrAndCountedDenied(boolean h2) throws Exception {
        int port = start(h2, Duration.ofSeconds(10));
        try (SSLSocket s = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            // the server's certificate is an EC one: an RSA-only suite cannot be agreed
            s.setEnabledProtocols(new String[] {"TLSv1.2"});
            s.setEnabledCipherSuites(new String[] {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"});
            assertThatThrownBy(s::startHandshake).isInstanceOf(SSLException.class);
        }
        assertThat(lines.await(l -> l.contains(" tls "))).contains(" tls -/- ").contains(" PR \"-\" ");
        Await.until("the denied error", () -> errors().denied() == 1);
        assertThat(errors().total()).isEqualTo(1);
        assertThat(lines.lines()).hasSize(1);
    }

    /** The first flight of a JDK TLS client: one ClientHello record. */
    private static byte[] clientHello() throws Exception {
        SSLEngine engine = TlsPki.clientContext(ca).createSSLEngine("www.example", 443);
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.beginHandshake();
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }

    @ParameterizedTest(name = "h2 offered: {0}")
    @ValueSource(booleans = {true, false})
    void aClientThatCompletesItsHandshakeGetsOnlyItsRequestsLogged(boolean h2) throws Exception {
        int port = start(h2, Duration.ofSeconds(10));
        try (SSLSocket s = TlsPki.connect(ca, port, "www.example")) {
            OutputStream out = s.getOutputStream();
            out.write("GET /one HTTP/1.1\r\nHost: www.example\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 200");
        }
        if (h2) {
            HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/two"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        }
        Await.until("the requests logged", () -> lines.lines().size() >= (h2 ? 2 : 1));
        Await.until("the HTTP/1.1 connection closed", () -> proxy.metrics().frontend("tls").traffic().currentConnections() == (h2 ? 1 : 0));
        // a refused connection after them: its line comes after anything the closed one could have added
        try (Socket s = connect(port)) {
            s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(closedByPeer(s)).isTrue();
        }
        lines.await(l -> l.contains(" PR "));
        List<String> logged = lines.lines();
        assertThat(logged).hasSize(h2 ? 3 : 2);
        assertThat(logged.get(0)).contains("\"GET /one HTTP/1.1\"").contains(" -- ");
        if (h2) {
            assertThat(logged.get(1)).contains("\"GET /two HTTP/2.0\"");
        }
        assertThat(errors().total()).isEqualTo(1);
    }
}
