package io.lodestone.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.health.FakeChecker;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.testing.IdleListener;
import io.lodestone.core.testing.ManualClock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The health monitor starts with the proxy, probes real sockets on its event loop and stops with close(). */
class ProxyHealthCheckTest {

    /** A frontend that binds nothing: these tests exercise the proxy's health monitor only. */
    private static final Frontend NO_FRONTEND = new Frontend() {
        @Override
        public String name() {
            return "none";
        }

        @Override
        public Set<String> backendNames() {
            return Set.of("app");
        }

        @Override
        public Listener start(EngineContext context) {
            return new IdleListener();
        }
    };

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    /** Answers each connection with {@code status} while running. */
    private static final class StatusServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        volatile int status = 200;
        final Thread thread = new Thread(this::loop, "status-server");

        StatusServer() throws IOException {
            thread.start();
        }

        private void loop() {
            while (!socket.isClosed()) {
                try (Socket s = socket.accept()) {
                    s.setSoTimeout(2_000);
                    s.getInputStream().read(new byte[1024]);
                    s.getOutputStream().write(("HTTP/1.1 " + status + " X\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // closed by the test, or a probe that gave up
                }
            }
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(5_000);
        }
    }

    @Test
    void aServerFailingItsStatusProbeGoesDownAndComesBack() throws Exception {
        try (StatusServer backend = new StatusServer()) {
            Backend app = Backend.named("app")
                    .server("web1", "127.0.0.1:" + backend.socket.getLocalPort())
                    .healthCheck(HealthCheck.http("/status").interval(Duration.ofMillis(50)).timeout(Duration.ofMillis(500)).rise(2).fall(2))
                    .build();
            List<String> changes = new CopyOnWriteArrayList<>();
            try (Proxy proxy = Proxy.builder().backend(app).frontend(NO_FRONTEND).ioThreads(1).build()) {
                proxy.control().addListener((s, from, to, reason) -> changes.add(from + "->" + to));
                proxy.start();
                ServerControl web1 = proxy.control().server("app", "web1");
                await(() -> web1.lastCheck() != null && web1.lastCheck().isHealthy(), "a passed check");
                backend.status = 503;
                await(() -> web1.state() == ServerState.DOWN, "web1 down");
                assertThat(web1.lastCheck().detail()).isEqualTo("HTTP 503 (expected: 200..399)");
                assertThat(proxy.control().usableServers("app")).isZero();
                backend.status = 200;
                await(() -> web1.state() == ServerState.UP, "web1 up");
                // listeners hear of a change just after it is made
                await(() -> changes.size() >= 2, "both changes published");
                assertThat(changes).containsExactly("UP->DOWN", "DOWN->UP");
            }
        }
    }

    /**
     * With a manual clock the checks' intervals are on it: a check an hour after the last one runs as
     * soon as the clock is moved by an hour, and the server goes down after the second failure.
     */
    @Test
    void checksAreScheduledOnTheProxyClock() throws Exception {
        ManualClock clock = new ManualClock();
        Duration hour = Duration.ofHours(1);
        try (StatusServer backend = new StatusServer()) {
            Backend app = Backend.named("app")
                    .server("web1", "127.0.0.1:" + backend.socket.getLocalPort())
                    .healthCheck(HealthCheck.http("/status").interval(hour).fastInterval(hour).jitter(Duration.ZERO)
                            .timeout(Duration.ofSeconds(2)).rise(1).fall(2))
                    .build();
            try (Proxy proxy = Proxy.builder().clock(clock).backend(app).frontend(NO_FRONTEND).ioThreads(1).build()) {
                proxy.start();
                ServerControl web1 = proxy.control().server("app", "web1");
                await(() -> web1.lastCheck() != null && web1.lastCheck().isHealthy(), "the first check, at start");
                backend.status = 503;
                clock.advance(hour);
                await(() -> !web1.lastCheck().isHealthy(), "the second check, an hour later on the clock");
                assertThat(web1.state()).as("one failure of two").isEqualTo(ServerState.UP);
                clock.advance(hour);
                await(() -> web1.state() == ServerState.DOWN, "web1 down after the third");
                assertThat(web1.lastCheck().detail()).isEqualTo("HTTP 503 (expected: 200..399)");
            }
        }
    }

    /**
     * A reconfiguration that gives a backend the same check (rebuilt, equal) keeps its monitor: a server
     * two failures into a fall of three goes down at the third, and the reconfiguration probes no server
     * that stays. It restarted every check, counts at zero: a server failing its checks stayed up as
     * long as reconfigurations came more often than fall intervals, and each one probed every server
     * at once. A server the reconfiguration adds is checked.
     */
    @Test
    void aReconfigurationWithAnEqualCheckKeepsTheCountsOfTheChecksRunning() {
        ManualClock clock = new ManualClock();
        Duration hour = Duration.ofHours(1);
        FakeChecker checker = new FakeChecker();
        Function<Boolean, Proxy.Builder> config = withWeb2 -> {
            Backend.Builder app = Backend.named("app").server("web1", "127.0.0.1:1");
            if (withWeb2) {
                app.server("web2", "127.0.0.1:2");
            }
            app.healthCheck(HealthCheck.custom(checker).interval(hour).fastInterval(hour).jitter(Duration.ZERO).rise(1).fall(3));
            return Proxy.builder().backend(app).frontend(NO_FRONTEND);
        };
        List<HealthCheckResult> web1Results = new CopyOnWriteArrayList<>();
        try (Proxy proxy = config.apply(false).clock(clock).ioThreads(1).build()) {
            proxy.control().addListener(new ServerListener() {
                @Override
                public void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason) {
                }

                @Override
                public void checked(ServerControl server, HealthCheckResult result) {
                    if (server.server().name().equals("web1")) {
                        web1Results.add(result);
                    }
                }
            });
            proxy.start();
            ServerControl web1 = proxy.control().server("app", "web1");
            await(() -> web1Results.size() == 1, "the first check, at start");
            checker.answer("web1", false);
            clock.advance(hour);
            await(() -> web1Results.size() == 2, "the first failure");
            clock.advance(hour);
            await(() -> web1Results.size() == 3, "the second failure");
            assertThat(web1.state()).isEqualTo(ServerState.UP);

            proxy.reconfigure(config.apply(true));
            await(() -> checker.calls("web2") == 1, "the added server's first check");

            clock.advance(hour);
            await(() -> web1.state() == ServerState.DOWN, "web1 down at its third failure in a row");
            assertThat(checker.calls("web1")).as("one pass, three failures: no probe for the reconfiguration").isEqualTo(4);
        }
    }
}
