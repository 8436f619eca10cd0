package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.CapturingLogger;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The access log line of a request the proxy refuses before it forwards anything, as HAProxy writes
 * it: the request line when it was whole and valid and only a later part was not (a header, the
 * framing, a limit of the header section), escaped as every logged line is; {@code <BADREQ>} when
 * there was no request line to parse. Raw sockets, one connection per request.
 */
class RefusedRequestLogTest {

    private static final CapturingLogger LINES = new CapturingLogger();
    private static RecordingBackend backend;
    private static Proxy proxy;

    @BeforeAll
    static void start() {
        backend = RecordingBackend.start("app");
        proxy = Proxy.builder().accessLog(AccessLog.text(LINES))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                        .maxHeaderSize(1024).maxInitialLineLength(256).maxBodySize(1000))
                .build();
        proxy.start();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
    }

    /** Sends {@code raw} on a new connection, expects {@code status}, and returns the request field of its log line. */
    private static String refused(String raw, int status) throws IOException {
        int before = LINES.lines().size();
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(c.send(raw).read().status()).isEqualTo(status);
        }
        String line = LINES.awaitCount(before + 1).get(before);
        assertThat(line).contains(" " + status + " ", " PR \"");
        int open = line.indexOf(" PR \"") + 4;
        return line.substring(open, line.lastIndexOf("\" ") + 1);
    }

    @Test
    void aBadHeaderAfterAValidRequestLineLogsTheLine() throws IOException {
        assertThat(refused("GET /bad-header?x=1 HTTP/1.1\r\nHost: a\r\nBad Header: v\r\n\r\n", 400))
                .isEqualTo("\"GET /bad-header?x=1 HTTP/1.1\"");
        assertThat(refused("POST /ten HTTP/1.0\r\nX: a\u0001b\r\n\r\n", 400)).isEqualTo("\"POST /ten HTTP/1.0\"");
        assertThat(refused("GET /lf HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400)).isEqualTo("\"GET /lf HTTP/1.1\"");
    }

    @Test
    void badFramingOrALimitOfTheHeadersLogsTheLine() throws IOException {
        assertThat(refused("GET /no-host HTTP/1.1\r\nX: y\r\n\r\n", 400)).isEqualTo("\"GET /no-host HTTP/1.1\"");
        assertThat(refused("POST /both HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400))
                .isEqualTo("\"POST /both HTTP/1.1\"");
        assertThat(refused("POST /large HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413)).isEqualTo("\"POST /large HTTP/1.1\"");
        // refused as soon as the header section passes the limit, before its end has come
        assertThat(refused("GET /headers HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(3000), 431))
                .isEqualTo("\"GET /headers HTTP/1.1\"");
    }

    /** A target may hold a quote or a backslash (visible ASCII); the line escapes them as it escapes any request line. */
    @Test
    void theLoggedLineIsEscaped() throws IOException {
        assertThat(refused("GET /q\"x\\y HTTP/1.1\r\nHost: a\r\nBad Header: v\r\n\r\n", 400)).isEqualTo("\"GET /q\\\"x\\\\y HTTP/1.1\"");
    }

    /**
     * HTTP/2 has no request line, but its {@code :method} and {@code :path} are one: a stream refused for
     * its {@code :authority} (as HTTP/1.1 for its Host) or for a limit of its header fields logs them;
     * one refused for its {@code :path} logs {@code <BADREQ>}, as HTTP/1.1 does for a bad target.
     */
    @Test
    void anHttp2RequestRefusedForAHeaderLogsItsMethodAndPath() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        Proxy h2 = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("h2").h2c(true).maxHeaderCount(4).defaultBackend("app"))
                .build();
        h2.start();
        try (Socket s = Http2Test.h2c(h2.port())) {
            OutputStream out = s.getOutputStream();
            // :method GET, :scheme http, :path /authority, :authority a:b:c (not uri-host [":" port])
            out.write(Http2Test.frame(1, 1, 0x5, hpack("a:b:c", "/authority")));
            out.flush();
            assertThat(Http2Test.streamFrames(s.getInputStream(), 1)).first().isEqualTo(1);
            assertThat(request(lines.awaitCount(1).get(0), 400)).isEqualTo("\"GET /authority HTTP/2.0\"");
            // five header fields, one over the frontend's maxHeaderCount of 4
            byte[] fields = concat(hpack("a", "/count"), literal("x-a", "1"), literal("x-b", "2"),
                    literal("x-c", "3"), literal("x-d", "4"));
            out.write(Http2Test.frame(3, 1, 0x5, fields));
            out.flush();
            assertThat(Http2Test.streamFrames(s.getInputStream(), 3)).first().isEqualTo(1);
            assertThat(request(lines.awaitCount(2).get(1), 431)).isEqualTo("\"GET /count HTTP/2.0\"");
            // a :path that is not origin form: no request line
            out.write(Http2Test.frame(5, 1, 0x5, hpack("a", "relative")));
            out.flush();
            assertThat(Http2Test.streamFrames(s.getInputStream(), 5)).first().isEqualTo(1);
            assertThat(request(lines.awaitCount(3).get(2), 400)).isEqualTo("\"<BADREQ>\"");
        } finally {
            h2.close();
        }
        assertThat(backend.requests).as("requests that reached the server").isEmpty();
    }

    /** HPACK for :method GET, :scheme http, then :path {@code path} and :authority {@code authority} as literals without indexing. */
    static byte[] hpack(String authority, String path) {
        return concat(new byte[] {(byte) 0x82, (byte) 0x86}, indexedName(4, path), indexedName(1, authority));
    }

    static byte[] indexedName(int index, String value) {
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        return concat(new byte[] {(byte) index, (byte) v.length}, v);
    }

    static byte[] literal(String name, String value) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        return concat(new byte[] {0, (byte) n.length}, n, new byte[] {(byte) v.length}, v);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int i = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, i, p.length);
            i += p.length;
        }
        return out;
    }

    /** The request field of a log line of a refused request answered {@code status}. */
    private static String request(String line, int status) {
        assertThat(line).contains(" " + status + " ", " PR \"");
        int open = line.indexOf(" PR \"") + 4;
        return line.substring(open, line.lastIndexOf("\" ") + 1);
    }

    @Test
    void noValidRequestLineLogsBadreq() throws IOException {
        assertThat(refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400)).isEqualTo("\"<BADREQ>\"");
        assertThat(refused("garbage\r\nHost: a\r\n\r\n", 400)).isEqualTo("\"<BADREQ>\"");
        assertThat(refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505)).isEqualTo("\"<BADREQ>\"");
        assertThat(refused("GET /" + "u".repeat(300) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414)).isEqualTo("\"<BADREQ>\"");
        // the line is bad, the header section over its limit too: still no line to log
        assertThat(refused("GET /a b HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(3000), 431)).isEqualTo("\"<BADREQ>\"");
        assertThat(backend.requests).as("requests that reached the server").isEmpty();
    }
}
