package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.readExactly;
import static io.lodestone.l4.Sockets.staysSilent;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.Blackhole;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.tls.ClientTls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection timers of TCP frontends follow the proxy's {@link io.lodestone.core.Clock}: with a
 * manual clock, a test moves the clock instead of waiting, and a timer not yet due does not fire
 * however long the test takes. The proxy runs on one loop that the test holds
 * ({@link ManualClockLoop}), so each move of the clock returns once the due timers have run.
 */
class TcpProxyClockTimeoutsTest {

    private static final Duration IDLE = Duration.ofSeconds(40);
    private static final Duration QUARTER = IDLE.dividedBy(4);
    private static final Duration HELLO_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration ONE_MS = Duration.ofMillis(1);

    /** A server that never answers a connect, behind backend "hole" and first in backend "failover". */
    private static Blackhole blackhole;
    /** A server whose kernel takes connections that it never reads, behind backend "mute" spoken to over TLS. */
    private static ServerSocket mute;

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private TcpEchoServer echo;
    private Proxy proxy;

    @BeforeAll
    static void startBlackhole() throws IOException {
        blackhole = new Blackhole();
        mute = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    @AfterAll
    static void closeBlackhole() throws IOException {
        blackhole.close();
        mute.close();
    }

    @BeforeEach
    void start() {
        echo = TcpEchoServer.start();
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(Backend.named("echo").server("e1", echo.address()))
                .backend(Backend.named("hole").server("h1", blackhole.address()).connectTimeout(CONNECT_TIMEOUT).retries(0))
                // round robin's first pick is the first server
                .backend(Backend.named("failover").server("h1", blackhole.address()).server("e1", echo.address())
                        .connectTimeout(CONNECT_TIMEOUT).retries(1))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").clientTimeout(IDLE).defaultBackend("echo"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("sni").tlsPassthrough()
                        .clientHelloTimeout(HELLO_TIMEOUT).defaultBackend("echo"))
                .backend(Backend.named("mute").server("m1", "127.0.0.1:" + mute.getLocalPort())
                        .connectTimeout(CONNECT_TIMEOUT).retries(0).tls(ClientTls.builder().insecureTrustAll().build()))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("nowhere").defaultBackend("hole"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("mute").defaultBackend("mute"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("failover").defaultBackend("failover"))
                .build();
        proxy.start();
    }

    @AfterEach
    void stop() {
        proxy.close(Duration.ZERO);
        loop.close();
        echo.close();
    }

    private ErrorCounts errors(String frontend) {
        return proxy.metrics().frontend(frontend).traffic().errors();
    }

    private TrafficSnapshot server(String backend, String server) {
        return proxy.metrics().backend(backend).server(server).traffic();
    }

    /** Waits until a connection has picked {@code server} and the loop has issued its connect. */
    private void awaitConnecting(ServerControl server) {
        Await.until("a connection at " + server.server().name(), () -> server.load() == 1);
        loop.awaitDueTimers();
    }

    /**
     * The relay looks for traffic every quarter of the idle timeout and closes a connection at the
     * fourth look in a row that finds none, so it closes between one and one and a quarter idle
     * timeouts after the last bytes: three quiet quarters leave it open, four too, the fifth closes it.
     */
    @Test
    void aRelayedConnectionIsTimedOutOnTheProxyClock() throws IOException {
        try (Socket s = connect(proxy.port("relay"))) {
            assertEcho(s, "first");
            for (int i = 0; i < 3; i++) {
                loop.advance(QUARTER);
            }
            assertEcho(s, "within the timeout");
            for (int i = 0; i < 4; i++) {
                loop.advance(QUARTER);
            }
            assertThat(errors("relay").total()).isZero();
            assertEcho(s, "still within it");
            for (int i = 0; i < 5; i++) {
                loop.advance(QUARTER);
            }
            assertThat(isClosedByPeer(s)).isTrue();
        }
        assertThat(lines.await(l -> l.contains(" relay "))).contains(" cD ");
        Await.until("the timeout error", () -> errors("relay").timeout() == 1);
    }

    /**
     * The connect timeout covers the TLS handshake with a server ({@code Backend.tls}), as HAProxy's
     * does: a server that takes the TCP connection but never answers the ClientHello is given up at
     * the connect timeout, the client closed and the session logged {@code sC} with a timeout error on
     * the server. The handshake had ClientTls's own 10 s of handshake timeout instead.
     */
    @Test
    void aServerThatNeverAnswersTheTlsHandshakeIsAConnectTimeout() throws IOException {
        try (Socket s = connect(proxy.port("mute")); Socket accepted = mute.accept()) {
            accepted.setSoTimeout(10_000);
            assertThat(accepted.getInputStream().read()).as("the ClientHello's first byte").isEqualTo(0x16);
            loop.awaitDueTimers();
            loop.advance(CONNECT_TIMEOUT.minus(ONE_MS));
            assertThat(server("mute", "m1").errors().total()).isZero();
            loop.advance(ONE_MS);
            assertThat(isClosedByPeer(s)).isTrue();
            assertThat(server("mute", "m1").errors().timeout()).isEqualTo(1);
        }
        assertThat(lines.await(l -> l.contains(" mute/m1 "))).contains(" sC ");
    }

    @Test
    void aSilentClientIsClosedAtTheClientHelloTimeoutOnTheProxyClock() throws IOException {
        try (Socket s = connect(proxy.port("sni"))) {
            Await.until("the connection accepted", () -> proxy.metrics().frontend("sni").traffic().totalConnections() == 1);
            loop.awaitDueTimers();
            loop.advance(HELLO_TIMEOUT.minus(ONE_MS));
            assertThat(errors("sni").total()).isZero();
            loop.advance(ONE_MS);
            assertThat(isClosedByPeer(s)).isTrue();
        }
        assertThat(lines.await(l -> l.contains(" sni "))).contains(" cR ");
        Await.until("the timeout error", () -> errors("sni").timeout() == 1);
        assertThat(echo.accepted()).as("nothing reached the server").isZero();
    }

    /**
     * A connect to a server that never answers (its accept queue full, so its kernel drops the SYN)
     * is given up at the backend's connect timeout on the proxy's clock; with no other server to try,
     * the client is closed and the session logged {@code sC}, its total time the timeout to the
     * millisecond. 1 ms before, the attempt is still under way.
     */
    @Test
    void aConnectIsTimedOutOnTheProxyClockAndTheClientClosed() throws IOException {
        ServerControl hole = proxy.control().server("hole", "h1");
        try (Socket s = connect(proxy.port("nowhere"))) {
            awaitConnecting(hole);
            loop.advance(CONNECT_TIMEOUT.minus(ONE_MS));
            assertThat(server("hole", "h1").errors().timeout()).isZero();
            assertThat(hole.load()).as("the attempt still under way").isEqualTo(1);
            loop.advance(ONE_MS);
            assertThat(server("hole", "h1").errors().timeout()).isEqualTo(1);
            assertThat(hole.load()).isZero();
            assertThat(isClosedByPeer(s)).isTrue();
        }
        assertThat(lines.await(l -> l.contains(" nowhere "))).contains(" nowhere hole/h1 -1/0/-1/-1/3000 - 0 0 sC ");
    }

    /**
     * After a connect timeout the connection goes to the next server at the moment of the timeout on
     * the proxy's clock, with the bytes the client sent meanwhile: 1 ms before, the second server has
     * not been picked.
     */
    @Test
    void aTimedOutConnectFailsOverToTheNextServerOnTheProxyClock() throws IOException {
        ServerControl live = proxy.control().server("failover", "e1");
        try (Socket s = connect(proxy.port("failover"))) {
            s.getOutputStream().write("early".getBytes(StandardCharsets.UTF_8));
            awaitConnecting(proxy.control().server("failover", "h1"));
            loop.advance(CONNECT_TIMEOUT.minus(ONE_MS));
            assertThat(server("failover", "h1").errors().timeout()).isZero();
            assertThat(live.totalSelected()).as("connections sent to e1").isZero();
            loop.advance(ONE_MS);
            assertThat(server("failover", "h1").errors().timeout()).isEqualTo(1);
            assertThat(server("failover", "h1").redispatches()).isEqualTo(1);
            assertThat(live.totalSelected()).as("connections sent to e1").isEqualTo(1);
            assertThat(new String(readExactly(s.getInputStream(), 5), StandardCharsets.UTF_8)).isEqualTo("early");
            assertEcho(s, "after the failover");
        }
        assertThat(lines.await(l -> l.contains(" failover "))).contains(" failover failover/e1 -1/0/0/-1/3000 - 23 23 -- ");
        assertThat(echo.accepted()).isEqualTo(1);
    }

    /**
     * Moves the clock by {@code total} a second at a time, so that the relay's checks (every quarter
     * of an idle timeout) each run at their time, as they would on a real clock.
     */
    private void advanceInSteps(Duration total) {
        Duration left = total;
        while (!left.isZero() && !left.isNegative()) {
            Duration step = left.compareTo(Duration.ofSeconds(1)) < 0 ? left : Duration.ofSeconds(1);
            loop.advance(step);
            left = left.minus(step);
        }
    }

    /**
     * A proxy on the manual clock whose one backend's server is {@code server}: client timeout
     * {@code clientTimeout} on frontend "half", server timeout {@code serverTimeout}.
     */
    private Proxy halfClosing(ServerSocket server, Duration clientTimeout, Duration serverTimeout) {
        Proxy half = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(Backend.named("holder").server("s1", "127.0.0.1:" + server.getLocalPort()).serverTimeout(serverTimeout))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("half").clientTimeout(clientTimeout).defaultBackend("holder"))
                .build();
        half.start();
        return half;
    }

