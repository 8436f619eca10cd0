package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The random strategies: {@link BalancingStrategy#random()} and {@link BalancingStrategy#powerOfTwoChoices()}. */
class RandomBalancersTest {

    private static int[] counts(Balancer balancer, TestCandidates candidates, int picks, long seed) {
        TestPickContext context = new TestPickContext(seed);
        int[] counts = new int[candidates.size()];
        for (int i = 0; i < picks; i++) {
            counts[balancer.pick(candidates, context)]++;
        }
        return counts;
    }

    @Test
    void randomDrawsInProportionToWeight() {
        TestCandidates candidates = TestCandidates.weights(1, 2, 3, 4);
        int[] counts = counts(BalancingStrategy.random().newBalancer(), candidates, 100_000, 7);

        for (int i = 0; i < 4; i++) {
            assertThat(counts[i] / 100_000.0).as("share of s%s", i).isCloseTo((i + 1) / 10.0, within(0.01));
        }
    }

    @Test
    void randomIsDeterministicWithASeededSource() {
        TestCandidates candidates = TestCandidates.weights(5, 1, 7, 2, 2);
        int[] a = new int[200];
        int[] b = new int[200];
        TestPickContext first = new TestPickContext(42);
        TestPickContext second = new TestPickContext(42);
        Balancer one = BalancingStrategy.random().newBalancer();
        Balancer other = BalancingStrategy.random().newBalancer();
        for (int i = 0; i < 200; i++) {
            a[i] = one.pick(candidates, first);
            b[i] = other.pick(candidates, second);
        }

        assertThat(a).isEqualTo(b);
        assertThat(a).contains(0, 1, 2, 3, 4);
    }

    @Test
    void randomKeepsTheWeightsOfTheAvailableServersWhenMostWeightIsUnavailable() {
        // 250 of 256 units unavailable: redraws give up and the exact linear draw takes over
        TestCandidates candidates = TestCandidates.weights(250, 2, 4).available(0, false);
        int[] counts = counts(BalancingStrategy.random().newBalancer(), candidates, 30_000, 8);

        assertThat(counts[0]).isZero();
        assertThat(counts[1] / 30_000.0).isCloseTo(1 / 3.0, within(0.02));
        assertThat(counts[2] / 30_000.0).isCloseTo(2 / 3.0, within(0.02));
    }

    @Test
    void powerOfTwoChoicesDrawsInProportionToWeightWhenLoadsAreEqual() {
        // idle servers tie whatever their weights (as in HAProxy's random(2)), and the first draw,
        // weighted, wins a tie: each takes its weight's share (until 2026-12-06 the heavier server of
        // a pair won it even when both were idle, so a light server got almost nothing under light load)
        TestCandidates idle = TestCandidates.weights(1, 1, 2);
        int[] counts = counts(BalancingStrategy.powerOfTwoChoices().newBalancer(), idle, 60_000, 9);
        assertThat(counts[0] / 60_000.0).isCloseTo(0.25, within(0.02));
        assertThat(counts[1] / 60_000.0).isCloseTo(0.25, within(0.02));
        assertThat(counts[2] / 60_000.0).isCloseTo(0.5, within(0.02));

        // equal loads in flight compare as (load + 1) / weight: the heavier server wins every pair it
        // is in, so its share is 1 - P(pair is {s0, s1})
        TestCandidates busy = TestCandidates.weights(1, 1, 2).load(0, 4).load(1, 4).load(2, 4);
        counts = counts(BalancingStrategy.powerOfTwoChoices().newBalancer(), busy, 60_000, 9);
        double pairWithoutHeavy = 2 * (0.25 * (1 / 3.0));
        assertThat(counts[2] / 60_000.0).isCloseTo(1 - pairWithoutHeavy, within(0.02));
        assertThat(counts[0] / 60_000.0).isCloseTo(pairWithoutHeavy / 2, within(0.02));
    }

    @Test
    void powerOfTwoChoicesPrefersTheLessLoaded() {
        Balancer balancer = BalancingStrategy.powerOfTwoChoices().newBalancer();
        TestPickContext context = new TestPickContext(10);

        TestCandidates two = TestCandidates.equal(2).load(0, 10).load(1, 0);
        for (int i = 0; i < 100; i++) {
            assertThat(balancer.pick(two, context)).as("two servers are always both drawn").isEqualTo(1);
        }

        // s0 is idle and in two of the three equally likely pairs; it wins every one of them
        TestCandidates three = TestCandidates.equal(3).load(0, 0).load(1, 50).load(2, 50);
        int[] counts = counts(BalancingStrategy.powerOfTwoChoices().newBalancer(), three, 30_000, 11);
        assertThat(counts[0] / 30_000.0).isCloseTo(2 / 3.0, within(0.02));
    }

    @Test
    void powerOfTwoChoicesKeepsLoadsLevelWhenLoadIsKept() {
        Balancer balancer = BalancingStrategy.powerOfTwoChoices().newBalancer();
        TestPickContext context = new TestPickContext(12);
        TestCandidates candidates = TestCandidates.equal(8);
        for (int i = 0; i < 8_000; i++) {
            candidates.acquire(balancer.pick(candidates, context));
        }

        int min = Integer.MAX_VALUE;
        int max = 0;
        for (int i = 0; i < 8; i++) {
            min = Math.min(min, candidates.load(i));
            max = Math.max(max, candidates.load(i));
        }
        // plain random would spread about +-30 around 1000; two choices keeps the gap small
        assertThat(max - min).isLessThanOrEqualTo(6);
    }

    @Test
    void powerOfTwoChoicesIsDeterministicWithASeededSource() {
        TestCandidates candidates = TestCandidates.weights(3, 1, 4, 1, 5).load(2, 3).load(4, 8);
        Balancer one = BalancingStrategy.powerOfTwoChoices().newBalancer();
        Balancer other = BalancingStrategy.powerOfTwoChoices().newBalancer();
        TestPickContext first = new TestPickContext(99);
        TestPickContext second = new TestPickContext(99);
        for (int i = 0; i < 500; i++) {
            assertThat(one.pick(candidates, first)).isEqualTo(other.pick(candidates, second));
        }
    }
}
