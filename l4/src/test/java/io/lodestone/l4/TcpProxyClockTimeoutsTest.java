package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
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
    private static final Duration ONE_MS = Duration.ofMillis(1);

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private TcpEchoServer echo;
    private Proxy proxy;

    @BeforeEach
    void start() {
        echo = TcpEchoServer.start();
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(Backend.named("echo").server("e1", echo.address()))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("relay").clientTimeout(IDLE).defaultBackend("echo"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("sni").tlsPassthrough()
                        .clientHelloTimeout(HELLO_TIMEOUT).defaultBackend("echo"))
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
}
