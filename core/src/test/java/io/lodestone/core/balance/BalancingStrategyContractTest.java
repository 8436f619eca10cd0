package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The scenarios every built-in {@link BalancingStrategy} must pass. */
class BalancingStrategyContractTest {

    static Stream<Named<BalancingStrategy>> strategies() {
        return Stream.of(
                Named.of("roundRobin", BalancingStrategy.roundRobin()),
                Named.of("leastConnections", BalancingStrategy.leastConnections()),
                Named.of("sourceHash", BalancingStrategy.sourceHash()),
                Named.of("hashOn(header)", BalancingStrategy.hashOn(HashKey.header("x-tenant"))),
                Named.of("random", BalancingStrategy.random()),
                Named.of("powerOfTwoChoices", BalancingStrategy.powerOfTwoChoices()));
    }

    /** Picks {@code picks} times, each for a new client, taking load on the chosen server; returns the counts. */
    private static int[] spread(Balancer balancer, TestCandidates candidates, int picks, long seed) {
        TestPickContext context = new TestPickContext(seed);
        int[] counts = new int[candidates.size()];
        for (int i = 0; i < picks; i++) {
            int chosen = balancer.pick(candidates, context.client(i));
            assertThat(chosen).isBetween(0, candidates.size() - 1);
            assertThat(candidates.isAvailable(chosen)).as("candidate %s is available", chosen).isTrue();
            candidates.acquire(chosen);
            counts[chosen]++;
        }
        return counts;
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void neverPicksAnUnavailableCandidate(BalancingStrategy strategy) {
        TestCandidates candidates = TestCandidates.weights(3, 1, 2, 1, 5).available(1, false).available(4, false);
        int[] counts = spread(strategy.newBalancer(), candidates, 3000, 1);

        assertThat(counts[1]).isZero();
        assertThat(counts[4]).isZero();
        assertThat(counts[0] + counts[2] + counts[3]).isEqualTo(3000);
        assertThat(counts[0]).isPositive();
        assertThat(counts[2]).isPositive();
        assertThat(counts[3]).isPositive();
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void returnsMinusOneWhenNoCandidateIsAvailable(BalancingStrategy strategy) {
        Balancer balancer = strategy.newBalancer();
        TestPickContext context = new TestPickContext(2);

        assertThat(balancer.pick(TestCandidates.equal(0), context)).isEqualTo(-1);

        TestCandidates candidates = TestCandidates.weights(1, 256, 7);
        for (int i = 0; i < 3; i++) {
            candidates.available(i, false);
        }
        for (int client = 0; client < 50; client++) {
            assertThat(balancer.pick(candidates, context.client(client))).isEqualTo(-1);
        }

        candidates.available(2, true);
        for (int client = 0; client < 50; client++) {
            assertThat(balancer.pick(candidates, context.client(client))).as("the only available one").isEqualTo(2);
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void spreadsEquallyOverServersOfEqualWeight(BalancingStrategy strategy) {
        TestCandidates candidates = TestCandidates.equal(4);
        int[] counts = spread(strategy.newBalancer(), candidates, 8000, 3);

        for (int count : counts) {
            assertThat((double) count).isCloseTo(2000, within(300.0));
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void honoursWeights(BalancingStrategy strategy) {
        // load is kept (never released), so least connections spreads by weight too
        TestCandidates candidates = TestCandidates.weights(1, 3, 6);
        int[] counts = spread(strategy.newBalancer(), candidates, 10_000, 4);

        assertThat((double) counts[0] / 10_000).isCloseTo(0.1, within(0.03));
        assertThat((double) counts[1] / 10_000).isCloseTo(0.3, within(0.05));
        assertThat((double) counts[2] / 10_000).isCloseTo(0.6, within(0.06));
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void followsTheCandidateSetWhenItsVersionChanges(BalancingStrategy strategy) {
        Balancer balancer = strategy.newBalancer();
        TestCandidates candidates = TestCandidates.equal(5);
        spread(balancer, candidates, 500, 5);

        candidates.remove("s4").remove("s3");
        int[] shrunk = spread(balancer, candidates, 600, 6);
        assertThat(shrunk).hasSize(3);
        assertThat(shrunk).doesNotContain(0);

        candidates.add("s5", 1).add("s6", 1).add("s7", 1);
        for (int i = 0; i < candidates.size(); i++) {
            candidates.load(i, 0);
        }
        int[] grown = spread(balancer, candidates, 1200, 7);
        assertThat(grown).hasSize(6);
        assertThat(grown).as("every server of the grown set is picked").doesNotContain(0);

        candidates.weight(0, 0).weight(1, 0).weight(2, 0);
        int[] reweighted = spread(balancer, candidates, 300, 8);
        assertThat(reweighted[0] + reweighted[1] + reweighted[2]).as("servers of weight 0").isZero();
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void picksSafelyFromSeveralThreadsAtOnce(BalancingStrategy strategy) throws Exception {
        Balancer balancer = strategy.newBalancer();
        TestCandidates candidates = TestCandidates.weights(1, 2, 3, 2).available(3, false);
        int threads = 4;
        int picksPerThread = 20_000;
        AtomicLongArray counts = new AtomicLongArray(candidates.size());
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = t;
                done.add(pool.submit(() -> {
                    TestPickContext context = new TestPickContext(seed);
                    go.await(5, TimeUnit.SECONDS);
                    for (int i = 0; i < picksPerThread; i++) {
                        int chosen = balancer.pick(candidates, context.client(seed * picksPerThread + i));
                        counts.incrementAndGet(chosen);
                        candidates.acquire(chosen);
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

        assertThat(counts.get(3)).as("the unavailable one").isZero();
        assertThat(counts.get(0) + counts.get(1) + counts.get(2)).isEqualTo((long) threads * picksPerThread);
        for (int i = 0; i < 3; i++) {
            assertThat(counts.get(i)).isPositive();
        }
    }
}
