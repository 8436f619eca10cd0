package io.lodestone.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.FailureKind;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.RouteResult;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.IdleListener;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.PrepareGate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A server's state, as {@code state()} (and so the admin endpoint and the metrics) reports it, and
 * the servers in rotation that {@code routeAndPick} and real requests pick from are seen in one
 * order: whoever reads a new state also finds the rotation that follows from it. A {@link PrepareGate}
 * holds the thread that made a change at the moment between the change and the new rotation, so the
 * test looks at that moment every time, without a sleep. Until 2026-12-07 the state read the server's fields at once, and the rotation followed a
 * moment later on the same thread: a test that saw a server UP after a passing check and then called
 * {@code routeAndPick} could find no server (8ffd600 and d9eebd0 awaited the pick to get by).
 */
class StateAndRotationOrderTest {

    private static final Duration HOUR = Duration.ofHours(1);

    /** A frontend that listens nowhere but routes (its routing is what {@code route} evaluates) and lets the proxy start. */
    private record RoutedFrontend(String name, Routing routing) implements Frontend {
        @Override
        public Set<String> backendNames() {
            return routing.backendNames();
        }

        @Override
        public boolean isHttp() {
            return true;
        }

        @Override
        public Listener start(EngineContext context) {
            return new IdleListener();
        }
    }

    private final PrepareGate gate = new PrepareGate();
    private final ManualClock clock = new ManualClock();
    /** The probes in flight, each completed by the test: on the test's own thread, which the monitor then runs on. */
    private final BlockingQueue<CompletableFuture<HealthCheckResult>> probes = new LinkedBlockingQueue<>();

    private HealthCheck.Builder heldCheck() {
        return HealthCheck.custom(target -> {
            CompletableFuture<HealthCheckResult> probe = new CompletableFuture<>();
            probes.add(probe);
            return probe;
        }).interval(HOUR).fastInterval(HOUR).jitter(Duration.ZERO).rise(1).fall(1).initialState(ServerState.DOWN);
    }

    private CompletableFuture<HealthCheckResult> nextProbe() throws InterruptedException {
        CompletableFuture<HealthCheckResult> probe = probes.poll(10, TimeUnit.SECONDS);
        assertThat(probe).as("a probe").isNotNull();
        // completed by the test once the monitor waits for it, so that the monitor's verdict runs on
        // the completing thread rather than on the event loop after it
        Await.until("the monitor waits for the probe", () -> probe.getNumberOfDependents() > 0);
        return probe;
    }

    private Proxy proxy(Backend.Builder... backends) {
        Proxy.Builder b = Proxy.builder().clock(clock).ioThreads(1);
        for (Backend.Builder backend : backends) {
            b.backend(backend);
        }
        Routing routing = backends.length > 1 ? Routing.builder().defaultBackend("app", "spare").build()
                : Routing.builder().defaultBackend("app").build();
        return b.frontend(new RoutedFrontend("www", routing)).build();
    }

    private static String picked(Proxy proxy) {
        return String.valueOf(proxy.routeAndPick(TestRequest.get("/")).serverName());
    }

    @Test
    void aServerAPassingCheckBringsUpIsPickedAsSoonAsItsStateReadsUp() throws Exception {
        try (Proxy proxy = proxy(Backend.named("app").balance(gate).server("s1", "127.0.0.1:1").healthCheck(heldCheck()))) {
            proxy.start();
            ServerControl s1 = proxy.control().server("app", "s1");
            CompletableFuture<HealthCheckResult> probe = nextProbe();
            assertThat(s1.state()).isEqualTo(ServerState.DOWN);
            String seen = gate.during(() -> probe.complete(HealthCheckResult.healthy("ok")), () -> s1.state() + " " + picked(proxy));
            assertThat(seen).as("the state, then a pick, while the rotation with s1 is being made").isIn("DOWN null", "UP s1");
            // the check's thread is done: the state and the pick agree at once, nothing to await
            assertThat(s1.state()).isEqualTo(ServerState.UP);
            assertThat(picked(proxy)).isEqualTo("s1");
        }
    }

    @Test
    void theBackupBackendServesUntilTheReturningServerIsInRotation() throws Exception {
        try (Proxy proxy = proxy(Backend.named("app").balance(gate).server("s1", "127.0.0.1:1").healthCheck(heldCheck()),
                Backend.named("spare").server("x1", "127.0.0.1:2"))) {
            proxy.start();
            CompletableFuture<HealthCheckResult> probe = nextProbe();
            // usableServersBelow and the backup of defaultBackend read the usable servers: the
            // routing must not send a request to app before a pick of app can find s1 (a 503)
            String seen = gate.during(() -> probe.complete(HealthCheckResult.healthy("ok")), () -> {
                RouteResult r = proxy.routeAndPick(TestRequest.get("/"));
                return ((Decision.Forward) r.decision()).backend() + " " + r.serverName() + " " + proxy.control().usableServers("app");
            });
            assertThat(seen).isIn("spare x1 0", "app s1 1");
            RouteResult r = proxy.routeAndPick(TestRequest.get("/"));
            assertThat(((Decision.Forward) r.decision()).backend() + " " + r.serverName()).isEqualTo("app s1");
        }
    }

