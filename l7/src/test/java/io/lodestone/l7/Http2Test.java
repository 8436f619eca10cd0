package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.tls.ServerTls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.pkitesting.X509Bundle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** HTTP/2 from clients (ALPN h2 and h2c prior knowledge) to HTTP/1.1 backends, and the rapid-reset bound. */
class Http2Test {

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            // HTTP/2 connections are not drained with GOAWAY yet: do not wait for the clients to leave
            proxy.close(Duration.ofMillis(300));
        }
    }

    @Test
    void hundredConcurrentStreamsOverTlsAreAllAnsweredByAnHttp11Backend() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"));
             RecordingBackend b = RecordingBackend.start("b")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).hsts(Duration.ofHours(1), false).defaultBackend("app"))
                    .build();
            proxy.start();
            HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            // one request first, so that every later one shares its connection
            HttpResponse<String> first = client.send(request(proxy.port(), "/first"), HttpResponse.BodyHandlers.ofString());
            assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(first.body()).isEqualTo("b:/first");
            assertThat(first.headers().firstValue("strict-transport-security")).contains("max-age=3600");
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                all.add(client.sendAsync(request(proxy.port(), "/r" + i), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < 100; i++) {
                HttpResponse<String> r = all.get(i).get(20, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(r.body()).isEqualTo("b:/r" + i);
            }
            assertThat(b.requests).hasSize(101);
            // the streams of one connection share its client address and local port, made once for it
            for (RecordingBackend.Recorded r : b.requests) {
                assertThat(r.header("x-forwarded-for")).as(r.uri()).isEqualTo("127.0.0.1");
                assertThat(r.header("x-forwarded-port")).as(r.uri()).isEqualTo(Integer.toString(proxy.port()));
            }
            assertThat(b.last().header("x-forwarded-proto")).isEqualTo("https");
            assertThat(b.last().header("x-http2-stream-id")).isNull();
            assertThat(b.last().version().text()).isEqualTo("HTTP/1.1");
        }
    }

    private static HttpRequest request(int port, String path) {
        return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20)).build();
    }

    @Test
    void h2cWithPriorKnowledgeAndHttp11ShareTheFrontend() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                out.write(headers(1, true));
                out.flush();
                // the answer: SETTINGS, SETTINGS ack, then a HEADERS frame on stream 1
                assertThat(readUntilFrame(s.getInputStream(), 1, 1)).isTrue();
            }
            assertThat(b.last().uri()).isEqualTo("/");
            try (RawHttp c = new RawHttp(proxy.port())) {
                assertThat(c.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b:/one");
            }
        }
    }

    @Test
    void aClientThatClosesItsSideAfterItsStreamsIsClosedToo() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().write(headers(1, true));
                s.getOutputStream().flush();
                assertThat(readUntilFrame(s.getInputStream(), 1, 1)).isTrue();
                // the client's FIN: half-closed, the connection stayed in CLOSE_WAIT for good
                s.shutdownOutput();
                assertThat(readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
            }
            Await.until("no client connection left", () -> proxy.metrics().frontend(proxy.frontends().get(0).name())
                    .traffic().currentConnections() == 0);
        }
    }

    @Test
    void anInterimResponseOfAnHttp11ServerReachesAnHttp2ClientAsItsOwnHeaders() throws Exception {
        try (RawBackend b = new RawBackend((s, n) -> {
            while (RawBackend.nextHead(s.getInputStream()) != null) {
                RawBackend.write(s, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
            }
        })) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().write(headers(1, true));
                s.getOutputStream().flush();
                // HEADERS (103), HEADERS (200), DATA with END_STREAM; no RST_STREAM
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1, 1, 0);
            }
        }
    }

    @Test
    void a204OfAnHttp11ServerReachesAnHttp2ClientWithoutTheContentLengthNoneMayHave() throws Exception {
        // RFC 9110 (8.6): no Content-Length in a 204; nghttp2 (curl, nghttp) resets a stream whose 204 has
        // one other than 0; an HTTP/1.1 client's 204 never had it (Netty's encoder removes it)
        try (RawBackend b = new RawBackend((s, n) -> {
            while (RawBackend.nextHead(s.getInputStream()) != null) {
                RawBackend.write(s, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: a\r\n\r\n");
            }
        })) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().write(headers(1, true));
                s.getOutputStream().flush();
                Http2Headers h = responseHeaders(s.getInputStream(), 1, new DefaultHttp2HeadersDecoder());
                assertThat(h).isNotNull();
                assertThat(h.status().toString()).isEqualTo("204");
                assertThat(h.get("x-a").toString()).isEqualTo("a");
                assertThat(h.contains("content-length")).isFalse();
            }
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response r = c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(204);
                assertThat(r.header("content-length")).isNull();
            }
        }
    }

    @Test
    void identicalContentLengthsOfAStreamReachTheServerAsOne() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                // POST http://h/ with content-length: 3 twice, then with content-length: 3, 3
                byte[] twice = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x0d, 0x01, '3', 0x0f, 0x0d, 0x01, '3'};
                byte[] list = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x0d, 0x04, '3', ',', ' ', '3'};
                byte[] abc = "abc".getBytes(StandardCharsets.US_ASCII);
                for (int stream : new int[] {1, 3}) {
                    s.getOutputStream().write(frame(stream, 1, 0x4, stream == 1 ? twice : list));
                    s.getOutputStream().write(frame(stream, 0, 0x1, abc));
                    s.getOutputStream().flush();
                    assertThat(streamFrames(s.getInputStream(), stream)).as("stream %d", stream).containsExactly(1, 0);
                    assertThat(b.last().headers().getAll("content-length")).containsExactly("3");
                    assertThat(b.last().body()).isEqualTo("abc");
                }
            }
        }
    }

    @Test
    void viaNamesHttp2AsTheProtocolOfAStreamsRequest() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.via("lodestone"));
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().write(headers(1, true));
                s.getOutputStream().flush();
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1, 0);
            }
            // RFC 9110 (7.6.3): the protocol the proxy received the request with, "2" for HTTP/2
            assertThat(b.last().header("via")).isEqualTo("2 lodestone");
        }
    }

    @Test
    void theProxysOwnAnswerToHeadHasNoContent() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.rule(Rule.always().deny(403)));
            try (Socket s = h2c(proxy.port())) {
                // HEAD http://h/ (HPACK: :method HEAD as a literal with the name of entry 2)
                byte[] block = {0x02, 0x04, 'H', 'E', 'A', 'D', (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'};
                s.getOutputStream().write(frame(1, 1, 0x4 | 0x1, block));
                s.getOutputStream().write(headers(3, true));
                s.getOutputStream().flush();
                // HEADERS with END_STREAM and no DATA (nghttp2's clients reset a HEAD's stream on DATA)
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1);
                // a GET's answer keeps its body
                assertThat(streamFrames(s.getInputStream(), 3)).containsExactly(1, 0);
            }
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void aConnectionWithoutAStreamForTheKeepAliveTimeoutIsClosed() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.keepAliveTimeout(Duration.ofMillis(300)));
            // a client that sends its preface and nothing more
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().flush();
                assertThat(readUntilFrame(s.getInputStream(), 7, 0)).as("GOAWAY").isTrue();
                assertThat(readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
            }
            // and one whose stream is done
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().write(headers(1, true));
                s.getOutputStream().flush();
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1, 0);
                assertThat(readUntilFrame(s.getInputStream(), 7, 0)).as("GOAWAY").isTrue();
                assertThat(readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
            }
        }
    }

    @Test
    void anAnswerBeforeTheEndOfAnUploadEndsTheStreamWithNoError() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.rule(Rule.always().deny(403)));
            try (Socket s = h2c(proxy.port())) {
                // POST / with content-length: 2000000, and no body yet
                byte[] block = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x0d, 0x07, '2', '0', '0', '0', '0', '0', '0'};
                s.getOutputStream().write(frame(1, 1, 0x4, block));
                s.getOutputStream().flush();
                InputStream in = s.getInputStream();
                assertThat(streamFrames(in, 1)).containsExactly(1, 0);
                // then RST_STREAM with NO_ERROR (a CANCEL would make the client drop the answer)
                assertThat(resetCode(in, 1)).isEqualTo(0);
            }
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void requestsTheHttp11FrontendWouldRefuseAreRefusedOnHttp2StreamsToo() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            byte[][] refused = {
                // :path echo (not origin form)
                {(byte) 0x82, (byte) 0x86, 0x04, 0x04, 'e', 'c', 'h', 'o', 0x41, 0x01, 'h'},
                // :path /x#/../admin (a fragment)
                {(byte) 0x82, (byte) 0x86, 0x04, 0x0c, '/', 'x', '#', '/', '.', '.', '/', 'a', 'd', 'm', 'i', 'n', 0x41, 0x01, 'h'},
                // :path http://evil/ (absolute form, whose authority would become the Host)
                {(byte) 0x82, (byte) 0x86, 0x04, 0x0c, 'h', 't', 't', 'p', ':', '/', '/', 'e', 'v', 'i', 'l', '/', 0x41, 0x01, 'h'},
                // no :authority and no host
                {(byte) 0x82, (byte) 0x86, (byte) 0x84},
                // :authority u@h
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x03, 'u', '@', 'h'},
                // no :scheme
                {(byte) 0x82, (byte) 0x84, 0x41, 0x01, 'h'},
                // :authority a:b:c (two colons outside brackets)
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x05, 'a', ':', 'b', ':', 'c'},
                // :authority [::1 (an unclosed bracket)
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x04, '[', ':', ':', '1'},
                // host [1::2::3] and no :authority (two :: in an IPv6 address)
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x0f, 0x17, 0x09, '[', '1', ':', ':', '2', ':', ':', '3', ']'},
                // :authority h:8o (a port that is not digits)
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x04, 'h', ':', '8', 'o'},
                // :path /a/../b (a dot segment)
                {(byte) 0x82, (byte) 0x86, 0x04, 0x07, '/', 'a', '/', '.', '.', '/', 'b', 0x41, 0x01, 'h'},
            };
            try (Socket s = h2c(proxy.port())) {
                int stream = 1;
                for (byte[] block : refused) {
                    s.getOutputStream().write(frame(stream, 1, 0x5, block));
                    s.getOutputStream().flush();
                    assertThat(streamFrames(s.getInputStream(), stream)).as("stream %d", stream).isNotEmpty().doesNotContain(3);
                    stream += 2;
                }
                s.getOutputStream().write(headers(stream, true));
                s.getOutputStream().flush();
                assertThat(streamFrames(s.getInputStream(), stream)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(1);
            assertThat(b.last().uri()).isEqualTo("/");
        }
    }

    @Test
    void aGetEndedByAnEmptyDataFrameReachesTheServerWithoutABody() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            byte[] post = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'};
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                // GET: HEADERS without END_STREAM, then an empty DATA with END_STREAM (as curl sends some)
                out.write(headers(1, false));
                out.write(frame(1, 0, 0x1, new byte[0]));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1, 0);
                // GET with a body: chunked, as before
                out.write(headers(3, false));
                out.write(frame(3, 0, 0x1, "abc".getBytes(StandardCharsets.US_ASCII)));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 3)).containsExactly(1, 0);
                // a POST ended by an empty DATA frame is left alone: chunked, with an empty body
                out.write(frame(5, 1, 0x4, post));
                out.write(frame(5, 0, 0x1, new byte[0]));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 5)).containsExactly(1, 0);
                // a GET held for its next frame and reset by the client instead: nothing forwarded
                out.write(headers(7, false));
                out.write(rstStream(7));
                out.write(headers(9, true));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 9)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(4);
            RecordingBackend.Recorded get = b.requests.get(0);
            assertThat(get.method()).isEqualTo("GET");
            assertThat(get.header("transfer-encoding")).isNull();
            assertThat(get.header("content-length")).isNull();
            assertThat(get.bodyBytes()).isZero();
            assertThat(b.requests.get(1).header("transfer-encoding")).isEqualTo("chunked");
            assertThat(b.requests.get(1).body()).isEqualTo("abc");
            assertThat(b.requests.get(2).method()).isEqualTo("POST");
            assertThat(b.requests.get(2).header("transfer-encoding")).isEqualTo("chunked");
            assertThat(b.requests.get(3).method()).isEqualTo("GET");
        }
    }

    @Test
    void aPostOrPutWithoutContentReachesAnHttp11ServerWithContentLengthZero() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            byte[] post = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'};
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                // HEADERS with END_STREAM: a POST, a PUT, a DELETE, a POST that says content-length: 0
                byte[][] requests = {post,
                    literals(":method", "PUT", ":scheme", "http", ":path", "/p", ":authority", "h"),
                    literals(":method", "DELETE", ":scheme", "http", ":path", "/d", ":authority", "h"),
                    literals(":method", "POST", ":scheme", "http", ":path", "/z", ":authority", "h", "content-length", "0")};
                for (int i = 0; i < requests.length; i++) {
                    int stream = 2 * i + 1;
                    out.write(frame(stream, 1, 0x5, requests[i]));
                    out.flush();
                    assertThat(streamFrames(s.getInputStream(), stream)).as("stream " + stream).containsExactly(1, 0);
                }
            }
            assertThat(b.requests).hasSize(4);
            for (RecordingBackend.Recorded r : b.requests) {
                assertThat(r.header("transfer-encoding")).as(r.method()).isNull();
                assertThat(r.bodyBytes()).isZero();
                if (r.method().equals("DELETE")) {
                    // a method whose requests have no body gets no content-length (RFC 9110, 8.6)
                    assertThat(r.header("content-length")).isNull();
                } else {
                    assertThat(r.headers().getAll("content-length")).as(r.method() + " " + r.uri()).containsExactly("0");
                }
            }
        }
    }

    @Test
    void aGetExpecting100ContinueIsNotHeldForItsNextFrame() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            // GET, :scheme http, :path /, :authority h, expect: 100-continue; HEADERS without END_STREAM
            byte[] block = {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h',
                0x00, 0x06, 'e', 'x', 'p', 'e', 'c', 't', 0x0c, '1', '0', '0', '-', 'c', 'o', 'n', 't', 'i', 'n', 'u', 'e'};
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                out.write(frame(1, 1, 0x4, block));
                out.flush();
                // the server's 100 reaches the client before it sends anything more: the request was not held
                assertThat(streamFrames(s.getInputStream(), 1, 1)).containsExactly(1);
                out.write(frame(1, 0, 0x1, "abc".getBytes(StandardCharsets.US_ASCII)));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(1);
            assertThat(b.requests.get(0).header("expect")).isEqualTo("100-continue");
            assertThat(b.requests.get(0).body()).isEqualTo("abc");
        }
    }

    @Test
    void aPathThatIsNotAnOriginFormTargetIsNeverForwarded() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            String[] paths = {"/a b", "/a\tb", "/a\u0000b", "/a\rb", "/a\nb", "/a\u0001b", "/a\u007fb", "/caf\u00e9", "", "a/b",
                "*", "http://h/x", "/x#f", " /a", "/a "};
            DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder();
            try (Socket s = h2c(proxy.port())) {
                int stream = 1;
                for (String path : paths) {
                    for (boolean end : new boolean[] {true, false}) {
                        // GET with :path as a literal without indexing, :scheme http, :authority h
                        ByteArrayOutputStream block = new ByteArrayOutputStream();
                        block.writeBytes(new byte[] {(byte) 0x82, (byte) 0x86, 0x04, (byte) path.length()});
                        block.writeBytes(path.getBytes(StandardCharsets.ISO_8859_1));
                        block.writeBytes(new byte[] {0x41, 0x01, 'h'});
                        s.getOutputStream().write(frame(stream, 1, 0x4 | (end ? 0x1 : 0), block.toByteArray()));
                        s.getOutputStream().flush();
                        assertThat(statusOrReset(s.getInputStream(), stream, hpack))
                                .as("stream %d, :path %s, END_STREAM %s", stream, path, end).isIn("400", "reset");
                        stream += 2;
                    }
                }
                s.getOutputStream().write(headers(stream, true));
                s.getOutputStream().flush();
                assertThat(statusOrReset(s.getInputStream(), stream, hpack)).isEqualTo("200");
            }
            // nothing of the refused ones reached the server, not even as a request it could not parse
            assertThat(b.requests).hasSize(1);
            assertThat(b.last().uri()).isEqualTo("/");
            assertThat(b.connections.get()).isEqualTo(1);
        }
    }

    /**
     * The status (or {@code "reset"}) of each of {@code streams}, in whatever order their answers
     * come: a stream answered by the proxy itself may overtake one answered by its server.
     */
    static java.util.Map<Integer, String> statusesOrResets(InputStream in, DefaultHttp2HeadersDecoder hpack, int... streams)
            throws Exception {
        java.util.Map<Integer, String> answers = new java.util.HashMap<>();
        java.util.Set<Integer> wanted = new java.util.HashSet<>();
        for (int stream : streams) {
            wanted.add(stream);
        }
        for (int n = 0; n < 100 && !answers.keySet().containsAll(wanted); n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                break;
            }
            if (f.type() == 3 && wanted.contains(f.stream())) {
                answers.putIfAbsent(f.stream(), "reset");
            }
            if (f.type() == 1) {
                ByteBuf block = Unpooled.wrappedBuffer(f.payload());
                try {
                    Http2Headers headers = hpack.decodeHeaders(f.stream(), block);
                    if (wanted.contains(f.stream())) {
                        answers.putIfAbsent(f.stream(), headers.status().toString());
                    }
                } finally {
                    block.release();
                }
            }
        }
        return answers;
    }

    /**
     * The {@code :status} of the first response HEADERS of {@code stream}, or "reset" when RST_STREAM
     * comes first; every HEADERS read goes through {@code hpack}, the connection's decoder.
     */
    static String statusOrReset(InputStream in, int stream, DefaultHttp2HeadersDecoder hpack) throws Exception {
        for (int n = 0; n < 100; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                return "end of input";
            }
            if (f.type() == 3 && f.stream() == stream) {
                return "reset";
            }
            if (f.type() == 1) {
                ByteBuf block = Unpooled.wrappedBuffer(f.payload());
                try {
                    Http2Headers headers = hpack.decodeHeaders(f.stream(), block);
                    if (f.stream() == stream) {
                        return headers.status().toString();
                    }
                } finally {
                    block.release();
                }
            }
        }
        return "no answer";
    }

    @Test
    void malformedRequestsAreResetWithProtocolErrorNotCancel() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            byte[][] malformed = {
                // no :path
                {(byte) 0x82, (byte) 0x86, 0x41, 0x01, 'h'},
                // no :method (with END_STREAM, which the stream codec takes for trailers)
                {(byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'},
                // :method "GET /x"
                {0x02, 0x06, 'G', 'E', 'T', ' ', '/', 'x', (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'},
                // :path "/a b"
                {(byte) 0x82, (byte) 0x86, 0x04, 0x04, '/', 'a', ' ', 'b', 0x41, 0x01, 'h'},
                // host x, :authority h
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x17, 0x01, 'x'},
                // two host fields, a and b
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x0f, 0x17, 0x01, 'a', 0x0f, 0x17, 0x01, 'b'},
                // two host fields, both a
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x0f, 0x17, 0x01, 'a', 0x0f, 0x17, 0x01, 'a'},
                // :authority h and two host fields h
                {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x17, 0x01, 'h', 0x0f, 0x17, 0x01, 'h'},
                // content-length -1
                {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x0d, 0x02, '-', '1'},
            };
            try (Socket s = h2c(proxy.port())) {
                int stream = 1;
                for (byte[] block : malformed) {
                    s.getOutputStream().write(frame(stream, 1, 0x5, block));
                    s.getOutputStream().flush();
                    assertThat(resetCode(s.getInputStream(), stream)).as("stream %d: RST_STREAM PROTOCOL_ERROR", stream).isEqualTo(1);
                    stream += 2;
                }
                // without END_STREAM, no :method fails the stream codec itself
                s.getOutputStream().write(frame(stream, 1, 0x4, malformed[1]));
                s.getOutputStream().flush();
                assertThat(resetCode(s.getInputStream(), stream)).as("stream %d: RST_STREAM PROTOCOL_ERROR", stream).isEqualTo(1);
                stream += 2;
                // so do two host fields on a request with a body to come
                s.getOutputStream().write(frame(stream, 1, 0x4,
                        new byte[] {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x0f, 0x17, 0x01, 'a', 0x0f, 0x17, 0x01, 'a'}));
                s.getOutputStream().flush();
                assertThat(resetCode(s.getInputStream(), stream)).as("stream %d: RST_STREAM PROTOCOL_ERROR", stream).isEqualTo(1);
                stream += 2;
                // one host field, the same as :authority, is a request
                s.getOutputStream().write(frame(stream, 1, 0x5, new byte[] {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x17, 0x01, 'h'}));
                s.getOutputStream().flush();
                assertThat(streamFrames(s.getInputStream(), stream)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(1);
            assertThat(b.last().headers().getAll("host")).containsExactly("h");
        }
    }

    @Test
    void aFieldValueWithWhitespaceAtItsEdgeIsMalformedInHeadersAndTrailers() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                // RFC 9113 8.2.1: a value that starts or ends with SP or HTAB makes the request malformed
                String[] values = {"v ", "v\t", " v", "\tv", " "};
                int stream = 1;
                for (String value : values) {
                    out.write(frame(stream, 1, 0x5, literals(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "h", "x-a", value)));
                    out.flush();
                    assertThat(resetCode(s.getInputStream(), stream)).as("x-a: [%s]: RST_STREAM PROTOCOL_ERROR", value).isEqualTo(1);
                    stream += 2;
                }
                // so does one in the trailers of a request whose head and body went on
                out.write(frame(stream, 1, 0x4, literals(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "h")));
                out.write(frame(stream, 0, 0, new byte[] {'a', 'b', 'c'}));
                out.write(frame(stream, 1, 0x5, literals("x-t", "1 ")));
                out.flush();
                assertThat(resetCode(s.getInputStream(), stream)).as("trailer x-t: [1 ]: RST_STREAM PROTOCOL_ERROR").isEqualTo(1);
                stream += 2;
                // whitespace inside a value is fine, and the connection goes on
                out.write(frame(stream, 1, 0x5, literals(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "h", "x-a", "v\tw x")));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), stream)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(1);
            assertThat(b.last().header("x-a")).isEqualTo("v\tw x");
        }
    }

    @Test
    void aProtocolPseudoHeaderIsMalformedAsTheProxyOffersNoExtendedConnect() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                // :protocol is defined only once SETTINGS_ENABLE_CONNECT_PROTOCOL was sent (RFC 8441, 3), which
                // the proxy never sends: an undefined pseudo-header, a malformed request (RFC 9113, 8.3)
                out.write(frame(1, 1, 0x5, literals(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "h", ":protocol", "websocket")));
                out.write(frame(3, 1, 0x4, literals(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "h", ":protocol", "x")));
                out.flush();
                assertThat(resetCode(s.getInputStream(), 1)).as("stream 1: RST_STREAM PROTOCOL_ERROR").isEqualTo(1);
                assertThat(resetCode(s.getInputStream(), 3)).as("stream 3: RST_STREAM PROTOCOL_ERROR").isEqualTo(1);
                out.write(headers(5, true));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 5)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(1);
        }
    }

    /** A header block of literal fields without indexing, new names (HPACK), each name and value under 127 bytes. */
    static byte[] literals(String... namesAndValues) {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            block.write(0);
            for (String s : new String[] {namesAndValues[i], namesAndValues[i + 1]}) {
                byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
                block.write(bytes.length);
                block.writeBytes(bytes);
            }
        }
        return block.toByteArray();
    }

    @Test
    void theHttp11LimitsOnHeaderFieldsAndTheRequestLineApplyToStreams() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.maxHeaderCount(10).maxInitialLineLength(100));
            DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder();
            try (Socket s = h2c(proxy.port())) {
                // host (from :authority) and 9 more fields: at the limit; 10 more: over it
                // GET, a space, an 87-byte :path, a space and HTTP/1.1 make 100 bytes: at the limit; 88: over it
                byte[][] blocks = {withFields(9), withFields(10), withPath(87), withPath(88), withFields(0)};
                int[] expected = {200, 431, 200, 414, 200};
                for (int i = 0; i < blocks.length; i++) {
                    int stream = 2 * i + 1;
                    s.getOutputStream().write(frame(stream, 1, 0x5, blocks[i]));
                    s.getOutputStream().flush();
                    assertThat(status(s.getInputStream(), stream, hpack)).as("stream %d", stream).isEqualTo(expected[i]);
                }
            }
            assertThat(b.requests).hasSize(3);
        }
    }

    /** HEADERS for GET http://h/ with {@code n} more fields x-a0, x-a1... (HPACK literals). */
    private static byte[] withFields(int n) {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.writeBytes(new byte[] {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'});
        for (int i = 0; i < n; i++) {
            block.writeBytes(new byte[] {0x00, 0x04, 'x', '-', 'a', (byte) ('0' + i), 0x01, 'v'});
        }
        return block.toByteArray();
    }

    /** HEADERS for GET http://h/aaa... with a :path of {@code length} bytes (below 127). */
    private static byte[] withPath(int length) {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.writeBytes(new byte[] {(byte) 0x82, (byte) 0x86, 0x04, (byte) length, '/'});
        block.writeBytes("a".repeat(length - 1).getBytes(StandardCharsets.US_ASCII));
        block.writeBytes(new byte[] {0x41, 0x01, 'h'});
        return block.toByteArray();
    }

    /**
     * The :status of the response HEADERS of {@code stream}, or -1 when none comes; every HEADERS
     * read goes through {@code hpack}, the connection's decoder.
     */
    private static int status(InputStream in, int stream, DefaultHttp2HeadersDecoder hpack) throws Exception {
        Http2Headers headers = responseHeaders(in, stream, hpack);
        return headers == null ? -1 : Integer.parseInt(headers.status().toString());
    }

    /**
     * The fields of the next HEADERS of {@code stream}, with {@code :status}, or null when none comes;
     * every HEADERS read goes through {@code hpack}, the connection's decoder.
     */
    private static Http2Headers responseHeaders(InputStream in, int stream, DefaultHttp2HeadersDecoder hpack) throws Exception {
        for (int n = 0; n < 100; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                return null;
            }
            if (f.type() == 1) {
                ByteBuf block = Unpooled.wrappedBuffer(f.payload());
                try {
                    Http2Headers headers = hpack.decodeHeaders(f.stream(), block);
                    if (f.stream() == stream) {
                        return headers;
                    }
                } finally {
                    block.release();
                }
            }
        }
        return null;
    }

    @Test
    void aGracefulCloseLetsAStreamInFlightFinish() throws Exception {
        CountDownLatch received = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (RawBackend b = new RawBackend((s, n) -> {
            while (RawBackend.nextHead(s.getInputStream()) != null) {
                received.countDown();
                try {
                    answer.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    return;
                }
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
            }
        })) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                s.getOutputStream().write(headers(1, true));
                s.getOutputStream().flush();
                assertThat(received.await(10, TimeUnit.SECONDS)).isTrue();
                CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> proxy.close());
                assertThat(readUntilFrame(s.getInputStream(), 7, 0)).as("GOAWAY").isTrue();
                answer.countDown();
                assertThat(streamFrames(s.getInputStream(), 1)).containsExactly(1, 0);
                closed.get(20, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aStreamWhoseDataBreaksItsContentLengthIsResetWithProtocolError() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                // POST / with content-length: 5, then 3 bytes of DATA that end the stream
                byte[] block = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x0d, 0x01, '5'};
                s.getOutputStream().write(frame(1, 1, 0x4, block));
                s.getOutputStream().write(frame(1, 0, 0x1, new byte[] {'a', 'b', 'c'}));
                s.getOutputStream().flush();
                InputStream in = s.getInputStream();
                assertThat(streamFrames(in, 1)).as("a reset, no 500").containsExactly(3);
                // the connection goes on
                s.getOutputStream().write(headers(3, true));
                s.getOutputStream().flush();
                assertThat(streamFrames(in, 3)).containsExactly(1, 0);
            }
        }
    }

    @Test
    void dataOnAStreamTheProxyResetIsIgnoredAndTheOtherStreamsGoOn() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> { });
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                // stream 1: GET /; stream 3: POST / with transfer-encoding: chunked (malformed in HTTP/2,
                // refused while its HEADERS are decoded), then the 48 KiB of DATA the client had in flight
                byte[] malformed = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h', 0x0f, 0x2a, 0x07, 'c', 'h', 'u', 'n', 'k', 'e', 'd'};
                out.write(headers(1, true));
                out.write(frame(3, 1, 0x4, malformed));
                for (int i = 0; i < 3; i++) {
                    out.write(frame(3, 0, i == 2 ? 0x1 : 0, new byte[16384]));
                }
                out.flush();
                List<Frame> frames = framesUntil(s.getInputStream(), f -> f.stream() == 1 && f.endsStream());
                if (frames.stream().noneMatch(f -> f.type() == 3 && f.stream() == 3)) {
                    frames.addAll(framesUntil(s.getInputStream(), f -> f.type() == 3 && f.stream() == 3));
                }
                assertThat(frames).as("no GOAWAY").noneMatch(f -> f.type() == 7);
                assertThat(frames).as("stream 3 reset with PROTOCOL_ERROR").anyMatch(f -> f.type() == 3 && f.stream() == 3 && f.code() == 1);
                assertThat(frames).as("stream 1 answered").anyMatch(f -> f.stream() == 1 && f.type() == 1).anyMatch(f -> f.stream() == 1 && f.type() == 0);
                // the DATA was given back to the connection's window: more than the initial 65535 bytes go through
                out.write(frame(5, 1, 0x4, new byte[] {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'}));
                for (int i = 0; i < 2; i++) {
                    out.write(frame(5, 0, i == 1 ? 0x1 : 0, new byte[16384]));
                }
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 5)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(2);
            assertThat(b.last().bodyBytes()).isEqualTo(32768);
        }
    }

    @Test
    void framesOnAStreamRefusedOverTheConcurrentStreamLimitAreIgnoredAndTheOtherStreamsGoOn() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.http2Limits(2, 16384, 65535));
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                byte[] post = {(byte) 0x83, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'};
                // streams 1 and 3: POSTs whose bodies are still to come, as many streams as the limit allows
                out.write(frame(1, 1, 0x4, post));
                out.write(frame(3, 1, 0x4, post));
                // stream 5, over the limit: refused; before it could see the refusal, the client sent its
                // 48 KiB body, a WINDOW_UPDATE and a reset of its own on it
                out.write(frame(5, 1, 0x4, post));
                for (int i = 0; i < 3; i++) {
                    out.write(frame(5, 0, i == 2 ? 0x1 : 0, new byte[16384]));
                }
                out.write(frame(5, 8, 0, new byte[] {0, 0, 0x40, 0}));
                out.write(rstStream(5));
                // the bodies of streams 1 (32 KiB: over the connection's 65535-byte window unless stream 5's
                // DATA was given back) and 3 (empty)
                out.write(frame(1, 0, 0, new byte[16384]));
                out.write(frame(1, 0, 0x1, new byte[16384]));
                out.write(frame(3, 0, 0x1, new byte[0]));
                out.flush();
                java.util.Set<Integer> ended = new java.util.HashSet<>();
                List<Frame> frames = framesUntil(s.getInputStream(),
                        f -> f.endsStream() && ended.add(f.stream()) && ended.size() == 2);
                assertThat(frames).as("no GOAWAY").noneMatch(f -> f.type() == 7);
                assertThat(frames).as("stream 5 refused").anyMatch(f -> f.type() == 3 && f.stream() == 5 && f.code() == 7);
                assertThat(ended).as("streams 1 and 3 answered").containsExactlyInAnyOrder(1, 3);
                // the connection goes on
                out.write(headers(7, true));
                out.flush();
                assertThat(streamFrames(s.getInputStream(), 7)).containsExactly(1, 0);
            }
            assertThat(b.requests).hasSize(3);
            assertThat(b.requests).anyMatch(r -> r.bodyBytes() == 32768);
        }
    }

    @Test
    void aRapidResetFloodClosesTheConnection() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.http2ResetFloodLimit(50, Duration.ofSeconds(10)));
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                ByteArrayOutputStream burst = new ByteArrayOutputStream();
                for (int stream = 1; stream < 2 * 500; stream += 2) {
                    burst.write(headers(stream, false));
                    burst.write(rstStream(stream));
                }
                try {
                    out.write(burst.toByteArray());
                    out.flush();
                } catch (java.io.IOException closedWhileWriting) {
                    return;
                }
                assertThat(goAwayCode(s.getInputStream())).as("GOAWAY ENHANCE_YOUR_CALM").isEqualTo(0xb);
                assertThat(readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
            }
        }
    }

    /**
     * A connection error of the client's (here a header block that never ends, CONTINUATION after
     * CONTINUATION, which Netty's codec ends with GOAWAY {@code ENHANCE_YOUR_CALM}) counts one
     * {@code invalid} error on the frontend, as a request the proxy cannot read does. No stream was
     * opened, so nothing else records it: such a client left no trace in the metrics.
     */
    @Test
    void aConnectionErrorOfTheClientsCountsAnInvalidError() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            startH2c(b.address(), f -> f.name("web"));
            try (Socket s = h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                // HEADERS without END_HEADERS (GET http://, no :path yet), then small CONTINUATION frames
                out.write(frame(1, 1, 0, new byte[] {(byte) 0x82, (byte) 0x86}));
                ByteArrayOutputStream flood = new ByteArrayOutputStream();
                for (int i = 0; i < 100; i++) {
                    flood.write(frame(1, 9, 0, new byte[] {0x41, 0x01, 'h'}));
                }
                try {
                    out.write(flood.toByteArray());
                    out.flush();
                } catch (IOException closedWhileWriting) {
                    // the proxy closed the connection before the flood's end
                }
                assertThat(goAwayCode(s.getInputStream())).as("GOAWAY ENHANCE_YOUR_CALM").isEqualTo(0xb);
            }
            Await.until("the connection closed", () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            assertThat(proxy.metrics().frontend("web").traffic().errors().invalid()).isEqualTo(1);
            assertThat(b.requests).isEmpty();
        }
    }

    /** The error code of the next GOAWAY, or -1 when none comes. */
    private static long goAwayCode(InputStream in) throws Exception {
        for (int n = 0; n < 5000; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                return -1;
            }
            if (f.type() == 7) {
                return f.code();
            }
        }
        return -1;
    }

    /** Starts a proxy with an h2c frontend, set up further by {@code frontend}, before one server. */
    private void startH2c(String server, Consumer<HttpFrontend.Builder> frontend) {
        HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("app");
        frontend.accept(f);
        proxy = Proxy.builder().backend(Backend.named("app").server("s1", server)).frontend(f).build();
        proxy.start();
    }

    static Socket h2c(int port) throws Exception {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(frame(0, 4, 0, new byte[0]));
        return s;
    }

    /** HEADERS for GET http://h/ (HPACK: :method GET, :scheme http, :path /, :authority h). */
    static byte[] headers(int stream, boolean endStream) {
        byte[] block = {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'h'};
        return frame(stream, 1, 0x4 | (endStream ? 0x1 : 0), block);
    }

    private static byte[] rstStream(int stream) {
        return frame(stream, 3, 0, new byte[] {0, 0, 0, 8});
    }

    static byte[] frame(int stream, int type, int flags, byte[] payload) {
        byte[] f = new byte[9 + payload.length];
        f[0] = (byte) (payload.length >>> 16);
        f[1] = (byte) (payload.length >>> 8);
        f[2] = (byte) payload.length;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[5] = (byte) (stream >>> 24);
        f[6] = (byte) (stream >>> 16);
        f[7] = (byte) (stream >>> 8);
        f[8] = (byte) stream;
        System.arraycopy(payload, 0, f, 9, payload.length);
        return f;
    }

    /** Reads frames until one of {@code type} on {@code stream}; false at the end of input. */
    static boolean readUntilFrame(InputStream in, int type, int stream) throws Exception {
        for (int n = 0; n < 100; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                return false;
            }
            if (f.type() == type && f.stream() == stream) {
                return true;
            }
        }
        return false;
    }

    /** The types of the frames of {@code stream}, up to the one that ends it (END_STREAM) or resets it. */
    static List<Integer> streamFrames(InputStream in, int stream) throws Exception {
        return streamFrames(in, stream, Integer.MAX_VALUE);
    }

    /** The types of the frames of {@code stream} read until it ends or is reset, or {@code max} of them. */
    static List<Integer> streamFrames(InputStream in, int stream, int max) throws Exception {
        List<Integer> types = new ArrayList<>();
        for (int n = 0; n < 100 && types.size() < max; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                break;
            }
            if (f.stream() == stream) {
                types.add(f.type());
                if (f.type() == 3 || f.endsStream()) {
                    break;
                }
            }
        }
        return types;
    }

    /** The frames read until {@code last} matches one (included), a GOAWAY comes or the input ends. */
    private static List<Frame> framesUntil(InputStream in, java.util.function.Predicate<Frame> last) throws Exception {
        List<Frame> frames = new ArrayList<>();
        for (int n = 0; n < 1000; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                break;
            }
            frames.add(f);
            if (last.test(f) || f.type() == 7) {
                break;
            }
        }
        return frames;
    }

    /** The error code of the next RST_STREAM of {@code stream}, or -1 when none comes. */
    static long resetCode(InputStream in, int stream) throws Exception {
        for (int n = 0; n < 100; n++) {
            Frame f = Frame.read(in);
            if (f == null) {
                return -1;
            }
            if (f.type() == 3 && f.stream() == stream) {
                return f.code();
            }
        }
        return -1;
    }

    /** One frame read from the proxy: its type, flags, stream and payload. */
    record Frame(int type, int flags, int stream, byte[] payload) {

        /** Reads the next frame; null at the end of input. */
        static Frame read(InputStream in) throws IOException {
            byte[] head = in.readNBytes(9);
            if (head.length < 9) {
                return null;
            }
            int length = (head[0] & 0xff) << 16 | (head[1] & 0xff) << 8 | head[2] & 0xff;
            int id = (head[5] & 0x7f) << 24 | (head[6] & 0xff) << 16 | (head[7] & 0xff) << 8 | head[8] & 0xff;
            return new Frame(head[3] & 0xff, head[4] & 0xff, id, in.readNBytes(length));
        }

        /** Whether the frame is DATA or HEADERS with END_STREAM. */
        boolean endsStream() {
            return (type == 0 || type == 1) && (flags & 0x1) != 0;
        }

        /** The error code of a RST_STREAM or GOAWAY, else 0. */
        long code() {
            int at = type == 3 ? 0 : type == 7 ? 4 : -1;
            return at < 0 ? 0 : (payload[at] & 0xffL) << 24 | (payload[at + 1] & 0xff) << 16 | (payload[at + 2] & 0xff) << 8 | payload[at + 3] & 0xff;
        }
    }

    /** What the proxy answered on one stream: whether a HEADERS frame came, and the DATA payload. */
    record StreamAnswer(boolean headers, byte[] data) {

        /**
         * Reads frames until {@code stream} ends, skipping other streams' frames, and asserts that
         * only HEADERS and DATA came on it (no reset).
         */
        static StreamAnswer read(InputStream in, int stream) throws IOException {
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            boolean headers = false;
            for (Frame frame = Frame.read(in); frame != null; frame = Frame.read(in)) {
                if (frame.stream() != stream) {
                    continue;
                }
                assertThat(frame.type()).as("HEADERS or DATA, no reset").isIn(0, 1);
                headers |= frame.type() == 1;
                if (frame.type() == 0) {
                    data.writeBytes(frame.payload());
                }
                if (frame.endsStream()) {
                    break;
                }
            }
            return new StreamAnswer(headers, data.toByteArray());
        }
    }

    /** Whether the input ends (or is reset) before the read timeout. */
    static boolean readsToEnd(InputStream in) throws Exception {
        byte[] buf = new byte[8192];
        try {
            for (int total = 0; total < 64 << 20; ) {
                int r = in.read(buf);
                if (r < 0) {
                    return true;
                }
                total += r;
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }
}
