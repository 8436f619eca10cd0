package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.CapturingLogger;
import java.io.IOException;
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
