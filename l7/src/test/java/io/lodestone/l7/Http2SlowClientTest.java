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
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
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
import java.util.concurrent.atomic.AtomicLong;
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

    /** The streams of the client that reads nothing: the default SETTINGS_MAX_CONCURRENT_STREAMS. */
    private static final int STREAMS = 128;
    /** Each response's body: more than a stream, the server's socket and the proxy's socket to it hold. */
    private static final int BODY = 256 * 1024;

    /**
     * One client that opens 128 streams of large responses and reads nothing (its socket's receive
     * buffer tiny, no WINDOW_UPDATE): the proxy stops reading each server once the stream holds 16 KiB
     * it cannot send, and reads no more than the stream's room once it cannot send, so what the
     * connection pins in direct memory is bounded by 128 such buffers and the reads before the stall
     * (under 5 MiB, 40 KiB a stream).
     * With Netty's stream water mark (64 KiB) and reads grown to 64 KiB behind it, each stream held
     * about 100 KiB: measured 13 MiB of direct memory (io_uring, epoll and NIO alike), 3.0 to 3.4 MiB
     * now. Meanwhile another client is served; once the first reads, every byte of every response
     * reaches it intact.
     */
    @Test
    void aClientThatReadsNothingPinsAStreamBufferPerStreamThenGetsEveryByte() throws Exception {
        AtomicLong sent = new AtomicLong();
        byte[] body = new byte[BODY];
        for (int i = 0; i < BODY; i++) {
            body[i] = (byte) (i % 251);
        }
        try (RawBackend b = new RawBackend((s, n) -> {
            s.setSendBufferSize(8192);
            InputStream in = s.getInputStream();
            if (RawBackend.nextHead(in) == null) {
                return;
            }
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + BODY + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            for (int at = 0; at < BODY; at += 4096) {
                out.write(body, at, 4096);
                sent.addAndGet(4096);
            }
            out.flush();
            in.transferTo(OutputStream.nullOutputStream());
        })) {
            start(b);
            long before = directMemory();
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(4096);
                s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), proxy.port()));
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.write(Http2Test.frame(0, 4, 0, new byte[0]));
                for (int i = 0; i < STREAMS; i++) {
                    out.write(Http2Test.headers(2 * i + 1, true));
                }
                out.flush();
                Await.until("every server answering", () -> b.connections.get() == STREAMS);
                // the servers block once the proxy stops reading them and their sockets are full: until
                // none has sent more for 300 looks (a millisecond apart)
                long[] last = {-1, 0};
                Await.until(Duration.ofSeconds(30), "the servers stopped by the proxy", () -> {
                    long now = sent.get();
                    last[1] = now == last[0] ? last[1] + 1 : 0;
                    last[0] = now;
                    return last[1] >= 300;
                });
                assertThat(sent.get()).as("what the servers sent").isLessThan((long) STREAMS * BODY);
                long pinned = directMemory() - before;
                assertThat(pinned).as("direct memory held for the client that reads nothing").isLessThan(5L << 20);

                // meanwhile another client gets a whole response
                try (Socket other = new Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
                    other.setSoTimeout(10_000);
                    OutputStream o = other.getOutputStream();
                    o.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    o.write(Http2Test.frame(0, 4, 0, new byte[0]));
                    o.write(Http2Test.headers(1, true));
                    o.flush();
                    readAll(other, 1, body);
                }

                // the first client reads now: every stream's response, whole
                readAll(s, STREAMS, body);
            }
        }
    }

    /**
     * Reads the responses of streams 1, 3... ({@code streams} of them) to their END_STREAM, giving the
     * window back as DATA comes, and checks each body against {@code body}.
     */
    private static void readAll(Socket s, int streams, byte[] body) throws Exception {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        int[] received = new int[streams];
        int ended = 0;
        while (ended < streams) {
            Http2Test.Frame f = Http2Test.Frame.read(in);
            assertThat(f).as("a frame before every stream ended (%d of %d)", ended, streams).isNotNull();
            assertThat(f.type()).as("no RST_STREAM nor GOAWAY").isNotIn(3, 7);
            if (f.type() != 0) {
                continue;
            }
            int k = (f.stream() - 1) / 2;
            byte[] data = f.payload();
            for (int i = 0; i < data.length; i++) {
                if (data[i] != body[received[k] + i]) {
                    throw new AssertionError("stream " + f.stream() + ": byte " + (received[k] + i) + " differs");
                }
            }
            received[k] += data.length;
            if (data.length > 0) {
                byte[] increment = {(byte) (data.length >>> 24), (byte) (data.length >>> 16), (byte) (data.length >>> 8), (byte) data.length};
                out.write(Http2Test.frame(0, 8, 0, increment));
                if (!f.endsStream()) {
                    out.write(Http2Test.frame(f.stream(), 8, 0, increment));
                }
                out.flush();
            }
            if (f.endsStream()) {
                assertThat(received[k]).as("stream %d's body", f.stream()).isEqualTo(body.length);
                ended++;
            }
        }
    }

    /** The direct memory Netty's default allocator (the proxy's) holds. */
    private static long directMemory() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory();
    }
}