    @Test
    void aServerMadeReadyOrForcedUpIsPickedAsSoonAsItsStateReadsUp() throws Exception {
        try (Proxy proxy = proxy(Backend.named("app").balance(gate).server("s1", "127.0.0.1:1"))) {
            ServerControl s1 = proxy.control().server("app", "s1");
            s1.maintenance();
            String seen = gate.during(s1::ready, () -> s1.state() + " " + picked(proxy));
            assertThat(seen).as("made ready").isIn("MAINT null", "UP s1");
            assertThat(picked(proxy)).isEqualTo("s1");

            s1.state(ServerState.DOWN);
            seen = gate.during(() -> s1.state(ServerState.UP), () -> s1.state() + " " + picked(proxy));
            assertThat(seen).as("forced up").isIn("DOWN null", "UP s1");
            assertThat(picked(proxy)).isEqualTo("s1");
        }
    }

    @Test
    void anAddedServerIsPickedAsSoonAsItCanBeFound() throws Exception {
        try (Proxy proxy = proxy(Backend.named("app").balance(gate).server("s1", "127.0.0.1:1"))) {
            proxy.control().server("app", "s1").maintenance();
            String seen = gate.during(() -> proxy.control().addServer("app", Server.builder("s2", "127.0.0.1:2").build()), () -> {
                for (ServerControl s : proxy.control().servers("app")) {
                    if (s.server().name().equals("s2")) {
                        return s.state() + " " + picked(proxy);
                    }
                }
                return "unknown " + picked(proxy);
            });
            assertThat(seen).isIn("unknown null", "UP s2");
            assertThat(picked(proxy)).isEqualTo("s2");
        }
    }

    /** Passive health: a server whose ejection ends (on the proxy's timer, here an event loop) is picked once it reads UP. */
    @Test
    void aServerBackFromAnEjectionIsPickedAsSoonAsItsStateReadsUp() throws Exception {
        try (Proxy proxy = proxy(Backend.named("app").balance(gate).server("s1", "127.0.0.1:1")
                .outlierDetection(OutlierDetection.consecutiveFailures(1).baseEjectionTime(Duration.ofSeconds(10)).maxEjectionPercent(100)))) {
            proxy.start();
            ServerRuntime s1 = (ServerRuntime) proxy.control().server("app", "s1");
            s1.reportFailure(FailureKind.CONNECT);
            assertThat(s1.state() + " " + picked(proxy)).isEqualTo("DOWN null");
            // the change runs on the event loop that the clock's move wakes, held there by the gate
            String seen = gate.during(() -> clock.advance(Duration.ofSeconds(10)), () -> s1.state() + " " + picked(proxy));
            assertThat(seen).isIn("DOWN null", "UP s1");
            Await.until("the ejection's end published", () -> s1.state() == ServerState.UP);
            assertThat(picked(proxy)).isEqualTo("s1");
        }
    }

    /**
     * The other direction: a server taken out of rotation is never picked once its state says so.
     * The servers in rotation leave it out before the state is published (and a pick skips a server
     * that is no candidate any more, whatever its version), so it may still read UP for a moment
     * while it is no longer picked, never the reverse. (This held before the change too: a pick
     * skipped it from the moment its fields changed.)
     */
    @Test
    void aServerTakenOutIsNotPickedOnceItsStateSaysSo() throws Exception {
        try (Proxy proxy = proxy(Backend.named("app").balance(gate).server("s1", "127.0.0.1:1").server("s2", "127.0.0.1:2"))) {
            ServerControl s1 = proxy.control().server("app", "s1");
            List<Runnable> outs = List.of(s1::drain, s1::maintenance, () -> s1.state(ServerState.DOWN), () -> s1.weight(0),
                    () -> proxy.control().removeServer("app", "s1"));
            for (Runnable out : outs) {
                List<String> picks = new ArrayList<>();
                ServerState seen = gate.during(out, () -> {
                    ServerState state = s1.state();
                    for (int i = 0; i < 4; i++) {
                        picks.add(picked(proxy));
                    }
                    return state;
                });
                if (seen != ServerState.UP) {
                    assertThat(picks).as("picks while %s reads %s", s1, seen).doesNotContain("s1");
                }
                if (proxy.control().servers("app").contains(s1)) {
                    s1.state(ServerState.UP);
                    s1.weight(1);
                }
            }
        }
    }
}
