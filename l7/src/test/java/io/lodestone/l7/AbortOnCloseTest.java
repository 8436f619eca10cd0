package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ServerTls;
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
 * Without the option a half-closed client is still answered; a reset aborts whatever the option says.
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

    private int start(Backend.Builder app, ServerTls tls) {
        HttpFrontend.Builder web = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app");
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
            assertThat(proxy.control().server("app", "s1").load()).isZero();
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
                tcp.setSoTimeout(10_000);
                SSLSocket tls = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(tcp, "127.0.0.1", port, fin);
                tls.setEnabledProtocols(new String[] {"TLSv1.3"});
                tls.startHandshake();
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
            assertThat(proxy.control().server("app", "s1").load()).isZero();
            assertThat(server("s1").errors().total()).isZero();
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
                leave(queued, reset);
                assertThat(lines.await(l -> l.contains("/queued")))
                        .contains(" web app/- 0/-1/-1/-1/0 - 0 0 CQ \"GET /queued HTTP/1.1\" ");
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

    private void leaveWhileConnecting(boolean reset) throws Exception {
        try (Blackhole hole = new Blackhole()) {
            int port = start(Backend.named("app").server("hole", hole.address()).connectTimeout(CONNECT_TIMEOUT).abortOnClose(!reset));
            ServerControl control = proxy.control().server("app", "hole");
            RawHttp c = new RawHttp(port);
            c.send("GET /connecting HTTP/1.1\r\nHost: a\r\n\r\n");
            Await.until("the request at the server", () -> control.load() == 1);
            loop.awaitDueTimers();
            leave(c, reset);
            assertThat(lines.await(l -> l.contains("/connecting")))
                    .contains(" web app/hole 0/0/-1/-1/0 - 0 0 CC \"GET /connecting HTTP/1.1\" ");
            assertThat(control.load()).isZero();
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
        try (RawBackend server = new RawBackend((s, n) -> {
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
        })) {
            int port = start(Backend.named("app").server("s1", server.address()));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /half HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(heads.await(10, TimeUnit.SECONDS)).isTrue();
                c.socket.shutdownOutput();
                try (RawHttp probe = new RawHttp(port)) {
                    assertThat(probe.send("GET /probe HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                }
                answer.countDown();
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("ok");
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(lines.await(l -> l.contains("/half"))).contains(" 200 0 2 -- \"GET /half HTTP/1.1\" ");
        }
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
            assertThat(proxy.control().server("app", "s1").load()).isZero();
        }
    }

    private TrafficSnapshot server(String name) {
        return proxy.metrics().backend("app").server(name).traffic();
    }
}
