package io.lodestone.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.RollingUpdate;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.MutablePickContext;
import io.lodestone.core.internal.RuntimeControl;
import io.lodestone.core.internal.ServerEvents;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Rolling updates with a manual clock and scheduler and a fake checker: success and failure paths. */
class RollingUpdateTest {

    private final ManualClock clock = new ManualClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final ServerEvents events = new ServerEvents();
    private final FakeChecker checker = new FakeChecker();
    private final List<String> log = new ArrayList<>();
    private RuntimeControl control;

    private RuntimeControl start(boolean checked) {
        Backend.Builder b = Backend.named("app")
                .server("web1", "127.0.0.1:8081")
                .server("web2", "127.0.0.1:8082")
                .server("web3", "127.0.0.1:8083");
        if (checked) {
            b.healthCheck(HealthCheck.custom(checker).interval(Duration.ofSeconds(2)).fastInterval(Duration.ofMillis(500)).rise(2).fall(2));
        }
        BackendRuntime runtime = new BackendRuntime(b.build(), clock, scheduler, events);
        control = new RuntimeControl(Map.of("app", runtime), scheduler, events);
        control.startHealthChecks(c -> checker);
        return control;
    }

    /** Advances the manual clock in steps until {@code f} is done, at most {@code limit} of manual time. */
    private <T> T run(CompletableFuture<T> f, Duration limit) {
        Duration step = Duration.ofMillis(100);
        for (long t = 0; t <= limit.toMillis() && !f.isDone(); t += step.toMillis()) {
            scheduler.advance(step);
        }
        assertThat(f).as("done within %s of manual time", limit).isDone();
        return f.join();
    }

    private String states() {
        StringBuilder sb = new StringBuilder();
        for (ServerControl s : control.servers("app")) {
            sb.append(sb.length() == 0 ? "" : " ").append(s.server().name()).append('=').append(s.state());
        }
        return sb.toString();
    }

    @Test
    void updatesEachServerInTurnWhileTheOthersServe() {
        start(true);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add("update " + s.server().name() + ": " + states());
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(result.failedServer()).isNull();
        assertThat(log).containsExactly(
                "update web1: web1=DRAIN web2=UP web3=UP",
                "update web2: web1=UP web2=DRAIN web3=UP",
                "update web3: web1=UP web2=UP web3=DRAIN");
        assertThat(states()).isEqualTo("web1=UP web2=UP web3=UP");
        assertThat(checker.calls("web1")).isGreaterThanOrEqualTo(2);   // came back through fresh checks
    }

