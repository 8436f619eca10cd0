package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RoundRobinBalancerTest {

    private final TestPickContext context = new TestPickContext(0);

    private static String sequence(Balancer balancer, TestCandidates candidates, int picks, TestPickContext context) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < picks; i++) {
            sb.append((char) ('a' + balancer.pick(candidates, context)));
        }
        return sb.toString();
    }

    /** nginx's smooth weighted round robin, run plainly on the full weights, as the reference. */
    private static List<Integer> reference(int[] weights, int picks) {
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        int[] current = new int[weights.length];
        List<Integer> order = new ArrayList<>();
        for (int p = 0; p < picks; p++) {
            int best = -1;
            for (int i = 0; i < weights.length; i++) {
                current[i] += weights[i];
                if (weights[i] > 0 && (best < 0 || current[i] > current[best])) {
                    best = i;
                }
            }
            current[best] -= total;
            order.add(best);
        }
        return order;
    }

    @Test
    void interleavesWeightsFiveOneOneAsNginxDoes() {
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        TestCandidates candidates = TestCandidates.weights(5, 1, 1);

        assertThat(sequence(balancer, candidates, 14, context)).isEqualTo("aabacaa" + "aabacaa");
    }

    @Test
    void alternatesServersOfEqualWeight() {
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();

        assertThat(sequence(balancer, TestCandidates.weights(3, 3), 8, context)).isEqualTo("abababab");
        assertThat(sequence(BalancingStrategy.roundRobin().newBalancer(), TestCandidates.weights(100, 100, 100), 6, context))
                .isEqualTo("abcabc");
    }

    @Test
    void givesEachServerExactlyItsWeightPerCycleInNginxOrder() {
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 50; round++) {
            int n = 1 + random.nextInt(8);
            int[] weights = new int[n];
            int total = 0;
            for (int i = 0; i < n; i++) {
                weights[i] = 1 + random.nextInt(random.nextBoolean() ? 5 : 256);
                total += weights[i];
            }
            Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
            TestCandidates candidates = TestCandidates.weights(weights);
            List<Integer> picked = new ArrayList<>();
            int[] counts = new int[n];
            for (int p = 0; p < 2 * total; p++) {
                int chosen = balancer.pick(candidates, context);
                picked.add(chosen);
                if (p < total) {
                    counts[chosen]++;
                }
            }

            assertThat(counts).as("one cycle of %s", Arrays.toString(weights)).containsExactly(weights);
            assertThat(picked).as("the order of %s", Arrays.toString(weights)).isEqualTo(reference(weights, 2 * total));
        }
    }

    @Test
    void neverBunchesALightServer() {
        // with weights 4,4,1 a server of weight 4 is never picked twice in a row except around the light one
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        String s = sequence(balancer, TestCandidates.weights(4, 4, 1), 18, context);

        assertThat(s).doesNotContain("aaa").doesNotContain("bbb").doesNotContain("cc");
        assertThat(s.chars().filter(c -> c == 'c').count()).isEqualTo(2);
    }

    @Test
    void skipsAnUnavailableServerAndGoesOnAfterTheOneItChose() {
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        TestCandidates candidates = TestCandidates.weights(1, 1, 1);

        assertThat(sequence(balancer, candidates, 3, context)).isEqualTo("abc");
        candidates.available(0, false);
        assertThat(sequence(balancer, candidates, 4, context)).isEqualTo("bcbc");
        candidates.available(0, true);
        assertThat(sequence(balancer, candidates, 3, context)).isEqualTo("abc");
    }

    @Test
    void aServerThatFailsEveryAttemptIsTheFirstChoiceOfOnlyItsShareOfConnections() {
        // s0 refuses every connection: each attempt on it is retried on another server
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        TestCandidates candidates = TestCandidates.weights(1, 1, 1);
        int[] first = new int[3];
        for (int connection = 0; connection < 12; connection++) {
            int pick = balancer.pick(candidates, context);
            first[pick]++;
            if (pick == 0) {
                candidates.available(0, false).retrying(true);
                assertThat(balancer.pick(candidates, context)).isNotZero();
                candidates.available(0, true).retrying(false);
            }
        }
        assertThat(first).containsExactly(4, 4, 4);
    }

    @Test
    void findsTheOnlyAvailableServerBeyondALongRunOfUnavailableSlots() {
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        TestCandidates candidates = TestCandidates.weights(256, 255, 1).available(0, false).available(1, false);

        for (int i = 0; i < 600; i++) {
            assertThat(balancer.pick(candidates, context)).isEqualTo(2);
        }
    }

    /**
     * A heavy server at its limit leaves runs of its slots longer than the walk's 64: the light
     * servers beside it share its turns by their weights. The walk ended with a scan of the candidates
     * in configuration order from the heavy server's slot, so the first light one took nearly all of
     * them: 982 of 1,010 picks against 28 with weights 200, 1 and 1.
     */
    @Test
    void lightServersShareTheTurnsOfAnUnavailableHeavyOneByTheirWeights() {
        assertThat(counts(TestCandidates.weights(200, 1, 1).available(0, false), 202)).containsExactly(0, 101, 101);
        assertThat(counts(TestCandidates.weights(200, 1, 3).available(0, false), 404)).containsExactly(0, 101, 303);
        assertThat(counts(TestCandidates.weights(100, 100, 1, 1).available(0, false).available(1, false), 202))
                .containsExactly(0, 0, 101, 101);
    }

    private int[] counts(TestCandidates candidates, int picks) {
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        int[] counts = new int[candidates.size()];
        for (int i = 0; i < picks; i++) {
            counts[balancer.pick(candidates, context)]++;
        }
        return counts;
    }

    /** With servers unavailable, the picks are those of a walk along the whole cycle, however long the runs it skips. */
    @Test
    void picksAsAWalkOfTheWholeCycleWhateverIsUnavailable() {
        SplittableRandom random = new SplittableRandom(16);
        for (int round = 0; round < 200; round++) {
            int n = 2 + random.nextInt(7);
            int[] weights = new int[n];
            for (int i = 0; i < n; i++) {
                weights[i] = 1 + random.nextInt(random.nextBoolean() ? 3 : 256);
            }
            TestCandidates candidates = TestCandidates.weights(weights);
            boolean any = false;
            for (int i = 0; i < n; i++) {
                boolean available = random.nextInt(3) == 0;
                candidates.available(i, available);
                any |= available;
            }
            if (!any) {
                candidates.available(random.nextInt(n), true);
            }
            int[] order = new RoundRobinBalancer.Schedule(candidates).order;
            Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
            long cursor = 0;
            for (int p = 0; p < 2 * order.length; p++) {
                int k = 0;
                while (!candidates.isAvailable(order[(int) ((cursor + k) % order.length)])) {
                    k++;
                }
                int expected = order[(int) ((cursor + k) % order.length)];
                cursor += k + 1;
                assertThat(balancer.pick(candidates, context)).as("pick %d of %s, available as set", p, Arrays.toString(weights))
                        .isEqualTo(expected);
            }
        }
    }

    @Test
    void staysExactUnderConcurrentPicks() throws Exception {
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        TestCandidates candidates = TestCandidates.weights(1, 2, 3);
        int threads = 3;
        int picks = 6 * 5_000;
        int[][] counts = new int[threads][3];
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int[] mine = counts[t];
            workers[t] = new Thread(() -> {
                TestPickContext own = new TestPickContext(1);
                for (int i = 0; i < picks; i++) {
                    mine[balancer.pick(candidates, own)]++;
                }
            });
            workers[t].start();
        }
        for (Thread w : workers) {
            w.join(10_000);
            assertThat(w.isAlive()).isFalse();
        }

        int[] sum = new int[3];
        for (int[] c : counts) {
            for (int i = 0; i < 3; i++) {
                sum[i] += c[i];
            }
        }
        assertThat(sum).containsExactly(threads * picks / 6, 2 * threads * picks / 6, 3 * threads * picks / 6);
    }
    @Test
    void largeSetsAreScheduledByEarliestDeadlineFirstWithEachWeightsSlotsSpreadEvenly() {
        SplittableRandom random = new SplittableRandom(19);
        int n = 2_000;
        int[] weights = new int[n];
        for (int i = 0; i < n; i++) {
            weights[i] = 1 + random.nextInt(256);
        }
        TestCandidates candidates = TestCandidates.weights(weights);
        int total = Arrays.stream(weights).sum();
        assertThat((long) total * n).isGreaterThan(RoundRobinBalancer.NGINX_WORK);
        RoundRobinBalancer.Schedule schedule = new RoundRobinBalancer.Schedule(candidates);
        int[] order = schedule.order;
        // the cycle is the weights' sum (their gcd is 1), every candidate has its weight's slots, and
        // slot k of candidate i sits within n slots of (k - 1/2) / w_i of the cycle: no run, no gap
        assertThat(order).hasSize(total);
        int[] seen = new int[n];
        for (int slot = 0; slot < total; slot++) {
            int i = order[slot];
            double due = (seen[i] + 0.5) * total / weights[i];
            assertThat(Math.abs(slot - due)).as("slot %d of candidate %d (weight %d)", seen[i], i, weights[i]).isLessThan(n);
            seen[i]++;
        }
        assertThat(seen).isEqualTo(weights);
        // the walk of 2158c8a runs on it as on nginx's order: the picks of a walk of the whole cycle
        candidates.available(0, false);
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        int[] picks = new int[n];
        for (int p = 0; p < total - weights[0]; p++) {
            picks[balancer.pick(candidates, context)]++;
        }
        // one cycle's worth of picks: each other candidate exactly its weight, the unavailable none
        weights[0] = 0;
        assertThat(picks).isEqualTo(weights);
    }

    @Test
    void earliestDeadlineFirstLaysSlotsOutByDueTimeTiesToTheLowerIndex() {
        SplittableRandom random = new SplittableRandom(29);
        for (int round = 0; round < 20; round++) {
            int n = 1 + random.nextInt(round < 10 ? 8 : 300);
            int[] weights = new int[n];
            for (int i = 0; i < n; i++) {
                weights[i] = 1 + random.nextInt(round % 2 == 0 ? 4 : 256);
            }
            int total = Arrays.stream(weights).sum();
            assertThat(RoundRobinBalancer.Schedule.earliestDeadlineFirst(weights, total)).as("%s", Arrays.toString(weights))
                    .isEqualTo(deadlineReference(weights, total));
        }
    }

    /** Earliest deadline first by a plain scan: the candidate whose next slot k is due first at (2k - 1) / 2w, ties to the lower index. */
    private static int[] deadlineReference(int[] weights, int total) {
        int[] taken = new int[weights.length];
        int[] order = new int[total];
        for (int slot = 0; slot < total; slot++) {
            int best = -1;
            for (int i = 0; i < weights.length; i++) {
                if (taken[i] < weights[i] && (best < 0
                        || (2L * taken[i] + 1) * weights[best] < (2L * taken[best] + 1) * weights[i])) {
                    best = i;
                }
            }
            order[slot] = best;
            taken[best]++;
        }
        return order;
    }

    @Test
    void setsWithinTheBoundKeepNginxsExactOrder() {
        SplittableRandom random = new SplittableRandom(23);
        for (int round = 0; round < 50; round++) {
            int n = 1 + random.nextInt(64);
            int[] weights = new int[n];
            for (int i = 0; i < n; i++) {
                weights[i] = 1 + random.nextInt(256);
            }
            int total = Arrays.stream(weights).sum();
            if ((long) total * n > RoundRobinBalancer.NGINX_WORK) {
                continue;
            }
            int[] order = new RoundRobinBalancer.Schedule(TestCandidates.weights(weights)).order;
            int divisor = Arrays.stream(weights).reduce(0, RoundRobinBalancerTest::gcd);
            int[] reduced = Arrays.stream(weights).map(w -> w / divisor).toArray();
            assertThat(order).as("%s", Arrays.toString(weights))
                    .isEqualTo(reference(reduced, order.length).stream().mapToInt(Integer::intValue).toArray());
        }
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    @Test
    void aPreparedScheduleIsNotBuiltAgainByThePicksNorByPicksStillOnThePreviousVersion() {
        AtomicInteger weightReads = new AtomicInteger();
        long[] version = {1};
        TestCandidates set = TestCandidates.weights(5, 1, 1);
        Candidates counting = new Candidates() {
            @Override
            public int size() {
                return set.size();
            }

            @Override
            public io.lodestone.core.Server server(int index) {
                return set.server(index);
            }

            @Override
            public int weight(int index) {
                weightReads.incrementAndGet();
                return set.weight(index);
            }

            @Override
            public int load(int index) {
                return set.load(index);
            }

            @Override
            public boolean isAvailable(int index) {
                return set.isAvailable(index);
            }

            @Override
            public long version() {
                return version[0];
            }
        };
        Balancer balancer = BalancingStrategy.roundRobin().newBalancer();
        balancer.prepare(counting);
        assertThat(weightReads).hasValue(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            sb.append((char) ('a' + balancer.pick(counting, context)));
        }
        assertThat(sb).hasToString("aabacaa");
        assertThat(weightReads).hasValue(3);
        // a new version prepared while a pick still holds the previous one: neither builds
        version[0] = 2;
        balancer.prepare(counting);
        assertThat(weightReads).hasValue(6);
        version[0] = 1;
        assertThat(balancer.pick(counting, context)).isZero();
        version[0] = 2;
        assertThat(balancer.pick(counting, context)).isZero();
        assertThat(weightReads).hasValue(6);
    }
}
