package io.lodestone.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Server;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerListener;
import io.lodestone.core.ServerState;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.RuntimeControl;
import io.lodestone.core.internal.ServerEvents;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualScheduler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The rise/fall state machine, driven by a manual clock and scheduler: no sleeping, no sockets. */
class HealthMonitorTest {

    private final ManualClock clock = new ManualClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final ServerEvents events = new ServerEvents();
    private final FakeChecker checker = new FakeChecker();
    private final List<String> changes = new ArrayList<>();
    private final List<String> results = new ArrayList<>();
    private RuntimeControl control;

    private RuntimeControl start(HealthCheck.Builder check) {
        Backend backend = Backend.named("app")
                .server("web1", "127.0.0.1:8081")
                .server("web2", "127.0.0.1:8082")
                .healthCheck(check)
                .build();
        BackendRuntime runtime = new BackendRuntime(backend, clock, scheduler, events);
        control = new RuntimeControl(Map.of("app", runtime), scheduler, events);
        control.addListener(new ServerListener() {
            @Override
            public void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason) {
                changes.add(server.server().name() + " " + previous + "->" + current);
            }

            @Override
            public void checked(ServerControl server, HealthCheckResult result) {
                results.add(server.server().name() + " " + result.isHealthy());
            }
        });
        control.startHealthChecks(c -> checker);
        return control;
    }

    private ServerControl web1() {
        return control.server("app", "web1");
    }

    @Test
    void downAfterExactlyFallFailuresAndUpAfterExactlyRiseSuccesses() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(2)).fastInterval(Duration.ofMillis(500)).rise(2).fall(3));
        checker.answer("web1", false);
        scheduler.runDue();                                  // check 1 at t=0
        assertThat(checker.calls("web1")).isEqualTo(1);
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        scheduler.advance(Duration.ofMillis(500));           // check 2, at the fast interval
        assertThat(checker.calls("web1")).isEqualTo(2);
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        scheduler.advance(Duration.ofMillis(500));           // check 3: down
        assertThat(checker.calls("web1")).isEqualTo(3);
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        assertThat(control.usableServers("app")).isEqualTo(1);
        assertThat(changes).containsExactly("web1 UP->DOWN");
        assertThat(web1().lastCheck().detail()).isEqualTo("fake failure");

        checker.answer("web1", true);
        scheduler.advance(Duration.ofMillis(1999));          // settled down: the normal interval
        assertThat(checker.calls("web1")).isEqualTo(3);
        scheduler.advance(Duration.ofMillis(1));             // pass 1
        assertThat(checker.calls("web1")).isEqualTo(4);
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        scheduler.advance(Duration.ofMillis(500));           // pass 2: up
        assertThat(checker.calls("web1")).isEqualTo(5);
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        assertThat(changes).containsExactly("web1 UP->DOWN", "web1 DOWN->UP");
        assertThat(control.server("app", "web2").state()).isEqualTo(ServerState.UP);
        assertThat(checker.calls("web2")).isEqualTo(2);      // t = 0 and 2 s; now t = 3.5 s
    }

    /**
     * Whoever sees a check's result (its listener, {@code lastCheck()}) sees the state it leads to:
     * a test that awaits the result of the check that brings a server down or up then reads the new
     * state at once, and the servers in rotation with it. The result was recorded and told before the
     * state followed it, so such a test read the old state (Http2HealthCheckTest read DOWN after the
     * passing check, d9eebd0, and awaited the state to get by).
     */
    @Test
    void aResultIsSeenOnceTheStateItLeadsToReads() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)).rise(1).fall(1));
        List<String> seen = new ArrayList<>();
        control.addListener(new ServerListener() {
            @Override
            public void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason) {
            }

            @Override
            public void checked(ServerControl server, HealthCheckResult result) {
                if (server.server().name().equals("web1")) {
                    seen.add(result.isHealthy() + " " + (server.lastCheck() == result) + " " + server.state()
                            + " " + control.usableServers("app"));
                }
            }
        });
        checker.answer("web1", false);
        scheduler.runDue();
        checker.answer("web1", true);
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(seen).containsExactly("false true DOWN 1", "true true UP 2");
    }

    @Test
    void onlyConsecutiveFailuresCount() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)).rise(1).fall(2));
        checker.answer("web1", false);
        scheduler.runDue();
        checker.answer("web1", true);
        scheduler.advance(Duration.ofSeconds(1));
        checker.answer("web1", false);
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        assertThat(results).filteredOn(r -> r.startsWith("web1")).containsExactly("web1 false", "web1 true", "web1 false", "web1 false");
    }

    @Test
    void jitterKeepsEachDelayBetweenTheIntervalAndTheIntervalPlusJitter() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)).jitter(Duration.ofMillis(200)));
        scheduler.advance(Duration.ofMillis(200));           // first checks within the jitter
        assertThat(checker.calls("web1")).isEqualTo(1);
        for (int i = 0; i < 20; i++) {
            for (Duration d : scheduler.pendingDelays()) {
                assertThat(d).isBetween(Duration.ZERO, Duration.ofMillis(1200));
            }
            scheduler.advance(Duration.ofMillis(1200));
        }
        assertThat(checker.calls("web1")).isBetween(20, 25);   // 24.2 s at 1..1.2 s apart
    }

    @Test
    void aProbeWithoutAnswerFailsAtTheTimeout() {
        start(HealthCheck.custom(checker).interval(Duration.ofSeconds(5)).timeout(Duration.ofSeconds(1)).fall(1));
        checker.hang(true);
        scheduler.runDue();
        scheduler.advance(Duration.ofMillis(999));
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        scheduler.advance(Duration.ofMillis(1));
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        assertThat(web1().lastCheck().detail()).contains("timed out after 1000 ms");
        assertThat(checker.calls("web1")).isEqualTo(1);
        scheduler.advance(Duration.ofSeconds(5));            // the next probe after the interval
        assertThat(checker.calls("web1")).isEqualTo(2);
    }

    @Test
    void aCheckerThatThrowsReportsTheServerUnhealthy() {
        Backend backend = Backend.named("app").server("web1", "127.0.0.1:8081")
                .healthCheck(HealthCheck.custom(t -> {
                    throw new IllegalStateException("boom");
                }).fall(1)).build();
        BackendRuntime runtime = new BackendRuntime(backend, clock, scheduler, events);
        control = new RuntimeControl(Map.of("app", runtime), scheduler, events);
        control.startHealthChecks(HealthCheck::checker);
        scheduler.runDue();
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        assertThat(web1().lastCheck().detail()).contains("boom");
    }

    @Test
    void serversMayStartDownAndNeedRiseChecks() {
        start(HealthCheck.tcp().initialState(ServerState.DOWN).rise(3).interval(Duration.ofSeconds(1)));
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        assertThat(control.usableServers("app")).isZero();
        scheduler.runDue();
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(control.usableServers("app")).isZero();
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(control.usableServers("app")).isEqualTo(2);
    }

    @Test
    void administrativeStateWinsOverHealth() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)).rise(1).fall(1));
        web1().drain();
        scheduler.advance(Duration.ofSeconds(3));            // passing checks do not end a drain
        assertThat(web1().state()).isEqualTo(ServerState.DRAIN);
        checker.answer("web1", false);
        scheduler.advance(Duration.ofSeconds(1));            // down by health, still shown as draining
        assertThat(web1().state()).isEqualTo(ServerState.DRAIN);
        web1().maintenance();
        assertThat(web1().state()).isEqualTo(ServerState.MAINT);
        web1().ready();                                      // ready, but unhealthy
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        assertThat(control.usableServers("app")).isEqualTo(1);
        checker.answer("web1", true);
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        assertThat(changes).containsExactly("web1 UP->DRAIN", "web1 DRAIN->MAINT", "web1 MAINT->DOWN", "web1 DOWN->UP");
    }

    @Test
    void forcedHealthIsOverriddenByLaterChecks() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)).rise(2).fall(2));
        scheduler.runDue();
        web1().state(ServerState.DOWN);
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        scheduler.advance(Duration.ofSeconds(1));
        assertThat(web1().state()).isEqualTo(ServerState.UP);
    }

    @Test
    void checkPortAndPerServerAddressReplaceTheServerAddress() {
        start(HealthCheck.custom(checker).port(9000).address("web2", "127.0.0.9:7000"));
        scheduler.runDue();
        assertThat(checker.addresses()).containsExactlyInAnyOrder(
                new InetSocketAddress("127.0.0.1", 9000), new InetSocketAddress("127.0.0.9", 7000));
    }

    @Test
    void addedServersAreCheckedAndRemovedOnesAreNot() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)).initialState(ServerState.DOWN).rise(1));
        scheduler.runDue();
        ServerControl web3 = control.addServer("app", Server.builder("web3", "127.0.0.1:8083").build());
        assertThat(web3.state()).isEqualTo(ServerState.DOWN);
        scheduler.runDue();
        assertThat(web3.state()).isEqualTo(ServerState.UP);
        CompletableFuture<Void> removed = control.removeServer("app", "web1");
        assertThat(removed).isDone();
        int before = checker.calls("web1");
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(checker.calls("web1")).isEqualTo(before);
        assertThat(checker.calls("web3")).isEqualTo(6);
        assertThat(control.servers("app")).extracting(s -> s.server().name()).containsExactly("web2", "web3");
    }

    /**
     * A server marked unverified (a rolling update's action has just updated it) is judged by probes
     * sent from then on: one in flight began before (it may have found the old version, or the old
     * process just before its restart) and does not count, however it ends; a new probe goes out at once.
     */
    @Test
    void aProbeInFlightWhenTheServerIsMarkedUnverifiedDoesNotCount() {
        List<CompletableFuture<HealthCheckResult>> probes = new ArrayList<>();
        Backend backend = Backend.named("app")
                .server("web1", "127.0.0.1:8081")
                .healthCheck(HealthCheck.custom(target -> {
                    CompletableFuture<HealthCheckResult> f = new CompletableFuture<>();
                    probes.add(f);
                    return f;
                }).interval(Duration.ofSeconds(2)).timeout(Duration.ofSeconds(1)).rise(1).fall(1))
                .build();
        BackendRuntime runtime = new BackendRuntime(backend, clock, scheduler, events);
        control = new RuntimeControl(Map.of("app", runtime), scheduler, events);
        control.addListener((server, previous, current, reason) -> changes.add(server.server().name() + " " + previous + "->" + current));
        control.startHealthChecks(c -> c.checker());
        scheduler.runDue();
        assertThat(probes).hasSize(1);
        runtime.server("web1").markUnverified("updated; waiting for health checks");
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        scheduler.runDue();
        assertThat(probes).as("a probe of the updated server at once").hasSize(2);
        probes.get(0).complete(HealthCheckResult.healthy("answered by the old version"));
        assertThat(web1().state()).isEqualTo(ServerState.DOWN);
        probes.get(1).complete(HealthCheckResult.healthy("fake ok"));
        assertThat(web1().state()).isEqualTo(ServerState.UP);
        assertThat(changes).containsExactly("web1 UP->DOWN", "web1 DOWN->UP");
    }

    @Test
    void stoppingTheChecksCancelsEveryProbe() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(1)));
        scheduler.runDue();
        control.stopHealthChecks();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(checker.calls("web1")).isEqualTo(1);
        assertThat(scheduler.pendingDelays()).isEmpty();
    }

    /**
     * A check's result becomes visible only once the next check is on the clock: whoever sees it and
     * then moves a manual clock by the interval (a test awaiting {@code lastCheck()}, here a listener)
     * finds the next check due. It was scheduled after the result was published, so from a clock
     * already moved, an interval too late (ProxyHealthCheckTest failed so under load).
     */
    @Test
    void theNextCheckIsScheduledBeforeAResultIsSeen() {
        start(HealthCheck.tcp().interval(Duration.ofSeconds(2)).fastInterval(Duration.ofSeconds(2)).jitter(Duration.ZERO));
        checker.answer("web1", true);
        control.addListener(new ServerListener() {
            @Override
            public void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason) {
            }

            @Override
            public void checked(ServerControl server, HealthCheckResult result) {
                if (server.server().name().equals("web1")) {
                    clock.advance(Duration.ofSeconds(2));
                }
            }
        });
        scheduler.runDue();                                  // check 1; its listener moves the clock 2 s
        assertThat(checker.calls("web1")).isEqualTo(1);
        scheduler.runDue();                                  // check 2 is due at 2 s, not at 4 s
        assertThat(checker.calls("web1")).isEqualTo(2);
    }
}