    @Test
    void stopsAtTheServerThatDoesNotComeBackHealthy() {
        start(true);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add(s.server().name());
            if (s.server().name().equals("web2")) {
                checker.answer("web2", false);                       // the new version is broken
            }
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(60));
        assertThat(result.succeeded()).isFalse();
        assertThat(result.failedServer()).isEqualTo("web2");
        assertThat(result.reason()).contains("not healthy within 10000 ms").contains("fake failure");
        assertThat(result.updated()).containsExactly("web1");
        assertThat(log).containsExactly("web1", "web2");             // web3 untouched
        assertThat(states()).isEqualTo("web1=UP web2=DOWN web3=UP");
        assertThat(control.usableServers("app")).isEqualTo(2);
    }

    @Test
    void stopsWhenTheUpdateActionFails() {
        start(false);
        RollingUpdate update = RollingUpdate.builder("app", s -> s.server().name().equals("web1")
                ? CompletableFuture.failedFuture(new IllegalStateException("disk full"))
                : CompletableFuture.completedFuture(null)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(5));
        assertThat(result.failedServer()).isEqualTo("web1");
        assertThat(result.reason()).contains("disk full");
        assertThat(result.updated()).isEmpty();
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
    }

    @Test
    void aServerWhoseActionFailedServesItsStuckClientsOnlyAfterFreshChecks() {
        BackendRuntime runtime = new BackendRuntime(Backend.named("app")
                .server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082").server("web3", "127.0.0.1:8083")
                .healthCheck(HealthCheck.custom(checker).interval(Duration.ofSeconds(2)).fastInterval(Duration.ofMillis(500)).rise(2).fall(2))
                .stickOnSource(Duration.ofMinutes(30), 100).build(), clock, scheduler, events);
        control = new RuntimeControl(Map.of("app", runtime), scheduler, events);
        control.startHealthChecks(c -> checker);
        MutablePickContext client = new MutablePickContext(new SplittableRandom(3)).affinityHash(11);
        runtime.server("web2").maintenance();
        runtime.server("web3").maintenance();
        runtime.select(client).release();                              // stuck to web1
        runtime.server("web2").ready();
        runtime.server("web3").ready();

        RollingUpdate update = RollingUpdate.builder("app", s -> s.server().name().equals("web1")
                ? CompletableFuture.failedFuture(new IllegalStateException("half deployed"))
                : CompletableFuture.completedFuture(null)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(5));
        assertThat(result.failedServer()).isEqualTo("web1");
        ServerRuntime after = runtime.select(client);
        after.release();
        assertThat(after.server().name()).as("a failed deploy is not trusted until its checks pass again").isNotEqualTo("web1");
        int calls = checker.calls("web1");
        scheduler.advance(Duration.ofSeconds(2));
        assertThat(checker.calls("web1")).as("rechecked").isGreaterThan(calls);
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
    }

    @Test
    void anActionThatThrowsFailsTheUpdateToo() {
        start(false);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            throw new IllegalArgumentException("no such image");
        }).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(5));
        assertThat(result.failedServer()).isEqualTo("web1");
        assertThat(result.reason()).contains("no such image");
    }

    @Test
    void waitsForOpenConnectionsUpToTheDrainTimeout() {
        start(false);
        ServerRuntime web1 = control.runtime("app").server("web1");
        ServerRuntime web2 = control.runtime("app").server("web2");
        assertThat(web1.tryAcquire()).isTrue();
        assertThat(web2.tryAcquire()).isTrue();
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add(s.server().name() + " load " + s.load() + " at " + Duration.ofNanos(clock.nanoTime()).toSeconds() + "s");
            return CompletableFuture.completedFuture(null);
        }).drainTimeout(Duration.ofSeconds(30)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(update);
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(log).isEmpty();                                   // web1 still has a connection
        web1.release();
        scheduler.runDue();
        assertThat(log).containsExactly("web1 load 0 at 5s");
        RollingUpdate.Result result = run(f, Duration.ofSeconds(60));  // web2 never drains: updated after 30 s anyway
        assertThat(result.succeeded()).isTrue();
        assertThat(log).containsExactly("web1 load 0 at 5s", "web2 load 1 at 35s", "web3 load 0 at 35s");
        web2.release();
    }

    @Test
    void aServerInMaintenanceIsUpdatedWithoutADrainAndStaysInMaintenance() {
        start(true);
        ServerRuntime web2 = control.runtime("app").server("web2");
        assertThat(web2.tryAcquire()).isTrue();                      // a connection left open
        web2.maintenance();
        List<Long> startedAt = new ArrayList<>();
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add("update " + s.server().name() + ": " + states());
            startedAt.add(clock.nanoTime());
            return CompletableFuture.completedFuture(null);
        }).drainTimeout(Duration.ofSeconds(30)).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(log).containsExactly(
                "update web1: web1=DRAIN web2=MAINT web3=UP",
                "update web2: web1=UP web2=MAINT web3=UP",
                "update web3: web1=UP web2=MAINT web3=DRAIN");
        assertThat(Duration.ofNanos(startedAt.get(2) - startedAt.get(1)))
                .as("web2 and its open connection are not waited for").isLessThan(Duration.ofSeconds(30));
        assertThat(states()).isEqualTo("web1=UP web2=MAINT web3=UP");
        web2.release();
    }

    @Test
    void aServerTheOperatorWasDrainingStaysDraining() {
        start(false);
        control.runtime("app").server("web3").drain();
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add("update " + s.server().name() + ": " + states());
            return CompletableFuture.completedFuture(null);
        }).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(5));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(log).containsExactly(
                "update web1: web1=DRAIN web2=UP web3=DRAIN",
                "update web2: web1=UP web2=DRAIN web3=DRAIN",
                "update web3: web1=UP web2=UP web3=DRAIN");
        assertThat(states()).isEqualTo("web1=UP web2=UP web3=DRAIN");
    }

    @Test
    void aServerPutInMaintenanceDuringItsTurnStaysInMaintenance() {
        start(true);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        CompletableFuture<RollingUpdate.Result> f = updateWaitingForWeb1(web1Deployed);
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
        control.runtime("app").server("web1").maintenance();         // the operator takes it out meanwhile
        web1Deployed.complete(null);
        RollingUpdate.Result result = run(f, Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(states()).isEqualTo("web1=MAINT web2=UP web3=UP");
        assertThat(result.operatorChanged()).containsExactly("web1");
    }

    @Test
    void anOperatorsDrainWhileTheActionRunsIsKeptAndReported() {
        start(true);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            if (s.server().name().equals("web2")) {
                s.drain();                                           // the operator drains it meanwhile
            }
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(60));
        assertThat(states()).as("the update does not make ready a server the operator drained").isEqualTo("web1=UP web2=DRAIN web3=UP");
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(result.operatorChanged()).containsExactly("web2");
    }

    @Test
    void anOperatorsDrainWhileTheUpdateWaitsForIdleIsKept() {
        start(false);
        ServerRuntime web1 = control.runtime("app").server("web1");
        assertThat(web1.tryAcquire()).isTrue();                      // keeps the update waiting
        RollingUpdate update = RollingUpdate.builder("app", s -> CompletableFuture.completedFuture(null)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(update);
        scheduler.runDue();
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
        web1.drain();                                                // the operator wants it out too
        web1.release();
        RollingUpdate.Result result = run(f, Duration.ofSeconds(5));
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
        assertThat(result.succeeded()).isTrue();
        assertThat(result.operatorChanged()).containsExactly("web1");
    }

    @Test
    void anOperatorsReadyWhileTheUpdateWaitsForIdleStopsItBeforeTheActionRunsOnAServerInRotation() {
        start(false);
        ServerRuntime web1 = control.runtime("app").server("web1");
        assertThat(web1.tryAcquire()).isTrue();                      // keeps the update waiting
        List<String> actions = new ArrayList<>();
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            actions.add(s.server().name());
            return CompletableFuture.completedFuture(null);
        }).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(update);
        scheduler.runDue();
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
        web1.ready();                                                // the operator wants it back
        web1.release();
        RollingUpdate.Result result = run(f, Duration.ofSeconds(5));
        assertThat(actions).as("no action on a server back in rotation").isEmpty();
        assertThat(result.succeeded()).isFalse();
        assertThat(result.failedServer()).isEqualTo("web1");
        assertThat(result.reason()).contains("made ready by the operator");
        assertThat(result.operatorChanged()).containsExactly("web1");
        assertThat(states()).isEqualTo("web1=UP web2=UP web3=UP");
    }

    @Test
    void anOperatorsReadyWhileTheActionRunsIsKeptAndWaitedForAsTheUpdatesOwn() {
        start(true);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            if (s.server().name().equals("web1")) {
                s.maintenance();
                s.ready();                                           // the operator's last word: ready
            }
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(result.operatorChanged()).containsExactly("web1");
        assertThat(states()).isEqualTo("web1=UP web2=UP web3=UP");
    }

    /**
     * Starts an update of "app" with a 10 s healthy timeout whose action on web1 completes with
     * {@code web1Deployed} and on the others at once, and runs it up to that action.
     */
    private CompletableFuture<RollingUpdate.Result> updateWaitingForWeb1(CompletableFuture<Void> web1Deployed) {
        return updateWaitingForWeb1(web1Deployed, new ArrayList<>());
    }

    /** {@link #updateWaitingForWeb1(CompletableFuture)}, adding the name of each server its action runs on to {@code actions}. */
    private CompletableFuture<RollingUpdate.Result> updateWaitingForWeb1(CompletableFuture<Void> web1Deployed, List<String> actions) {
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            actions.add(s.server().name());
            return s.server().name().equals("web1") ? web1Deployed : CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(update);
        scheduler.runDue();
        return f;
    }

    @Test
    void anOperatorsMaintenanceWhileTheUpdateWaitsForHealthStopsItAtOnce() {
        start(true);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        List<String> actions = new ArrayList<>();
        CompletableFuture<RollingUpdate.Result> f = updateWaitingForWeb1(web1Deployed, actions);
        web1Deployed.complete(null);
        assertThat(states()).as("made ready, waiting for fresh checks").isEqualTo("web1=DOWN web2=UP web3=UP");
        control.runtime("app").server("web1").maintenance();         // the operator takes it out meanwhile
        assertThat(f).as("stopped at once, not at the healthy timeout").isDone();
        RollingUpdate.Result result = f.join();
        assertThat(result.succeeded()).isFalse();
        assertThat(result.failedServer()).isEqualTo("web1");
        assertThat(result.reason()).contains("put in maintenance by the operator while the update waited for it to be healthy");
        assertThat(result.updated()).isEmpty();
        assertThat(result.operatorChanged()).containsExactly("web1");
        scheduler.advance(Duration.ofSeconds(30));                   // its checks pass meanwhile
        assertThat(actions).as("web2 and web3 untouched").containsExactly("web1");
        assertThat(states()).as("the operator's state is kept").isEqualTo("web1=MAINT web2=UP web3=UP");
    }

    /**
     * A server removed (by {@code removeServer} or a reconfiguration) while its update action runs is
     * left out, listed as the operator's change, and the update goes on with the next server. It waited
     * the whole healthy timeout for a server no longer checked, and stopped there.
     */
    @Test
    void aServerRemovedDuringItsActionIsLeftOutAndTheUpdateGoesOn() {
        start(true);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add(s.server().name());
            if (s.server().name().equals("web2")) {
                control.removeServer("app", "web2");
            }
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(9));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web3");
        assertThat(result.operatorChanged()).containsExactly("web2");
        assertThat(log).containsExactly("web1", "web2", "web3");
        assertThat(states()).isEqualTo("web1=UP web3=UP");
    }

    /** The same for a server removed while the update waits for it to be healthy: it goes on at once. */
    @Test
    void aServerRemovedWhileTheUpdateWaitsForItsHealthIsLeftOutAndTheUpdateGoesOn() {
        start(true);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        List<String> actions = new ArrayList<>();
        CompletableFuture<RollingUpdate.Result> f = updateWaitingForWeb1(web1Deployed, actions);
        web1Deployed.complete(null);
        assertThat(states()).as("made ready, waiting for fresh checks").isEqualTo("web1=DOWN web2=UP web3=UP");
        control.removeServer("app", "web1");
        RollingUpdate.Result result = run(f, Duration.ofSeconds(9));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web2", "web3");
        assertThat(result.operatorChanged()).containsExactly("web1");
        assertThat(actions).containsExactly("web1", "web2", "web3");
        assertThat(states()).isEqualTo("web2=UP web3=UP");
    }

    @Test
    void anOperatorsDrainWhileTheUpdateWaitsForHealthStopsItAtOnce() {
        start(true);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        CompletableFuture<RollingUpdate.Result> f = updateWaitingForWeb1(web1Deployed);
        web1Deployed.complete(null);
        control.runtime("app").server("web1").drain();               // the operator drains it meanwhile
        assertThat(f).as("stopped at once, not at the healthy timeout").isDone();
        RollingUpdate.Result result = f.join();
        assertThat(result.failedServer()).isEqualTo("web1");
        assertThat(result.reason()).contains("drained by the operator while the update waited for it to be healthy");
        assertThat(result.operatorChanged()).containsExactly("web1");
        scheduler.advance(Duration.ofSeconds(30));                   // its checks pass meanwhile
        assertThat(states()).as("the operator's drain is kept").isEqualTo("web1=DRAIN web2=UP web3=UP");
    }

    @Test
    void anOperatorsReadyWhileTheUpdateWaitsForHealthChangesNothing() {
        start(true);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        CompletableFuture<RollingUpdate.Result> f = updateWaitingForWeb1(web1Deployed);
        web1Deployed.complete(null);
        control.runtime("app").server("web1").ready();               // what the update did already
        assertThat(f).as("still waiting for fresh checks").isNotDone();
        RollingUpdate.Result result = run(f, Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(result.operatorChanged()).isEmpty();
        assertThat(states()).isEqualTo("web1=UP web2=UP web3=UP");
    }

    @Test
    void aServerTheOperatorMadeReadyDuringItsActionAndDrainedDuringItsHealthWaitIsListedOnce() {
        start(true);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            if (s.server().name().equals("web1")) {
                s.ready();                                           // the operator, while the action runs
                return web1Deployed;
            }
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(update);
        scheduler.runDue();
        web1Deployed.complete(null);
        control.runtime("app").server("web1").drain();               // and again while it waits for health
        assertThat(f).isDone();
        assertThat(f.join().failedServer()).isEqualTo("web1");
        assertThat(f.join().operatorChanged()).containsExactly("web1");
    }

    @Test
    void aServerPutInMaintenanceBeforeItsTurnIsNeitherDrainedNorMadeReady() {
        start(true);
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            log.add("update " + s.server().name() + ": " + states());
            if (s.server().name().equals("web1")) {
                control.runtime("app").server("web2").maintenance();  // the operator, before web2's turn
            }
            return CompletableFuture.completedFuture(null);
        }).healthyTimeout(Duration.ofSeconds(10)).build();
        RollingUpdate.Result result = run(control.rollingUpdate(update), Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(log).containsExactly(
                "update web1: web1=DRAIN web2=UP web3=UP",
                "update web2: web1=UP web2=MAINT web3=UP",
                "update web3: web1=UP web2=MAINT web3=DRAIN");
        assertThat(states()).isEqualTo("web1=UP web2=MAINT web3=UP");
        assertThat(result.operatorChanged()).as("it was in maintenance when its turn came").isEmpty();
    }

    @Test
    void aDrainedServerKeepsItsStuckClientsUntilItsActionRunsAndTheDrainTimeoutEndsTheWait() {
        BackendRuntime runtime = new BackendRuntime(Backend.named("app")
                .server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082").server("web3", "127.0.0.1:8083")
                .stickOnSource(Duration.ofMinutes(30), 100).build(), clock, scheduler, events);
        control = new RuntimeControl(Map.of("app", runtime), scheduler, events);
        MutablePickContext client = new MutablePickContext(new SplittableRandom(3)).affinityHash(11);
        runtime.server("web2").maintenance();
        runtime.server("web3").maintenance();
        ServerRuntime open = runtime.select(client);                  // the client's open connection
        assertThat(open.server().name()).isEqualTo("web1");
        runtime.server("web2").ready();
        runtime.server("web3").ready();

        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        RollingUpdate update = RollingUpdate.builder("app", s -> {
            if (!s.server().name().equals("web1")) {
                return CompletableFuture.completedFuture(null);
            }
            log.add("web1 updated at " + Duration.ofNanos(clock.nanoTime()).toSeconds() + "s, load " + s.load());
            return web1Deployed;
        }).drainTimeout(Duration.ofSeconds(30)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(update);
        scheduler.advance(Duration.ofSeconds(5));
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
        ServerRuntime again = runtime.select(client);
        assertThat(again.server().name()).as("a draining server still serves its stuck client").isEqualTo("web1");
        again.release();
        ServerRuntime fresh = runtime.select(new MutablePickContext(new SplittableRandom(3)).affinityHash(12));
        assertThat(fresh.server().name()).as("and gets no new client").isNotEqualTo("web1");
        fresh.release();

        scheduler.advance(Duration.ofSeconds(25));
        assertThat(log).as("the stuck client's connection is still open: the drain timeout ends the wait")
                .containsExactly("web1 updated at 30s, load 1");
        ServerRuntime moved = runtime.select(client);
        moved.release();
        assertThat(moved.server().name()).as("a server being updated serves nobody, stuck clients included").isNotEqualTo("web1");

        web1Deployed.complete(null);
        RollingUpdate.Result result = run(f, Duration.ofSeconds(60));
        assertThat(result.succeeded()).isTrue();
        assertThat(states()).isEqualTo("web1=UP web2=UP web3=UP");
        ServerRuntime after = runtime.select(client);
        assertThat(after.server().name()).as("stuck to its new server").isEqualTo(moved.server().name());
        after.release();
        open.release();
    }

    @Test
    void aSecondUpdateOfTheSameBackendIsRefusedWhileTheFirstRuns() {
        start(false);
        CompletableFuture<Void> web1Deployed = new CompletableFuture<>();
        RollingUpdate first = RollingUpdate.builder("app", s -> s.server().name().equals("web1")
                ? web1Deployed : CompletableFuture.completedFuture(null)).build();
        RollingUpdate second = RollingUpdate.builder("app", s -> CompletableFuture.completedFuture(null)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(first);
        scheduler.runDue();
        assertThat(states()).isEqualTo("web1=DRAIN web2=UP web3=UP");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> control.rollingUpdate(second))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("a rolling update of backend 'app' is already running");
        web1Deployed.complete(null);
        RollingUpdate.Result result = run(f, Duration.ofSeconds(5));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.operatorChanged()).as("the refused update touched nothing").isEmpty();
        assertThat(run(control.rollingUpdate(second), Duration.ofSeconds(5)).succeeded())
                .as("a new update may start once the first is done").isTrue();
    }

    @Test
    void aNewUpdateMayStartOnceTheLastOneFailedEvenFromItsCompletion() {
        start(false);
        RollingUpdate failing = RollingUpdate.builder("app",
                s -> CompletableFuture.failedFuture(new IllegalStateException("disk full"))).build();
        RollingUpdate next = RollingUpdate.builder("app", s -> CompletableFuture.completedFuture(null)).build();
        CompletableFuture<RollingUpdate.Result> f = control.rollingUpdate(failing)
                .thenCompose(failed -> {
                    assertThat(failed.failedServer()).isEqualTo("web1");
                    return control.rollingUpdate(next);
                });
        RollingUpdate.Result result = run(f, Duration.ofSeconds(5));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.updated()).containsExactly("web1", "web2", "web3");
        assertThat(states()).as("web1 left draining by the failed one").isEqualTo("web1=DRAIN web2=UP web3=UP");
    }

    @Test
    void updatesOfDifferentBackendsRunTogether() {
        Map<String, BackendRuntime> runtimes = new java.util.LinkedHashMap<>();
        for (String name : List.of("app", "api")) {
            runtimes.put(name, new BackendRuntime(Backend.named(name)
                    .server("web1", "127.0.0.1:8081").server("web2", "127.0.0.1:8082").build(), clock, scheduler, events));
        }
        control = new RuntimeControl(runtimes, scheduler, events);
        CompletableFuture<Void> appDeployed = new CompletableFuture<>();
        CompletableFuture<RollingUpdate.Result> app = control.rollingUpdate(RollingUpdate.builder("app", s -> appDeployed).build());
        CompletableFuture<RollingUpdate.Result> api = control.rollingUpdate(
                RollingUpdate.builder("api", s -> CompletableFuture.completedFuture(null)).build());
        RollingUpdate.Result apiResult = run(api, Duration.ofSeconds(5));
        assertThat(apiResult.succeeded()).isTrue();
        assertThat(apiResult.updated()).containsExactly("web1", "web2");
        assertThat(app).as("still in its first action").isNotDone();
        appDeployed.complete(null);
        assertThat(run(app, Duration.ofSeconds(5)).updated()).containsExactly("web1", "web2");
    }

    @Test
    void anUnknownBackendIsRefused() {
        start(false);
        RollingUpdate update = RollingUpdate.builder("nope", s -> CompletableFuture.completedFuture(null)).build();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> control.rollingUpdate(update))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("backend: nope");
    }
}
