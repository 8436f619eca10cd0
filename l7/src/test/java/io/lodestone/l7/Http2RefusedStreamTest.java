package io.lodestone.l7;

import static io.lodestone.l7.RefusedRequestLogTest.concat;
import static io.lodestone.l7.RefusedRequestLogTest.hpack;
import static io.lodestone.l7.RefusedRequestLogTest.indexedName;
import static io.lodestone.l7.RefusedRequestLogTest.literal;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.CapturingLogger;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An HTTP/2 stream whose HEADERS the codecs refuse before they make a request of them (HPACK's field
 * validation: an uppercase name, a connection-specific field, a pseudo-header after a regular one,
 * {@code te} other than {@code trailers}; a content-length that END_STREAM contradicts; the stream
 * codec's own checks) is reset, logged {@code PR} with {@code <BADREQ>} as its request (its
 * {@code :method} and {@code :path} when they are known and valid), and counted as an {@code invalid}
 * error of the frontend (not {@code denied}), as a malformed HTTP/1.1 request is; the connection
 * serves the next stream. Raw frames on an h2c connection.
 */
class Http2RefusedStreamTest {

    private static final CapturingLogger LINES = new CapturingLogger();
    private static RecordingBackend backend;
    private static Proxy proxy;

    @BeforeAll
    static void start() {
        backend = RecordingBackend.start("app");
        proxy = Proxy.builder().accessLog(AccessLog.text(LINES))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").h2c(true).defaultBackend("app"))
                .build();
        proxy.start();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
    }

    @Test
    void headersRefusedByHpackValidationAreResetLoggedAndCountedAndTheConnectionGoesOn() throws Exception {
        byte[][] refused = {
            // an uppercase field name
            concat(hpack("a", "/upper"), literal("X-Upper", "1")),
            // connection-specific fields
            concat(hpack("a", "/connection"), literal("connection", "close")),
            concat(hpack("a", "/te-chunked"), literal("transfer-encoding", "chunked")),
            // te other than trailers
            concat(hpack("a", "/te"), literal("te", "gzip")),
            // a pseudo-header after a regular field
            concat(new byte[] {(byte) 0x82, (byte) 0x86}, literal("x-a", "1"), indexedName(4, "/late"), indexedName(1, "a")),
            // content-length 5 on HEADERS that end the stream
            concat(hpack("a", "/length"), literal("content-length", "5")),
        };
        long before = invalid();
        try (Socket s = Http2Test.h2c(proxy.port())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            DefaultHttp2HeadersDecoder responses = new DefaultHttp2HeadersDecoder(false);
            int stream = 1;
            for (byte[] block : refused) {
                assertRefused(out, in, stream, block, "<BADREQ>");
                stream += 2;
                out.write(Http2Test.headers(stream, true));
                out.flush();
                assertThat(Http2Test.statusOrReset(in, stream, responses)).as("the next stream, %d", stream).isEqualTo("200");
                stream += 2;
            }
        }
        assertThat(invalid() - before).isEqualTo(refused.length);
        PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
        assertThat(p.value("lodestone_frontend_errors_total", "frontend", "web", "kind", "invalid")).isEqualTo(invalid());
        assertThat(proxy.metrics().frontend("web").traffic().errors().denied()).as("not a rule's denial").isZero();
    }

    /**
     * The stream codec's own refusals of HEADERS that cannot become a request: two {@code host}
     * fields (the line known), a {@code :method} that is not a token and a whole request without
     * {@code :method}, which the codec takes for trailers ({@code <BADREQ>}).
     */
    @Test
    void headersTheStreamCodecRefusesAreLoggedAndCounted() throws Exception {
        long before = invalid();
        try (Socket s = Http2Test.h2c(proxy.port())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            DefaultHttp2HeadersDecoder responses = new DefaultHttp2HeadersDecoder(false);
            assertRefused(out, in, 1, concat(hpack("a", "/hosts"), literal("host", "a"), literal("host", "a")), "GET /hosts HTTP/2.0");
            assertRefused(out, in, 3, concat(new byte[] {0x02, 0x03, 'G', ' ', 'T', (byte) 0x86}, indexedName(4, "/m"), indexedName(1, "a")),
                    "<BADREQ>");
            assertRefused(out, in, 5, concat(new byte[] {(byte) 0x86}, indexedName(4, "/no-method"), indexedName(1, "a")), "<BADREQ>");
            out.write(Http2Test.headers(7, true));
            out.flush();
            assertThat(Http2Test.statusOrReset(in, 7, responses)).isEqualTo("200");
        }
        assertThat(invalid() - before).isEqualTo(3);
    }

