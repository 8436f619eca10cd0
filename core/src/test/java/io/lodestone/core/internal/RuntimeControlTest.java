package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Server;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.ServerStatus;
import io.lodestone.core.balance.Balancer;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.Candidates;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** Drain futures, servers added and removed while picking, slow start, weights, status. */
class RuntimeControlTest {

    private final ManualClock clock = new ManualClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final ServerEvents events = new ServerEvents();
    private static final PickContext PICK = new PickContext() {
        private final RandomGenerator random = new SplittableRandom(7);

        @Override
        public long affinityHash() {
            return 0;
        }

        @Override
        public RandomGenerator random() {
            return random;
        }
    };

    private RuntimeControl control(Backend backend) {
        BackendRuntime runtime = new BackendRuntime(backend, clock, scheduler, events);
        return new RuntimeControl(Map.of(backend.name(), runtime), scheduler, events);
    }

    private static Map<String, Integer> picks(BackendRuntime backend, int n) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            ServerRuntime s = backend.select(PICK);
            counts.merge(s.server().name(), 1, Integer::sum);
            s.release();
        }
        return counts;
    }

    @Test
    void drainCompletesWhenTheLastConnectionEnds() {
        RuntimeControl control = control(Backend.named("app").server("web1", "127.0.0.1:1").server("web2", "127.0.0.1:2").build());
        BackendRuntime app = control.runtime("app");
        ServerRuntime web1 = app.server("web1");
        List<ServerRuntime> held = new ArrayList<>();
        while (web1.load() < 2) {
            held.add(app.select(PICK));
        }
        CompletableFuture<Void> drained = web1.drain();
        assertThat(web1.state()).isEqualTo(ServerState.DRAIN);
        assertThat(picks(app, 10)).containsOnlyKeys("web2");
        web1.release();
        assertThat(drained).isNotDone();
        web1.release();
        assertThat(drained).isCompleted();
        assertThat(web1.whenIdle()).isCompleted();
        CompletableFuture<Void> web2Drained = control.server("app", "web2").drain();
        assertThat(web2Drained).isNotDone();                  // web2 holds one connection too
        held.stream().filter(s -> s != web1).forEach(ServerRuntime::release);
        assertThat(web2Drained).isCompleted();
    }

    @Test
    void serversAreAddedAndRemovedWhileTrafficFlows() {
        RuntimeControl control = control(Backend.named("app").server("web1", "127.0.0.1:1").server("web2", "127.0.0.1:2").build());
        BackendRuntime app = control.runtime("app");
        ServerRuntime open = app.select(PICK);                 // a connection open on web1
        assertThat(open.server().name()).isEqualTo("web1");
        ServerControl web3 = control.addServer("app", Server.builder("web3", "127.0.0.1:3").build());
        assertThat(web3.state()).isEqualTo(ServerState.UP);
        assertThat(picks(app, 30)).containsEntry("web1", 10).containsEntry("web2", 10).containsEntry("web3", 10);

        CompletableFuture<Void> removed = control.removeServer("app", "web1");
        assertThat(web1State(control)).isEmpty();
        assertThat(open.state()).isEqualTo(ServerState.MAINT);
        assertThat(picks(app, 20)).containsOnlyKeys("web2", "web3");
        assertThat(removed).isNotDone();
        open.release();                                        // the open connection finishes
        assertThat(removed).isCompleted();

        assertThatThrownBy(() -> control.addServer("app", Server.builder("web2", "127.0.0.1:9").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("server name: web2");
        assertThatThrownBy(() -> control.removeServer("app", "nope"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("server: nope");
        assertThatThrownBy(() -> control.addServer("nope", Server.builder("x", "127.0.0.1:9").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("backend: nope");
    }

    private static List<String> web1State(RuntimeControl control) {
        return control.servers("app").stream().map(s -> s.server().name()).filter("web1"::equals).toList();
    }

    @Test
    void slowStartRampsTheWeightInStepsEachAnewCandidateVersion() {
        Map<Long, Integer> weightByVersion = new HashMap<>();
        BalancingStrategy recording = () -> (candidates, context) -> {
            for (int i = 0; i < candidates.size(); i++) {
                if (candidates.server(i).name().equals("web2")) {
                    weightByVersion.put(candidates.version(), candidates.weight(i));
                }
            }
            return 0;
        };
        RuntimeControl control = control(Backend.named("app").balance(recording).slowStart(Duration.ofSeconds(10))
                .server("web1", "127.0.0.1:1", s -> s.weight(100))
                .server("web2", "127.0.0.1:2", s -> s.weight(100))
                .build());
        BackendRuntime app = control.runtime("app");
        ServerControl web2 = control.server("app", "web2");
        assertThat(web2.effectiveWeight()).isEqualTo(100);     // no slow start at start-up
        web2.maintenance();
        web2.ready();
        List<Integer> seen = new ArrayList<>();
        for (int second = 0; second <= 10; second++) {
            app.select(PICK).release();
            seen.add(web2.effectiveWeight());
            scheduler.advance(Duration.ofSeconds(1));
        }
        assertThat(seen).containsExactly(10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100);
        assertThat(weightByVersion.values()).contains(10, 20, 30, 40, 50, 60, 70, 80, 90, 100);
        assertThat(weightByVersion.keySet()).hasSizeGreaterThanOrEqualTo(10);
        assertThat(scheduler.pendingDelays()).isEmpty();
        assertThat(web2.status().effectiveWeight()).isEqualTo(100);
    }

    @Test
    void theSlowStartOfAServerOfWeightOneOrZeroEndsWithItsTime() {
        List<Duration> delays = new ArrayList<>();
        Scheduler counting = counting(delays);
        BackendRuntime app = new BackendRuntime(Backend.named("app").slowStart(Duration.ofSeconds(10))
                .server("web1", "127.0.0.1:1")
                .server("web2", "127.0.0.1:2", s -> s.weight(0))
                .build(), clock, counting, events);
        for (ServerRuntime s : app.servers()) {
            s.maintenance();
            s.ready();
        }
        scheduler.advance(Duration.ofSeconds(11));
        assertThat(app.server("web1").effectiveWeight()).isEqualTo(1);
        assertThat(app.server("web2").effectiveWeight()).isZero();
        assertThat(scheduler.pendingDelays()).as("nothing left to do once the slow start is over").isEmpty();
        assertThat(delays).as("one step each tenth of the slow start, per server").hasSizeLessThanOrEqualTo(2 * ServerRuntime.SLOW_START_STEPS);
    }

    @Test
    void addedServersSlowStartToo() {
        RuntimeControl control = control(Backend.named("app").slowStart(Duration.ofSeconds(10))
                .server("web1", "127.0.0.1:1", s -> s.weight(50)).build());
        ServerControl web2 = control.addServer("app", Server.builder("web2", "127.0.0.1:2").weight(50).build());
        assertThat(web2.effectiveWeight()).isEqualTo(5);
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(web2.effectiveWeight()).isEqualTo(30);
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(web2.effectiveWeight()).isEqualTo(50);
    }

    /**
     * A server a reconfiguration adds ramps up as one added by {@code addServer} does (it took its full
     * weight at once); the server that stays is not ramped again.
     */
    @Test
    void serversAddedByAReconfigurationSlowStartToo() {
        RuntimeControl control = control(Backend.named("app").slowStart(Duration.ofSeconds(10))
                .server("web1", "127.0.0.1:1", s -> s.weight(50)).build());
        control.runtime("app").reconfigure(Backend.named("app").slowStart(Duration.ofSeconds(10))
                .server("web1", "127.0.0.1:1", s -> s.weight(50))
                .server("web2", "127.0.0.1:2", s -> s.weight(50)).build());
        ServerControl web2 = control.server("app", "web2");
        assertThat(control.server("app", "web1").effectiveWeight()).isEqualTo(50);
        assertThat(web2.effectiveWeight()).isEqualTo(5);
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(web2.effectiveWeight()).isEqualTo(30);
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(web2.effectiveWeight()).isEqualTo(50);
    }

    /**
     * A reconfiguration that lengthens the slow start while a server ramps: the ramp goes on at the
     * new length, a step each tenth of it. The step task kept the length the ramp began with, found
     * that end behind it and scheduled its next step at once, again and again, until the new end: an
     * event loop that never paused (here, the 101st task fails the test).
     */
    @Test
    void aSlowStartLengthenedByAReconfigurationGoesOnInStepsOfTheNewLength() {
        List<Duration> delays = new ArrayList<>();
        Scheduler counting = counting(delays);
        BackendRuntime app = new BackendRuntime(slowStarting(Duration.ofSeconds(10)), clock, counting, events);
        ServerRuntime web2 = app.server("web2");
        web2.maintenance();
        web2.ready();
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(web2.effectiveWeight()).isEqualTo(60);

        app.reconfigure(slowStarting(Duration.ofSeconds(60)));
        List<Integer> seen = new ArrayList<>();
        for (int second = 5; second <= 60; second += 5) {
            seen.add(weightOffered(app));
            scheduler.advance(Duration.ofSeconds(5));
        }
        seen.add(weightOffered(app));
        // the ramp of a 60 s slow start from 5 s to 65 s: 10 until 6 s, 20 until 12 s, ..., 100 from 54 s
        assertThat(seen).containsExactly(10, 20, 30, 40, 50, 60, 60, 70, 80, 90, 100, 100, 100);
        assertThat(scheduler.pendingDelays()).as("nothing left to do once the slow start is over").isEmpty();
        assertThat(delays).hasSizeLessThanOrEqualTo(2 * ServerRuntime.SLOW_START_STEPS);
    }

    /** A reconfiguration that shortens the slow start ends a ramp already past the new end at once. */
    @Test
    void aSlowStartShortenedByAReconfigurationEndsARampPastItsNewEnd() {
        BackendRuntime app = new BackendRuntime(slowStarting(Duration.ofSeconds(60)), clock, scheduler, events);
        ServerRuntime web2 = app.server("web2");
        web2.maintenance();
        web2.ready();
        scheduler.advance(Duration.ofSeconds(20));
        assertThat(weightOffered(app)).isEqualTo(40);

        app.reconfigure(slowStarting(Duration.ofSeconds(10)));
        assertThat(weightOffered(app)).isEqualTo(100);
        scheduler.runDue();
        assertThat(scheduler.pendingDelays()).isEmpty();
    }

    /** The weight of web2 the balancer was last offered. */
    private final int[] offered = new int[1];

    private Backend slowStarting(Duration slowStart) {
        BalancingStrategy recording = () -> (candidates, context) -> {
            for (int i = 0; i < candidates.size(); i++) {
                if (candidates.server(i).name().equals("web2")) {
                    offered[0] = candidates.weight(i);
                }
            }
            return 0;
        };
        return Backend.named("app").balance(recording).slowStart(slowStart)
                .server("web1", "127.0.0.1:1", s -> s.weight(100))
                .server("web2", "127.0.0.1:2", s -> s.weight(100))
                .build();
    }

    /** The weight the balancer is offered for web2 at a pick now (the candidate snapshot's). */
    private int weightOffered(BackendRuntime app) {
        app.select(PICK).release();
        return offered[0];
    }

    @Test
    void weightsChangedAtRunTimeChangeTheSplit() {
        RuntimeControl control = control(Backend.named("app").server("a", "127.0.0.1:1", s -> s.weight(80))
                .server("b", "127.0.0.1:2", s -> s.weight(20)).build());
        BackendRuntime app = control.runtime("app");
        assertThat(picks(app, 1000)).containsEntry("a", 800).containsEntry("b", 200);
        control.server("app", "a").weight(50);
        control.server("app", "b").weight(50);
        assertThat(picks(app, 1000)).containsEntry("a", 500).containsEntry("b", 500);
        control.server("app", "b").weight(0);
        assertThat(picks(app, 100)).containsOnlyKeys("a");
        assertThatThrownBy(() -> control.server("app", "a").weight(300))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight: 300 (expected: 0..256)");
    }

    @Test
    void statusListsEveryServerWithItsCounters() {
        RuntimeControl control = control(Backend.named("app").server("web1", "127.0.0.1:1").server("web2", "127.0.0.1:2").build());
        BackendRuntime app = control.runtime("app");
        ServerRuntime held = app.select(PICK);
        picks(app, 3);
        app.server("web2").reportFailure(FailureKind.SERVER_ERROR);
        control.server("app", "web2").maintenance();
        List<ServerStatus> status = control.status();
        assertThat(status).hasSize(2);
        ServerStatus web1 = status.get(0);
        assertThat(web1.serverName()).isEqualTo("web1");
        assertThat(web1.state()).isEqualTo(ServerState.UP);
        assertThat(web1.load()).isEqualTo(1);
        assertThat(web1.totalSelected()).isEqualTo(2);
        ServerStatus web2 = status.get(1);
        assertThat(web2.state()).isEqualTo(ServerState.MAINT);
        assertThat(web2.totalSelected()).isEqualTo(2);
        assertThat(web2.failures()).isEqualTo(1);
        assertThat(web2.lastCheck()).isNull();
        held.release();
    }

    @Test
    void settingTheStateByHandStillWorks() {
        RuntimeControl control = control(Backend.named("app").server("web1", "127.0.0.1:1").server("web2", "127.0.0.1:2").build());
        ServerControl web1 = control.server("app", "web1");
        List<String> changes = new ArrayList<>();
        control.addListener((s, from, to, reason) -> changes.add(from + "->" + to));
        web1.state(ServerState.DOWN);
        assertThat(control.usableServers("app")).isEqualTo(1);
        web1.state(ServerState.MAINT);
        web1.state(ServerState.UP);
        assertThat(web1.state()).isEqualTo(ServerState.UP);
        web1.drain();
        web1.ready();
        assertThat(changes).containsExactly("UP->DOWN", "DOWN->MAINT", "MAINT->UP", "UP->DRAIN", "DRAIN->UP");
        assertThat(control.usableServers("app")).isEqualTo(2);
    }

    @Test
    void eachNewVersionIsPreparedOnceOnTheThreadThatMadeItBeforeAnyPickSeesIt() throws Exception {
        Map<Long, String> preparedBy = new ConcurrentHashMap<>();
        AtomicInteger preparedTwice = new AtomicInteger();
        List<Long> pickedUnprepared = new ArrayList<>();
        BalancingStrategy recording = () -> new Balancer() {
            @Override
            public void prepare(Candidates candidates) {
                if (preparedBy.put(candidates.version(), Thread.currentThread().getName()) != null) {
                    preparedTwice.incrementAndGet();
                }
            }

            @Override
            public int pick(Candidates candidates, PickContext context) {
                if (!preparedBy.containsKey(candidates.version())) {
                    pickedUnprepared.add(candidates.version());
                }
                return 0;
            }
        };
        RuntimeControl control = control(Backend.named("app").balance(recording).slowStart(Duration.ofSeconds(10))
                .server("one", "127.0.0.1:1", s -> s.weight(1))
                .server("five", "127.0.0.1:2", s -> s.weight(5))
                .server("big", "127.0.0.1:3", s -> s.weight(200))
                .build());
        BackendRuntime app = control.runtime("app");
        // a rolling slow start: each server out and back, its ramp run to the end with a pick each second
        int[] versionsOfRamp = new int[3];
        String[] names = {"one", "five", "big"};
        for (int k = 0; k < names.length; k++) {
            ServerControl server = control.server("app", names[k]);
            server.maintenance();
            server.ready();
            int before = preparedBy.size();
            for (int second = 0; second <= 10; second++) {
                app.select(PICK).release();
                scheduler.advance(Duration.ofSeconds(1));
            }
            versionsOfRamp[k] = preparedBy.size() - before;
        }
        // a step that leaves the weight as it was is no new version: weight 1 never changes, weight 5
        // takes 1, 2, 3, 4 and 5 (its first is the version of its return), weight 200 its 10 steps
        assertThat(versionsOfRamp).containsExactly(0, 4, 9);
        // a weight set from another thread is prepared there, not by the next pick
        Thread control2 = new Thread(() -> control.server("app", "big").weight(100), "control-caller");
        control2.start();
        control2.join();
        app.select(PICK).release();
        assertThat(preparedBy).containsValue("control-caller");
        assertThat(preparedTwice).hasValue(0);
        assertThat(pickedUnprepared).isEmpty();
    }

    /** The test's scheduler, noting each delay in {@code delays}; the 101st task fails the test (a slow start scheduling itself). */
    private Scheduler counting(List<Duration> delays) {
        return (task, delayNanos) -> {
            delays.add(Duration.ofNanos(delayNanos));
            if (delays.size() > 100) {
                throw new AssertionError("the slow start goes on scheduling itself; delays: " + delays.subList(0, 30) + " ...");
            }
            return scheduler.schedule(task, delayNanos);
        };
    }
}