    /**
     * Once the client has half-closed, the proxy waits on the server alone: only the server timeout
     * applies, as HAProxy's does to such a session, and its expiry is the server's ({@code sD}, a
     * timeout error on the server), however much shorter the client timeout is. The client timeout
     * cut it before, logged {@code cD}, though the client had said all it had to say.
     */
    @Test
    void afterTheClientsFinOnlyTheServerTimeoutApplies() throws Exception {
        Duration serverTimeout = IDLE.multipliedBy(2);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Proxy half = halfClosing(server, IDLE, serverTimeout);
             Socket s = connect(half.port("half"))) {
            s.getOutputStream().write("request".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            try (Socket held = server.accept()) {
                held.setSoTimeout(5000);
                // the server sees the request and the FIN, and answers nothing for now
                assertThat(held.getInputStream().readAllBytes()).hasSize(7);
                advanceInSteps(IDLE.plus(QUARTER));
                assertThat(staysSilent(s, 50)).as("open past the client timeout").isTrue();
                advanceInSteps(serverTimeout.minus(IDLE.plus(QUARTER)).minus(ONE_MS));
                assertThat(staysSilent(s, 50)).as("open until the server timeout").isTrue();
                loop.advance(ONE_MS);
                assertThat(isClosedByPeer(s)).isTrue();
            }
            assertThat(lines.await(l -> l.contains(" half "))).contains(" half holder/s1 ").contains(" sD ");
            Await.until("the timeout error on the server", () -> half.metrics().backend("holder").server("s1").traffic()
                    .errors().timeout() == 1);
            assertThat(half.metrics().frontend("half").traffic().errors().total()).isZero();
        }
    }

