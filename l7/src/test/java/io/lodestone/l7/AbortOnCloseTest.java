package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.pkitesting.X509Bundle;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A backend's {@code abortOnClose} (HAProxy's {@code option abortonclose}): a client that ends its
 * side (a FIN) after a whole request aborts it while it waits in the queue ({@code CQ}), for its
 * server connection ({@code CC}) or for the response head ({@code CH}). The proxy runs on a manual
 * clock that the tests never move, so every abort shown here comes with the clock still at the
 * request's start: long before the queue, connect or server timeout, none of which can have fired.
 * Without the option a half-closed client is still answered; a reset aborts whatever the option says,
 * and so does a FIN that comes once the response has begun ({@code CD}).
 * The same holds for the streams of an HTTP/2 client (h2c, or h2 whose end is a close_notify alone),
 * and a request given up while its stream to an HTTP/2 server is still opening is never sent.
 * The requests pipelined behind one whose connection closes early (a client's FIN or reset, a
 * proxy's answer that closes, a server failure, the proxy's stop) are never sent either, and each
 * gets one access-log line.
 */
class AbortOnCloseTest {

    private static final Duration SERVER_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
        loop.close();
    }

    private int start(Backend.Builder app) {
        return start(app, null);
    }

    /** Starts the proxy with an h2c frontend, or a TLS one offering h2 and http/1.1. */
    private int startHttp2(Backend.Builder app, ServerTls tls) {
        return tls != null ? start(app, tls) : start(app, null, true);
    }


    private int start(Backend.Builder app, ServerTls tls) {
        return start(app, tls, false);
    }

    private int start(Backend.Builder app, ServerTls tls, boolean h2c) {
        return start(app, tls, HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").h2c(h2c));
    }

    private int start(Backend.Builder app, ServerTls tls, HttpFrontend.Builder web) {
        if (tls != null) {
            web.tls(tls);
        }
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(app.serverTimeout(SERVER_TIMEOUT))
                .frontend(web)
                .build();
        proxy.start();
        return proxy.port();
    }

    /** A server that reads each request head, counts it, and never answers; counts the ends of its connections. */
    private static RawBackend silent(CountDownLatch heads, CountDownLatch ends) throws java.io.IOException {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            heads.countDown();
            in.transferTo(OutputStream.nullOutputStream());
            ends.countDown();
        });
    }

    @Test
    void aClientThatHalfClosesWhileWaitingForTheResponseHeadAbortsItsRequest() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch ends = new CountDownLatch(1);
        try (RawBackend server = silent(heads, ends)) {
            int port = start(Backend.named("app").server("s1", server.address()).abortOnClose(true));
            RawHttp c = new RawHttp(port);
            c.send("GET /waiting HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got the request").isTrue();
            leave(c, false);
            assertThat(ends.await(10, TimeUnit.SECONDS)).as("the server connection closed, not pooled").isTrue();
            assertThat(lines.await(l -> l.contains("/waiting")))
                    .contains(" web app/s1 0/0/0/-1/0 - 0 0 CH \"GET /waiting HTTP/1.1\" ");
            // the log line is written just before the server's slot is given back, on the event loop
            Await.until("the server's slot given back", () -> proxy.control().server("app", "s1").load() == 0);
            assertThat(server("s1").errors().total()).isZero();
        }
    }

    /**
     * Over TLS the client's end is its close_notify: with the FIN after it (the JDK's
     * {@code SSLSocket.shutdownOutput()}) or alone (a TLS socket layered over a TCP socket it leaves
     * open, which a client that half-closes TLS 1.3 and waits for the answer sends). Either aborts
     * the request at once, and the proxy ends the connection: the client reads the end of the stream.
     */
    @ParameterizedTest(name = "FIN after close_notify: {0}")
    @ValueSource(booleans = {true, false})
    void aTlsClientThatEndsItsSideWhileWaitingForTheResponseHeadAbortsItsRequest(boolean fin) throws Exception {
        X509Bundle ca = TlsPki.ca();
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch ends = new CountDownLatch(1);
        try (RawBackend server = silent(heads, ends)) {
            int port = start(Backend.named("app").server("s1", server.address()).abortOnClose(true),
                    TlsPki.serverTls(List.of("http/1.1"), TlsPki.server(ca, "www.example")));
            try (Socket tcp = new Socket("127.0.0.1", port)) {
                SSLSocket tls = tls13(tcp, ca, port, fin);
                tls.getOutputStream().write("GET /tls HTTP/1.1\r\nHost: www.example\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                tls.getOutputStream().flush();
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got the request").isTrue();
                tls.shutdownOutput();
                assertThat(tcp.isOutputShutdown()).as("a FIN went with the close_notify").isEqualTo(fin);
                // the client's socket stays open until the abort is seen
                assertThat(ends.await(10, TimeUnit.SECONDS)).as("the server connection closed, not pooled").isTrue();
                assertThat(lines.await(l -> l.contains("/tls")))
                        .contains(" web app/s1 0/0/0/-1/0 - 0 0 CH \"GET /tls HTTP/1.1\" ");
                assertThat(new String(tls.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1))
                        .as("what the client read before the proxy ended the connection").isEmpty();
            }
            // given back on the event loop, a moment after what the test saw
            Await.until("the server's slot given back", () -> proxy.control().server("app", "s1").load() == 0);
            assertThat(server("s1").errors().total()).isZero();
        }
    }

    /**
     * A TLS client that ends its side (close_notify, with or without a FIN) inside its request head left
     * before its request was whole: one line, {@code CR "<BADREQ>"} with Tq -1, and no error, as over
     * plain TCP. The close decoded the cut head after the proxy had begun closing, and the proxy
     * failed on it (a NullPointerException logged at WARN with its stack trace, no access-log line).
     */
    @ParameterizedTest(name = "FIN after close_notify: {0}")
    @ValueSource(booleans = {true, false})
    void aTlsClientThatEndsItsSideInsideItsRequestHeadLeftBeforeItsRequest(boolean fin) throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (RawBackend server = silent(new CountDownLatch(1), new CountDownLatch(1))) {
            int port = start(Backend.named("app").server("s1", server.address()),
                    TlsPki.serverTls(List.of("http/1.1"), TlsPki.server(ca, "www.example")));
            try (Socket tcp = new Socket("127.0.0.1", port)) {
                SSLSocket tls = tls13(tcp, ca, port, fin);
                tls.getOutputStream().write("GET /cut HTTP/1.1\r\nHost: www.example\r\n".getBytes(StandardCharsets.ISO_8859_1));
                tls.getOutputStream().flush();
                tls.shutdownOutput();
                assertThat(lines.await(l -> l.contains(" web "))).contains(" web -/- -1/-1/-1/-1/", " CR \"<BADREQ>\" ");
                tls.getInputStream().readAllBytes();
            }
            Await.until("no client connection left", () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            assertThat(lines.lines()).hasSize(1);
            assertThat(proxy.metrics().frontend("web").traffic().errors().total()).isZero();
        }
    }

    @Test
    void aClientThatHalfClosesWhileItsRequestIsQueuedLeavesTheQueue() throws Exception {
        leaveWhileQueued(false);
    }

    @Test
    void aClientThatResetsWhileItsRequestIsQueuedLeavesTheQueueWithoutTheOption() throws Exception {
        leaveWhileQueued(true);
    }

    /** A request queued behind a busy server whose client half-closes (abortOnClose on) or resets (off). */
    private void leaveWhileQueued(boolean reset) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<String> targets = new CopyOnWriteArrayList<>();
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            while (answerWhenReleased(s, in, targets, release)) {
                // one request after another on this connection
            }
        })) {
            int port = start(Backend.named("app").server("s1", server.address(), s -> s.maxConnections(1))
                    .queueTimeout(Duration.ofSeconds(30)).abortOnClose(!reset));
            try (RawHttp first = new RawHttp(port)) {
                first.send("GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
                Await.until("the first request at the server", () -> targets.size() == 1);
                RawHttp queued = new RawHttp(port);
                queued.send("GET /queued HTTP/1.1\r\nHost: a\r\n\r\n");
                Await.until("the second request in the queue", () -> proxy.control().queuedRequests("app") == 1);
                // the wait is the line's Tw, however it ended (it was -1 for a request no server took)
                loop.advance(Duration.ofMillis(700));
                leave(queued, reset);
                assertThat(lines.await(l -> l.contains("/queued")))
                        .contains(" web app/- 0/700/-1/-1/700 - 0 0 CQ \"GET /queued HTTP/1.1\" ");
                assertThat(proxy.control().queuedRequests("app")).isZero();
                release.countDown();
                assertThat(first.read().status()).isEqualTo(200);
            }
            assertThat(targets).as("the queued request never reached the server").containsExactly("/first");
        }
    }

    /**
     * The client ends its side (and the proxy must close the connection: the client reads its end)
     * or resets its connection.
     */
    private static void leave(RawHttp c, boolean reset) throws java.io.IOException {
        if (reset) {
            c.socket.setSoLinger(true, 0);
        } else {
            c.socket.shutdownOutput();
            assertThat(new String(c.in.readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1))
                    .as("what the client read before the proxy closed the connection").isEmpty();
        }
        c.close();
    }

    /** Reads one request head, records it, and answers it once {@code release} is counted down. */
    private static boolean answerWhenReleased(java.net.Socket s, InputStream in, List<String> targets, CountDownLatch release)
            throws java.io.IOException {
        String head = RawBackend.nextHead(in);
        if (head == null) {
            return false;
        }
        targets.add(head.split(" ", 3)[1]);
        try {
            release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    }

    /**
     * The connect is given up with the request: it counts no error on the server, and moving the
     * clock past the connect timeout afterwards finds no connect left to time out.
     */
    @Test
    void aClientThatHalfClosesWhileTheProxyConnectsCancelsTheConnect() throws Exception {
        leaveWhileConnecting(false);
    }

    @Test
    void aClientThatResetsWhileTheProxyConnectsCancelsTheConnectWithoutTheOption() throws Exception {
        leaveWhileConnecting(true);
    }

    /**
     * So is the connect of a new HTTP/2 server connection (h2c) when the one request waiting for it
     * leaves: it went on, and its connect timeout counted an error on the server (had the server
     * taken it, the connection would have idled until the pool's idle timeout with nothing to carry).
     */
    @Test
    void aClientThatLeavesWhileTheProxyConnectsToAnHttp2ServerCancelsTheConnect() throws Exception {
        leaveWhileConnecting(false, BackendProtocol.H2C);
    }

    private void leaveWhileConnecting(boolean reset) throws Exception {
        leaveWhileConnecting(reset, BackendProtocol.HTTP_1_1);
    }

    private void leaveWhileConnecting(boolean reset, BackendProtocol protocol) throws Exception {
        try (Blackhole hole = new Blackhole()) {
            int port = start(Backend.named("app").server("hole", hole.address()).connectTimeout(CONNECT_TIMEOUT)
                    .protocol(protocol).abortOnClose(!reset));
            ServerControl control = proxy.control().server("app", "hole");
            RawHttp c = new RawHttp(port);
            c.send("GET /connecting HTTP/1.1\r\nHost: a\r\n\r\n");
            Await.until("the request at the server", () -> control.load() == 1);
            loop.awaitDueTimers();
            leave(c, reset);
            assertThat(lines.await(l -> l.contains("/connecting")))
                    .contains(" web app/hole 0/0/-1/-1/0 - 0 0 CC \"GET /connecting HTTP/1.1\" ");
            Await.until("the server's slot given back", () -> control.load() == 0);
            loop.advance(CONNECT_TIMEOUT);
            assertThat(server("hole").errors().total()).as("errors of the server, the connect timeout's included").isZero();
        }
    }

    /**
     * Off by default: a client that ends its side after its request (as an HTTP/1.0-style client
     * may) is still answered. The server answers only after a request on another connection has
     * gone through the proxy's one event loop, which by then has read the first client's FIN.
     */
    @Test
    void withoutTheOptionAHalfClosedClientIsStillAnswered() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (RawBackend server = holdingTheFirstConnection(heads, answer)) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                finWhileTheServerHolds(c, port, "GET /half HTTP/1.1\r\nHost: a\r\n\r\n", heads, answer);
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("ok");
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(lines.await(l -> l.contains("/half"))).contains(" 200 0 2 -- \"GET /half HTTP/1.1\" ");
        }
    }

    /**
     * A client that closes its socket while its response streams and the server has stalled mid-body
     * aborts the exchange at once ({@code CD}): its server connection closes, never pooled, and so does
     * its own, long before any timeout (the clock never moves). A reset does so whatever the option
     * says. The JDK's close sends a FIN first (then a reset for the bytes it did not read, which Linux
     * reports to no read once the FIN is in), and a client that had read all that came sends the FIN
     * alone: with the option, that FIN, read after the response began, is the abort.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"reset, without the option", "close with bytes unread", "close after reading all that came"})
    void aClientThatClosesWhileItsResponseStallsMidBodyEndsItsServerConnection(String how) throws Exception {
        CountDownLatch ends = new CountDownLatch(1);
        try (RawBackend server = stallingMidBody(ends, null)) {
            boolean reset = how.startsWith("reset");
            int port = start(Backend.named("app").server("s1", server.address()).abortOnClose(!reset));
            RawHttp c = new RawHttp(port);
            c.send("GET /stalled HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(RawBackend.nextHead(c.in)).startsWith("HTTP/1.1 200 ");
            if (reset) {
                c.socket.setSoLinger(true, 0);
            } else if (how.equals("close with bytes unread")) {
                assertThat(c.in.readNBytes(1000)).hasSize(1000);
            } else {
                assertThat(c.in.readNBytes(STALL_AFTER)).hasSize(STALL_AFTER);
            }
            c.close();
            assertThat(ends.await(10, TimeUnit.SECONDS)).as("the server connection closed, not pooled").isTrue();
            Await.until("the client connection closed",
                    () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            Await.until("no server connection open", () -> server("s1").currentConnections() == 0);
            // the byte count is what reached the proxy before the client left, which a reset may cut short
            assertThat(lines.await(l -> l.contains("/stalled"))).contains(" web app/s1 0/0/0/0/0 200 0 ")
                    .contains(" CD \"GET /stalled HTTP/1.1\" ");
            // the log line is written just before the server's slot is given back, on the event loop
            Await.until("the server's slot given back", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    /**
     * Without the option, a FIN that comes once the response has begun may be a half-close read late,
     * and the response goes on: the client that ended its side after the head gets the whole body once
     * the server sends the rest.
     */
    @Test
    void withoutTheOptionAFinAfterTheResponseBeganLetsTheResponseFinish() throws Exception {
        CountDownLatch ends = new CountDownLatch(1);
        CountDownLatch rest = new CountDownLatch(1);
        try (RawBackend server = stallingMidBody(ends, rest)) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /stalled HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(RawBackend.nextHead(c.in)).startsWith("HTTP/1.1 200 ").contains("Content-Length: " + STALL_TOTAL);
                finRead(c, port);
                rest.countDown();
                assertThat(c.in.readNBytes(STALL_TOTAL)).hasSize(STALL_TOTAL);
            }
            assertThat(lines.await(l -> l.contains("/stalled"))).contains(" -- \"GET /stalled HTTP/1.1\" ");
        }
    }

    private static final int STALL_AFTER = 128 * 1024;
    private static final int STALL_TOTAL = 1 << 20;

    /**
     * A server that answers its first connection's request with the head and the first
     * {@value #STALL_AFTER} bytes of a {@value #STALL_TOTAL}-byte body, sends the rest once {@code rest}
     * opens (never when it is null), then reads to the end, and counts down {@code ends} when that
     * connection ends (or a write
     * fails: a client that resets at once may leave before the proxy has read all of the start); every
     * other connection's requests it answers at once.
     */
    private static RawBackend stallingMidBody(CountDownLatch ends, CountDownLatch rest) throws java.io.IOException {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            if (n != 1) {
                while (RawBackend.nextHead(in) != null) {
                    RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                }
                return;
            }
            RawBackend.nextHead(in);
            try {
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: " + STALL_TOTAL + "\r\n\r\n");
                s.getOutputStream().write(new byte[STALL_AFTER]);
                s.getOutputStream().flush();
                if (rest != null) {
                    try {
                        rest.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    s.getOutputStream().write(new byte[STALL_TOTAL - STALL_AFTER]);
                    s.getOutputStream().flush();
                }
                // the end of the stream: the proxy closed the connection
                in.transferTo(OutputStream.nullOutputStream());
            } finally {
                ends.countDown();
            }
        });
    }

    /**
     * Sends {@code request} on {@code c}, waits until the server holds it, ends the client's side, has
     * the proxy read that FIN (a request on another connection goes through the proxy's one event
     * loop after it), and lets the server answer.
     */
    private static void finWhileTheServerHolds(RawHttp c, int port, String request, CountDownLatch heads, CountDownLatch answer)
            throws Exception {
        c.send(request);
        assertThat(heads.await(10, TimeUnit.SECONDS)).isTrue();
        finRead(c, port);
        answer.countDown();
    }

    /**
     * Ends the client's side of {@code c} and returns once the proxy has read that FIN: a request on
     * another connection goes through the proxy's one event loop after it.
     */
    private static void finRead(RawHttp c, int port) throws Exception {
        c.socket.shutdownOutput();
        try (RawHttp probe = new RawHttp(port)) {
            assertThat(probe.send("GET /probe HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
        }
    }

    /**
     * A server that, on its first connection, reads a request head, counts down {@code heads}, and
     * answers {@code ok} once {@code answer} opens; on every other connection it answers each request
     * at once.
     */
    private static RawBackend holdingTheFirstConnection(CountDownLatch heads, CountDownLatch answer) throws java.io.IOException {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            if (n == 1) {
                RawBackend.nextHead(in);
                heads.countDown();
                try {
                    answer.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                in.transferTo(OutputStream.nullOutputStream());
                return;
            }
            while (RawBackend.nextHead(in) != null) {
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        });
    }

    /**
     * A server that holds its answer to {@code GET /1} until {@code answer} opens, after counting
     * down {@code heads}, and answers every other request, once its {@code Content-Length} body is
     * in, with a 200 whose body is its path.
     */
    private static RawBackend holdingTheFirst(CountDownLatch heads, CountDownLatch answer) throws java.io.IOException {
        return holdingTheFirst(heads, answer, new CopyOnWriteArrayList<>());
    }

    /** {@link #holdingTheFirst(CountDownLatch, CountDownLatch)}, adding each request's target to {@code targets}. */
    private static RawBackend holdingTheFirst(CountDownLatch heads, CountDownLatch answer, List<String> targets)
            throws java.io.IOException {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
                targets.add(path);
                int length = head.toLowerCase(java.util.Locale.ROOT).indexOf("content-length: ");
                if (length >= 0) {
                    int size = Integer.parseInt(head.substring(length + 16, head.indexOf('\r', length)));
                    if (in.readNBytes(size).length < size) {
                        return;
                    }
                }
                if (path.equals("/1")) {
                    heads.countDown();
                    try {
                        answer.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: " + path.length() + "\r\n\r\n" + path);
            }
        });
    }

    /**
     * Without the option, every request a client pipelined before its FIN is answered, the last one
     * with {@code Connection: close}: the FIN ends what the client sends, not what it has sent. The
     * FIN is read (a probe went through the proxy's one loop) while the first request waits for its
     * answer; the requests queued behind it were dropped (found by SmugglingFuzzTest).
     */
    @Test
    void withoutTheOptionRequestsPipelinedBeforeAFinAreAllAnswered() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (RawBackend server = holdingTheFirst(heads, answer)) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                finWhileTheServerHolds(c, port, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n", heads, answer);
                for (String path : List.of("/1", "/2", "/3")) {
                    RawHttp.Response r = c.read();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.body()).isEqualTo(path);
                    assertThat(r.header("connection")).isEqualTo(path.equals("/3") ? "close" : null);
                }
                assertThat(c.closedByPeer()).isTrue();
            }
        }
    }

    /**
     * A pipelined request whose body the client's FIN cut, read while the request before it was
     * under way, is aborted when its turn comes, at once, as one under way at the FIN is: it waited
     * for the rest of its body until a timeout (found by SmugglingFuzzTest).
     */
    @Test
    void aPipelinedRequestWhoseBodyAFinCutIsAbortedWhenItsTurnComes() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (RawBackend server = holdingTheFirst(heads, answer)) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                finWhileTheServerHolds(c, port, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello", heads, answer);
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("/1");
                // the clock never moves: only the abort can end the connection
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(lines.await(l -> l.contains("/2"))).contains(" CR \"POST /2 HTTP/1.1\" ");
        }
    }

    /**
     * The requests pipelined behind one that a FIN aborts (abortOnClose) are dropped with it, each
     * logged once with its line, {@code CQ} (the client ended it while it waited its turn) and no
     * status; none reaches the server. They had no access-log line at all.
     */
    @Test
    void requestsPipelinedBehindOneAFinAbortsAreLoggedAsClientAborts() throws Exception {
        assertDroppedBehindAnAbortedFirst(false);
    }

    /**
     * A reset drops the requests pipelined behind the one it aborts, whatever the option says (here
     * off), logged as a FIN with the option drops them. The proxy has read them all before the reset:
     * the server holds /1, and a probe on another connection went through the proxy's one event loop.
     */
    @Test
    void requestsPipelinedBehindOneAResetAbortsAreLoggedAsClientAborts() throws Exception {
        assertDroppedBehindAnAbortedFirst(true);
    }

    /**
     * Sends three pipelined requests, has the server hold the first, and leaves with a reset (the
     * option off; a probe on another connection first goes through the proxy's one event loop, so it
     * has read them all) or with a FIN ({@code abortOnClose} on): the two behind the first are dropped.
     */
    private void assertDroppedBehindAnAbortedFirst(boolean reset) throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        List<String> targets = new CopyOnWriteArrayList<>();
        try (RawBackend server = holdingTheFirst(heads, answer, targets)) {
            int port = start(Backend.named("app").server("s1", server.address()).abortOnClose(!reset));
            RawHttp c = new RawHttp(port);
            c.send(THREE_PIPELINED);
            assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /1").isTrue();
            if (reset) {
                try (RawHttp probe = new RawHttp(port)) {
                    assertThat(probe.send("GET /probe HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                }
            }
            leave(c, reset);
            assertDroppedBehindTheFirst(targets);
            answer.countDown();
        }
    }

    /**
     * The requests pipelined behind one that the proxy answers before its body and closes the
     * connection after (a deny of a request that expects 100-continue) are dropped, each logged once
     * with its line and {@code PQ}: the proxy ended it while it waited its turn, which counts no
     * error (the deny counts its own). They had no access-log line. The proxy has read them all
     * before the server answers /1 (a probe went through its one event loop), so they are queued.
     */
    @Test
    void requestsPipelinedBehindOneAnsweredBeforeItsBodyAreLoggedAsDroppedByTheProxy() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        List<String> targets = new CopyOnWriteArrayList<>();
        try (RawBackend server = holdingTheFirst(heads, answer, targets)) {
            int port = start(Backend.named("app").server("s1", server.address()), null, HttpFrontend.bind("127.0.0.1:0")
                    .name("web").defaultBackend("app").rule(Rule.when(Acl.pathBegins("/denied")).deny(403)));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                        + "POST /denied HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"
                        + "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /1").isTrue();
                try (RawHttp probe = new RawHttp(port)) {
                    assertThat(probe.send("GET /probe HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                }
                answer.countDown();
                assertThat(c.read().body()).isEqualTo("/1");
                RawHttp.Response denied = c.read();
                assertThat(denied.status()).isEqualTo(403);
                assertThat(denied.header("connection")).isEqualTo("close");
                assertThat(c.closedByPeer()).as("nothing answers /3").isTrue();
            }
            assertThat(lines.await(l -> l.contains("/3"))).contains(" web -/- -1/-1/-1/-1/0 - 0 0 PQ \"GET /3 HTTP/1.1\" ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("/denied ")).singleElement().asString()
                    .contains(" 403 0 ").contains(" PR \"POST /denied HTTP/1.1\" ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("/3 ")).hasSize(1);
            assertThat(targets).as("what reached the server, a probe aside").filteredOn(t -> !t.equals("/probe")).containsExactly("/1");
            TrafficSnapshot web = proxy.metrics().frontend("web").traffic();
            assertThat(web.requests()).as("one request per line, the probe's included").isEqualTo(lines.lines().size()).isEqualTo(4);
            assertThat(web.errors().total()).as("the deny's").isEqualTo(web.errors().denied()).isEqualTo(1);
        }
    }

    /**
     * A server that fails during the response to /1 (it closes after part of its body) has the proxy
     * close the client connection; the requests pipelined behind /1 are dropped, each logged once with
     * {@code SQ}: the server's failure ended it while it waited its turn. The proxy has read them all
     * before the server fails (a probe went through its one event loop).
     */
    @Test
    void requestsPipelinedBehindOneWhoseServerFailsAreLoggedAsDroppedByTheServer() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch fail = new CountDownLatch(1);
        List<String> targets = new CopyOnWriteArrayList<>();
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                String path = head.split(" ", 3)[1];
                targets.add(path);
                if (!path.equals("/1")) {
                    RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    continue;
                }
                heads.countDown();
                try {
                    fail.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
                s.close();
                return;
            }
        })) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                c.send(THREE_PIPELINED);
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /1").isTrue();
                try (RawHttp probe = new RawHttp(port)) {
                    assertThat(probe.send("GET /probe HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                }
                fail.countDown();
                assertThat(new String(c.in.readAllBytes(), StandardCharsets.ISO_8859_1)).as("the cut response, then the end")
                        .startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\nabc");
            }
            assertThat(lines.await(l -> l.contains("/3"))).contains(" web -/- -1/-1/-1/-1/0 - 0 0 SQ \"GET /3 HTTP/1.1\" ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("\"GET /1 ")).singleElement().asString().contains(" SD \"GET /1 HTTP/1.1\" ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("/2 ")).singleElement().asString()
                    .contains(" web -/- -1/-1/-1/-1/0 - 0 0 SQ \"POST /2 HTTP/1.1\" two ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("/3 ")).hasSize(1);
            assertThat(targets).as("what reached the server, a probe aside").filteredOn(t -> !t.equals("/probe")).containsExactly("/1");
            assertThat(proxy.metrics().frontend("web").traffic().requests()).isEqualTo(lines.lines().size()).isEqualTo(4);
        }
    }

    /**
     * A request read in the same burst as one the proxy refuses and closes the connection after (a
     * CONNECT, answered 501), after the close was decided, is dropped and logged once as a queued one
     * is ({@code PQ}); it had no line.
     */
    @Test
    void aRequestReadAfterTheCloseWasDecidedIsLoggedAsDropped() throws Exception {
        try (RawBackend server = holdingTheFirst(new CountDownLatch(1), new CountDownLatch(0))) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                c.send("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(501);
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(lines.await(l -> l.contains("/after"))).contains(" web -/- -1/-1/-1/-1/0 - 0 0 PQ \"GET /after HTTP/1.1\" ");
            assertThat(lines.lines()).hasSize(2).filteredOn(l -> l.contains(" 501 ")).hasSize(1);
            assertThat(proxy.metrics().frontend("web").traffic().requests()).isEqualTo(2);
            assertThat(proxy.metrics().frontend("web").traffic().errors().denied()).as("the CONNECT's").isEqualTo(1);
        }
    }

    /**
     * The proxy's stop lets the request under way finish and closes the connection after it; the
     * requests pipelined behind it are dropped, each logged once with {@code KQ}. The server answers
     * /1 once the proxy has stopped accepting (a new connection is refused).
     */
    @Test
    void requestsPipelinedBehindOneFinishedWhileTheProxyStopsAreLoggedAsKilled() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        List<String> targets = new CopyOnWriteArrayList<>();
        try (RawBackend server = holdingTheFirst(heads, answer, targets)) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                c.send(THREE_PIPELINED);
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /1").isTrue();
                try (RawHttp probe = new RawHttp(port)) {
                    assertThat(probe.send("GET /probe HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                }
                Thread stop = new Thread(() -> proxy.close(Duration.ofSeconds(10)));
                stop.start();
                Await.until("the proxy refuses new connections", () -> {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        return false;
                    } catch (java.io.IOException refused) {
                        return true;
                    }
                });
                answer.countDown();
                assertThat(c.read().body()).isEqualTo("/1");
                assertThat(c.closedByPeer()).isTrue();
                stop.join(10_000);
            }
            assertThat(lines.await(l -> l.contains("/3"))).contains(" web -/- -1/-1/-1/-1/0 - 0 0 KQ \"GET /3 HTTP/1.1\" ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("/2 ")).singleElement().asString()
                    .contains(" web -/- -1/-1/-1/-1/0 - 0 0 KQ \"POST /2 HTTP/1.1\" two ");
            assertThat(lines.lines()).filteredOn(l -> l.contains("/3 ")).hasSize(1);
            assertThat(targets).as("what reached the server, a probe aside").filteredOn(t -> !t.equals("/probe")).containsExactly("/1");
        }
    }

    private static final String THREE_PIPELINED = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: a\r\nX-Request-ID: two\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";

    /** /1 aborted while it waited for its response head, /2 and /3 dropped unstarted, counted as requests without errors. */
    private void assertDroppedBehindTheFirst(List<String> targets) throws Exception {
        assertThat(lines.await(l -> l.contains("/3"))).contains(" web -/- -1/-1/-1/-1/0 - 0 0 CQ \"GET /3 HTTP/1.1\" ");
        assertThat(lines.lines()).filteredOn(l -> l.contains("\"GET /1 ")).singleElement().asString()
                .contains(" web app/s1 0/0/0/-1/0 - 0 0 CH \"GET /1 HTTP/1.1\" ");
        assertThat(lines.lines()).filteredOn(l -> l.contains("/2 ")).singleElement().asString()
                .contains(" web -/- -1/-1/-1/-1/0 - 0 0 CQ \"POST /2 HTTP/1.1\" two ");
        assertThat(lines.lines()).filteredOn(l -> l.contains("/3 ")).hasSize(1);
        assertThat(targets).as("what reached the server, a probe aside").filteredOn(t -> !t.equals("/probe")).containsExactly("/1");
        TrafficSnapshot web = proxy.metrics().frontend("web").traffic();
        assertThat(web.requests()).as("one request per line, a probe's included").isEqualTo(lines.lines().size());
        assertThat(web.totalTime().count()).as("no time sample for the two that never started").isEqualTo(web.requests() - 2);
        assertThat(web.errors().total()).isZero();
    }

    /** A reset aborts a request waiting for its response head whatever the option says (here off). */
    @Test
    void aClientThatResetsWhileWaitingForTheResponseHeadAbortsItsRequest() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch ends = new CountDownLatch(1);
        try (RawBackend server = silent(heads, ends)) {
            int port = start(Backend.named("app").server("s1", server.address()));
            RawHttp c = new RawHttp(port);
            c.send("GET /reset HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got the request").isTrue();
            leave(c, true);
            assertThat(ends.await(10, TimeUnit.SECONDS)).as("the server connection closed, not pooled").isTrue();
            assertThat(lines.await(l -> l.contains("/reset")))
                    .contains(" web app/s1 0/0/0/-1/0 - 0 0 CH \"GET /reset HTTP/1.1\" ");
            // the log line is written just before the server's slot is given back, on the event loop
            Await.until("the server's slot given back", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    /**
     * An HTTP/2 client's end is its FIN, or over TLS its {@code close_notify}, here without a FIN (a
     * TLS socket layered over a TCP socket it leaves open; the JDK provider, see {@link #h2Tls}): either aborts a stream waiting for its
     * response head, as on HTTP/1.1, and the proxy then ends the connection (GOAWAY, then its close),
     * as it did on the FIN alone; the close_notify left the connection open.
     */
    @ParameterizedTest(name = "over TLS: {0}")
    @ValueSource(booleans = {false, true})
    void anHttp2ClientThatEndsItsSideWhileWaitingForTheResponseHeadAbortsItsStream(boolean tls) throws Exception {
        X509Bundle ca = TlsPki.ca();
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch ends = new CountDownLatch(1);
        try (RawBackend server = silent(heads, ends)) {
            int port = startHttp2(Backend.named("app").server("s1", server.address()).abortOnClose(true), tls ? h2Tls(ca) : null);
            try (H2Client c = new H2Client(port, tls ? ca : null)) {
                c.get(1, "/h2");
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got the request").isTrue();
                c.end();
                assertThat(ends.await(10, TimeUnit.SECONDS)).as("the server connection closed, not pooled").isTrue();
                assertThat(lines.await(l -> l.contains("/h2"))).contains(" web app/s1 ", " - 0 0 CH \"GET /h2 HTTP/2.0\" ");
                assertThat(Http2Test.readsToEnd(c.in)).as("the proxy ended the connection").isTrue();
                // its TCP connection too, not only the TLS session (the OpenSSL engine answers a close_notify at once)
                Await.until("no client connection left", () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            }
            // given back on the event loop, a moment after what the test saw
            Await.until("the server's slot given back", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    /**
     * A stream whose request body was still coming when its client ended its side can never end: it
     * is aborted ({@code CR}) at once whatever the option says, on a FIN as on a close_notify alone.
     */
    @ParameterizedTest(name = "over TLS: {0}")
    @ValueSource(booleans = {false, true})
    void anHttp2StreamInsideItsRequestBodyIsAbortedByTheClientsEnd(boolean tls) throws Exception {
        X509Bundle ca = TlsPki.ca();
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch ends = new CountDownLatch(1);
        try (RawBackend server = silent(heads, ends)) {
            int port = startHttp2(Backend.named("app").server("s1", server.address()), tls ? h2Tls(ca) : null);
            try (H2Client c = new H2Client(port, tls ? ca : null)) {
                // :method POST, :scheme http, :path /upload, :authority www.example, content-length 10; 3 bytes of it
                c.out.write(Http2Test.frame(1, 1, 0x4, RefusedRequestLogTest.concat(new byte[] {(byte) 0x83, (byte) 0x86},
                        RefusedRequestLogTest.indexedName(4, "/upload"), RefusedRequestLogTest.indexedName(1, "www.example"),
                        RefusedRequestLogTest.literal("content-length", "10"))));
                c.out.write(Http2Test.frame(1, 0, 0, new byte[] {'a', 'b', 'c'}));
                c.out.flush();
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got the request head").isTrue();
                c.end();
                assertThat(ends.await(10, TimeUnit.SECONDS)).as("the server connection closed, not pooled").isTrue();
                assertThat(lines.await(l -> l.contains("/upload"))).contains(" CR \"POST /upload HTTP/2.0\" ");
                assertThat(Http2Test.readsToEnd(c.in)).as("the proxy ended the connection").isTrue();
                Await.until("no client connection left", () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            }
        }
    }

    /**
     * Without the option, a stream whose client ended its side (FIN, or close_notify without a FIN on
     * the JDK provider's TLS 1.3, which can still send after it) is answered, and the connection ends
     * once it is. As in {@link #withoutTheOptionAHalfClosedClientIsStillAnswered}, the server answers
     * after a request on another connection has gone through the proxy's one event loop.
     */
    @ParameterizedTest(name = "over TLS: {0}")
    @ValueSource(booleans = {false, true})
    void withoutTheOptionAnHttp2StreamWhoseClientEndedItsSideIsAnsweredThenTheConnectionEnds(boolean tls) throws Exception {
        X509Bundle ca = TlsPki.ca();
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (RawBackend server = holdingTheFirstConnection(heads, answer)) {
            int port = startHttp2(Backend.named("app").server("s1", server.address()), tls ? h2Tls(ca) : null);
            try (H2Client c = new H2Client(port, tls ? ca : null)) {
                c.get(1, "/half");
                assertThat(heads.await(10, TimeUnit.SECONDS)).isTrue();
                c.end();
                try (H2Client probe = new H2Client(port, tls ? ca : null)) {
                    probe.get(1, "/probe");
                    assertThat(Http2Test.streamFrames(probe.in, 1)).as("HEADERS, DATA").containsExactly(1, 0);
                }
                answer.countDown();
                assertThat(Http2Test.streamFrames(c.in, 1)).as("HEADERS, DATA").containsExactly(1, 0);
                assertThat(Http2Test.readsToEnd(c.in)).as("the proxy ended the connection").isTrue();
                Await.until("no client connection left", () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            }
            assertThat(lines.await(l -> l.contains("/half"))).contains(" 200 0 2 -- \"GET /half HTTP/2.0\" ");
        }
    }

    /**
     * A stream whose whole body has come, END_STREAM included, but waits in the stream's channel because
     * the stream is not read (its server does not read, and backpressure stops the stream) is not cut
     * by its client's end that follows: the FIN is the connection's end, not one inside that body. The
     * server gets the whole body once it reads, the client its answer on the half-closed connection, and
     * the request is logged {@code --}. The client sends DATA as the flow-control windows allow until
     * the proxy stops giving them back (two PINGs in turn show that every WINDOW_UPDATE sent before
     * them has been read), then an empty DATA with END_STREAM and its FIN; the GOAWAY shows the FIN
     * read, and a request on another connection through the proxy's one event loop that the streams
     * have had the FIN's event before the server starts reading.
     */
    @ParameterizedTest(name = "over TLS: {0}")
    @ValueSource(booleans = {false, true})
    void anHttp2StreamWhoseWholeBodyWaitsUnreadIsNotCutByTheClientsEnd(boolean tls) throws Exception {
        X509Bundle ca = TlsPki.ca();
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong(-1);
        try (RawBackend server = readingWhenReleased(heads, release, received)) {
            int port = startHttp2(Backend.named("app").server("s1", server.address()), tls ? h2Tls(ca) : null);
            try (H2Client c = new H2Client(port, tls ? ca : null)) {
                long sent = wholeBodyUnreadThenTheEnd(c, port, tls ? ca : null, heads);
                release.countDown();
                assertThat(Http2Test.statusOrReset(c.in, 1, new DefaultHttp2HeadersDecoder(false))).as("the answer").isEqualTo("200");
                Await.until("the server read the body", () -> received.get() >= 0);
                assertThat(received.get()).as("body bytes the server got").isEqualTo(sent);
            }
            assertThat(lines.await(l -> l.contains("/upload"))).contains(" -- \"POST /upload HTTP/2.0\" ");
        }
    }

    /**
     * With the option, the same stream's client has given up on a whole request: it is aborted as one
     * waiting for its response head ({@code CH}), not as one cut inside its body ({@code CR}, before).
     */
    @Test
    void withTheOptionAnHttp2StreamWhoseWholeBodyWaitsUnreadIsAbortedAsAWholeRequest() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong(-1);
        try (RawBackend server = readingWhenReleased(heads, release, received)) {
            int port = startHttp2(Backend.named("app").server("s1", server.address()).abortOnClose(true), null);
            try (H2Client c = new H2Client(port, null)) {
                wholeBodyUnreadThenTheEnd(c, port, null, heads);
                assertThat(lines.await(l -> l.contains("/upload"))).contains(" CH \"POST /upload HTTP/2.0\" ");
                release.countDown();
                assertThat(Http2Test.statusOrReset(c.in, 1, new DefaultHttp2HeadersDecoder(false))).isEqualTo("reset");
            }
        }
    }

    /**
     * Sends a POST /upload without content-length on stream 1 of {@code c}, its body until the stream is
     * not read ({@link #sendUntilTheStreamIsNotRead}), an empty DATA with END_STREAM and the client's
     * end; waits for the GOAWAY that shows the end read, then has a request on another connection go
     * through the proxy's one event loop. Returns the body bytes sent.
     */
    private static long wholeBodyUnreadThenTheEnd(H2Client c, int port, X509Bundle ca, CountDownLatch heads) throws Exception {
        // :method POST, :scheme http, :path /upload, :authority www.example, no content-length: chunked to the server
        c.out.write(Http2Test.frame(1, 1, 0x4, RefusedRequestLogTest.concat(new byte[] {(byte) 0x83, (byte) 0x86},
                RefusedRequestLogTest.indexedName(4, "/upload"), RefusedRequestLogTest.indexedName(1, "www.example"))));
        c.out.flush();
        assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got the request head").isTrue();
        long sent = sendUntilTheStreamIsNotRead(c, 1);
        c.out.write(Http2Test.frame(1, 0, 0x1, new byte[0]));
        c.out.flush();
        c.end();
        assertThat(Http2Test.readUntilFrame(c.in, 7, 0)).as("GOAWAY: the proxy read the client's end").isTrue();
        try (H2Client probe = new H2Client(port, ca)) {
            probe.get(1, "/probe");
            assertThat(Http2Test.statusOrReset(probe.in, 1, new DefaultHttp2HeadersDecoder(false))).isEqualTo("200");
        }
        return sent;
    }

    /**
     * Sends DATA on {@code stream} as the proxy's flow-control windows allow, until it stops giving
     * them back: two PINGs in turn, each read up to its ACK, show every WINDOW_UPDATE the proxy sent
     * before them read, and windows still spent then mean that the stream's DATA is not being read.
     * Returns the body bytes sent.
     */
    private static long sendUntilTheStreamIsNotRead(H2Client c, int stream) throws Exception {
        long[] windows = {65535, 65535};
        byte[] piece = new byte[16384];
        long sent = 0;
        while (sent < 512L << 20) {
            int n = (int) Math.min(piece.length, Math.min(windows[0], windows[1]));
            if (n > 0) {
                c.out.write(Http2Test.frame(stream, 0, 0, n == piece.length ? piece : new byte[n]));
                sent += n;
                windows[0] -= n;
                windows[1] -= n;
                continue;
            }
            c.out.flush();
            ping(c, stream, windows);
            ping(c, stream, windows);
            if (Math.min(windows[0], windows[1]) == 0) {
                return sent;
            }
        }
        throw new AssertionError("the proxy read " + sent + " bytes of the stream and never stopped");
    }

    /** Sends a PING and reads frames up to its ACK, adding WINDOW_UPDATEs of the connection and {@code stream} to {@code windows}. */
    private static void ping(H2Client c, int stream, long[] windows) throws Exception {
        c.out.write(Http2Test.frame(0, 6, 0, new byte[8]));
        c.out.flush();
        while (true) {
            Http2Test.Frame f = Http2Test.Frame.read(c.in);
            assertThat(f).as("a frame before the PING's ACK").isNotNull();
            if (f.type() == 6 && (f.flags() & 0x1) != 0) {
                return;
            }
            if (f.type() == 8 && (f.stream() == 0 || f.stream() == stream)) {
                byte[] p = f.payload();
                windows[f.stream() == 0 ? 0 : 1] += (p[0] & 0x7fL) << 24 | (p[1] & 0xff) << 16 | (p[2] & 0xff) << 8 | p[3] & 0xff;
            }
        }
    }

    /**
     * A server that, on its first connection, reads a request head, counts down {@code heads}, reads
     * nothing more until {@code release} opens, then reads the chunked body, sets {@code received} to
     * its size and answers 200; on every other connection it answers each request at once.
     */
    private static RawBackend readingWhenReleased(CountDownLatch heads, CountDownLatch release, java.util.concurrent.atomic.AtomicLong received)
            throws java.io.IOException {
        return new RawBackend((s, n) -> {
            InputStream raw = s.getInputStream();
            if (n == 1) {
                RawBackend.nextHead(raw);
                heads.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                InputStream in = new java.io.BufferedInputStream(raw, 64 * 1024);
                long total = 0;
                while (true) {
                    String size = chunkLine(in);
                    int length = Integer.parseInt(size.split(";", 2)[0].trim(), 16);
                    if (length == 0) {
                        while (!chunkLine(in).isEmpty()) {
                            // trailers
                        }
                        break;
                    }
                    in.skipNBytes(length);
                    total += length;
                    chunkLine(in);
                }
                received.set(total);
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                in.transferTo(OutputStream.nullOutputStream());
                return;
            }
            while (RawBackend.nextHead(raw) != null) {
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        });
    }

    /** One line of a chunked body, without its CRLF. */
    private static String chunkLine(InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        if (c < 0) {
            throw new java.io.EOFException("the body ended after " + sb);
        }
        return sb.toString();
    }

    /**
     * Requests to an HTTP/2 server whose streams are still opening (their new connection waits for the
     * server's SETTINGS, taking up to 100 requests meanwhile) are given up when their clients leave:
     * logged {@code CC}, they leave the connection's wait at once and never become streams. A
     * request after 100 of them waits on the same connection and is its first stream once the
     * SETTINGS arrive; the abandoned ones kept their places, so that it had to open a second
     * connection. The server sees one connection and only that request's frames.
     */
    @Test
    void clientsThatLeaveWhileTheirHttp2StreamsOpenGiveTheStreamsUp() throws Exception {
        HeldSettingsServer h2 = new HeldSettingsServer();
        try (RawBackend server = new RawBackend(h2::serve)) {
            int port = start(Backend.named("app").server("s1", server.address()).protocol(BackendProtocol.H2C));
            ServerControl s1 = proxy.control().server("app", "s1");
            List<RawHttp> left = new java.util.ArrayList<>();
            for (int i = 0; i < 100; i++) {
                RawHttp c = new RawHttp(port);
                c.send("GET /left" + i + " HTTP/1.1\r\nHost: a\r\n\r\n");
                left.add(c);
            }
            Await.until("100 requests wait for the server's SETTINGS", () -> s1.load() == 100);
            // connected: the last request to leave while the connect is under way would give it up
            assertThat(h2.preface.await(10, TimeUnit.SECONDS)).as("the proxy connected to the server").isTrue();
            for (RawHttp c : left) {
                leave(c, true);
            }
            assertThat(lines.awaitCount(100)).allSatisfy(l -> assertThat(l).contains(" web app/s1 ", " - 0 0 CC \"GET /left"));
            // the log lines are written just before the servers' slots are given back, on the event loops
            Await.until("the streams' slots given back", () -> s1.load() == 0);
            try (RawHttp next = new RawHttp(port)) {
                next.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
                Await.until("the next request waits for the server", () -> s1.load() == 1);
                h2.settings.countDown();
                assertThat(next.read().status()).isEqualTo(200);
            }
            assertThat(h2.frames).as("the frames of streams the server got, by connection").containsExactly("1/3 HEADERS /next");
            assertThat(server.connections.get()).isEqualTo(1);
            assertThat(server("s1").errors().total()).isZero();
        }
    }

    /**
     * Requests the proxy itself gives up while their streams to an HTTP/2 server are still opening (a
     * bad chunk in the body, answered 400 while the connection waits for the server's SETTINGS) leave
     * the connection's wait as those whose clients leave do: a request after 100 of them waits on the
     * same connection. They kept their places, so that it opened a second connection.
     */
    @Test
    void requestsRefusedWhileTheirHttp2StreamsOpenGiveTheStreamsUp() throws Exception {
        HeldSettingsServer h2 = new HeldSettingsServer();
        try (RawBackend server = new RawBackend(h2::serve)) {
            int port = start(Backend.named("app").server("s1", server.address()).protocol(BackendProtocol.H2C));
            ServerControl s1 = proxy.control().server("app", "s1");
            for (int i = 0; i < 100; i++) {
                try (RawHttp c = new RawHttp(port)) {
                    c.send("POST /bad" + i + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
                    Await.until("the request waits for the server's SETTINGS", () -> s1.load() == 1);
                    // connected: a request given up while the connect is under way gives it up
                    assertThat(h2.preface.await(10, TimeUnit.SECONDS)).as("the proxy connected to the server").isTrue();
                    c.send("zz\r\n");
                    assertThat(c.read().status()).isEqualTo(400);
                }
                Await.until("the request left the server", () -> s1.load() == 0);
            }
            try (RawHttp next = new RawHttp(port)) {
                next.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
                Await.until("the next request waits for the server", () -> s1.load() == 1);
                h2.settings.countDown();
                assertThat(next.read().status()).isEqualTo(200);
            }
            assertThat(h2.frames).as("the frames of streams the server got, by connection").containsExactly("1/3 HEADERS /next");
            assertThat(server.connections.get()).isEqualTo(1);
        }
    }

    /**
     * A connection whose every waiting request was given up before the server's SETTINGS opens no
     * stream, and is closed after the pool's idle timeout as any unused connection is.
     */
    @Test
    void aConnectionWhoseWaitingRequestsWereAllGivenUpClosesWhenIdle() throws Exception {
        HeldSettingsServer h2 = new HeldSettingsServer();
        try (RawBackend server = new RawBackend(h2::serve)) {
            int port = start(Backend.named("app").server("s1", server.address()).protocol(BackendProtocol.H2C).abortOnClose(true));
            RawHttp c = new RawHttp(port);
            c.send("GET /left HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(h2.preface.await(10, TimeUnit.SECONDS)).as("the proxy connected to the server").isTrue();
            leave(c, false);
            assertThat(lines.await(l -> l.contains("/left"))).contains(" - 0 0 CC \"GET /left HTTP/1.1\" ");
            h2.settings.countDown();
            assertThat(h2.acked.await(10, TimeUnit.SECONDS)).as("the proxy took the server's SETTINGS").isTrue();
            // the ACK can reach the server while the loop is still in the read that took the SETTINGS,
            // before the connection has started its idle timer: a task on the loop runs after that read
            loop.awaitDueTimers();
            loop.advance(((HttpFrontend) proxy.frontends().get(0)).poolIdleTimeout());
            assertThat(h2.ended.await(10, TimeUnit.SECONDS)).as("the proxy closed the unused connection").isTrue();
            assertThat(h2.frames).as("frames of streams").isEmpty();
        }
    }

    /**
     * An h2c server that holds its SETTINGS (MAX_CONCURRENT_STREAMS 1) until {@link #settings}, then
     * answers every request 200 and records the frames of every stream ("connection/stream HEADERS
     * path", or the frame's type).
     */
    private static final class HeldSettingsServer {
        final CountDownLatch preface = new CountDownLatch(1);
        final CountDownLatch settings = new CountDownLatch(1);
        final CountDownLatch acked = new CountDownLatch(1);
        final CountDownLatch ended = new CountDownLatch(1);
        final List<String> frames = new CopyOnWriteArrayList<>();

        void serve(Socket s, int n) throws java.io.IOException {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            if (in.readNBytes(24).length < 24) {
                return;
            }
            preface.countDown();
            try {
                if (!settings.await(10, TimeUnit.SECONDS)) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            out.write(Http2Test.frame(0, 4, 0, new byte[] {0, 3, 0, 0, 0, 1}));
            out.flush();
            DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder(false);
            Http2Test.Frame f;
            while ((f = Http2Test.Frame.read(in)) != null) {
                if (f.type() == 4) {
                    if ((f.flags() & 1) == 0) {
                        out.write(Http2Test.frame(0, 4, 1, new byte[0]));
                    } else {
                        acked.countDown();
                    }
                } else if (f.type() == 1) {
                    ByteBuf block = Unpooled.wrappedBuffer(f.payload());
                    try {
                        frames.add(n + "/" + f.stream() + " HEADERS " + hpack.decodeHeaders(f.stream(), block).path());
                    } catch (Http2Exception e) {
                        throw new java.io.IOException(e);
                    } finally {
                        block.release();
                    }
                    // :status 200, END_STREAM
                    out.write(Http2Test.frame(f.stream(), 1, 0x5, new byte[] {(byte) 0x88}));
                } else if (f.stream() != 0) {
                    frames.add(n + "/" + f.stream() + " type " + f.type());
                }
                out.flush();
            }
            ended.countDown();
        }
    }

    /**
     * A TLS frontend offering h2 and http/1.1 on the JDK provider, whose TLS 1.3 can still send after the
     * client's close_notify (Netty's OpenSSL engine answers it at once, which ends the session anyway).
     */
    private static ServerTls h2Tls(X509Bundle ca) throws Exception {
        X509Bundle cert = TlsPki.server(ca, "www.example");
        return ServerTls.builder().provider(TlsProvider.JDK).alpn("h2", "http/1.1")
                .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), List.of(cert.getCertificatePath()))).build();
    }

    /**
     * An HTTP/2 client connection: h2c with prior knowledge, or h2 (ALPN) over TLS 1.3 on a TCP socket
     * the TLS layer leaves open, so that its end is a close_notify without a FIN.
     */
    private static final class H2Client implements AutoCloseable {
        final Socket tcp;
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        H2Client(int port, X509Bundle ca) throws Exception {
            tcp = new Socket("127.0.0.1", port);
            // a PING after a window's DATA goes out at once, not after the proxy's delayed ACK (RawHttp)
            tcp.setTcpNoDelay(true);
            tcp.setSoTimeout(10_000);
            if (ca == null) {
                socket = tcp;
            } else {
                SSLSocket tls = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(tcp, "127.0.0.1", port, false);
                tls.setEnabledProtocols(new String[] {"TLSv1.3"});
                SSLParameters p = tls.getSSLParameters();
                p.setApplicationProtocols(new String[] {"h2"});
                tls.setSSLParameters(p);
                tls.startHandshake();
                assertThat(tls.getApplicationProtocol()).isEqualTo("h2");
                socket = tls;
            }
            in = socket.getInputStream();
            out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(Http2Test.frame(0, 4, 0, new byte[0]));
            out.flush();
        }

        /** GET {@code path} on {@code stream}, HEADERS with END_STREAM. */
        void get(int stream, String path) throws java.io.IOException {
            out.write(Http2Test.frame(stream, 1, 0x5, RefusedRequestLogTest.hpack("www.example", path)));
            out.flush();
        }

        /** The client's end: a FIN, or over TLS a close_notify alone. */
        void end() throws java.io.IOException {
            socket.shutdownOutput();
            assertThat(tcp.isOutputShutdown()).as("a FIN").isEqualTo(socket == tcp);
        }

        @Override
        public void close() throws java.io.IOException {
            socket.close();
            tcp.close();
        }
    }

    private TrafficSnapshot server(String name) {
        return proxy.metrics().backend("app").server(name).traffic();
    }

    /**
     * A TLS 1.3 client over {@code tcp} (10 s read timeout), handshake done; {@code fin}: whether its
     * close_notify closes the socket's output too.
     */
    private static SSLSocket tls13(Socket tcp, X509Bundle ca, int port, boolean fin) throws Exception {
        tcp.setSoTimeout(10_000);
        SSLSocket tls = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(tcp, "127.0.0.1", port, fin);
        tls.setEnabledProtocols(new String[] {"TLSv1.3"});
        tls.startHandshake();
        return tls;
    }
}