    /**
     * A GET whose HEADERS leave the stream open is held until its next frame; trailers HPACK refuses
     * (an uppercase name) reset it before it went on, and its line is logged.
     */
    @Test
    void aHeldRequestWhoseTrailersAreRefusedIsLoggedWithItsLine() throws Exception {
        long before = invalid();
        int lines = LINES.lines().size();
        try (Socket s = Http2Test.h2c(proxy.port())) {
            OutputStream out = s.getOutputStream();
            out.write(Http2Test.headers(1, false));
            out.write(Http2Test.frame(1, 1, 0x5, literal("X-Bad", "1")));
            out.flush();
            assertThat(Http2Test.resetCode(s.getInputStream(), 1)).isEqualTo(1);
        }
        assertThat(LINES.awaitCount(lines + 1).get(lines)).contains(" PR \"GET / HTTP/2.0\" ");
        assertThat(invalid() - before).isEqualTo(1);
    }

    /**
     * A GET held for its next frame whose client resets the stream, or ends its side, instead: an
     * abort inside the request, logged {@code CR} with the held request's line, as a stream reset
     * inside its body is; it had no log line. Nothing reaches the server.
     */
    @Test
    void aHeldRequestThatItsClientAbandonsIsLoggedWithItsLine() throws Exception {
        int lines = LINES.lines().size();
        int forwarded = backend.requests.size();
        try (Socket s = Http2Test.h2c(proxy.port())) {
            OutputStream out = s.getOutputStream();
            out.write(Http2Test.headers(1, false));
            out.write(Http2Test.frame(1, 3, 0, new byte[] {0, 0, 0, 8}));
            out.write(Http2Test.headers(3, true));
            out.flush();
            assertThat(Http2Test.statusOrReset(s.getInputStream(), 3, new DefaultHttp2HeadersDecoder(false))).isEqualTo("200");
            List<String> logged = LINES.awaitCount(lines + 2).subList(lines, lines + 2);
            assertThat(logged).filteredOn(l -> l.contains(" CR \"GET / HTTP/2.0\" ")).hasSize(1);
            // the client's FIN while a GET is held
            out.write(Http2Test.headers(5, false));
            out.flush();
            s.shutdownOutput();
            assertThat(Http2Test.readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
        }
        assertThat(LINES.awaitCount(lines + 3).get(lines + 2)).contains(" CR \"GET / HTTP/2.0\" ");
        assertThat(backend.requests).hasSize(forwarded + 1);
    }

    /**
     * A stream over the connection's concurrent-stream limit is refused unopened (RST_STREAM
     * {@code REFUSED_STREAM}); it is logged {@code PR} with {@code <BADREQ>} and counted as an
     * {@code invalid} error (over a limit) as other refused streams are; it had neither. A frame on a stream already
     * closed (DATA after the reset) is not another refusal. The stream that held the slot goes on.
     */
    @Test
    void aStreamOverTheConcurrentStreamLimitIsLoggedAndCounted() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        Proxy limited = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("one").h2c(true).http2Limits(1, 16 * 1024, 65535).defaultBackend("app"))
                .build();
        limited.start();
        try (Socket s = Http2Test.h2c(limited.port())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            // the SETTINGS ACK: the proxy applies its limit once the client has taken it
            out.write(Http2Test.frame(0, 4, 0x1, new byte[0]));
            // stream 1 is held for its next frame and takes the one slot
            out.write(Http2Test.frame(1, 1, 0x4, hpack("a", "/first")));
            out.write(Http2Test.frame(3, 1, 0x5, hpack("a", "/second")));
            out.flush();
            assertThat(Http2Test.resetCode(in, 3)).as("RST_STREAM REFUSED_STREAM on 3").isEqualTo(7);
            assertThat(lines.awaitCount(1).get(0)).contains(" one -/- ").contains(" PR \"<BADREQ>\" ");
            // DATA the client had in flight for the refused stream, then stream 1 ends
            out.write(Http2Test.frame(3, 0, 0x1, new byte[] {'x'}));
            out.write(Http2Test.frame(1, 0, 0x1, new byte[0]));
            out.flush();
            assertThat(Http2Test.statusOrReset(in, 1, new DefaultHttp2HeadersDecoder(false))).isEqualTo("200");
            assertThat(lines.awaitCount(2).get(1)).contains(" -- \"GET /first HTTP/2.0\" ");
            assertThat(lines.lines()).hasSize(2);
            assertThat(limited.metrics().frontend("one").traffic().errors().invalid()).isEqualTo(1);
            assertThat(limited.metrics().frontend("one").traffic().errors().denied()).isZero();
            TrafficSnapshot one = limited.metrics().frontend("one").traffic();
            assertThat(one.requests()).as("the refused stream is a request").isEqualTo(2);
            assertThat(one.totalTime().count()).as("with no time sample: it never started").isEqualTo(1);
        } finally {
            limited.close();
        }
    }

    /**
     * A stream the client opens after the proxy's GOAWAY (sent when it drains: its last stream id is
     * the last one it took) is refused unopened with {@code REFUSED_STREAM} as well, but it is no
     * refused request: the GOAWAY and the request crossed, and RFC 9113 (6.8) lets the client retry it
     * elsewhere. It gets no log line and no error; only the stream under way is logged.
     */
    @Test
    void aStreamOpenedAfterTheProxysGoAwayIsNeitherLoggedNorCounted() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        java.util.concurrent.CountDownLatch heads = new java.util.concurrent.CountDownLatch(1);
        try (RawBackend silent = new RawBackend((c, n) -> {
            RawBackend.nextHead(c.getInputStream());
            heads.countDown();
            c.getInputStream().transferTo(OutputStream.nullOutputStream());
        })) {
            Proxy draining = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", silent.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("drain").h2c(true).defaultBackend("app"))
                    .build();
            draining.start();
            Thread closing = new Thread(() -> draining.close(java.time.Duration.ofSeconds(30)));
            try (Socket s = Http2Test.h2c(draining.port())) {
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                out.write(Http2Test.frame(1, 1, 0x5, hpack("a", "/waiting")));
                out.flush();
                assertThat(heads.await(10, java.util.concurrent.TimeUnit.SECONDS)).as("the server got /waiting").isTrue();
                closing.start();
                assertThat(Http2Test.readUntilFrame(in, 7, 0)).as("GOAWAY").isTrue();
                out.write(Http2Test.frame(3, 1, 0x5, hpack("a", "/after-goaway")));
                out.flush();
                assertThat(Http2Test.resetCode(in, 3)).as("RST_STREAM REFUSED_STREAM on 3").isEqualTo(7);
                assertThat(lines.lines()).as("nothing logged for the stream the GOAWAY refused").isEmpty();
                // a reset ends /waiting at once, so the stop does not wait for its drain timeout
                s.setSoLinger(true, 0);
            }
            closing.join(30_000);
            assertThat(closing.isAlive()).as("the proxy stopped").isFalse();
            assertThat(lines.awaitCount(1)).singleElement().asString().contains("\"GET /waiting HTTP/2.0\"");
            assertThat(draining.metrics().frontend("drain").traffic().errors().invalid()).isZero();
            assertThat(draining.metrics().frontend("drain").traffic().requests()).isEqualTo(1);
        }
    }

    /** A DATA frame that contradicts the content-length comes after the request began: its line is logged as it was. */
    @Test
    void aBodyShorterThanItsContentLengthIsLoggedWithItsRequest() throws Exception {
        long before = invalid();
        int lines = LINES.lines().size();
        try (Socket s = Http2Test.h2c(proxy.port())) {
            OutputStream out = s.getOutputStream();
            // :method POST, :scheme http, :path /short, :authority a, content-length 5; then 3 bytes
            out.write(Http2Test.frame(1, 1, 0x4, concat(new byte[] {(byte) 0x83, (byte) 0x86}, indexedName(4, "/short"),
                    indexedName(1, "a"), literal("content-length", "5"))));
            out.write(Http2Test.frame(1, 0, 0x1, new byte[] {'a', 'b', 'c'}));
            out.flush();
            assertThat(Http2Test.resetCode(s.getInputStream(), 1)).isEqualTo(1);
        }
        assertThat(LINES.awaitCount(lines + 1).get(lines)).contains(" PR \"POST /short HTTP/2.0\" ");
        assertThat(invalid() - before).isEqualTo(1);
    }

    /** Sends HEADERS with END_STREAM on {@code stream}, expects RST_STREAM PROTOCOL_ERROR and one log line. */
    private static void assertRefused(OutputStream out, InputStream in, int stream, byte[] block, String request) throws Exception {
        int before = LINES.lines().size();
        out.write(Http2Test.frame(stream, 1, 0x5, block));
        out.flush();
        assertThat(Http2Test.resetCode(in, stream)).as("RST_STREAM PROTOCOL_ERROR on %d", stream).isEqualTo(1);
        String line = LINES.awaitCount(before + 1).get(before);
        assertThat(line).as("stream %d", stream).contains(" PR \"" + request + "\" ");
    }

    private static long invalid() {
        return proxy.metrics().frontend("web").traffic().errors().invalid();
    }

    /**
     * HEADERS whose header list is over the frontend's {@code maxHeaderListSize} (an HPACK bomb too: a
     * small block that references one large indexed field many times) are answered {@code 431} by
     * Netty's codec on a stream of its own, which no stream channel sees: logged {@code PR} with
     * {@code 431} and {@code <BADREQ>}, counted as a request with a 4xx and an {@code invalid} error,
     * as the HTTP/1.1 frontend's 431 is (they were neither logged nor counted). The connection goes on.
     */
    @Test
    void aHeaderListOverTheLimitIsAnswered431LoggedAndCounted() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        Proxy small = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("small").h2c(true).http2Limits(128, 4096, 65535).defaultBackend("app"))
                .build();
        small.start();
        try (Socket s = Http2Test.h2c(small.port())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
            out.write(Http2Test.frame(0, 4, 0x1, new byte[0]));
            // one 4500-byte field: over 4096
            out.write(Http2Test.frame(1, 1, 0x5, concat(hpack("a", "/big"), longLiteral(0x00, "x-big", 4500))));
            out.flush();
            assertThat(Http2Test.statusOrReset(in, 1, decoder)).isEqualTo("431");
            assertThat(lines.awaitCount(1).get(0)).contains(" small -/- ", " 431 0 0 PR \"<BADREQ>\" ");
            // a bomb: a 1000-byte field put in the dynamic table (index 62) on a valid request, then
            // 100 one-byte references to it on the next stream
            out.write(Http2Test.frame(3, 1, 0x5, concat(hpack("a", "/first"), longLiteral(0x40, "x-bomb", 1000))));
            byte[] refs = new byte[100];
            java.util.Arrays.fill(refs, (byte) 0xbe);
            out.write(Http2Test.frame(5, 1, 0x5, concat(hpack("a", "/bomb"), refs)));
            out.flush();
            // stream 5's 431, the proxy's own, may come before stream 3's answer from the server
            assertThat(Http2Test.statusesOrResets(in, decoder, 3, 5)).containsOnly(entry(3, "200"), entry(5, "431"));
            List<String> logged = lines.awaitCount(3);
            assertThat(logged).filteredOn(l -> l.contains(" 431 0 0 PR \"<BADREQ>\" ")).hasSize(2);
            TrafficSnapshot t = small.metrics().frontend("small").traffic();
            assertThat(t.requests()).isEqualTo(3);
            assertThat(t.responses().clientError()).isEqualTo(2);
            assertThat(t.errors().invalid()).isEqualTo(2);
            // a first-byte sample for each answer, the codec's two 431s included (they had none)
            assertThat(t.firstByteTime().count()).isEqualTo(3);
        } finally {
            small.close();
        }
    }

    /** An HPACK literal with a new name ({@code first}: 0x00 without indexing, 0x40 with), its value {@code length} bytes of 'v'. */
    private static byte[] longLiteral(int first, String name, int length) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(first);
        b.write(name.length());
        b.writeBytes(name.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        // a 7-bit prefix integer
        int n = length - 127;
        b.write(127);
        while (n >= 128) {
            b.write(n % 128 + 128);
            n /= 128;
        }
        b.write(n);
        b.writeBytes("v".repeat(length).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return b.toByteArray();
    }
}
