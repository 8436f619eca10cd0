package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** HTTP/2 clients that stop reading their responses, then leave: what the proxy keeps for them. */
class Http2SlowClientTest {

    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    /**
     * A server that answers every request with a body of 1 GiB, written until the proxy stops taking
     * it; {@code ended} counts the connections that ended (the proxy closed them).
     */
    private static RawBackend endlessServer(AtomicInteger ended) throws IOException {
        return new RawBackend((s, n) -> {
            try {
                InputStream in = s.getInputStream();
                if (RawBackend.nextHead(in) == null) {
                    return;
                }
                writeEndless(s.getOutputStream());
            } finally {
                ended.incrementAndGet();
            }
        });
    }

    /** Writes a 200 with a body of 1 GiB, until the proxy stops taking it (or closes the connection). */
    private static void writeEndless(OutputStream out) throws IOException {
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        byte[] chunk = new byte[16384];
        for (long sent = 0; sent < 1L << 30; sent += chunk.length) {
            out.write(chunk);
        }
    }

    private void start(RawBackend b) {
        // neither timeout can end the exchanges within the test: only the client's departure can
        proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", b.address()).serverTimeout(Duration.ofHours(1)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).clientTimeout(Duration.ofHours(1)).defaultBackend("app"))
                .build();
        proxy.start();
    }

