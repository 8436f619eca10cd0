package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.l7.HttpFrontend.HeadersWithUnderscores;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A frontend's rule for request header names with an underscore, on HTTP/1.1 requests with a
 * Content-Length body (read from the head scanner), with a chunked body (read by Netty's decoder) and
 * on HTTP/2 streams: forwarded as they are by default, removed with {@code DROP_HEADER}, refused with
 * 400 with {@code REJECT_REQUEST}. The field a client would pass off is {@code X_Real_IP}, which a
 * CGI-style server reads as the {@code X-Real-IP} the proxy sets.
 */
class HeadersWithUnderscoresTest {

    private static final String WITH_LENGTH = "POST /length HTTP/1.1\r\nHost: a\r\nX_Real_IP: 6.6.6.6\r\nX-Custom_Tag: t\r\n"
            + "X-Kept: k\r\nContent-Length: 2\r\n\r\nhi";
    private static final String CHUNKED = "POST /chunked HTTP/1.1\r\nHost: a\r\nX_Real_IP: 6.6.6.6\r\nX-Kept: k\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    /** A chunked request whose trailer section has {@code X_Real_IP}, beside a field that is kept. */
    private static final String UNDERSCORE_TRAILER = "POST /trailers HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "2\r\nhi\r\n0\r\nX_Real_IP: 6.6.6.6\r\nx-kept-trailer: k\r\n\r\n";
    /** HEADERS for GET http://h/ with the field {@code x_real_ip: 6.6.6.6} (HPACK literal, new name). */
    private static final byte[] H2_BLOCK = h2Block();

    private RecordingBackend backend;
    private Proxy proxy;

    @BeforeEach
    void backend() {
        backend = RecordingBackend.start("app");
    }

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
    }

    private int start(HeadersWithUnderscores action) {
        return start(action, backend.address());
    }

    private int start(HeadersWithUnderscores action, String server) {
        HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("app");
        if (action != null) {
            f.headersWithUnderscores(action);
        }
        proxy = Proxy.builder().backend(Backend.named("app").server("s1", server)).frontend(f).build();
        proxy.start();
        return proxy.port();
    }

    private static byte[] h2Block() {
        byte[] name = "x_real_ip".getBytes(StandardCharsets.US_ASCII);
        byte[] value = "6.6.6.6".getBytes(StandardCharsets.US_ASCII);
        byte[] start = {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x00};
        byte[] block = new byte[start.length + 2 + name.length + value.length];
        System.arraycopy(start, 0, block, 0, start.length);
        int at = start.length;
        block[at++] = (byte) name.length;
        System.arraycopy(name, 0, block, at, name.length);
        at += name.length;
        block[at++] = (byte) value.length;
        System.arraycopy(value, 0, block, at, value.length);
        return block;
    }

    /** Sends one request over HTTP/2 prior knowledge; returns the types of its stream's frames. */
    private static java.util.List<Integer> h2Request(int port) throws Exception {
        try (Socket s = Http2Test.h2c(port)) {
            s.getOutputStream().write(Http2Test.frame(1, 1, 0x5, H2_BLOCK));
            s.getOutputStream().flush();
            return Http2Test.streamFrames(s.getInputStream(), 1);
        }
    }

    private static int status(int port, String request) throws IOException {
        try (RawHttp c = new RawHttp(port)) {
            return c.send(request).read().status();
        }
    }

    @Test
    void byDefaultTheyAreForwardedAsTheyAre() throws Exception {
        int port = start(null);
        assertThat(proxy.frontends().get(0)).isInstanceOfSatisfying(HttpFrontend.class,
                f -> assertThat(f.headersWithUnderscores()).isEqualTo(HeadersWithUnderscores.ALLOW));
        assertThat(status(port, WITH_LENGTH)).isEqualTo(200);
        assertThat(backend.last().header("X_Real_IP")).isEqualTo("6.6.6.6");
        assertThat(backend.last().header("X-Real-IP")).isEqualTo("127.0.0.1");
    }

    @Test
    void dropHeaderRemovesThemFromEveryKindOfRequest() throws Exception {
        int port = start(HeadersWithUnderscores.DROP_HEADER);
        assertThat(status(port, WITH_LENGTH)).isEqualTo(200);
        assertThat(status(port, CHUNKED)).isEqualTo(200);
        assertThat(h2Request(port)).as("HEADERS, DATA").containsExactly(1, 0);
        assertThat(backend.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/length", "/chunked", "/");
        for (RecordingBackend.Recorded r : backend.requests) {
            assertThat(r.headers().names()).as(r.uri()).noneMatch(n -> n.indexOf('_') >= 0);
            assertThat(r.header("X-Real-IP")).as(r.uri()).isEqualTo("127.0.0.1");
        }
        assertThat(backend.requests.get(0).header("X-Kept")).isEqualTo("k");
        assertThat(backend.requests.get(0).body()).isEqualTo("hi");
        assertThat(backend.requests.get(1).body()).isEqualTo("hi");
    }

    @Test
    void rejectRequestAnswers400AndForwardsNothing() throws Exception {
        int port = start(HeadersWithUnderscores.REJECT_REQUEST);
        for (String request : new String[] {WITH_LENGTH, CHUNKED}) {
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send(request).read();
                assertThat(r.status()).isEqualTo(400);
                assertThat(r.header("connection")).isEqualTo("close");
                assertThat(c.closedByPeer()).isTrue();
            }
        }
        assertThat(h2Request(port)).as("answered, not reset").isNotEmpty().doesNotContain(3);
        assertThat(backend.requests).isEmpty();
        assertThat(status(port, "GET /fine HTTP/1.1\r\nHost: a\r\nX-Real-IP: 1.2.3.4\r\n\r\n")).isEqualTo(200);
        assertThat(backend.last().header("X-Real-IP")).as("replaced, as always").isEqualTo("127.0.0.1");
    }

    @Test
    void noActionFailsNamingTheField() {
        assertThatThrownBy(() -> HttpFrontend.bind("127.0.0.1:0").headersWithUnderscores(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend at 127.0.0.1:0 headersWithUnderscores: null (expected: ALLOW, DROP_HEADER or REJECT_REQUEST)");
    }

    /** A stream with HEADERS, a DATA frame and trailers {@code x_real_ip} and {@code x-kept-trailer}; returns its frames' types. */
    private static java.util.List<Integer> h2RequestWithTrailers(int port) throws Exception {
        java.io.ByteArrayOutputStream trailers = new java.io.ByteArrayOutputStream();
        for (String[] field : new String[][] {{"x_real_ip", "6.6.6.6"}, {"x-kept-trailer", "k"}}) {
            byte[] name = field[0].getBytes(StandardCharsets.US_ASCII);
            byte[] value = field[1].getBytes(StandardCharsets.US_ASCII);
            trailers.write(0x00);
            trailers.write(name.length);
            trailers.write(name);
            trailers.write(value.length);
            trailers.write(value);
        }
        try (Socket s = Http2Test.h2c(port)) {
            s.getOutputStream().write(Http2Test.headers(1, false));
            s.getOutputStream().write(Http2Test.frame(1, 0, 0, "hi".getBytes(StandardCharsets.US_ASCII)));
            s.getOutputStream().write(Http2Test.frame(1, 1, 0x5, trailers.toByteArray()));
            s.getOutputStream().flush();
            return Http2Test.streamFrames(s.getInputStream(), 1);
        }
    }

    @Test
    void dropHeaderRemovesThemFromAClientsTrailersToo() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(null)) {
            int port = start(HeadersWithUnderscores.DROP_HEADER, b.address());
            assertThat(status(port, UNDERSCORE_TRAILER)).isEqualTo(200);
            assertThat(b.last().body()).isEqualTo("hi");
            assertThat(b.last().trailers().names()).as("HTTP/1.1 trailers").containsExactly("x-kept-trailer");
            assertThat(h2RequestWithTrailers(port)).as("answered, not reset").isNotEmpty().doesNotContain(3);
            assertThat(b.requests).hasSize(2);
            assertThat(b.last().trailers().names()).as("HTTP/2 trailers").containsExactly("x-kept-trailer");
        }
    }

    @Test
    void rejectRequestAnswers400ToAnUnderscoreInTheTrailersAndTheServerGetsNoWholeRequest() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(null)) {
            int port = start(HeadersWithUnderscores.REJECT_REQUEST, b.address());
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send(UNDERSCORE_TRAILER).read();
                assertThat(r.status()).isEqualTo(400);
                assertThat(r.header("connection")).isEqualTo("close");
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(h2RequestWithTrailers(port)).as("refused").isNotEmpty();
            assertThat(b.requests).as("the requests' ends never reached the server").isEmpty();
            assertThat(status(port, "POST /fine HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "2\r\nhi\r\n0\r\nx-kept-trailer: k\r\n\r\n")).isEqualTo(200);
            assertThat(b.last().trailers().names()).containsExactly("x-kept-trailer");
        }
    }
}
