package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.readExactly;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.core.testing.TcpEchoServer;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-server maxconn with the backend's queue on a TCP frontend (HAProxy's {@code mode tcp} with
 * {@code server ... maxconn} and {@code timeout queue}), over real sockets, on the proxy's manual
 * clock: a connection that finds the echo server full waits for its slot, in arrival order, up to
 * the backend's queue timeout.
 */
class TcpQueueTest {

    private static final Duration QUEUE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration ONE_MS = Duration.ofMillis(1);

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private final List<Socket> sockets = new ArrayList<>();
    private TcpEchoServer echo;
    private Proxy proxy;

    @BeforeEach
    void startEcho() {
        // several cases close it and need the next connect to its port refused
        echo = TcpEchoServer.startOutsideTheEphemeralRange();
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (proxy != null) {
            proxy.close(Duration.ZERO);
        }
        loop.close();
        echo.close();
    }

    private Proxy.Builder builder() {
        return Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines));
    }

    /** A proxy whose frontend "relay" leads to backend "app": s1, the echo server, at maxConnections(1). */
    private int start(Duration queueTimeout) {
        proxy = builder()
                .backend(Backend.named("app").server("s1", echo.address(), s -> s.maxConnections(1)).queueTimeout(queueTimeout))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    private Socket open(int port) throws IOException {
        Socket s = connect(port);
        sockets.add(s);
        return s;
    }

    /** Connects, sends {@code early}, and waits until the connection is the {@code depth}th in the queue. */
    private Socket queued(int port, String early, int depth) throws IOException {
        Socket s = open(port);
        s.getOutputStream().write(early.getBytes(StandardCharsets.UTF_8));
        Await.until("connection " + early + " queued", () -> proxy.control().queuedRequests("app") == depth);
        return s;
    }

    private static void assertEchoed(Socket s, String early) throws IOException {
        assertThat(new String(readExactly(s.getInputStream(), early.length()), StandardCharsets.UTF_8)).isEqualTo(early);
    }

    private ServerControl s1() {
        return proxy.control().server("app", "s1");
    }

    private ErrorCounts backendErrors() {
        return proxy.metrics().backend("app").traffic().errors();
    }

    @Test
    void aSecondConnectionWaitsAndGetsTheServerOnceTheFirstCloses() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "early", 1);
        assertThat(proxy.metrics().backend("app").traffic().currentQueue()).as("the queue depth in the metrics").isEqualTo(1);
        assertThat(echo.accepted()).isEqualTo(1);
        loop.advance(Duration.ofSeconds(2));

        first.close();
        assertEchoed(second, "early");
        assertEcho(second, "and then");
        assertThat(proxy.control().queuedRequests("app")).isZero();
        assertThat(s1().load()).isEqualTo(1);
        second.close();
        Await.until("the server's load back to 0", () -> s1().load() == 0);
        // the queue time is the log's Tw, as HAProxy's: 2 s on the manual clock
        assertThat(lines.await(l -> l.contains(" relay app/s1 -1/2000/"))).contains(" -1/2000/0/-1/2000 - 13 13 -- ");
        assertThat(lines.await(l -> l.contains(" relay app/s1 -1/0/"))).contains(" -- ");
        assertThat(backendErrors().total()).isZero();
    }

    @Test
    void waitingConnectionsAreServedInArrivalOrder() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        List<Socket> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiting.add(queued(port, "q" + i, i + 1));
        }
        first.close();
        for (int i = 0; i < 3; i++) {
            Socket s = waiting.get(i);
            assertEchoed(s, "q" + i);
            int left = 2 - i;
            assertThat(proxy.control().queuedRequests("app")).as("still waiting behind q" + i).isEqualTo(left);
            assertThat(echo.accepted()).isEqualTo(2 + i);
            s.close();
        }
        Await.until("the server's load back to 0", () -> s1().load() == 0);
    }

    /** The queue timeout on the proxy's clock: 1 ms before it the connection still waits; at it, sQ. */
    @Test
    void aConnectionThatWaitsOutTheQueueTimeoutIsClosedAndLoggedSq() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "early", 1);
        loop.advance(QUEUE_TIMEOUT.minus(ONE_MS));
        assertThat(proxy.control().queuedRequests("app")).isEqualTo(1);
        assertThat(backendErrors().total()).isZero();
        loop.advance(ONE_MS);
        assertThat(isClosedByPeer(second)).isTrue();
        assertThat(proxy.control().queuedRequests("app")).isZero();
        assertThat(lines.await(l -> l.contains(" relay app/- "))).contains(" relay app/- -1/5000/-1/-1/5000 - 5 0 sQ ");
        assertThat(backendErrors().timeout()).as("sQ: a timeout error on the backend, as HAProxy counts one (econ)").isEqualTo(1);
        assertThat(backendErrors().connect()).isZero();
        assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().total()).as("not the server's").isZero();
        assertThat(echo.accepted()).isEqualTo(1);

        first.close();
        Await.until("the server's load back to 0", () -> s1().load() == 0);
        assertEcho(open(port), "the freed slot serves the next connection");
    }

    @Test
    void withoutAQueueTimeoutAFullServerClosesTheConnectionAtOnce() throws IOException {
        int port = start(Duration.ZERO);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = open(port);
        assertThat(isClosedByPeer(second)).isTrue();
        assertThat(lines.await(l -> l.contains(" relay app/- "))).contains(" -1/-1/-1/-1/0 - 0 0 SC ");
        assertThat(backendErrors().connect()).as("SC: no server free").isEqualTo(1);
        assertEcho(first, "still served");
    }

    /** A proxy as {@link #start}, its backend's queue bounded at {@code maxQueued}. */
    private Proxy.Builder bounded(int maxQueued) {
        return builder()
                .backend(Backend.named("app").server("s1", echo.address(), s -> s.maxConnections(1))
                        .queueTimeout(QUEUE_TIMEOUT).maxQueued(maxQueued))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").defaultBackend("app"));
    }

    /**
     * With {@code maxQueued(1)}, a connection that finds the server full and one waiting already is
     * closed at once, logged {@code SQ} (HAProxy's state for a full {@code maxqueue}) with a connect
     * error on the backend as {@code SC} counts, without a slot or a place: once the queue drains below
     * the bound the next one waits again, and the server sees the connections in their order.
     */
    @Test
    void aConnectionThatFindsTheQueueFullIsClosedAtOnceAndTheQueueTakesOthersOnceBelowItsBound() throws IOException {
        proxy = bounded(1).build();
        proxy.start();
        int port = proxy.port();
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "second", 1);

        Socket refused = open(port);
        assertThat(isClosedByPeer(refused)).isTrue();
        // Tw -1: refused before it entered the queue, as HAProxy logs a maxqueue refusal (and SC)
        assertThat(lines.await(l -> l.contains(" SQ "))).contains(" relay app/- -1/-1/-1/-1/0 - 0 0 SQ ");
        assertThat(backendErrors().connect()).as("SQ: a connect error on the backend, as SC").isEqualTo(1);
        assertThat(backendErrors().timeout()).isZero();
        assertThat(proxy.control().queuedRequests("app")).isEqualTo(1);
        assertThat(proxy.metrics().backend("app").traffic().currentQueue()).isEqualTo(1);
        assertThat(echo.accepted()).isEqualTo(1);

        first.close();
        assertEchoed(second, "second");
        Socket third = queued(port, "third", 1);
        Socket refusedAgain = open(port);
        assertThat(isClosedByPeer(refusedAgain)).isTrue();
        assertThat(backendErrors().connect()).isEqualTo(2);

        second.close();
        assertEchoed(third, "third");
        assertThat(echo.accepted()).isEqualTo(3);
        third.close();
        Await.until("the server's load back to 0", () -> s1().load() == 0);
        assertThat(proxy.control().queuedRequests("app")).isZero();
        assertThat(proxy.metrics().backend("app").traffic().currentQueue()).isZero();
    }

    /** A reconfiguration changes the bound: raised, a further connection waits; lowered, those waiting stay and are served. */
    @Test
    void aReconfigurationChangesTheQueuesBound() throws IOException {
        proxy = bounded(1).build();
        proxy.start();
        int port = proxy.port();
        Socket first = open(port);
        assertEcho(first, "first");
        Socket a = queued(port, "a", 1);
        assertThat(isClosedByPeer(open(port))).isTrue();

        proxy.reconfigure(bounded(3));
        Socket b = queued(port, "b", 2);
        Socket c = queued(port, "c", 3);
        assertThat(isClosedByPeer(open(port))).as("3 wait: the new bound").isTrue();

        proxy.reconfigure(bounded(1));
        assertThat(isClosedByPeer(open(port))).as("over the lowered bound").isTrue();
        assertThat(proxy.control().queuedRequests("app")).as("those waiting stay").isEqualTo(3);
        assertThat(backendErrors().connect()).isEqualTo(3);

        first.close();
        assertEchoed(a, "a");
        a.close();
        assertEchoed(b, "b");
        b.close();
        assertEchoed(c, "c");
        c.close();
        Await.until("the server's load back to 0", () -> s1().load() == 0);
    }

    /**
     * A client that resets while it waits leaves the queue: its place goes to the one behind it, and
     * the server's slot is not held for it ({@code CQ}, no error, as an HTTP request's). HAProxy 2.6
     * logs the same case {@code CD} in {@code mode tcp}.
     */
    @Test
    void aClientThatResetsWhileQueuedLeavesTheQueue() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket leaving = queued(port, "leaving", 1);
        Socket third = queued(port, "third", 2);
        loop.advance(Duration.ofSeconds(1));
        leaving.setSoLinger(true, 0);
        leaving.close();
        Await.until("the reset client out of the queue", () -> proxy.control().queuedRequests("app") == 1);
        // the 7 bytes it sent are counted when read before the reset
        assertThat(lines.await(l -> l.contains(" relay app/- "))).contains(" -1/1000/-1/-1/1000 - ").contains(" 0 CQ ");

        first.close();
        assertEchoed(third, "third");
        assertEcho(third, "served");
        third.close();
        Await.until("the server's load back to 0", () -> s1().load() == 0);
        assertThat(echo.accepted()).isEqualTo(2);
        assertThat(backendErrors().total()).isZero();
        assertThat(proxy.metrics().frontend("relay").traffic().errors().total()).isZero();
    }

    /**
     * A FIN is a half-close: the client may still wait for the answer, so it keeps its place and is
     * served with its bytes and its FIN (HAProxy 2.6 in {@code mode tcp} does the same).
     */
    @Test
    void aClientThatHalfClosesWhileQueuedIsStillServed() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "request", 1);
        second.shutdownOutput();
        loop.awaitDueTimers();
        assertThat(proxy.control().queuedRequests("app")).isEqualTo(1);
        first.close();
        assertThat(second.getInputStream().readAllBytes()).isEqualTo("request".getBytes(StandardCharsets.UTF_8));
        assertThat(lines.await(l -> l.contains(" 7 7 "))).contains(" relay app/s1 -1/0/0/-1/0 - 7 7 -- ");
    }

    /**
     * With the backend's abortOnClose (HAProxy's {@code option abortonclose}, which HAProxy 2.6 honours
     * in {@code mode tcp} while a connection waits in the queue), a FIN while queued drops the
     * connection: closed, logged {@code CQ}, no error, and the one behind it takes its place.
     */
    @Test
    void withAbortOnCloseAClientThatHalfClosesWhileQueuedIsDropped() throws IOException {
        proxy = builder()
                .backend(Backend.named("app").server("s1", echo.address(), s -> s.maxConnections(1))
                        .queueTimeout(QUEUE_TIMEOUT).abortOnClose(true))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").defaultBackend("app"))
                .build();
        proxy.start();
        int port = proxy.port();
        Socket first = open(port);
        assertEcho(first, "first");
        Socket leaving = queued(port, "leaving", 1);
        Socket third = queued(port, "third", 2);
        leaving.shutdownOutput();
        assertThat(isClosedByPeer(leaving)).isTrue();
        Await.until("the dropped connection out of the queue", () -> proxy.control().queuedRequests("app") == 1);
        assertThat(lines.await(l -> l.contains(" relay app/- "))).contains(" -1/0/-1/-1/0 - 7 0 CQ ");

        first.close();
        assertEchoed(third, "third");
        assertThat(echo.accepted()).isEqualTo(2);
        assertThat(backendErrors().total()).isZero();
        assertThat(proxy.metrics().frontend("relay").traffic().errors().total()).isZero();
    }

    /** HAProxy hands a server that comes back the backend's queue: waiting connections need not wait for a release. */
    @Test
    void aServerMadeReadyTakesTheWaitingConnectionsAtOnce() throws IOException {
        try (TcpEchoServer other = TcpEchoServer.start()) {
            proxy = builder()
                    .backend(Backend.named("app").server("s1", echo.address(), s -> s.maxConnections(1))
                            .server("s2", other.address()).queueTimeout(QUEUE_TIMEOUT))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            proxy.control().server("app", "s2").maintenance();
            Socket first = open(port);
            assertEcho(first, "first");
            Socket a = queued(port, "a", 1);
            Socket b = queued(port, "b", 2);

            proxy.control().server("app", "s2").ready();
            assertEchoed(a, "a");
            assertEchoed(b, "b");
            assertThat(other.accepted()).isEqualTo(2);
            assertThat(proxy.control().queuedRequests("app")).isZero();
            assertEcho(first, "s1 still holds its connection");
        }
    }

    /**
     * A reconfiguration that removes the backend leaves its waiting connections nothing to wait for:
     * they are closed at once, logged {@code SC} with a connect error, not at the queue timeout; the
     * connection relayed to its server goes on.
     */
    @Test
    void connectionsQueuedForABackendAReconfigurationRemovesAreClosedAtOnce() throws IOException {
        try (TcpEchoServer other = TcpEchoServer.start()) {
            int port = start(QUEUE_TIMEOUT);
            Socket first = open(port);
            assertEcho(first, "first");
            Socket a = queued(port, "a", 1);
            Socket b = queued(port, "b", 2);

            proxy.reconfigure(builder()
                    .backend(Backend.named("other").server("o1", other.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").defaultBackend("other")));

            assertThat(isClosedByPeer(a)).isTrue();
            assertThat(isClosedByPeer(b)).isTrue();
            List<String> logged = lines.awaitCount(2);
            assertThat(logged).allSatisfy(line -> assertThat(line).contains(" relay app/- ", " SC "));
            assertEcho(open(port), "new connections go to the new backend");
            assertThat(other.accepted()).isEqualTo(1);
            assertEcho(first, "the relayed connection goes on");
            assertThat(echo.accepted()).isEqualTo(1);
        }
    }

    /**
     * The proxy's stop: during the drain a waiting connection still gets the slot the relayed one
     * frees; past the drain timeout (zero here) a waiting connection is closed at once, logged
     * {@code KQ}, and the queue is left empty.
     */
    @Test
    void theProxysStopClosesWaitingConnections() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "second", 1);

        proxy.close(Duration.ZERO);
        assertThat(isClosedByPeer(second)).isTrue();
        assertThat(isClosedByPeer(first)).isTrue();
        assertThat(lines.await(l -> l.contains(" relay app/- "))).contains(" -1/0/-1/-1/0 - 6 0 KQ ");
        assertThat(lines.await(l -> l.contains(" relay app/s1 "))).contains(" KD ");
        assertThat(proxy.control().queuedRequests("app")).isZero();
        // the load comes back when the server connection's close is handled, which may follow the
        // client's (whose close writes the log line) on the loop the test does not wait for
        Await.until("the server's load back to 0", () -> s1().load() == 0);
        assertThat(backendErrors().total()).isZero();
    }

    /**
     * Two frontends share the backend, and the proxy's stop closes the first before the second: the
     * first's relayed connection gives its slot to the connection waiting on the second, which must
     * not be sent to the server in the middle of the stop. It was (logged {@code KD} on s1, the echo
     * server accepting it) when only the listener being closed knew of the stop.
     */
    @Test
    void theStopSendsNoWaitingConnectionOfAnotherFrontendToTheServer() throws IOException {
        proxy = builder()
                .backend(Backend.named("app").server("s1", echo.address(), s -> s.maxConnections(1)).queueTimeout(QUEUE_TIMEOUT))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("first").defaultBackend("app"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("second").defaultBackend("app"))
                .build();
        proxy.start();
        Socket first = open(proxy.port("first"));
        assertEcho(first, "first");
        Socket second = queued(proxy.port("second"), "second", 1);

        proxy.close(Duration.ZERO);
        assertThat(isClosedByPeer(second)).isTrue();
        assertThat(lines.await(l -> l.contains(" second app/"))).contains(" second app/- ", " KQ ");
        assertThat(lines.await(l -> l.contains(" first app/s1 "))).contains(" KD ");
        assertThat(echo.accepted()).as("only the first connection reached the server").isEqualTo(1);
        assertThat(proxy.control().queuedRequests("app")).isZero();
        // the load comes back when the server connection's close is handled, which may follow the
        // client's (whose close writes the log line) on the loop the test does not wait for
        Await.until("the server's load back to 0", () -> s1().load() == 0);
        assertThat(backendErrors().total()).isZero();
    }

    /**
     * The server goes away while a connection waits for it: the relayed connection ends, its slot goes
     * to the waiting one, whose connect is refused; with no other server it is closed {@code SC} (no
     * second wait, as HAProxy 2.6 with {@code retries} and {@code option redispatch}), a connect
     * error on s1, and the load and the queue are back to 0.
     */
    @Test
    void aConnectionWhoseConnectFailsAfterTheQueueIsClosedAndItsSlotGivenBack() throws IOException {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "second", 1);

        echo.close();
        // the server's FIN reaches the client, which closes its side: the session ends, its slot goes on
        assertThat(isClosedByPeer(first)).isTrue();
        first.close();
        assertThat(isClosedByPeer(second)).isTrue();
        assertThat(lines.await(l -> l.contains(" SC "))).contains(" relay app/s1 -1/0/-1/-1/0 - 6 0 SC ");
        Await.until("s1's load back to 0", () -> s1().load() == 0);
        assertThat(proxy.control().queuedRequests("app")).isZero();
        assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().connect()).isEqualTo(1);
    }

    @Test
    void duringTheDrainAWaitingConnectionIsServedWhenASlotFrees() throws Exception {
        int port = start(QUEUE_TIMEOUT);
        Socket first = open(port);
        assertEcho(first, "first");
        Socket second = queued(port, "second", 1);

        Proxy stopping = proxy;
        CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> stopping.close(Duration.ofSeconds(30)));
        Await.until("new connections refused", () -> Sockets.refuses(port));
        first.close();
        assertEchoed(second, "second");
        assertEcho(second, "during the drain");
        assertThat(closing).isNotDone();
        second.close();
        closing.get(10, TimeUnit.SECONDS);
        assertThat(lines.await(l -> l.contains(" -1/0/0/-1/0 - 22 22 -- "))).contains(" relay app/s1 ");
    }

    /**
     * A passthrough frontend routes on the ClientHello's SNI name, then the connection waits in the
     * queue with its ClientHello kept; once served, the handshake with the server completes. The
     * ClientHello timeout (1 s here) ran before routing and does not cut the wait.
     */
    @Test
    void anSniRoutedConnectionWaitsWithItsClientHello() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        try (TlsTestSupport.TlsEchoServer tlsEcho = new TlsTestSupport.TlsEchoServer(TlsTestSupport.server(ca, "db.example"))) {
            proxy = builder()
                    .backend(Backend.named("app").server("s1", tlsEcho.address(), s -> s.maxConnections(1)).queueTimeout(QUEUE_TIMEOUT))
                    .backend(Backend.named("none").server("n1", echo.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("sni").tlsPassthrough().clientHelloTimeout(Duration.ofSeconds(1))
                            .rule(io.lodestone.core.route.Rule.when(io.lodestone.core.route.Acl.sni("db.example")).use("app"))
                            .defaultBackend("none"))
                    .build();
            proxy.start();
            SSLContext ctx = TlsTestSupport.clientContext(ca);
            Socket first = TlsTestSupport.connect(ctx, proxy.port(), "db.example");
            sockets.add(first);
            assertEcho(first, "first");
            CompletableFuture<Socket> second = CompletableFuture.supplyAsync(() -> {
                try {
                    return TlsTestSupport.connect(ctx, proxy.port(), "db.example");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Await.until("the second connection queued", () -> proxy.control().queuedRequests("app") == 1);
            loop.advance(Duration.ofSeconds(2));
            assertThat(second).isNotDone();
            first.close();
            Socket served = second.get(10, TimeUnit.SECONDS);
            sockets.add(served);
            assertEcho(served, "through the queue");
            assertThat(tlsEcho.accepted.get()).isEqualTo(2);
        }
    }

    /** A TLS-terminating frontend routes after the handshake, then waits in the queue like any connection. */
    @Test
    void aTlsTerminatedConnectionWaitsAfterItsHandshake() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        X509Bundle cert = TlsTestSupport.server(ca, "db.example");
        proxy = builder()
                .backend(Backend.named("app").server("s1", echo.address(), s -> s.maxConnections(1)).queueTimeout(QUEUE_TIMEOUT))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("tls").tls(TlsTestSupport.serverTls(cert)).defaultBackend("app"))
                .build();
        proxy.start();
        SSLContext ctx = TlsTestSupport.clientContext(ca);
        Socket first = TlsTestSupport.connect(ctx, proxy.port(), "db.example");
        sockets.add(first);
        assertEcho(first, "first");
        Socket second = TlsTestSupport.connect(ctx, proxy.port(), "db.example");
        sockets.add(second);
        second.getOutputStream().write("early".getBytes(StandardCharsets.UTF_8));
        Await.until("the second connection queued", () -> proxy.control().queuedRequests("app") == 1);
        first.close();
        assertEchoed(second, "early");
        assertEcho(second, "over TLS");
    }
}
