package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LeastConnectionsBalancerTest {

    private final Balancer balancer = BalancingStrategy.leastConnections().newBalancer();
    private final TestPickContext context = new TestPickContext(0);

    @Test
    void picksTheLeastLoadedServer() {
        TestCandidates candidates = TestCandidates.equal(4).load(0, 5).load(1, 2).load(2, 7).load(3, 3);

        assertThat(balancer.pick(candidates, context)).isEqualTo(1);
        candidates.load(1, 4);
        assertThat(balancer.pick(candidates, context)).isEqualTo(3);
    }

    @Test
    void comparesLoadPerUnitOfWeight() {
        // (4 + 1) / 3 < (2 + 1) / 1
        TestCandidates candidates = TestCandidates.weights(3, 1).load(0, 4).load(1, 2);
        assertThat(balancer.pick(candidates, context)).isEqualTo(0);

        // (9 + 1) / 3 > (2 + 1) / 1
        candidates.load(0, 9);
        assertThat(balancer.pick(candidates, context)).isEqualTo(1);
    }

    @Test
    void fillsIdleServersInProportionToTheirWeights() {
        TestCandidates candidates = TestCandidates.weights(3, 1);
        int[] counts = new int[2];
        for (int i = 0; i < 8; i++) {
            int chosen = balancer.pick(candidates, context);
            candidates.acquire(chosen);
            counts[chosen]++;
        }

        assertThat(counts).containsExactly(6, 2);
    }

    /**
     * HAProxy 2.6's leastconn gives an idle server the lowest key whatever its weight, so idle servers
     * take turns (weights 3 and 1, one request at a time: ABABABAB); weights count once servers have
     * requests in flight (8 held at once: ABAAAABA, 6 and 2). Comparing {@code (load + 1) / weight}
     * for idle servers too sent every request of a client that waits for its answers to the heavier
     * server, and none to the other (a canary of weight 10 beside 90, or a server in its slow start,
     * got nothing until the load rose).
     */
    @Test
    void idleServersTakeTurnsWhateverTheirWeightsAsInHaproxy() {
        TestCandidates candidates = TestCandidates.weights(3, 1);
        StringBuilder oneAtATime = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            int chosen = balancer.pick(candidates, context);
            oneAtATime.append(chosen);
            candidates.acquire(chosen);
            candidates.load(chosen, 0);
        }
        assertThat(oneAtATime).hasToString("01010101");

        Balancer fresh = BalancingStrategy.leastConnections().newBalancer();
        TestCandidates held = TestCandidates.weights(3, 1);
        StringBuilder eightHeld = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            int chosen = fresh.pick(held, context);
            eightHeld.append(chosen);
            held.acquire(chosen);
        }
        assertThat(eightHeld).as("HAProxy 2.6 with 8 slow requests at once: A B A A A A B A").hasToString("01000010");
    }

    @Test
    void breaksTiesRoundRobin() {
        TestCandidates candidates = TestCandidates.equal(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            sb.append(balancer.pick(candidates, context));
        }
        assertThat(sb).hasToString("0120120");

        // only 0 and 2 tie for the lowest load: they alternate
        candidates.load(1, 1);
        sb.setLength(0);
        for (int i = 0; i < 6; i++) {
            sb.append(balancer.pick(candidates, context));
        }
        assertThat(sb).hasToString("202020");
    }

    @Test
    void skipsAServerAtItsLimitEvenWhenItIsTheLeastLoaded() {
        TestCandidates candidates = TestCandidates.equal(3).load(0, 0).load(1, 5).load(2, 9).available(0, false);

        assertThat(balancer.pick(candidates, context)).isEqualTo(1);
    }
}