    /** Opens two streams of the endless response and reads until both have had DATA. */
    private static Socket twoStalledStreams(int port) throws Exception {
        Socket s = new Socket();
        s.setReceiveBufferSize(8192);
        s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port));
        s.setSoTimeout(5000);
        twoStalledStreams(s.getInputStream(), s.getOutputStream());
        return s;
    }

    /**
     * Over a connection's {@code in} and {@code out} (plain or TLS): the preface, a connection window
     * that takes both streams' windows (each stream stalls on its own), two GETs of the endless
     * response; returns once both streams have had DATA.
     */
    static void twoStalledStreams(InputStream in, OutputStream out) throws Exception {
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(Http2Test.frame(0, 4, 0, new byte[0]));
        out.write(Http2Test.frame(0, 8, 0, new byte[] {0, 0x10, 0, 0}));
        out.write(Http2Test.headers(1, true));
        out.write(Http2Test.headers(3, true));
        out.flush();
        boolean data1 = false;
        boolean data3 = false;
        while (!data1 || !data3) {
            Http2Test.Frame f = Http2Test.Frame.read(in);
            assertThat(f).as("a frame").isNotNull();
            data1 |= f.type() == 0 && f.stream() == 1;
            data3 |= f.type() == 0 && f.stream() == 3;
        }
    }

    @Test
    void aClientThatLeavesWithItsStreamsStalledReleasesTheirServerConnections() throws Exception {
        AtomicInteger ended = new AtomicInteger();
        try (RawBackend b = endlessServer(ended)) {
            start(b);
            try (Socket s = twoStalledStreams(proxy.port())) {
                // both streams' windows are used up: the proxy stops reading their servers
                Await.until("both servers sent their response head", () -> b.connections.get() == 2);
            }
            Await.until(Duration.ofSeconds(10), "both server connections closed", () -> ended.get() == 2);
        }
    }

    /**
     * A client that reads nothing, with windows so large that flow control never stops the proxy: its
     * stream is cut at the client timeout ({@code cD}), and the connection, left without a stream,
     * is closed at the keep-alive timeout even though the GOAWAY of that close cannot leave the
     * full socket. Netty's codec closes only once that GOAWAY is written, and with no bound on the
     * wait (the proxy lets a graceful close wait for the streams in flight) such a client held its
     * connection, and the response bytes queued on it, for good.
     */
    @Test
    void aClientThatReadsNothingIsClosedOnceItsStreamsAreCut() throws Exception {
        AtomicInteger ended = new AtomicInteger();
        try (RawBackend b = endlessServer(ended)) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b.address()).serverTimeout(Duration.ofHours(1)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").h2c(true).defaultBackend("app")
                            .clientTimeout(Duration.ofMillis(300)).keepAliveTimeout(Duration.ofMillis(300)))
                    .build();
            proxy.start();
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(4096);
                s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), proxy.port()));
                OutputStream out = s.getOutputStream();
                out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                // SETTINGS_INITIAL_WINDOW_SIZE 2^31-1, and the connection's window as large
                out.write(Http2Test.frame(0, 4, 0, new byte[] {0, 4, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}));
                out.write(Http2Test.frame(0, 8, 0, new byte[] {0x7f, (byte) 0xff, 0, 0}));
                out.write(Http2Test.headers(1, true));
                out.flush();
                assertThat(lines.awaitCount(1).get(0)).as("the stream cut at the client timeout").contains(" cD \"GET / HTTP/2.0\" ");
                Await.until(Duration.ofSeconds(10), "the client connection closed",
                        () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
                Await.until(Duration.ofSeconds(10), "the server connection closed", () -> ended.get() == 1);
            }
        }
    }

    /**
     * A client that ends its side (a FIN) and stays, reading: it can send no WINDOW_UPDATE any more,
     * so its streams, whose windows are used up, can never finish. They are reset at once ({@code
     * CANCEL}), logged as the client's abort during the data ({@code CD}), and their server
     * connections close; they used to wait for the client timeout (an hour here).
     */
    @Test
    void aClientThatEndsItsSideWhileStillReadingHasItsStalledStreamsResetAtOnce() throws Exception {
        AtomicInteger ended = new AtomicInteger();
        try (RawBackend b = endlessServer(ended)) {
            start(b);
            try (Socket s = twoStalledStreams(proxy.port())) {
                Await.until("both servers sent their response head", () -> b.connections.get() == 2);
                s.shutdownOutput();
                java.util.Set<Integer> reset = new java.util.HashSet<>();
                while (reset.size() < 2) {
                    Http2Test.Frame f = Http2Test.Frame.read(s.getInputStream());
                    assertThat(f).as("a frame before both streams were reset").isNotNull();
                    if (f.type() == 3) {
                        assertThat(f.code()).as("the reset's code (CANCEL)").isEqualTo(8);
                        reset.add(f.stream());
                    }
                }
                assertThat(reset).containsExactlyInAnyOrder(1, 3);
                Await.until(Duration.ofSeconds(10), "both server connections closed", () -> ended.get() == 2);
            }
            assertThat(lines.awaitCount(2)).allSatisfy(line -> assertThat(line).contains(" CD \"GET / HTTP/2.0\" "));
        }
    }

    /**
     * A client that sends its requests and its FIN at once, before any response: at the FIN nothing
     * waits for window yet, so it is the later looks ({@code every 100 ms}) that find the endless
     * response stalled and reset it; the small response, which fits the windows, is sent whole and
     * logged as a success.
     */
    @Test
    void aClientThatEndsItsSideRightAfterItsRequestsGetsWhatFitsAndHasTheRestReset() throws Exception {
        AtomicInteger ended = new AtomicInteger();
        try (RawBackend b = new RawBackend((s, n) -> {
            try {
                InputStream in = s.getInputStream();
                String head = RawBackend.nextHead(in);
                if (head == null) {
                    return;
                }
                OutputStream out = s.getOutputStream();
                if (head.startsWith("GET /small ")) {
                    out.write(("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(1000))
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    in.transferTo(OutputStream.nullOutputStream());
                    return;
                }
                writeEndless(out);
            } finally {
                ended.incrementAndGet();
            }
        })) {
            start(b);
            try (Socket s = new Socket()) {
                s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), proxy.port()));
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.write(Http2Test.frame(0, 4, 0, new byte[0]));
                out.write(Http2Test.frame(0, 8, 0, new byte[] {0, 0x10, 0, 0}));
                out.write(Http2Test.headers(1, true));
                // GET http://h/small: :path as a literal of the static table's name
                out.write(Http2Test.frame(3, 1, 0x5, new byte[] {(byte) 0x82, (byte) 0x86, 0x04, 0x06, '/', 's', 'm', 'a', 'l', 'l',
                    0x41, 0x01, 'h'}));
                out.flush();
                s.shutdownOutput();
                int small = 0;
                boolean smallEnded = false;
                boolean reset = false;
                while (!reset || !smallEnded) {
                    Http2Test.Frame f = Http2Test.Frame.read(s.getInputStream());
                    assertThat(f).as("a frame before the end of both streams").isNotNull();
                    if (f.type() == 3) {
                        assertThat(f.stream()).as("the stream reset").isEqualTo(1);
                        assertThat(f.code()).as("the reset's code (CANCEL)").isEqualTo(8);
                        reset = true;
                    } else if (f.type() == 0 && f.stream() == 3) {
                        small += f.payload().length;
                        smallEnded = (f.flags() & 1) != 0;
                    }
                }
                assertThat(small).as("the small response's bytes").isEqualTo(1000);
            }
            Await.until(Duration.ofSeconds(10), "the endless server connection closed", () -> ended.get() >= 1);
            assertThat(lines.await(l -> l.contains("/small"))).contains(" 200 0 1000 -- \"GET /small HTTP/2.0\" ");
            assertThat(lines.await(l -> l.contains("\"GET / HTTP/2.0\""))).contains(" CD \"GET / HTTP/2.0\" ");
        }
    }

    /**
     * Over TLS the client's end is its close_notify, alone or with a FIN after it. On the JDK provider
     * in TLS 1.3 the proxy can still send after it (a half-close): the stalled streams are reset
     * ({@code CANCEL}) as over plain TCP. Netty's OpenSSL engine answers a close_notify with its own
     * at once, after which nothing can be sent: the connection ends there, and its streams with it.
     * Either way both streams are logged {@code CD} and their server connections close.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}, FIN after close_notify: {1}")
    @org.junit.jupiter.params.provider.CsvSource({"JDK, true", "JDK, false", "OPENSSL, true", "OPENSSL, false"})
    void aTlsClientThatEndsItsSideWhileStillReadingHasItsStalledStreamsEnded(TlsProvider provider, boolean fin) throws Exception {
        X509Bundle ca = TlsPki.ca();
        X509Bundle cert = TlsPki.server(ca, "h");
        ServerTls tls = ServerTls.builder().provider(provider).alpn("h2")
                .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), java.util.Arrays.asList(cert.getCertificatePath())))
                .build();
        AtomicInteger ended = new AtomicInteger();
        try (RawBackend b = endlessServer(ended)) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b.address()).serverTimeout(Duration.ofHours(1)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).clientTimeout(Duration.ofHours(1)).defaultBackend("app"))
                    .build();
            proxy.start();
            try (Socket tcp = new Socket()) {
                tcp.setReceiveBufferSize(8192);
                tcp.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), proxy.port()));
                tcp.setSoTimeout(5000);
                SSLSocket client = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(tcp, "127.0.0.1", proxy.port(), fin);
                client.setEnabledProtocols(new String[] {"TLSv1.3"});
                SSLParameters params = client.getSSLParameters();
                params.setApplicationProtocols(new String[] {"h2"});
                client.setSSLParameters(params);
                client.startHandshake();
                assertThat(client.getApplicationProtocol()).isEqualTo("h2");
                twoStalledStreams(client.getInputStream(), client.getOutputStream());
                client.shutdownOutput();
                assertThat(tcp.isOutputShutdown()).as("a FIN went with the close_notify").isEqualTo(fin);
                java.util.Set<Integer> reset = new java.util.HashSet<>();
                for (Http2Test.Frame f; (f = Http2Test.Frame.read(client.getInputStream())) != null && reset.size() < 2; ) {
                    if (f.type() == 3) {
                        assertThat(f.code()).as("the reset's code (CANCEL)").isEqualTo(8);
                        reset.add(f.stream());
                    }
                }
                if (provider == TlsProvider.JDK) {
                    assertThat(reset).as("the streams reset").containsExactlyInAnyOrder(1, 3);
                } else {
                    assertThat(reset).as("nothing sent after the proxy's close_notify").isEmpty();
                }
                Await.until(Duration.ofSeconds(10), "both server connections closed", () -> ended.get() == 2);
            }
            assertThat(lines.awaitCount(2)).allSatisfy(line -> assertThat(line).contains(" CD \"GET / HTTP/2.0\" "));
        }
    }
}
