package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.Candidates;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class BackendRuntimeTest {

    private final MutablePickContext context = new MutablePickContext(new SplittableRandom(1));

    private static BackendRuntime backend(Consumer<Backend.Builder> servers) {
        Backend.Builder b = Backend.named("app");
        servers.accept(b);
        return new BackendRuntime(b.build());
    }

    private static BackendRuntime primariesAndBackup() {
        return backend(b -> b
                .server("p1", "10.0.0.1:80")
                .server("p2", "10.0.0.2:80")
                .server("b1", "10.0.0.3:80", s -> s.backup()));
    }

    /** Picks and releases {@code picks} times; returns how often each server name was chosen (null: none). */
    private Map<String, Integer> pickAndRelease(BackendRuntime backend, int picks) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            ServerRuntime s = backend.select(context);
            counts.merge(s == null ? null : s.server().name(), 1, Integer::sum);
            if (s != null) {
                s.release();
            }
        }
        return counts;
    }

    @Test
    void sendsTrafficToPrimariesOnlyWhileOneIsUsable() {
        BackendRuntime backend = primariesAndBackup();
        assertThat(pickAndRelease(backend, 10)).containsOnlyKeys("p1", "p2");

        backend.server("p1").state(ServerState.DOWN);
        assertThat(pickAndRelease(backend, 10)).containsOnlyKeys("p2");

        for (ServerState unusable : new ServerState[] {ServerState.DOWN, ServerState.DRAIN, ServerState.MAINT}) {
            backend.server("p2").state(unusable);
            assertThat(pickAndRelease(backend, 10)).as("p2 %s", unusable).containsOnlyKeys("b1");
        }

        backend.server("p2").ready();
        backend.server("p2").weight(0);
        assertThat(pickAndRelease(backend, 10)).as("p2 at weight 0").containsOnlyKeys("b1");

        // p1 was marked DOWN (health); ready() only clears an administrative state, UP clears both
        backend.server("p1").state(ServerState.UP);
        assertThat(pickAndRelease(backend, 10)).as("p1 back").containsOnlyKeys("p1");
    }

    @Test
    void usesBackupsWhenEveryPrimaryIsAtItsConnectionLimit() {
        BackendRuntime backend = backend(b -> b
                .server("p1", "10.0.0.1:80", s -> s.maxConnections(1))
                .server("p2", "10.0.0.2:80", s -> s.maxConnections(2))
                .server("b1", "10.0.0.3:80", s -> s.backup())
                .server("b2", "10.0.0.4:80", s -> s.backup()));
        List<ServerRuntime> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(backend.select(context));
        }
        assertThat(held).extracting(s -> s.server().name()).containsExactlyInAnyOrder("p1", "p2", "p2");

        List<String> overflow = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ServerRuntime s = backend.select(context);
            overflow.add(s.server().name());
            held.add(s);
        }
        assertThat(overflow).as("backups share the overflow").containsExactlyInAnyOrder("b1", "b2", "b1", "b2");

        held.get(0).release();
        assertThat(backend.select(context).server().name()).as("a primary slot freed").isEqualTo("p1");
    }

    /**
     * Round robin with a heavy server at its connection limit: the light servers share its turns
     * equally (the first one took 972 of 1,000 picks while the heavy one stayed full).
     */
    @Test
    void lightServersShareTheTurnsOfAHeavyServerAtItsLimit() {
        BackendRuntime backend = backend(b -> b
                .server("big", "10.0.0.1:80", s -> s.weight(200).maxConnections(1))
                .server("small1", "10.0.0.2:80")
                .server("small2", "10.0.0.3:80"));
        ServerRuntime held = backend.server("big");
        assertThat(held.tryAcquire()).isTrue();

        assertThat(pickAndRelease(backend, 1_000)).containsOnly(Map.entry("small1", 500), Map.entry("small2", 500));
    }

    @Test
    void returnsNullWhenNoServerIsUsable() {
        BackendRuntime backend = backend(b -> b.server("p1", "10.0.0.1:80", s -> s.maxConnections(1)));
        ServerRuntime only = backend.select(context);
        assertThat(only).isNotNull();
        assertThat(backend.select(context)).isNull();

        only.release();
        only.maintenance();
        assertThat(backend.select(context)).isNull();
        assertThat(only.load()).isZero();
    }

    @Test
    void neverExceedsMaxConnectionsUnderConcurrentPicks() throws Exception {
        BackendRuntime backend = backend(b -> b
                .server("p1", "10.0.0.1:80", s -> s.maxConnections(3))
                .server("p2", "10.0.0.2:80", s -> s.maxConnections(2)));
        ServerRuntime p1 = backend.server("p1");
        ServerRuntime p2 = backend.server("p2");
        AtomicInteger highest1 = new AtomicInteger();
        AtomicInteger highest2 = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    MutablePickContext own = new MutablePickContext();
                    go.await(5, TimeUnit.SECONDS);
                    for (int i = 0; i < 20_000; i++) {
                        ServerRuntime s = backend.select(own);
                        if (s == null) {
                            refused.incrementAndGet();
                            continue;
                        }
                        highest1.accumulateAndGet(p1.load(), Math::max);
                        highest2.accumulateAndGet(p2.load(), Math::max);
                        s.release();
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(highest1.get()).isBetween(1, 3);
        assertThat(highest2.get()).isBetween(1, 2);
        assertThat(p1.load()).isZero();
        assertThat(p2.load()).isZero();
        assertThat(p1.totalSelected() + p2.totalSelected() + refused.get()).isEqualTo(threads * 20_000L);
    }

    @Test
    void tryAcquireNeverGoesPastTheLimit() throws Exception {
        ServerRuntime server = backend(b -> b.server("p1", "10.0.0.1:80", s -> s.maxConnections(5))).server("p1");
        AtomicInteger highest = new AtomicInteger();
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await(5, TimeUnit.SECONDS);
                    int held = 0;
                    for (int i = 0; i < 50_000; i++) {
                        if (held < 3 && server.tryAcquire()) {
                            held++;
                            highest.accumulateAndGet(server.load(), Math::max);
                        } else if (held > 0) {
                            server.release();
                            held--;
                        }
                    }
                    return held;
                }));
            }
            go.countDown();
            int stillHeld = 0;
            for (Future<Integer> f : done) {
                stillHeld += f.get(10, TimeUnit.SECONDS);
            }
            assertThat(server.load()).isEqualTo(stillHeld).isLessThanOrEqualTo(5);
        } finally {
            pool.shutdownNow();
        }
        assertThat(highest.get()).isEqualTo(5);
    }

    @Test
    void retriesExcludeTheServersAlreadyTried() {
        BackendRuntime backend = primariesAndBackup();
        ServerRuntime p1 = backend.server("p1");
        ServerRuntime p2 = backend.server("p2");
        ServerRuntime b1 = backend.server("b1");

        for (int i = 0; i < 5; i++) {
            ServerRuntime s = backend.select(context, List.of(p1));
            assertThat(s).isSameAs(p2);
            s.release();
        }
        ServerRuntime s = backend.select(context, List.of(p1, p2));
        assertThat(s).as("all primaries tried: a backup").isSameAs(b1);
        s.release();
        assertThat(backend.select(context, List.of(p1, p2, b1))).isNull();
        assertThat(p1.load() + p2.load() + b1.load()).isZero();
    }

    @Test
    void appliesStateAndWeightChangesOnTheNextPick() {
        BackendRuntime backend = backend(b -> b
                .server("p1", "10.0.0.1:80", s -> s.weight(3))
                .server("p2", "10.0.0.2:80"));
        assertThat(pickAndRelease(backend, 4)).containsEntry("p1", 3).containsEntry("p2", 1);

        backend.server("p2").weight(3);
        assertThat(pickAndRelease(backend, 6)).containsEntry("p1", 3).containsEntry("p2", 3);

        backend.server("p1").drain();
        assertThat(backend.select(context).server().name()).isEqualTo("p2");
        backend.server("p2").release();
        assertThat(pickAndRelease(backend, 5)).containsOnlyKeys("p2");

        backend.server("p1").ready();
        backend.server("p2").weight(0);
        assertThat(pickAndRelease(backend, 5)).containsOnlyKeys("p1");
    }

    @Test
    void countsTheBackupsAsUsableOnlyWhenNoPrimaryCanTakeAConnection() {
        BackendRuntime backend = backend(b -> b
                .server("p1", "10.0.0.1:80", s -> s.maxConnections(1))
                .server("b1", "10.0.0.2:80", s -> s.backup())
                .server("b2", "10.0.0.3:80", s -> s.backup()));
        assertThat(backend.usableServers()).as("nbsrv counts the primary alone").isEqualTo(1);
        ServerRuntime p1 = backend.server("p1");
        assertThat(p1.tryAcquire()).isTrue();
        assertThat(backend.usableServers()).as("the primary is full: both backups take connections").isEqualTo(2);
        p1.release();
        p1.state(ServerState.DOWN);
        assertThat(backend.usableServers()).isEqualTo(2);
        p1.state(ServerState.UP);
        assertThat(backend.usableServers()).isEqualTo(1);
    }

    @Test
    void countsUsableServers() {
        BackendRuntime backend = backend(b -> b
                .server("p1", "10.0.0.1:80", s -> s.maxConnections(1))
                .server("p2", "10.0.0.2:80")
                .server("b1", "10.0.0.3:80", s -> s.backup()));
        assertThat(backend.usableServers()).as("the primaries; the backup takes nothing while they can").isEqualTo(2);

        ServerRuntime p1 = backend.server("p1");
        assertThat(p1.tryAcquire()).isTrue();
        assertThat(backend.usableServers()).as("p1 at its limit").isEqualTo(1);
        p1.release();

        backend.server("p2").state(ServerState.DOWN);
        backend.server("b1").weight(0);
        assertThat(backend.usableServers()).isEqualTo(1);
        p1.maintenance();
        assertThat(backend.usableServers()).isZero();
    }

    @Test
    void keepsATiersVersionWhenOnlyTheOtherTierChanges() {
        List<Long> primaryVersions = new ArrayList<>();
        BalancingStrategy recording = () -> (candidates, ctx) -> {
            if (candidates.size() > 0 && !candidates.server(0).isBackup()) {
                primaryVersions.add(candidates.version());
            }
            return firstAvailable(candidates);
        };
        BackendRuntime backend = backend(b -> b
                .balance(recording)
                .server("p1", "10.0.0.1:80")
                .server("b1", "10.0.0.3:80", s -> s.backup())
                .server("b2", "10.0.0.4:80", s -> s.backup()));

        backend.select(context).release();
        backend.server("b1").drain();
        backend.server("b2").weight(5);
        backend.select(context).release();
        backend.server("p1").weight(2);
        backend.select(context).release();

        assertThat(primaryVersions).hasSize(3);
        assertThat(primaryVersions.get(1)).as("backup changes only").isEqualTo(primaryVersions.get(0));
        assertThat(primaryVersions.get(2)).as("a primary's weight changed").isNotEqualTo(primaryVersions.get(1));
    }

    private static int firstAvailable(Candidates candidates) {
        for (int i = 0; i < candidates.size(); i++) {
            if (candidates.isAvailable(i)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A server that finishes a request while requests wait hands its slot to the oldest, still taken,
     * so a pick that comes later finds the server full; a server out of rotation frees the slot
     * instead, and the waiter is woken to pick again.
     */
    @Test
    void aReleaseHandsTheSlotToTheOldestWaiter() {
        BackendRuntime backend = backend(b -> b.server("s1", "10.0.0.1:80", s -> s.maxConnections(1)));
        ServerRuntime s1 = backend.select(context);
        List<String> woken = new ArrayList<>();
        backend.enqueue(server -> woken.add("first:" + (server == null ? "-" : server.server().name())));
        backend.enqueue(server -> woken.add("second:" + (server == null ? "-" : server.server().name())));

        s1.release();
        assertThat(woken).containsExactly("first:s1");
        assertThat(s1.load()).as("the slot is the first waiter's").isEqualTo(1);
        assertThat(backend.select(context)).as("a later pick finds the server full").isNull();
        assertThat(backend.queued()).isEqualTo(1);

        s1.drain();
        s1.release();
        assertThat(woken).as("no pick could take a draining server's slot: nobody woken").containsExactly("first:s1");
        assertThat(s1.load()).as("a draining server frees its slot").isZero();
        assertThat(backend.queued()).isEqualTo(1);
    }

    /** A server over a limit that a reconfiguration lowered frees its slots rather than hand them on, until it is below it. */
    @Test
    void aServerOverALoweredLimitFreesItsSlots() {
        BackendRuntime backend = backend(b -> b.server("s1", "10.0.0.1:80", s -> s.maxConnections(2)));
        ServerRuntime s1 = backend.select(context);
        assertThat(backend.select(context)).isSameAs(s1);
        List<String> woken = new ArrayList<>();
        backend.enqueue(server -> woken.add(server == null ? "-" : server.server().name()));
        backend.reconfigure(Backend.named("app").server("s1", "10.0.0.1:80", s -> s.maxConnections(1)).build());

        s1.release();
        assertThat(s1.load()).isEqualTo(1);
        assertThat(woken).as("not woken: s1 is still full").isEmpty();
        s1.release();
        assertThat(s1.load()).as("within its limit, the slot is handed on").isEqualTo(1);
        assertThat(woken).containsExactly("s1");
    }
    /**
     * A slot handed to a waiter counts one selection of the server when the waiter uses it, not when
     * it is handed over: a waiter that stopped waiting meanwhile (timed out, its client gone) gives it
     * back, which hands it on; until 2026-12-07 each hand-off counted, so the server's total counted
     * requests it never received.
     */
    @Test
    void aHandedSlotCountsASelectionOnlyWhenUsed() {
        BackendRuntime backend = backend(b -> b.server("s1", "10.0.0.1:80", s -> s.maxConnections(1)));
        ServerRuntime s1 = backend.select(context);
        backend.enqueue(server -> server.release());
        backend.enqueue(server -> backend.handedOff(context, server));

        s1.release();
        assertThat(s1.load()).as("the slot is the second waiter's").isEqualTo(1);
        assertThat(s1.totalSelected()).as("the first pick and the second waiter's").isEqualTo(2);
    }
    /**
     * A slot no waiting request could take (a draining server's) wakes nobody. Each such wake-up sent
     * the oldest waiter to its event loop to pick, find nothing and queue again; two at once (a
     * drained server finishing two requests) put the second woken ahead of the first, so the next
     * hand-off skipped the oldest. Waiters here act as the HTTP engine's: a wake-up runs later on the
     * waiter's loop, which picks, or queues again at the head.
     */
    /**
     * Waiters queueing from several threads at once never pass the bound ({@code maxQueued}): exactly
     * that many are queued, the metrics agree, and one leaving makes room for one more.
     */
    @Test
    void waitersQueueingAtOnceNeverPassTheBound() throws Exception {
        int max = 50;
        BackendRuntime backend = backend(b -> b.server("s1", "10.0.0.1:80", s -> s.maxConnections(1))
                .queueTimeout(Duration.ofSeconds(1)).maxQueued(max));
        int threads = 8;
        int attempts = 500;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<BackendRuntime.Waiter> queued = Collections.synchronizedList(new ArrayList<>());
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < attempts; i++) {
                        BackendRuntime.Waiter w = handed -> { };
                        if (backend.enqueue(w, max)) {
                            accepted.incrementAndGet();
                            queued.add(w);
                        }
                        most.accumulateAndGet(backend.queued(), Math::max);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(accepted).hasValue(max);
        assertThat(most.get()).isEqualTo(max);
        assertThat(backend.queued()).isEqualTo(max);
        assertThat(backend.metrics().snapshot().currentQueue()).as("the metrics agree").isEqualTo(max);
        assertThat(backend.enqueue(handed -> { }, max)).isFalse();
        assertThat(backend.leaveQueue(queued.get(0))).isTrue();
        assertThat(backend.enqueue(handed -> { }, max)).as("room for one once one leaves").isTrue();
        assertThat(backend.enqueue(handed -> { }, max)).isFalse();
        assertThat(backend.enqueue(handed -> { }, 0)).as("0: no bound").isTrue();
        assertThat(backend.queued()).isEqualTo(max + 1);
    }

    @Test
    void aSlotNoWaiterCouldTakeWakesNobodyAndTheOldestStaysFirst() {
        BackendRuntime backend = backend(b -> b.server("s1", "10.0.0.1:80", s -> s.maxConnections(1))
                .server("s2", "10.0.0.2:80", s -> s.maxConnections(2)));
        ServerRuntime a = backend.select(context);
        ServerRuntime b = backend.select(context);
        ServerRuntime c = backend.select(context);
        assertThat(backend.select(context)).as("every server full").isNull();
        ServerRuntime s1 = backend.server("s1");
        ServerRuntime s2 = backend.server("s2");
        List<Runnable> loop = new ArrayList<>();
        List<String> served = new ArrayList<>();
        for (String name : List.of("w1", "w2", "w3")) {
            backend.enqueue(new BackendRuntime.Waiter() {
                @Override
                public void wake(ServerRuntime handed) {
                    BackendRuntime.Waiter self = this;
                    loop.add(() -> {
                        ServerRuntime s = handed != null ? handed : backend.select(context);
                        if (s != null) {
                            served.add(name + ":" + s.server().name());
                        } else {
                            backend.requeue(self);
                        }
                    });
                }
            });
        }

        s2.drain();
        for (ServerRuntime r : List.of(a, b, c)) {
            if (r == s2) {
                r.release();
            }
        }
        assertThat(s2.load()).isZero();
        int wokenForNothing = loop.size();
        loop.forEach(Runnable::run);
        loop.clear();
        assertThat(backend.queued()).isEqualTo(3);

        s1.release();
        loop.forEach(Runnable::run);
        assertThat(served).as("the oldest first").containsExactly("w1:s1");
        assertThat(wokenForNothing).as("nobody woken for a draining server's slots").isZero();
    }
}
