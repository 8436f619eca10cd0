package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.LatencySnapshot;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ClientTls;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.pkitesting.X509Bundle;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The connection timers of an HTTP frontend follow the proxy's {@link io.lodestone.core.Clock}: with
 * a manual clock, a test moves the clock past a timeout instead of waiting for it, and a timer that
 * is not yet due does not fire however long the test takes. Each case checks both sides of the
 * timeout: 1 ms before it the connection is still served, at it the timeout's answer comes.
 *
 * <p>The proxy runs on one event loop that the test holds ({@link ManualClockLoop}), so each move of
 * the clock returns once the timers that fell due have run.
 */
class ProxyClockTimeoutsTest {

    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(20);
    private static final Duration SERVER_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration ONE_MS = Duration.ofMillis(1);

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private RecordingBackend backend;
    private Proxy proxy;
    private ServerTls tls;

    @AfterEach
    void close() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        loop.close();
        if (tls != null) {
            tls.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    /** A proxy on the manual clock and the test's event loop, with a frontend "web" in front of {@code app}. */
    private int start(String app, HttpFrontend.Builder web) {
        return start(Backend.named("app").server("s1", app).serverTimeout(SERVER_TIMEOUT), web);
    }

    /** A proxy on the manual clock and the test's event loop, with a frontend "web" in front of backend {@code app}. */
    private int start(Backend.Builder app, HttpFrontend.Builder web) {
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(app)
                .frontend(web.name("web").defaultBackend("app")
                        .clientTimeout(CLIENT_TIMEOUT).keepAliveTimeout(KEEP_ALIVE))
                .build();
        proxy.start();
        return proxy.port();
    }

    private int start(String app) {
        return start(app, HttpFrontend.bind("127.0.0.1:0"));
    }

    /** Waits until frontend "web" has accepted {@code n} connections in all and the loop has set them up. */
    private void awaitAccepted(long n) {
        Await.until(n + " accepted connections", () -> proxy.metrics().frontend("web").traffic().totalConnections() >= n);
        loop.awaitDueTimers();
    }

    /**
     * {@code close()} drains on the proxy's clock: with a request in flight at a server that does not
     * answer, a close from another thread ends when the test moves the clock past the drain timeout,
     * at once rather than after the timeout in real time (which it waited, whatever the clock).
     */
    @Test
    void closeDrainsOnTheProxyClock() throws Exception {
        Duration drain = Duration.ofMinutes(1);
        java.util.concurrent.CompletableFuture<Void> arrived = new java.util.concurrent.CompletableFuture<>();
        backend = RecordingBackend.start("b", (r, ctx) -> arrived.complete(null));
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).drainTimeout(drain)
                .backend(Backend.named("app").server("s1", backend.address()).serverTimeout(Duration.ofHours(1)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                .build();
        proxy.start();
        int port = proxy.port();
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            arrived.get(5, TimeUnit.SECONDS);
            Proxy closing = proxy;
            java.util.concurrent.CompletableFuture<Long> closed = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                closing.close();
                return System.nanoTime();
            });
            // the drain has begun (and its clock start been read) once the proxy no longer accepts
            Await.until(Duration.ofSeconds(5), "the proxy to stop accepting", () -> !accepts(port));
            assertThat(closed).isNotDone();
            long moved = System.nanoTime();
            loop.advance(drain);
            long done = closed.get(5, TimeUnit.SECONDS);
            assertThat(Duration.ofNanos(done - moved)).isLessThan(Duration.ofSeconds(5));
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    /**
     * A close on a manual clock that nothing moves still ends at the drain timeout in real time, as
     * before: a test's clean-up that leaves a request in flight does not hang.
     */
    @Test
    void closeOnAManualClockNothingMovesEndsAtTheDrainTimeoutInRealTime() throws Exception {
        java.util.concurrent.CompletableFuture<Void> arrived = new java.util.concurrent.CompletableFuture<>();
        backend = RecordingBackend.start("b", (r, ctx) -> arrived.complete(null));
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).drainTimeout(Duration.ofMillis(300))
                .backend(Backend.named("app").server("s1", backend.address()).serverTimeout(Duration.ofHours(1)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                .build();
        proxy.start();
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            arrived.get(5, TimeUnit.SECONDS);
            Proxy closing = proxy;
            java.util.concurrent.CompletableFuture.runAsync(closing::close).get(10, TimeUnit.SECONDS);
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    /**
     * A frontend a reconfiguration removed drains on the proxy's clock too: what it still has open is
     * closed when the test moves the clock past the drain timeout (its deadline ran in real time).
     */
    @Test
    void aRemovedFrontendDrainsOnTheProxyClock() throws Exception {
        Duration drain = Duration.ofSeconds(20);
        java.util.concurrent.CompletableFuture<Void> arrived = new java.util.concurrent.CompletableFuture<>();
        backend = RecordingBackend.start("b", (r, ctx) -> arrived.complete(null));
        Backend.Builder app = Backend.named("app").server("s1", backend.address()).serverTimeout(Duration.ofHours(1));
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).drainTimeout(drain)
                .backend(app)
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("old").defaultBackend("app"))
                .build();
        proxy.start();
        int port = proxy.port("old");
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            arrived.get(5, TimeUnit.SECONDS);
            proxy.reconfigure(Proxy.builder().drainTimeout(drain).backend(app)
                    // another address: one the removed frontend has would take over its sockets
                    .frontend(HttpFrontend.bind("127.0.0.2:0").name("new").defaultBackend("app")));
            Await.until(Duration.ofSeconds(5), "the removed frontend to stop accepting", () -> !accepts(port));
            loop.advance(drain);
            c.socket.setSoTimeout(5_000);
            assertThat(c.closedByPeer()).as("closed at the drain timeout, within 5 s of moving the clock").isTrue();
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aRequestHeadIsTimedOnTheProxyClock() throws IOException {
        int port = start(backend().address());
        try (RawHttp early = new RawHttp(port)) {
            early.send("GET /a HTTP/1.1\r\nHost: a\r\n");
            awaitAccepted(1);
            loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
            early.send("\r\n");
            assertThat(early.read().status()).isEqualTo(200);
        }
        try (RawHttp late = new RawHttp(port)) {
            late.send("GET /b HTTP/1.1\r\nHost: a\r\n");
            awaitAccepted(2);
            loop.advance(CLIENT_TIMEOUT);
            RawHttp.Response r = late.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(late.closedByPeer()).isTrue();
        }
    }

    /**
     * A 408's log line starts where the client's time began (the first byte of its head, here the
     * connection's start) and its Ta is the client timeout it used up, as for any other request;
     * the line was dated at the timeout with a Ta of 0. Its request, whose line never ended, is
     * {@code <BADREQ>}, as HAProxy logs a request that timed out before its head was whole; it was {@code -}.
     */
    @Test
    void a408IsLoggedFromTheStartOfItsHeadWithTheWholeClientTimeout() throws IOException {
        int port = start(backend().address());
        String begun;
        try (RawHttp late = new RawHttp(port)) {
            late.send("GET /b HTTP/1.");
            awaitAccepted(1);
            begun = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC)
                    .format(Instant.ofEpochMilli(clock.currentTimeMillis()));
            loop.advance(CLIENT_TIMEOUT);
            assertThat(late.read().status()).isEqualTo(408);
        }
        assertThat(lines.await(l -> l.contains(" 408 ")))
                .contains("[" + begun + "] web -/- -1/-1/-1/-1/" + CLIENT_TIMEOUT.toMillis() + " 408 0 20 cR \"<BADREQ>\" ");
    }

    /**
     * A request's Ta, its total-time sample and its line's date count from the first byte of its head
     * (here the connection's start), as HAProxy's Ta and request date do: a head sent over one second
     * logs {@code 1000/0/0/0/1000}; Ta left the head's second out ({@code 1000/0/0/0/0}) and the date
     * was the head's end. The next request on the connection, whose head never ends, logs no Tq of its
     * own; it logged the previous request's.
     */
    @Test
    void aRequestsTotalTimeAndDateCountFromTheFirstByteOfItsHead() throws IOException {
        int port = start(backend().address());
        String begun;
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /split HTTP/1.1\r\nHost: a\r\n");
            awaitAccepted(1);
            begun = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC)
                    .format(Instant.ofEpochMilli(clock.currentTimeMillis()));
            loop.advance(Duration.ofSeconds(1));
            c.send("\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            assertThat(lines.await(l -> l.contains("/split"))).contains("[" + begun + "] web app/s1 1000/0/0/0/1000 200 ");
            LatencySnapshot total = proxy.metrics().frontend("web").traffic().totalTime();
            assertThat(total.count()).isEqualTo(1);
            assertThat(total.maxNanos()).isGreaterThanOrEqualTo(Duration.ofSeconds(1).toNanos());
            c.send("GET /never HTTP/1.1\r\n");
            try (RawHttp quick = new RawHttp(port)) {
                assertThat(quick.send("GET /quick HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            }
            loop.advance(CLIENT_TIMEOUT);
            assertThat(c.read().status()).isEqualTo(408);
        }
        assertThat(lines.await(l -> l.contains(" 408 "))).contains(" web -/- -1/-1/-1/-1/" + CLIENT_TIMEOUT.toMillis() + " 408 ");
    }

    /**
     * A 408 whose request line had arrived whole and valid is logged with that line, as a request
     * refused for a later part of its head is; it was {@code <BADREQ>}. A line that never ended or
     * is not valid stays {@code <BADREQ>}. Each client's bytes are read before the clock moves: a
     * request on another connection goes through the proxy's one event loop first (and its head
     * scanner takes the loop's working memory from the slow client's in between).
     */
    @Test
    void a408WhoseRequestLineArrivedWholeIsLoggedWithTheLine() throws IOException {
        int port = start(backend().address());
        assertThat(timedOutRequest(port, "GET /slow?x=1 HTTP/1.1\r\nHost: a\r\n")).isEqualTo("\"GET /slow?x=1 HTTP/1.1\"");
        assertThat(timedOutRequest(port, "POST /ten HTTP/1.0\r\n")).isEqualTo("\"POST /ten HTTP/1.0\"");
        assertThat(timedOutRequest(port, "GET /unfinished HTTP/1.1")).isEqualTo("\"<BADREQ>\"");
        assertThat(timedOutRequest(port, "GET  /two-spaces HTTP/1.1\r\nHost: a\r\n")).isEqualTo("\"<BADREQ>\"");
        assertThat(timedOutRequest(port, "GET /version HTTP/1.7\r\nHost: a\r\n")).isEqualTo("\"<BADREQ>\"");
    }

    /**
     * Sends {@code partial} on a new connection, has it read, moves the clock by the client timeout,
     * expects the 408, and returns the request field of its log line.
     */
    private String timedOutRequest(int port, String partial) throws IOException {
        int before = lines.lines().size();
        try (RawHttp slow = new RawHttp(port)) {
            slow.send(partial);
            try (RawHttp quick = new RawHttp(port)) {
                assertThat(quick.send("GET /quick HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            }
            loop.advance(CLIENT_TIMEOUT);
            RawHttp.Response r = slow.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(slow.closedByPeer()).isTrue();
        }
        List<String> logged = lines.awaitCount(before + 2);
        String line = logged.subList(before, logged.size()).stream().filter(l -> l.contains(" 408 ")).findFirst().orElseThrow();
        assertThat(line).contains(" 408 0 20 cR \"");
        int open = line.indexOf(" cR \"") + 4;
        return line.substring(open, line.lastIndexOf("\" ") + 1);
    }

    /**
     * A 408 is the one line of its request: the close that follows it has the head's bytes decoded a
     * last time, which came as a second request, logged {@code PQ "<BADREQ>"} and counted as a second
     * request on the frontend.
     */
    @Test
    void a408IsItsRequestsOnlyLineAndCount() throws IOException {
        int port = start(backend().address());
        try (RawHttp slow = new RawHttp(port)) {
            slow.send("GET /slow HTTP/1.1\r\nHost: a\r\n");
            awaitAccepted(1);
            loop.advance(CLIENT_TIMEOUT);
            assertThat(slow.read().status()).isEqualTo(408);
            assertThat(slow.closedByPeer()).isTrue();
        }
        // on the proxy's one event loop, after whatever the 408's close logged
        try (RawHttp quick = new RawHttp(port)) {
            assertThat(quick.send("GET /quick HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
        }
        List<String> logged = lines.awaitCount(2);
        assertThat(logged.get(1)).contains("/quick");
        assertThat(logged).hasSize(2);
        assertThat(logged.get(0)).contains(" 408 0 20 cR \"GET /slow HTTP/1.1\" ");
        assertThat(proxy.metrics().frontend("web").traffic().requests()).isEqualTo(2);
    }

    /**
     * A client that ends its side (FIN) inside its request head left before its request was whole:
     * {@code CR}, with Tq -1 and Ta from the head's first byte, and no {@code invalid} error, as
     * HAProxy logs it; it still gets HAProxy's 400. It was logged and counted as a malformed request
     * ({@code PR}, an {@code invalid} error) with the time of its head as Tq.
     */
    @Test
    void aClientThatEndsItsSideInsideItsHeadLeftBeforeItsRequest() throws IOException {
        int port = start(backend().address());
        try (RawHttp cut = new RawHttp(port)) {
            cut.send("GET /cut HTTP/1.1\r\nHost: a\r\n");
            awaitAccepted(1);
            loop.advance(Duration.ofSeconds(1));
            cut.socket.shutdownOutput();
            assertThat(cut.read().status()).isEqualTo(400);
        }
        assertThat(lines.await(l -> l.contains(" 400 ")))
                .contains(" web -/- -1/-1/-1/-1/1000 400 0 16 CR \"<BADREQ>\" ");
        TrafficSnapshot web = proxy.metrics().frontend("web").traffic();
        assertThat(web.requests()).isEqualTo(1);
        assertThat(web.errors().invalid()).isZero();
    }

    /**
     * A client that resets its connection inside its request head left before its request was whole:
     * {@code CR}, Ta from the head's first byte. It was logged as a pipelined request dropped before
     * its turn ({@code CQ}) with a Ta of 0.
     */
    @Test
    void aClientThatResetsInsideItsHeadLeftBeforeItsRequest() throws IOException {
        int port = start(backend().address());
        try (RawHttp cut = new RawHttp(port)) {
            cut.send("GET /cut HTTP/1.1\r\nHost: a\r\n");
            awaitAccepted(1);
            loop.advance(Duration.ofSeconds(1));
            cut.socket.setSoLinger(true, 0);
        }
        assertThat(lines.await(l -> l.contains(" web "))).contains(" web -/- -1/-1/-1/-1/1000 - 0 0 CR \"<BADREQ>\" ");
        TrafficSnapshot web = proxy.metrics().frontend("web").traffic();
        assertThat(web.requests()).isEqualTo(1);
        assertThat(web.errors().invalid()).isZero();
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedOnTheProxyClock() throws IOException {
        int port = start(backend().address());
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            loop.advance(KEEP_ALIVE.minus(ONE_MS));
            c.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            loop.advance(KEEP_ALIVE);
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    /**
     * A request whose head the client began to send while its previous request was being served is
     * under way when that response ends, not idle: the client timeout runs for it from then, not the
     * keep-alive timeout (shorter here), and its end is a 408, not a silent close, as HAProxy's
     * {@code timeout http-request} takes over from {@code timeout http-keep-alive} once a request has
     * begun. The connection used to be closed at the keep-alive timeout under the head.
     */
    @Test
    void aHeadBegunDuringTheLastResponseIsTimedByTheClientTimeoutNotTheKeepAlive() throws IOException {
        int port = start(backend().address());
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
            c.send("\r\n");
            assertThat(c.read().status()).isEqualTo(200);
        }
        try (RawHttp c = new RawHttp(port)) {
            c.send("GET /3 HTTP/1.1\r\nHost: a\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n");
            assertThat(c.read().status()).isEqualTo(200);
            loop.advance(CLIENT_TIMEOUT);
            RawHttp.Response r = c.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(c.closedByPeer()).isTrue();
        }
        assertThat(backend.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/1", "/2", "/3");
    }

    /**
     * The server's first connection answers with a chunked response whose pieces the test hands it
     * one by one, each after moving the clock by most of the server timeout, then goes quiet; the
     * server timeout counts quiet time, so the response is relayed whole, and the next request,
     * which the quiet server never answers, gets 504 when the clock passes the timeout.
     */
    @Test
    void aServerIsTimedOutOnTheProxyClockAfterBeingQuietForTheWholeTimeout() throws Exception {
        BlockingQueue<String> pieces = new LinkedBlockingQueue<>();
        CountDownLatch secondHead = new CountDownLatch(1);
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            RawBackend.write(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            String piece;
            try {
                while (!(piece = pieces.take()).isEmpty()) {
                    RawBackend.write(s, Integer.toHexString(piece.length()) + "\r\n" + piece + "\r\n");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            RawBackend.write(s, "0\r\n\r\n");
            RawBackend.nextHead(in);
            secondHead.countDown();
            in.read();
        })) {
            int port = start(server.address());
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(c.readLine()).isEqualTo("HTTP/1.1 200 OK");
                while (!c.readLine().isEmpty()) {
                    // the rest of the head
                }
                for (String piece : new String[] {"one", "two", "three"}) {
                    loop.advance(SERVER_TIMEOUT.minus(ONE_MS));
                    pieces.add(piece);
                    assertThat(c.readChunk()).isEqualTo(piece);
                }
                pieces.add("");
                assertThat(c.readChunk()).isEmpty();
                assertThat(c.readLine()).isEmpty();

                c.send("GET /never HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(secondHead.await(10, TimeUnit.SECONDS)).isTrue();
                loop.advance(SERVER_TIMEOUT.minus(ONE_MS));
                loop.advance(ONE_MS);
                assertThat(c.read().status()).isEqualTo(504);
            }
        }
    }

    /**
     * A client that stops sending its request's body: the client timeout runs again from each read of
     * the body, so pieces that come 1 ms before it make a whole request, and one that never comes gets
     * a 408 at the client timeout ({@code cR}, a timeout error on the frontend), its server connection
     * cut and nothing counted against the server. The request used to wait for the server timeout (for
     * good without one), then was answered 504 and counted as the server's timeout ({@code sH}).
     */
    @Test
    void anUploadThatStopsGets408AtTheClientTimeoutNotTheServersTimeout() throws Exception {
        AtomicInteger received = new AtomicInteger();
        CountDownLatch cut = new CountDownLatch(1);
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            while (RawBackend.nextHead(in) != null) {
                for (int i = 0; i < 10; i++) {
                    if (in.read() < 0) {
                        cut.countDown();
                        return;
                    }
                    received.incrementAndGet();
                }
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        })) {
            int port = start(server.address());
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
                Await.until("the first piece at the server", () -> received.get() == 3);
                loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
                c.send("defg");
                Await.until("the second piece at the server", () -> received.get() == 7);
                loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
                c.send("hij");
                assertThat(c.read().status()).isEqualTo(200);
            }
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /stopped HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
                Await.until("the piece at the server", () -> received.get() == 13);
                loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
                loop.advance(ONE_MS);
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(408);
                assertThat(r.header("connection")).isEqualTo("close");
                assertThat(r.header("x-request-id")).isNotEmpty();
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(cut.await(10, TimeUnit.SECONDS)).as("the server connection closed").isTrue();
            assertThat(lines.await(l -> l.contains("/stopped"))).contains(" 408 ", " cR \"POST /stopped HTTP/1.1\"");
            assertThat(proxy.metrics().frontend("web").traffic().errors().timeout()).isEqualTo(1);
            assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().timeout()).isZero();
        }
    }

    /**
     * The same on an HTTP/2 stream: a request whose body stops (a DATA frame, then nothing) gets a 408
     * at the client timeout, then a reset, as the rest of its request will not be read; it was the
     * server timeout's 504.
     */
    @Test
    void anHttp2UploadThatStopsGets408AtTheClientTimeout() throws Exception {
        CountDownLatch cut = new CountDownLatch(1);
        AtomicInteger received = new AtomicInteger();
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            while (in.read() >= 0) {
                received.incrementAndGet();
            }
            cut.countDown();
        })) {
            int port = start(server.address(), HttpFrontend.bind("127.0.0.1:0").h2c(true));
            try (Socket s = Http2Test.h2c(port)) {
                s.getOutputStream().write(Http2Test.headers(1, false));
                s.getOutputStream().write(Http2Test.frame(1, 0, 0, "abc".getBytes(StandardCharsets.US_ASCII)));
                s.getOutputStream().flush();
                // the chunk of "abc" at the server shows the proxy has read the DATA frame
                Await.until("the piece at the server", () -> received.get() >= 6);
                loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
                loop.advance(ONE_MS);
                assertThat(Http2Test.streamFrames(s.getInputStream(), 1)).as("HEADERS, DATA").containsExactly(1, 0);
                assertThat(Http2Test.readUntilFrame(s.getInputStream(), 3, 1)).as("RST_STREAM").isTrue();
            }
            assertThat(cut.await(10, TimeUnit.SECONDS)).as("the server connection closed").isTrue();
        }
        assertThat(lines.awaitCount(1).get(0)).contains(" 408 ", " cR \"GET / HTTP/2.0\" ");
        assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().timeout()).isZero();
    }

    /**
     * A client that sent {@code Expect: 100-continue} holds its body back until it gets {@code 100
     * Continue}: a server slow to send it leaves the client timed by nothing but the server timeout,
     * and the client timeout runs from the interim response on.
     */
    @Test
    void aClientWaitingFor100ContinueIsTimedOnlyOnceItHasIt() throws Exception {
        CountDownLatch head = new CountDownLatch(1);
        CountDownLatch sendContinue = new CountDownLatch(1);
        AtomicInteger received = new AtomicInteger();
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            head.countDown();
            try {
                sendContinue.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            RawBackend.write(s, "HTTP/1.1 100 Continue\r\n\r\n");
            while (in.read() >= 0) {
                received.incrementAndGet();
            }
        })) {
            int port = start(server.address());
            try (RawHttp c = new RawHttp(port)) {
                c.send("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
                assertThat(head.await(10, TimeUnit.SECONDS)).isTrue();
                loop.advance(CLIENT_TIMEOUT);
                sendContinue.countDown();
                assertThat(c.readLine()).isEqualTo("HTTP/1.1 100 Continue");
                assertThat(c.readLine()).isEmpty();
                loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
                c.send("abc");
                Await.until("the piece at the server", () -> received.get() == 3);
                loop.advance(CLIENT_TIMEOUT);
                assertThat(c.read().status()).isEqualTo(408);
            }
        }
    }

    /** A proxy whose frontend "web" terminates TLS (www.example) with a 10 s handshake timeout. */
    private int startTls() throws Exception {
        X509Bundle ca = TlsPki.ca();
        X509Bundle cert = TlsPki.server(ca, "www.example");
        tls = ServerTls.builder()
                .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), Arrays.asList(cert.getCertificatePath())))
                .handshakeTimeout(Duration.ofSeconds(10))
                .build();
        return start(backend().address(), HttpFrontend.bind("127.0.0.1:0").tls(tls));
    }

    @Test
    void aTlsHandshakeIsTimedOnTheProxyClock() throws Exception {
        int port = startTls();
        try (Socket silent = new Socket("127.0.0.1", port)) {
            silent.setSoTimeout(10_000);
            awaitAccepted(1);
            loop.advance(Duration.ofSeconds(10).minus(ONE_MS));
            assertThat(proxy.metrics().frontend("web").traffic().errors().total()).isZero();
            loop.advance(ONE_MS);
            Await.until("the timeout error", () -> proxy.metrics().frontend("web").traffic().errors().timeout() == 1);
            assertThat(closedByPeer(silent)).isTrue();
        }
    }

    /**
     * The ServerTls handshake timeout runs from accept, as the README has it: a client that takes 8
     * of its 10 s to send its ClientHello has 2 s left to finish the handshake. The TLS handler that
     * takes over after the ClientHello started a whole timeout of its own, so such a client had up to
     * twice the timeout (18 s here).
     */
    @Test
    void aTlsHandshakeIsTimedFromAcceptNotAgainFromTheClientHello() throws Exception {
        int port = startTls();
        byte[] hello = clientHello();
        try (Socket slow = new Socket("127.0.0.1", port)) {
            slow.setSoTimeout(10_000);
            slow.getOutputStream().write(hello, 0, 5);
            slow.getOutputStream().flush();
            awaitAccepted(1);
            loop.advance(Duration.ofSeconds(8));
            slow.getOutputStream().write(hello, 5, hello.length - 5);
            slow.getOutputStream().flush();
            assertThat(slow.getInputStream().read()).as("the first byte of the proxy's ServerHello record").isEqualTo(0x16);
            loop.awaitDueTimers();
            loop.advance(Duration.ofSeconds(2).minus(ONE_MS));
            assertThat(proxy.metrics().frontend("web").traffic().errors().total()).isZero();
            loop.advance(ONE_MS);
            Await.until("the timeout error", () -> proxy.metrics().frontend("web").traffic().errors().timeout() == 1);
            assertThat(Http2Test.readsToEnd(slow.getInputStream())).as("the proxy closed the connection").isTrue();
        }
        assertThat(lines.await(l -> l.contains(" cR "))).contains(" web -/- -1/-1/-1/-1/10000 - 0 0 cR ");
    }

    /** A TLS 1.3 ClientHello for www.example, as the JDK's client sends it. */
    private static byte[] clientHello() throws Exception {
        javax.net.ssl.SSLEngine engine = javax.net.ssl.SSLContext.getDefault().createSSLEngine("www.example", 443);
        engine.setUseClientMode(true);
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(java.nio.ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }

    /**
     * A connect to a server that never answers (its accept queue full, so its kernel drops the SYN)
     * is given up at the backend's connect timeout on the proxy's clock, and with no other server to
     * try the request is answered 504, logged {@code sC} with a total time of the timeout to the
     * millisecond. 1 ms before, the request is still waiting for the connect and the client has no
     * answer.
     */
    @Test
    void aConnectTimeoutIsAnswered504OnTheProxyClock() throws IOException {
        try (Blackhole hole = new Blackhole()) {
            int port = start(Backend.named("app").server("hole", hole.address()).connectTimeout(CONNECT_TIMEOUT),
                    HttpFrontend.bind("127.0.0.1:0"));
            ServerControl control = proxy.control().server("app", "hole");
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
                awaitConnecting(control);
                loop.advance(CONNECT_TIMEOUT.minus(ONE_MS));
                assertThat(server("hole").errors().timeout()).isZero();
                assertThat(control.load()).as("the request still in flight").isEqualTo(1);
                assertThat(c.in.available()).as("bytes of an answer").isZero();
                loop.advance(ONE_MS);
                assertThat(server("hole").errors().timeout()).isEqualTo(1);
                assertThat(c.read().status()).isEqualTo(504);
            }
            assertThat(lines.await(l -> l.contains("/nowhere"))).contains(" web app/hole 0/0/-1/-1/3000 504 ", " sC \"GET /nowhere HTTP/1.1\" ");
        }
    }

    /**
     * The backend's connect timeout covers the TLS handshake with the server, as HAProxy's and nginx's
     * do: a server whose kernel takes the connection but that never answers the ClientHello is given
     * up at the connect timeout, answered 504 and logged {@code sC} with a timeout error on the
     * server, as one that never takes the connection is. The handshake had ClientTls's own 10 s of
     * handshake timeout instead, and then the client got a 502.
     */
    @Test
    void aServerThatNeverAnswersTheTlsHandshakeIsAConnectTimeout() throws IOException {
        try (ServerSocket mute = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = start(Backend.named("app").server("mute", "127.0.0.1:" + mute.getLocalPort())
                    .connectTimeout(CONNECT_TIMEOUT).tls(ClientTls.builder().insecureTrustAll().build()),
                    HttpFrontend.bind("127.0.0.1:0"));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /mute HTTP/1.1\r\nHost: a\r\n\r\n");
                try (Socket accepted = mute.accept()) {
                    accepted.setSoTimeout(10_000);
                    assertThat(accepted.getInputStream().read()).as("the ClientHello's first byte").isEqualTo(0x16);
                    loop.awaitDueTimers();
                    loop.advance(CONNECT_TIMEOUT.minus(ONE_MS));
                    assertThat(server("mute").errors().total()).isZero();
                    assertThat(c.in.available()).as("bytes of an answer").isZero();
                    loop.advance(ONE_MS);
                    assertThat(c.read().status()).isEqualTo(504);
                    assertThat(server("mute").errors().timeout()).isEqualTo(1);
                }
            }
            assertThat(lines.await(l -> l.contains("/mute"))).contains(" web app/mute 0/0/-1/-1/3000 504 ", " sC \"GET /mute HTTP/1.1\" ");
        }
    }

    /**
     * The connect timeout covers the whole setup of an HTTP/2 server connection: TCP, the TLS
     * handshake and the wait for the server's first SETTINGS. A server that takes 1 s of the 3 s to
     * answer the ClientHello (ALPN h2) and then never sends SETTINGS is given up at 3 s from the
     * connect, as a connect timeout: 504, {@code sC} and a timeout error on the server. The SETTINGS
     * wait got a whole connect timeout of its own from the end of the handshake (so nothing at 3 s),
     * and its end was a 502 ({@code SC}) counting no error.
     */
    @Test
    void anHttp2ServerWhoseSettingsNeverComeIsAConnectTimeoutFromTheConnect() throws Exception {
        X509Bundle ca = TlsPki.ca();
        X509Bundle cert = TlsPki.server(ca, "h2.test");
        SSLContext serverContext = SSLContext.getInstance("TLS");
        serverContext.init(cert.toKeyManagerFactory().getKeyManagers(), null, null);
        try (ServerSocket mute = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            ClientTls h2 = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("h2.test").alpn("h2").build();
            int port = start(Backend.named("app").server("mute", "127.0.0.1:" + mute.getLocalPort())
                    .connectTimeout(CONNECT_TIMEOUT).tls(h2).protocol(BackendProtocol.H2), HttpFrontend.bind("127.0.0.1:0"));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /mute HTTP/1.1\r\nHost: a\r\n\r\n");
                try (Socket accepted = mute.accept()) {
                    accepted.setSoTimeout(10_000);
                    int first = accepted.getInputStream().read();
                    assertThat(first).as("the ClientHello's first byte").isEqualTo(0x16);
                    loop.awaitDueTimers();
                    loop.advance(Duration.ofSeconds(1));
                    SSLSocket tls = (SSLSocket) serverContext.getSocketFactory()
                            .createSocket(accepted, new ByteArrayInputStream(new byte[] {(byte) first}), true);
                    SSLParameters params = tls.getSSLParameters();
                    params.setApplicationProtocols(new String[] {"h2"});
                    tls.setSSLParameters(params);
                    tls.startHandshake();
                    // the proxy's preface: it took the handshake and waits for the server's SETTINGS
                    byte[] preface = tls.getInputStream().readNBytes(24);
                    assertThat(new String(preface, StandardCharsets.US_ASCII)).isEqualTo("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
                    loop.awaitDueTimers();
                    loop.advance(CONNECT_TIMEOUT.minusSeconds(1).minus(ONE_MS));
                    assertThat(server("mute").errors().total()).isZero();
                    assertThat(c.in.available()).as("bytes of an answer").isZero();
                    loop.advance(ONE_MS);
                    assertThat(c.read().status()).isEqualTo(504);
                    assertThat(server("mute").errors().timeout()).isEqualTo(1);
                }
            }
            assertThat(lines.await(l -> l.contains("/mute"))).contains(" web app/mute 0/0/-1/-1/3000 504 ", " sC \"GET /mute HTTP/1.1\" ");
        }
    }

    /**
     * After a connect timeout the request goes to another server, at the moment of the timeout on
     * the proxy's clock: 1 ms before, the second server has not been picked, at it the request is
     * redispatched and served.
     */
    @Test
    void aConnectTimeoutIsRetriedOnAnotherServerOnTheProxyClock() throws IOException {
        try (Blackhole hole = new Blackhole()) {
            // round robin's first pick is the first server
            int port = start(Backend.named("app").server("hole", hole.address()).server("live", backend().address())
                    .connectTimeout(CONNECT_TIMEOUT).retries(1), HttpFrontend.bind("127.0.0.1:0"));
            ServerControl live = proxy.control().server("app", "live");
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /retried HTTP/1.1\r\nHost: a\r\n\r\n");
                awaitConnecting(proxy.control().server("app", "hole"));
                loop.advance(CONNECT_TIMEOUT.minus(ONE_MS));
                assertThat(server("hole").errors().timeout()).isZero();
                assertThat(live.totalSelected()).as("requests sent to live").isZero();
                loop.advance(ONE_MS);
                assertThat(server("hole").errors().timeout()).isEqualTo(1);
                assertThat(server("hole").redispatches()).isEqualTo(1);
                assertThat(live.totalSelected()).as("requests sent to live").isEqualTo(1);
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("app:/retried");
            }
            assertThat(backend.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/retried");
            assertThat(lines.await(l -> l.contains("/retried"))).contains(" web app/live 0/0/0/0/3000 200 ", " -- \"GET /retried HTTP/1.1\" ");
        }
    }

    /** Waits until a request has picked {@code server} and the loop has issued its connect. */
    private void awaitConnecting(ServerControl server) {
        Await.until("a request at " + server.server().name(), () -> server.load() == 1);
        loop.awaitDueTimers();
    }

    private TrafficSnapshot server(String name) {
        return proxy.metrics().backend("app").server(name).traffic();
    }

    /**
     * The slow client, to the second: a head sent one byte per clock second is answered 408
     * when the client timeout has run from the connection's start, nothing of it reaches the server,
     * and another client is served meanwhile.
     */
    @Test
    void aHeadSentOneBytePerSecondGets408AtTheClientTimeout() throws IOException {
        int port = start(backend().address());
        byte[] head = ("GET /slowloris HTTP/1.1\r\nHost: a\r\nX-Padding: " + "a".repeat(40) + "\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (RawHttp slow = new RawHttp(port)) {
            awaitAccepted(1);
            int seconds = (int) CLIENT_TIMEOUT.toSeconds();
            for (int i = 0; i < seconds - 1; i++) {
                slow.out.write(head[i]);
                slow.out.flush();
                loop.advance(Duration.ofSeconds(1));
            }
            slow.out.write(head[seconds - 1]);
            slow.out.flush();
            try (RawHttp quick = new RawHttp(port)) {
                assertThat(quick.send("GET /quick HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            }
            loop.advance(Duration.ofSeconds(1));
            RawHttp.Response r = slow.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(slow.closedByPeer()).isTrue();
        }
        assertThat(backend.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/quick");
    }

    /**
     * A WebSocket tunnel is relayed by the core relay, which looks for bytes every quarter of the
     * tunnel timeout and closes the tunnel at the fourth look in a row that finds none: three quiet
     * quarters leave it open, five close it.
     */
    @Test
    void anIdleTunnelIsClosedOnTheProxyClock() throws Exception {
        Duration quarter = Duration.ofMinutes(10).dividedBy(4);
        try (RawBackend server = new RawBackend((s, n) -> {
            RawBackend.nextHead(s.getInputStream());
            RawBackend.write(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
            s.getInputStream().transferTo(s.getOutputStream());
        })) {
            int port = start(server.address(), HttpFrontend.bind("127.0.0.1:0").tunnelTimeout(Duration.ofMinutes(10)));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
                assertThat(c.read(true).status()).isEqualTo(101);
                assertThat(echo(c, "one")).isEqualTo("one");
                for (int i = 0; i < 3; i++) {
                    loop.advance(quarter);
                }
                assertThat(echo(c, "two")).isEqualTo("two");
                for (int i = 0; i < 5; i++) {
                    loop.advance(quarter);
                }
                assertThat(c.closedByPeer()).isTrue();
            }
        }
    }

    private static String echo(RawHttp c, String bytes) throws IOException {
        c.send(bytes);
        return new String(c.in.readNBytes(bytes.length()), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /**
     * An HTTP/2 GET held for its next frame (HEADERS without END_STREAM, which may still be followed by
     * a body) whose client sends nothing more gets a 408 at the client timeout, logged with its request
     * line, which had arrived whole and valid; it was {@code <BADREQ>}.
     */
    @Test
    void aHeldHttp2RequestThatTimesOutIsLoggedWithItsLine() throws Exception {
        int port = start(backend().address(), HttpFrontend.bind("127.0.0.1:0").h2c(true));
        try (Socket s = Http2Test.h2c(port)) {
            s.getOutputStream().write(Http2Test.headers(1, false));
            // a PING answered after the HEADERS shows that the proxy has read them; its ACK is flushed
            // before the end of that read reaches the stream, which only then arms the stream's client
            // timer (the clock moved before it did: no 408 in 1 NIO run of the CI). A second PING is
            // read in a later turn of the loop, after the first read's end: its ACK shows the timer armed
            for (int ping = 0; ping < 2; ping++) {
                s.getOutputStream().write(Http2Test.frame(0, 6, 0, new byte[8]));
                s.getOutputStream().flush();
                assertThat(Http2Test.readUntilFrame(s.getInputStream(), 6, 0)).as("PING ACK").isTrue();
            }
            loop.advance(CLIENT_TIMEOUT);
            assertThat(Http2Test.streamFrames(s.getInputStream(), 1)).as("HEADERS, DATA").containsExactly(1, 0);
        }
        String line = lines.awaitCount(1).get(0);
        assertThat(line).contains(" 408 ").contains(" cR \"GET / HTTP/2.0\" ");
        assertThat(backend.requests).isEmpty();
    }

    /**
     * On an h2c frontend a connection that sends nothing, or only part of the HTTP/2 preface, gets the
     * client timeout's 408 as an HTTP/1.1 connection does, counted from the connection's start; the
     * stage that waited for the preface had no timer, and such connections stayed open for good.
     */
    @Test
    void anH2cConnectionWithoutAWholePrefaceOrRequestGets408AtTheClientTimeout() throws IOException {
        int port = start(backend().address(), HttpFrontend.bind("127.0.0.1:0").h2c(true));
        try (RawHttp silent = new RawHttp(port); RawHttp partial = new RawHttp(port); RawHttp early = new RawHttp(port)) {
            partial.send("PRI * HTTP/2.0\r\n");
            awaitAccepted(3);
            loop.advance(CLIENT_TIMEOUT.minus(ONE_MS));
            early.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(early.read().status()).isEqualTo(200);
            loop.advance(ONE_MS);
            for (RawHttp c : List.of(silent, partial)) {
                assertThat(c.read().status()).isEqualTo(408);
                assertThat(c.closedByPeer()).isTrue();
            }
        }
        assertThat(lines.awaitCount(3)).filteredOn(l -> l.contains(" 408 ")).hasSize(2)
                .allSatisfy(l -> assertThat(l).contains(" cR \"<BADREQ>\" "));
    }

    /**
     * On an h2c frontend a client that sends its FIN before a whole preface or request has its
     * connection closed at once, as on an HTTP/1.1 frontend; it was left open, and a drain waited
     * for it until its timeout.
     */
    @Test
    void anH2cConnectionWhoseClientEndsItBeforeAWholePrefaceIsClosed() throws IOException {
        int port = start(backend().address(), HttpFrontend.bind("127.0.0.1:0").h2c(true));
        try (RawHttp silent = new RawHttp(port); RawHttp partial = new RawHttp(port)) {
            partial.send("PRI * HTTP/2.0\r\n");
            awaitAccepted(2);
            silent.socket.shutdownOutput();
            partial.socket.shutdownOutput();
            assertThat(silent.closedByPeer()).isTrue();
            assertThat(partial.closedByPeer()).isTrue();
        }
    }

    /** An HTTP/2 connection without an open stream for the keep-alive timeout gets GOAWAY and is closed. */
    @Test
    void anIdleHttp2ConnectionIsClosedOnTheProxyClock() throws Exception {
        int port = start(backend().address(), HttpFrontend.bind("127.0.0.1:0").h2c(true));
        try (Socket s = Http2Test.h2c(port)) {
            s.getOutputStream().flush();
            awaitAccepted(1);
            loop.advance(KEEP_ALIVE.minus(ONE_MS));
            s.getOutputStream().write(Http2Test.headers(1, true));
            s.getOutputStream().flush();
            assertThat(Http2Test.streamFrames(s.getInputStream(), 1)).as("HEADERS, DATA").containsExactly(1, 0);
            // the proxy closes the stream when its last write completes, which the client cannot see;
            // a PING answered after it shows that it has, so the idle time counts from the moment above
            s.getOutputStream().write(Http2Test.frame(0, 6, 0, new byte[8]));
            s.getOutputStream().flush();
            assertThat(Http2Test.readUntilFrame(s.getInputStream(), 6, 0)).as("PING ACK").isTrue();
            loop.advance(KEEP_ALIVE);
            assertThat(Http2Test.readUntilFrame(s.getInputStream(), 7, 0)).as("GOAWAY").isTrue();
            assertThat(Http2Test.readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
        }
    }

    private static boolean closedByPeer(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    private RecordingBackend backend() {
        if (backend == null) {
            backend = RecordingBackend.start("app");
        }
        return backend;
    }
}
