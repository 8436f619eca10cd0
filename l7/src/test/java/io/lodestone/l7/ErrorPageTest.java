package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.RefusingPort;
import io.lodestone.tls.ServerTls;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The frontend's error pages on the proxy's own error answers ({@link HttpFrontend.Builder#errorPage}). */
class ErrorPageTest {

    private static final String HTML = "text/html; charset=utf-8";
    private static final String PAGE_503 = "<html><body>Back soon (503)</body></html>\n";
    private static final String PAGE_502 = "{\"error\":\"bad gateway\"}";
    private static final String PAGE_504 = "<html><body>Too slow (504)</body></html>\n";
    private static final String PAGE_400 = "<html><body>Bad request (400)</body></html>\n";
    private static final String PAGE_403 = "<html><body>Forbidden (403)</body></html>\n";
    private static final String PAGE_429 = "{\"error\":\"slow down\"}";

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    /** Every page this test uses; the frontend is named {@code web}. */
    private static HttpFrontend.Builder withPages(HttpFrontend.Builder f) {
        return f.name("web")
                .errorPage(503, HTML, PAGE_503)
                .errorPage(502, "application/json", PAGE_502)
                .errorPage(504, HTML, PAGE_504.getBytes(StandardCharsets.UTF_8))
                .errorPage(400, HTML, PAGE_400)
                .errorPage(403, HTML, PAGE_403)
                .errorPage(429, "application/json", PAGE_429);
    }

    private int start(Backend.Builder backend, Consumer<HttpFrontend.Builder> frontend) {
        HttpFrontend.Builder f = withPages(HttpFrontend.bind("127.0.0.1:0").defaultBackend(backend.build().name()));
        frontend.accept(f);
        proxy = Proxy.builder().accessLog(AccessLog.text(lines)).backend(backend).frontend(f).build();
        proxy.start();
        return proxy.port();
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertPage(HttpResponse<String> r, int status, String contentType, String body) {
        assertThat(r.statusCode()).isEqualTo(status);
        assertThat(r.body()).isEqualTo(body);
        assertThat(r.headers().firstValue("content-type")).contains(contentType);
        assertThat(r.headers().firstValueAsLong("content-length"))
                .hasValue(body.getBytes(StandardCharsets.UTF_8).length);
        assertThat(r.headers().firstValue("x-request-id")).isNotEmpty();
        assertThat(r.headers().firstValue("date")).isNotEmpty();
    }

    private static void assertPage(RawHttp.Response r, int status, String contentType, String body) {
        assertThat(r.status()).isEqualTo(status);
        assertThat(r.body()).isEqualTo(body);
        assertThat(r.header("content-type")).isEqualTo(contentType);
        assertThat(r.header("content-length")).isEqualTo(Integer.toString(body.getBytes(StandardCharsets.UTF_8).length));
        assertThat(r.header("x-request-id")).isNotEmpty();
        assertThat(r.header("date")).isNotEmpty();
    }

    @Test
    void noUsableServerGetsThe503PageCountedWithItsLength() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            proxy.control().server("app", "s1").maintenance();
            assertPage(get(port, "/x"), 503, HTML, PAGE_503);
            Await.until("the 503 counted", () -> proxy.metrics().frontend("web").traffic().requests() == 1
                    && proxy.metrics().frontend("web").traffic().bytesOut() > 0);
            assertThat(proxy.metrics().frontend("web").traffic().bytesOut()).isEqualTo(PAGE_503.length());
            assertThat(proxy.metrics().frontend("web").traffic().responses().serverError()).isEqualTo(1);
            assertThat(lines.await(l -> l.contains("GET /x HTTP/1.1")))
                    .contains(" 503 0 " + PAGE_503.length() + " SC \"GET /x HTTP/1.1\" ");
        }
    }

    @Test
    void theConnectionGoesOnAfterAPageWhereItDidBefore() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            proxy.control().server("app", "s1").maintenance();
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertPage(r, 503, HTML, PAGE_503);
                assertThat(r.header("connection")).isNull();
                assertThat(r.header("cache-control")).isEqualTo("no-cache");
                proxy.control().server("app", "s1").ready();
                assertThat(c.send("GET /y HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/y");
        }
    }

    @Test
    void anHttp10KeepAliveClientIsToldTheConnectionGoesOnAfterAPage() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            proxy.control().server("app", "s1").maintenance();
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read();
                assertPage(r, 503, HTML, PAGE_503);
                // without it an HTTP/1.0 client takes the connection for closed (RFC 9112, 9.3)
                assertThat(r.header("connection")).isEqualToIgnoringCase("keep-alive");
                proxy.control().server("app", "s1").ready();
                assertThat(c.send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read().status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aReconfigurationBringsItsPagesFromTheNextRequestOn() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            proxy = Proxy.builder().backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")).build();
            proxy.start();
            proxy.control().server("app", "s1").maintenance();
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response before = c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(before.status()).isEqualTo(503);
                assertThat(before.header("content-type")).isEqualTo("text/plain");
                assertThat(before.body()).isEqualTo("503 Service Unavailable\n");
                proxy.reconfigure(Proxy.builder().backend(Backend.named("app").server("s1", b.address()))
                        .frontend(withPages(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))));
                proxy.control().server("app", "s1").maintenance();
                assertPage(c.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n").read(), 503, HTML, PAGE_503);
            }
        }
    }

    @Test
    void aRefusedConnectGetsThe502Page() throws Exception {
        int port = start(Backend.named("app").server("dead", RefusingPort.address()).retries(0), f -> { });
        assertPage(get(port, "/"), 502, "application/json", PAGE_502);
    }

    @Test
    void aServerThatNeverAnswersGetsThe504Page() throws Exception {
        try (RecordingBackend silent = RecordingBackend.start("silent", (r, ctx) -> { })) {
            int port = start(Backend.named("app").server("s1", silent.address()).retries(0)
                    .serverTimeout(Duration.ofMillis(200)), f -> { });
            assertPage(get(port, "/slow"), 504, HTML, PAGE_504);
        }
    }

    @Test
    void anAnswerDuringAGracefulStopSaysTheConnectionCloses() throws Exception {
        try (RecordingBackend silent = RecordingBackend.start("silent", (r, ctx) -> { })) {
            int port = start(Backend.named("app").server("s1", silent.address()).retries(0)
                    .serverTimeout(Duration.ofSeconds(2)), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
                Await.until("the request at the server", () -> silent.requests.size() == 1);
                Proxy stopping = proxy;
                proxy = null;
                Thread stop = new Thread(() -> stopping.close(Duration.ofSeconds(10)));
                stop.start();
                Await.until("the proxy stops accepting", () -> {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        return false;
                    } catch (IOException refused) {
                        return true;
                    }
                });
                // the server timeout answers the request in flight; the connection closes after it
                RawHttp.Response r = c.read();
                assertPage(r, 504, HTML, PAGE_504);
                assertThat(r.header("connection")).isEqualToIgnoringCase("close");
                assertThat(c.in.read()).isEqualTo(-1);
                stop.join(10_000);
            }
        }
    }

    @Test
    void aMalformedRequestGetsThe400PageAndTheConnectionCloses() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n").read();
                assertPage(r, 400, HTML, PAGE_400);
                assertThat(r.header("connection")).isEqualToIgnoringCase("close");
                assertThat(c.in.read()).isEqualTo(-1);
            }
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void aStatusWithoutAPageKeepsItsDefaultBody() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.maxInitialLineLength(64));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /" + "a".repeat(100) + " HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(414);
                assertThat(r.header("content-type")).isEqualTo("text/plain");
                assertThat(r.body()).isEqualTo("414 Request-URI Too Long\n");
            }
        }
    }

    @Test
    void aRateLimitGetsThe429PageWithItsRetryAfterOnTheSameConnection() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()),
                    f -> f.rule(Rule.always().rateLimit(RateLimit.perMinute(1))));
            try (RawHttp c = new RawHttp(port)) {
                assertThat(c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
                RawHttp.Response r = c.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertPage(r, 429, "application/json", PAGE_429);
                assertThat(r.header("retry-after")).isNotEmpty();
                assertThat(r.header("connection")).isNull();
                assertPage(c.send("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n").read(), 429, "application/json", PAGE_429);
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/1");
        }
    }

    @Test
    void aDenyWithoutABodyGetsThePageAndARulesOwnBodyWins() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f
                    .rule(Rule.when(Acl.pathBegins("/plain")).setResponseHeader("X-Edited", "yes"))
                    .rule(Rule.when(Acl.pathBegins("/plain")).deny(403))
                    .rule(Rule.when(Acl.pathBegins("/own")).deny(403, "own body\n"))
                    .rule(Rule.when(Acl.pathBegins("/respond")).respond(503, "text/plain", "respond body\n")));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response plain = c.send("GET /plain HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertPage(plain, 403, HTML, PAGE_403);
                assertThat(lines.await(l -> l.contains("GET /plain HTTP/1.1")))
                        .contains(" 403 0 " + PAGE_403.length() + " PR \"GET /plain HTTP/1.1\" ");
                assertThat(plain.header("x-edited")).isEqualTo("yes");
                RawHttp.Response own = c.send("GET /own HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(own.status()).isEqualTo(403);
                assertThat(own.body()).isEqualTo("own body\n");
                assertThat(own.header("content-type")).isEqualTo("text/plain; charset=utf-8");
                RawHttp.Response respond = c.send("GET /respond HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(respond.status()).isEqualTo(503);
                assertThat(respond.body()).isEqualTo("respond body\n");
                // a deny with a body to skip keeps the connection too
                RawHttp.Response withBody = c.send("POST /plain HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").read();
                assertPage(withBody, 403, HTML, PAGE_403);
                assertThat(c.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/ok");
        }
    }

    @Test
    void headGetsThePagesHeadersWithoutItsBody() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            proxy.control().server("app", "s1").maintenance();
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n").read(true);
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.header("content-type")).isEqualTo(HTML);
                assertThat(r.header("content-length")).isEqualTo(Integer.toString(PAGE_503.length()));
                assertThat(r.body()).isEmpty();
                // no stray body bytes before the next answer
                assertPage(c.send("GET /y HTTP/1.1\r\nHost: h\r\n\r\n").read(), 503, HTML, PAGE_503);
            }
        }
    }

    @Test
    void headOverHttp11CountsNoBytesOutAsNoBodyIsSent() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f
                    .rule(Rule.when(Acl.pathBegins("/denied")).deny(451)));
            try (RawHttp c = new RawHttp(port)) {
                // the server announces its Content-Length and sends no body, as a HEAD answer has none
                RawHttp.Response proxied = c.send("HEAD /proxied HTTP/1.1\r\nHost: h\r\n\r\n").read(true);
                assertThat(proxied.status()).isEqualTo(200);
                assertThat(proxied.header("content-length")).isEqualTo(Integer.toString("b:/proxied".length()));
                assertThat(lines.await(l -> l.contains("HEAD /proxied HTTP/1.1")))
                        .contains(" 200 0 0 ").contains(" \"HEAD /proxied HTTP/1.1\" ");
                // a deny with its default body, no page for its status
                RawHttp.Response denied = c.send("HEAD /denied HTTP/1.1\r\nHost: h\r\n\r\n").read(true);
                assertThat(denied.status()).isEqualTo(451);
                assertThat(denied.header("content-length")).isNotEqualTo("0");
                assertThat(lines.await(l -> l.contains("HEAD /denied HTTP/1.1")))
                        .contains(" 451 0 0 PR \"HEAD /denied HTTP/1.1\" ");
                // the 503 page
                proxy.control().server("app", "s1").maintenance();
                RawHttp.Response paged = c.send("HEAD /paged HTTP/1.1\r\nHost: h\r\n\r\n").read(true);
                assertThat(paged.status()).isEqualTo(503);
                assertThat(paged.header("content-length")).isEqualTo(Integer.toString(PAGE_503.length()));
                assertThat(lines.await(l -> l.contains("HEAD /paged HTTP/1.1")))
                        .contains(" 503 0 0 SC \"HEAD /paged HTTP/1.1\" ");
                // nothing of any body was sent: the next answer follows at once
                assertPage(c.send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n").read(), 503, HTML, PAGE_503);
            }
            Await.until("four requests counted", () -> proxy.metrics().frontend("web").traffic().requests() == 4);
            assertThat(proxy.metrics().frontend("web").traffic().bytesOut()).isEqualTo(PAGE_503.length());
        }
    }

    @Test
    void aRequestRefusedAfterAHeadOnTheSameConnectionGetsItsWholePage() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                assertThat(c.send("HEAD /first HTTP/1.1\r\nHost: h\r\n\r\n").read(true).status()).isEqualTo(200);
                RawHttp.Response r = c.send("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n").read();
                assertPage(r, 400, HTML, PAGE_400);
                assertThat(r.header("connection")).isEqualToIgnoringCase("close");
                assertThat(c.in.read()).isEqualTo(-1);
            }
            assertThat(lines.await(l -> l.contains("\"GET / HTTP/1.1\""))).contains(" 400 0 " + PAGE_400.length() + " PR ");
        }
    }

    @Test
    void aClientTimeoutAfterAReconfigurationGetsTheNewPage() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            proxy = Proxy.builder().backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").clientTimeout(Duration.ofMillis(500))
                            .defaultBackend("app")).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                assertThat(c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
                proxy.reconfigure(Proxy.builder().backend(Backend.named("app").server("s1", b.address()))
                        .frontend(withPages(HttpFrontend.bind("127.0.0.1:0").clientTimeout(Duration.ofMillis(500))
                                .errorPage(408, HTML, "<p>too slow</p>").defaultBackend("app"))));
                // a head begun and never finished: the client timeout answers it
                RawHttp.Response r = c.send("GET /2 HTTP/1.1\r\n").read();
                assertPage(r, 408, HTML, "<p>too slow</p>");
            }
        }
    }

    @Test
    void http2StreamsGetThePageAndHeadNoBody() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"));
             RecordingBackend b = RecordingBackend.start("b")) {
            start(Backend.named("app").server("s1", b.address()), f -> f.tls(tls));
            proxy.control().server("app", "s1").maintenance();
            HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            URI uri = URI.create("https://127.0.0.1:" + proxy.port() + "/x");
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertPage(r, 503, HTML, PAGE_503);
            HttpResponse<String> head = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(head.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(head.statusCode()).isEqualTo(503);
            assertThat(head.headers().firstValue("content-type")).contains(HTML);
            assertThat(head.body()).isEmpty();
            // and the stream after them on the same connection
            assertPage(client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()), 503, HTML, PAGE_503);
        }
    }

    @Test
    void aStreamTheHttp2DecoderRefusesGetsThe400Page() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            start(Backend.named("app").server("s1", b.address()), f -> f.h2c(true));
            try (Socket s = Http2Test.h2c(proxy.port())) {
                // :method GET, :scheme http, :path /a/../b (a dot segment), :authority h
                byte[] block = {(byte) 0x82, (byte) 0x86, 0x04, 0x07, '/', 'a', '/', '.', '.', '/', 'b', 0x41, 0x01, 'h'};
                s.getOutputStream().write(Http2Test.frame(1, 1, 0x5, block));
                s.getOutputStream().flush();
                Http2Test.StreamAnswer answer = Http2Test.StreamAnswer.read(s.getInputStream(), 1);
                assertThat(answer.headers()).isTrue();
                assertThat(new String(answer.data(), StandardCharsets.UTF_8)).isEqualTo(PAGE_400);
            }
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void aPageFileThatIsNotARegularFileIsRefusedWithoutReadingIt(@TempDir Path dir) {
        HttpFrontend.Builder f = HttpFrontend.bind(0).defaultBackend("app");
        // a device whose size reads 0 and whose content never ends: read whole, it would fill the heap
        Path endless = Path.of("/dev/zero");
        Assumptions.assumeTrue(Files.exists(endless), "a Unix /dev/zero");
        assertThatThrownBy(() -> f.errorPage(503, HTML, endless)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage 503 file: /dev/zero (not a regular file)");
        assertThatThrownBy(() -> f.errorPage(503, HTML, dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage 503 file: " + dir + " (not a regular file)");
        assertThat(f.build().errorPages()).isEmpty();
    }

    @Test
    void pagesAreCheckedCopiedAndReadOnce(@TempDir Path dir) throws IOException {
        HttpFrontend.Builder f = HttpFrontend.bind(0).defaultBackend("app");
        assertThatThrownBy(() -> f.errorPage(200, HTML, "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage status: 200");
        assertThatThrownBy(() -> f.errorPage(600, HTML, "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage status: 600");
        assertThatThrownBy(() -> f.errorPage(503, " ", "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage 503 contentType: \" \"");
        assertThatThrownBy(() -> f.errorPage(503, "text/html\r\nX-Injected: 1", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("frontend at 0.0.0.0:0 errorPage 503 contentType");
        assertThatThrownBy(() -> f.errorPage(503, null, "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("contentType: null");
        byte[] tooLarge = new byte[HttpFrontend.MAX_ERROR_PAGE_SIZE + 1];
        assertThatThrownBy(() -> f.errorPage(503, HTML, tooLarge)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage 503 body: 65537 bytes (expected: at most 65536)");
        Path missing = dir.resolve("missing.html");
        assertThatThrownBy(() -> f.errorPage(503, HTML, missing)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend at 0.0.0.0:0 errorPage 503 file: " + missing);
        Path big = Files.write(dir.resolve("big.html"), tooLarge);
        assertThatThrownBy(() -> f.errorPage(503, HTML, big)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("65537 bytes; expected: at most 65536");

        byte[] body = "first".getBytes(StandardCharsets.UTF_8);
        Path file = Files.writeString(dir.resolve("502.json"), "{}");
        f.errorPage(503, HTML, body).errorPage(502, "application/json", file)
                .errorPage(500, HTML, new byte[HttpFrontend.MAX_ERROR_PAGE_SIZE]);
        Arrays.fill(body, (byte) 'x');
        Files.writeString(file, "changed");
        HttpFrontend built = f.build();
        assertThat(built.errorPages()).containsOnlyKeys(500, 502, 503);
        assertThat(built.errorPages().get(503).body()).asString(StandardCharsets.UTF_8).isEqualTo("first");
        assertThat(built.errorPages().get(502).body()).asString(StandardCharsets.UTF_8).isEqualTo("{}");
        assertThat(built.errorPages().get(502).contentType()).isEqualTo("application/json");
        built.errorPages().get(503).body()[0] = 'y';
        assertThat(built.errorPages().get(503).body()).asString(StandardCharsets.UTF_8).isEqualTo("first");
        assertThatThrownBy(() -> built.errorPages().clear()).isInstanceOf(UnsupportedOperationException.class);
        // the builder stays usable: a later page does not reach the frontend built before it
        f.errorPage(504, HTML, "later");
        assertThat(built.errorPages()).doesNotContainKey(504);
        assertThat(HttpFrontend.bind(0).defaultBackend("app").build().errorPages()).isEmpty();
    }
}