    /**
     * Once the server has half-closed, the proxy waits on the client alone: only the client timeout
     * applies, and its expiry is the client's ({@code cD}), however much shorter the server timeout is.
     */
    @Test
    void afterTheServersFinOnlyTheClientTimeoutApplies() throws Exception {
        Duration serverTimeout = IDLE.dividedBy(2);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Proxy half = halfClosing(server, IDLE, serverTimeout);
             Socket s = connect(half.port("half"))) {
            try (Socket held = server.accept()) {
                held.setSoTimeout(5000);
                held.getOutputStream().write("banner".getBytes(StandardCharsets.UTF_8));
                held.shutdownOutput();
                // the client gets the server's bytes and its FIN, and sends nothing
                assertThat(s.getInputStream().readAllBytes()).hasSize(6);
                advanceInSteps(serverTimeout.plus(QUARTER));
                assertThat(staysSilent(held, 50)).as("open past the server timeout").isTrue();
                advanceInSteps(IDLE.minus(serverTimeout.plus(QUARTER)).minus(ONE_MS));
                assertThat(staysSilent(held, 50)).as("open until the client timeout").isTrue();
                loop.advance(ONE_MS);
                assertThat(isClosedByPeer(held)).as("the server connection closed").isTrue();
            }
            assertThat(lines.await(l -> l.contains(" half "))).contains(" half holder/s1 ").contains(" cD ");
            Await.until("the timeout error on the frontend", () -> half.metrics().frontend("half").traffic()
                    .errors().timeout() == 1);
            assertThat(half.metrics().backend("holder").server("s1").traffic().errors().total()).isZero();
        }
    }
}
