package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ClientTls;
import io.netty.pkitesting.X509Bundle;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** HTTP/2 to backends (h2c and h2 over TLS): multiplexing, the server's stream limit, GOAWAY and stream resets. */
class Http2BackendTest {

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    private int start(Backend backend, int ioThreads) {
        proxy = Proxy.builder()
                .ioThreads(ioThreads)
                .backend(backend)
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend(backend.name()))
                .build();
        proxy.start();
        return proxy.port();
    }

    private HttpRequest get(int port, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20)).build();
    }

    /** Sends {@code n} requests at once and checks that each gets 200 and its own answer. */
    private void concurrently(int port, int n) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(client.sendAsync(get(port, "/plain/r" + i), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = all.get(i).get(30, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as("request %d", i).isEqualTo(200);
            assertThat(r.body()).isEqualTo("h2:/plain/r" + i);
        }
    }

    /**
     * An HTTP/2 server that sends DATA on a HEAD stream (this test server answers every request with
     * a body): the client gets the head without a body, over HTTP/1.1 as over HTTP/2, and bytes out
     * count what it got, 0, as for a HEAD answered by an HTTP/1.1 server.
     */
    @Test
    void aBodyAnHttp2ServerSendsToHeadIsNeitherSentNorCounted() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").h2c(true).defaultBackend("app")).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                assertThat(c.send("HEAD /plain/one HTTP/1.1\r\nHost: h\r\n\r\n").read(true).status()).isEqualTo(200);
                assertThat(lines.await(l -> l.contains("HEAD /plain/one HTTP/1.1")))
                        .contains(" 200 0 0 -- \"HEAD /plain/one HTTP/1.1\" ");
                // nothing of the body went out before the next answer
                RawHttp.Response next = c.send("GET /plain/two HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(next.status()).isEqualTo(200);
                assertThat(next.body()).isEqualTo("h2:/plain/two");
            }
            try (Socket s = Http2Test.h2c(proxy.port())) {
                // :method HEAD, :scheme http, :path /plain/three, :authority h
                byte[] block = {0x02, 0x04, 'H', 'E', 'A', 'D', (byte) 0x86, 0x04, 0x0c, '/', 'p', 'l', 'a', 'i', 'n', '/', 't', 'h', 'r',
                    'e', 'e', 0x41, 0x01, 'h'};
                s.getOutputStream().write(Http2Test.frame(1, 1, 0x5, block));
                s.getOutputStream().flush();
                Http2Test.StreamAnswer answer = Http2Test.StreamAnswer.read(s.getInputStream(), 1);
                assertThat(answer.headers()).isTrue();
                assertThat(answer.data().length).as("DATA payload bytes on the HEAD stream").isZero();
            }
            assertThat(lines.await(l -> l.contains("HEAD /plain/three HTTP/2.0")))
                    .contains(" 200 0 0 -- \"HEAD /plain/three HTTP/2.0\" ");
        }
    }

    /** The Via a response gets names the version it was received with (RFC 9110, 7.6.3): 2 from an h2c server. */
    @Test
    void viaOfAResponseFromAnHttp2ServerNamesVersion2() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            Backend backend = Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build();
            proxy = Proxy.builder().backend(backend)
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app").via("lodestone"))
                    .build();
            proxy.start();
            HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                    .send(get(proxy.port(), "/via"), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().allValues("via")).containsExactly("2 lodestone");
            assertThat(b.last().headers().get("via")).isEqualTo("1.1 lodestone");
        }
    }

    /**
     * A {@code :status} that is not a status code of 100 to 599 (RFC 9110, 15) makes the response
     * malformed: the client gets a 502 and nothing of it, as from an HTTP/1.1 server whose status line
     * has such a code. Taken as it came, {@code 20} went out as an interim response
     * ({@code HTTP/1.1 20 Unknown Status (20)}) and {@code 600} or {@code 1000} as the final one.
     */
    @Test
    void aStatusOutsideHundredToFiveHundredNinetyNineIsA502() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            for (String status : new String[] {"20", "099", "600", "1000"}) {
                try (RawHttp c = new RawHttp(port)) {
                    c.send("GET /status/" + status + " HTTP/1.1\r\nHost: h\r\n\r\n");
                    assertThat(c.readLine()).as(":status %s", status).isEqualTo("HTTP/1.1 502 Bad Gateway");
                }
            }
            // the connection goes on for the next request
            assertThat(RawHttp.get(port, "/plain/next").body()).isEqualTo("h2:/plain/next");
            assertThat(b.connections.get()).isEqualTo(1);
        }
    }

    /**
     * A response field value that ends with whitespace makes the response malformed (RFC 9113, 8.2.1),
     * and a proxy must not forward it (8.1.1): 502, as for one that starts with whitespace, which
     * Netty refuses. It went to the HTTP/1.1 client as it came, whose parser drops the space.
     */
    @Test
    void aResponseFieldValueEndingWithWhitespaceIsA502() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /edge-space HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(c.readLine()).isEqualTo("HTTP/1.1 502 Bad Gateway");
            }
            assertThat(RawHttp.get(port, "/plain/next").body()).isEqualTo("h2:/plain/next");
        }
    }

    /**
     * Such a value in the server's trailers comes after the response started: the client's connection
     * is closed without the last chunk, as when the server breaks off its response. The trailer went
     * to the client as it came.
     */
    @Test
    void aResponseTrailerValueEndingWithWhitespaceClosesTheClientWithoutTheEnd() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            List<String> lines = new ArrayList<>();
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /edge-space-trailer HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
                String l;
                while ((l = c.readLine()) != null) {
                    lines.add(l);
                }
            }
            assertThat(lines).first().isEqualTo("HTTP/1.1 200 OK");
            assertThat(lines).doesNotContain("0", "x-t: v ", "x-t: v");
            assertThat(RawHttp.get(port, "/plain/next").body()).isEqualTo("h2:/plain/next");
        }
    }

    @Test
    void hundredConcurrentClientRequestsShareOneH2cConnectionPerEventLoop() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 2);
            concurrently(port, 100);
            assertThat(b.requests).hasSize(100);
            assertThat(b.connections.get()).isBetween(1, 2);
            assertThat(b.maxConcurrentStreams()).isGreaterThan(1);
            assertThat(b.last().headers().get("te")).isEqualTo("trailers");
            assertThat(b.last().headers().get(":authority")).isEqualTo("127.0.0.1:" + port);
            assertThat(b.last().headers().get(":scheme")).isEqualTo("http");
            assertThat(b.last().headers().get("x-forwarded-for")).isEqualTo("127.0.0.1");
            assertThat(b.last().headers().names()).doesNotContain("connection", "transfer-encoding", "host");
        }
    }

    @Test
    void h2OverVerifiedTlsNegotiatedByAlpnCarriesManyRequestsOnOneConnection() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ProtocolBackend b = ProtocolBackend.h2(ProtocolBackend.serverTls(TlsPki.server(ca, "grpc.test"), null, "h2"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("grpc.test").alpn("h2").build();
            int port = start(Backend.named("app").server("s1", b.address()).tls(tls).protocol(BackendProtocol.H2).build(), 1);
            concurrently(port, 50);
            assertThat(b.connections).hasValue(1);
            assertThat(b.serverNames).containsExactly("grpc.test");
            assertThat(b.last().headers().get(":scheme")).isEqualTo("https");
        }
    }

    @Test
    void aServerThatDoesNotChooseH2ByAlpnIsAFailedConnection() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ProtocolBackend b = ProtocolBackend.http1(ProtocolBackend.serverTls(TlsPki.server(ca, "old.test"), null, "http/1.1"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).alpn("h2", "http/1.1").build();
            int port = start(Backend.named("app").server("s1", b.address()).tls(tls).protocol(BackendProtocol.H2).retries(0).build(), 1);
            assertThat(client.send(get(port, "/plain/x"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(502);
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void theServersMaxConcurrentStreamsIsRespected() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(4)) {
            b.delayMillis = 20;
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            concurrently(port, 40);
            assertThat(b.maxConcurrentStreams()).isBetween(1, 4);
            // more connections when every one is at the limit, but never one per request
            assertThat(b.connections.get()).isBetween(2, 8);
        }
    }

    @Test
    void requestsAboveTheLastStreamOfAGoAwayAreRetriedOnANewConnection() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            b.goAwayAfter = 3;
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            CompletableFuture<HttpResponse<String>> a = client.sendAsync(get(port, "/plain/a"), HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> p = client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/plain/b"))
                    .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> c = client.sendAsync(get(port, "/plain/c"), HttpResponse.BodyHandlers.ofString());
            for (CompletableFuture<HttpResponse<String>> f : List.of(a, p, c)) {
                HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("h2:" + r.uri().getPath());
            }
            // three on the first connection, of which two were refused by the GOAWAY and sent again
            assertThat(b.connections).hasValue(2);
            assertThat(b.requests).hasSize(5);
            assertThat(b.requests.stream().filter(s -> s.connection() == 2)).hasSize(2);
            assertThat(client.send(get(port, "/plain/after"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(b.connections).hasValue(2);
        }
    }

    /**
     * A server that ends its connection gracefully (nginx after its {@code keepalive_requests}, 1000 by
     * default) refuses every stream above its GOAWAY's last one unprocessed, often many at once under
     * load: each is sent again, which the retry budget (meant to keep a failing server's retries from
     * multiplying the load) must not turn into 502s; it allowed three here.
     */
    @Test
    void everyStreamRefusedByAGracefulGoAwayIsSentAgainWhateverTheRetryBudget() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            b.goAwayAfter = 8;
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                all.add(client.sendAsync(get(port, "/plain/g" + i), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < 8; i++) {
                HttpResponse<String> r = all.get(i).get(20, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as("request %d", i).isEqualTo(200);
                assertThat(r.body()).isEqualTo("h2:/plain/g" + i);
            }
            // eight on the first connection, seven of them refused by the GOAWAY and sent again
            assertThat(b.requests).hasSize(15);
        }
    }

    @Test
    void aStreamResetByTheServerIs502AndTheConnectionGoesOn() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build(), 1);
            assertThat(client.send(get(port, "/reset"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(502);
            assertThat(client.send(get(port, "/plain/next"), HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("h2:/plain/next");
            assertThat(b.connections).hasValue(1);
        }
    }

    /**
     * A client that stops reading a large response pauses its stream, whose unread window stays with
     * the proxy; the connection's own window must not be exhausted by it, or every other request
     * multiplexed on the connection waits for that client (HAProxy and Envoy open the connection
     * window wide and flow-control each stream by its own window).
     */
    @Test
    void aClientThatDoesNotReadItsResponseDoesNotStallTheOtherStreamsOfTheConnection() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0);
             RawHttp slow = new RawHttp(startSlow(b))) {
            slow.socket.setReceiveBufferSize(4096);
            slow.send("GET /big/16777216 HTTP/1.1\r\nHost: x\r\n\r\n");
            // the slow client's stream has used its whole window on the shared connection (one event loop)
            Await.until(Duration.ofSeconds(20), "the proxy stopped taking the large response", () -> b.bigStreamWindow() == 0);
            for (int i = 0; i < 3; i++) {
                HttpRequest other = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/plain/other" + i))
                        .timeout(Duration.ofSeconds(5)).build();
                // the head passes (HEADERS are not flow-controlled); the body waited for the window
                HttpResponse<String> r = client.sendAsync(other, HttpResponse.BodyHandlers.ofString()).get(5, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as("request %d beside the slow client", i).isEqualTo(200);
                assertThat(r.body()).isEqualTo("h2:/plain/other" + i);
            }
            assertThat(b.bigStreamWindow()).as("the slow client's stream is still open").isZero();
            assertThat(b.connections).hasValue(1);
        }
    }

    /**
     * A client that takes none of its response for longer than the server timeout, while the server
     * waits for it, is no server timeout: the server is not the quiet one (HAProxy delivers the whole
     * response, and its client timeout bounds the wait). The download was cut after the server
     * timeout, logged {@code sD} and counted against the server. On the manual clock, moved once the
     * proxy has stopped reading the server.
     */
    @Test
    void aClientThatPausesLongerThanTheServerTimeoutGetsItsWholeResponse() throws Exception {
        ManualClock clock = new ManualClock();
        ManualClockLoop loop = new ManualClockLoop(clock);
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            startOnClock(clock, loop, b, Duration.ofSeconds(1), Duration.ofSeconds(30));
            try (RawHttp slow = new RawHttp(proxy.port())) {
                // a normal receive buffer: the response is read whole below
                slow.send("GET /big/16777216 HTTP/1.1\r\nHost: x\r\n\r\n");
                awaitProxyStoppedReading(b);
                // the client's pause, longer than the server timeout
                loop.advance(Duration.ofMillis(2500));
                // the whole chunked response: 16 MiB of x and the chunks' framing, up to the last chunk
                byte[] buf = new byte[1 << 16];
                long total = 0;
                byte[] tail = new byte[5];
                int n;
                while ((n = slow.in.read(buf)) > 0) {
                    total += n;
                    for (int i = Math.max(0, n - 5); i < n; i++) {
                        System.arraycopy(tail, 1, tail, 0, 4);
                        tail[4] = buf[i];
                    }
                    if (total > 16777216 && new String(tail, java.nio.charset.StandardCharsets.ISO_8859_1).equals("0\r\n\r\n")) {
                        break;
                    }
                }
                assertThat(total).as("bytes of the response").isGreaterThan(16777216);
                assertThat(new String(tail, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("0\r\n\r\n");
            }
            assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().timeout()).as("the server's timeouts").isZero();
        } finally {
            closeBeforeTheLoop();
            loop.close();
        }
    }

    /**
     * A client that takes nothing of its response for the client timeout is closed then: a client
     * timeout, not the server's. On the manual clock: at twice the server timeout it is still open.
     */
    @Test
    void aClientThatTakesNothingForTheClientTimeoutIsClosedAsAClientTimeout() throws Exception {
        // twice the server timeout, half the client's: the server timeout does not end the wait
        assertAStalledClientIsClosedAtItsClientTimeout(Duration.ofMillis(500), 4);
    }

    @Test
    void aClientThatTakesNothingIsClosedAtTheClientTimeoutWhenTheServerTimeoutIsLonger() throws Exception {
        // the defaults' order (client 10 s, server 60 s): the stall was only looked at when the
        // server timeout came, so such a client held its server for the server timeout
        assertAStalledClientIsClosedAtItsClientTimeout(Duration.ofSeconds(60), 9);
    }

    /**
     * A client that takes nothing of a 16 MiB response from an h2c server, its client timeout 2 s: after
     * 1 s of clock nothing has timed out; within {@code moreSeconds} more it is closed as a client
     * timeout, the server's stream closes, and the server counts no timeout. The client timeout counts
     * from the proxy's last read of the server, which on the test's loop may come only as the clock
     * moves: it is checked to the second, not to the millisecond.
     */
    private void assertAStalledClientIsClosedAtItsClientTimeout(Duration serverTimeout, int moreSeconds) throws Exception {
        ManualClock clock = new ManualClock();
        ManualClockLoop loop = new ManualClockLoop(clock);
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            startOnClock(clock, loop, b, serverTimeout, Duration.ofSeconds(2));
            try (RawHttp slow = new RawHttp(proxy.port())) {
                slow.socket.setReceiveBufferSize(4096);
                slow.send("GET /big/16777216 HTTP/1.1\r\nHost: x\r\n\r\n");
                awaitProxyStoppedReading(b);
                loop.advance(Duration.ofSeconds(1));
                assertThat(proxy.metrics().frontend("web").traffic().errors().timeout()).as("timeouts after 1 s, within the client timeout").isZero();
                advanceUntilTheClientTimedOut(loop, b, moreSeconds);
                assertThat(proxy.metrics().frontend("web").traffic().errors().timeout())
                        .as("the stalled client timed out within %d s, before the %s server timeout", 1 + moreSeconds, serverTimeout).isEqualTo(1);
                Await.until(Duration.ofSeconds(10), "the server's stream closed", () -> b.bigStreamWindow() == -1);
            }
            assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().timeout()).as("the server's timeouts").isZero();
        } finally {
            closeBeforeTheLoop();
            loop.close();
        }
    }

    /**
     * Moves the clock a second at a time, at most {@code seconds} times, until frontend "web" counts a
     * timeout; before each move it waits until the proxy holds the response unread again, so that the
     * clock does not run ahead of a proxy still passing bytes on.
     */
    private void advanceUntilTheClientTimedOut(ManualClockLoop loop, ProtocolBackend b, int seconds) {
        for (int s = 0; s < seconds && proxy.metrics().frontend("web").traffic().errors().timeout() == 0; s++) {
            awaitProxyStoppedReading(b);
            loop.advance(Duration.ofSeconds(1));
        }
    }

    /**
     * Waits until the proxy holds the large response's stream unread: the server's window for it at 0
     * and the server sending nothing, in 100 polls in a row (about 100 ms). A window of 0 alone does
     * not say it: the server sends a whole window the moment it gets one, so its window reads 0 also
     * while the proxy still reads and returns window every few milliseconds (on NIO it went on
     * passing megabytes to a client that read nothing, into the sockets' growing kernel buffers).
     * The manual clock may jump only once the proxy has stopped, or a jump reads as the server's
     * silence.
     */
    private static void awaitProxyStoppedReading(ProtocolBackend b) {
        long[] last = {-1};
        int[] still = {0};
        Await.until(Duration.ofSeconds(20), "the proxy stopped taking the response", () -> {
            long sent = b.bytesSent.get();
            still[0] = b.bigStreamWindow() == 0 && sent == last[0] ? still[0] + 1 : 0;
            last[0] = sent;
            return still[0] >= 100;
        });
    }

    /**
     * A server that stops reading its connection, PINGs included: the stream's server timeout (504)
     * makes the proxy PING the connection, and with no answer within the connect timeout it closes,
     * so the next request goes to a new connection instead of waiting out its own server timeout on
     * the dead one (until TCP gave up, many minutes). On the manual clock.
     */
    @Test
    void aServerThatStopsReadingLosesItsConnectionWhenAPingAfterAServerTimeoutGoesUnanswered() throws Exception {
        ManualClock clock = new ManualClock();
        ManualClockLoop loop = new ManualClockLoop(clock);
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            startOnClock(clock, loop, b, Duration.ofSeconds(1), Duration.ofSeconds(30));
            int port = proxy.port();
            assertThat(client.send(get(port, "/plain/a"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            b.stopReadingOpenConnections();
            CompletableFuture<HttpResponse<String>> hung = client.sendAsync(get(port, "/plain/b"), HttpResponse.BodyHandlers.ofString());
            Await.until("the request sent on the silent connection",
                    () -> proxy.control().server("app", "s1").status().load() == 1);
            // the server timeout is armed once the stream's request is written, a moment later
            for (int i = 0; i < 5 && !hung.isDone(); i++) {
                loop.advance(Duration.ofSeconds(1));
                try {
                    hung.get(1, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException notYet) {
                    // not timed out yet: the clock moves on
                }
            }
            assertThat(hung.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(504);
            loop.advance(Duration.ofSeconds(4));
            assertThat(proxy.metrics().backend("app").server("s1").traffic().currentConnections())
                    .as("open until the connect timeout's end").isEqualTo(1);
            loop.advance(Duration.ofSeconds(1));
            Await.until("the silent connection closed",
                    () -> proxy.metrics().backend("app").server("s1").traffic().currentConnections() == 0);
            HttpResponse<String> after = client.send(get(port, "/plain/c"), HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).isEqualTo(200);
            assertThat(after.body()).isEqualTo("h2:/plain/c");
            assertThat(b.connections.get()).isEqualTo(2);
        } finally {
            closeBeforeTheLoop();
            loop.close();
        }
    }

    /**
     * A server slow to answer but reading on keeps its connection: it answers the PING at once, and
     * the streams after a server timeout use the connection as before.
     */
    @Test
    void aSlowServerThatAnswersThePingKeepsItsConnection() throws Exception {
        ManualClock clock = new ManualClock();
        ManualClockLoop loop = new ManualClockLoop(clock);
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            b.delayMillis = 60_000;
            startOnClock(clock, loop, b, Duration.ofSeconds(1), Duration.ofSeconds(30));
            int port = proxy.port();
            CompletableFuture<HttpResponse<String>> slow = client.sendAsync(get(port, "/plain/a"), HttpResponse.BodyHandlers.ofString());
            Await.until("the request at the server", () -> b.requests.size() == 1);
            loop.advance(Duration.ofSeconds(1));
            assertThat(slow.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(504);
            loop.awaitDueTimers();
            // a request answered at once on the same connection: the server sent the PING's ACK before
            // its response, so once the response is here the proxy has read the ACK (advancing the clock
            // first could pass the connect timeout while the ACK was still on its way, as on NIO once)
            b.delayMillis = 0;
            assertThat(client.send(get(port, "/plain/b"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            loop.advance(Duration.ofSeconds(10));
            assertThat(proxy.metrics().backend("app").server("s1").traffic().currentConnections()).isEqualTo(1);
            assertThat(client.send(get(port, "/plain/c"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(b.connections.get()).isEqualTo(1);
        } finally {
            closeBeforeTheLoop();
            loop.close();
        }
    }

    /** A proxy on {@code clock} and the test's one loop, frontend "web" in front of the h2c server {@code b}. */
    private void startOnClock(ManualClock clock, ManualClockLoop loop, ProtocolBackend b, Duration serverTimeout, Duration clientTimeout) {
        Backend backend = Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)
                .serverTimeout(serverTimeout).build();
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).backend(backend)
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").clientTimeout(clientTimeout).defaultBackend("app"))
                .build();
        proxy.start();
    }

    /** The proxy closes before the test's loop does. */
    private void closeBeforeTheLoop() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
            proxy = null;
        }
    }

    private int startSlow(ProtocolBackend b) {
        return start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)
                .build(), 1);
    }

    @Test
    void anUnusedConnectionIsClosedAfterThePoolIdleTimeout() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            Backend backend = Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build();
            proxy = Proxy.builder().ioThreads(1).backend(backend)
                    .frontend(HttpFrontend.bind("127.0.0.1:0").backendPool(8, Duration.ofMillis(200)).defaultBackend("app"))
                    .build();
            proxy.start();
            assertThat(client.send(get(proxy.port(), "/plain/once"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            Await.until(Duration.ofSeconds(10), "the idle HTTP/2 connection closed", () -> b.openConnections() == 0);
            assertThat(client.send(get(proxy.port(), "/plain/again"), HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("h2:/plain/again");
            assertThat(b.connections).hasValue(2);
        }
    }

    /**
     * A server a reconfiguration removes has its unused HTTP/2 connection closed at once, as HTTP/1.1
     * ones are (README, reconfiguration), not after the pool idle timeout (60 s by default).
     */
    @Test
    void theUnusedConnectionOfAServerAReconfigurationRemovesIsClosedAtOnce() throws Exception {
        try (ProtocolBackend b1 = ProtocolBackend.h2c(0);
                ProtocolBackend b2 = ProtocolBackend.h2c(0)) {
            proxy = Proxy.builder().ioThreads(1)
                    .backend(Backend.named("app").server("s1", b1.address()).server("s2", b2.address()).protocol(BackendProtocol.H2C))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            // round robin: one request to each server, each leaving an unused HTTP/2 connection
            assertThat(client.send(get(port, "/plain/1"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(client.send(get(port, "/plain/2"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(List.of(b1.openConnections(), b2.openConnections())).containsExactly(1, 1);

            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()).protocol(BackendProtocol.H2C))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")));

            Await.until(Duration.ofSeconds(5), "the removed server's HTTP/2 connection to close", () -> b2.openConnections() == 0);
            assertThat(client.send(get(port, "/plain/3"), HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("h2:/plain/3");
            assertThat(b1.openConnections()).as("the connection of the server that stays").isEqualTo(1);
            assertThat(b1.connections).hasValue(1);
        }
    }

    @Test
    void anHttp11ServerConfiguredAsH2cIsA502() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("old")) {
            int port = start(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).retries(0).build(), 1);
            assertThat(client.send(get(port, "/plain/x"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(502);
            // the HTTP/1.1 server saw the HTTP/2 preface, never the request
            assertThat(b.requests).noneMatch(r -> r.uri().equals("/plain/x"));
        }
    }

    /**
     * Starts a proxy whose frontend terminates TLS with {@code tls} (h2 offered) in front of the h2c
     * server {@code b}, on one event loop, and returns an HTTP/2 client that trusts {@code ca}.
     */
    private HttpClient startTlsInFrontOfH2c(ProtocolBackend b, io.lodestone.tls.ServerTls tls, X509Bundle ca) throws Exception {
        proxy = Proxy.builder().ioThreads(1)
                .backend(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C).build())
                .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).defaultBackend("app"))
                .build();
        proxy.start();
        return HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca)).version(HttpClient.Version.HTTP_2)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** A server connection that dies mid-response ends an HTTP/2 client's stream with a reset, never a clean end (gRPC reads that as an error). */
    @Test
    void aServerThatDiesMidResponseResetsTheHttp2ClientsStream() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ProtocolBackend b = ProtocolBackend.h2c(0);
             io.lodestone.tls.ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"))) {
            HttpClient h2 = startTlsInFrontOfH2c(b, tls, ca);
            URI die = URI.create("https://127.0.0.1:" + proxy.port() + "/die");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> h2.send(HttpRequest.newBuilder(die).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString())).isInstanceOf(java.io.IOException.class);
            URI next = URI.create("https://127.0.0.1:" + proxy.port() + "/plain/next");
            assertThat(h2.send(HttpRequest.newBuilder(next).build(), HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("h2:/plain/next");
        }
    }

    @Test
    void http2ClientsOverTlsShareOneH2cConnectionToTheServer() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ProtocolBackend b = ProtocolBackend.h2c(0);
             io.lodestone.tls.ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"))) {
            HttpClient h2 = startTlsInFrontOfH2c(b, tls, ca);
            URI first = URI.create("https://127.0.0.1:" + proxy.port() + "/plain/first");
            assertThat(h2.send(HttpRequest.newBuilder(first).build(), HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("h2:/plain/first");
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                URI uri = URI.create("https://127.0.0.1:" + proxy.port() + "/plain/s" + i);
                all.add(h2.sendAsync(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < 50; i++) {
                HttpResponse<String> r = all.get(i).get(30, TimeUnit.SECONDS);
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(r.body()).isEqualTo("h2:/plain/s" + i);
            }
            assertThat(b.connections).hasValue(1);
            assertThat(b.last().headers().get("x-forwarded-proto")).isEqualTo("https");
        }
    }
}
