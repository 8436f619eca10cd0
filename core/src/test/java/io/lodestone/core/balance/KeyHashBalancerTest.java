package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.lodestone.core.route.TestRequest;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link BalancingStrategy#hashOn(HashKey)}: the source-hash ring over a request key, round robin without it. */
class KeyHashBalancerTest {

    private static final int KEYS = 10_000;
    private static final HashKey TENANT = HashKey.header("x-tenant");

    /** The hashes of the header values tenant-0 .. tenant-9999, as the engines compute them. */
    private static final long[] KEY_HASHES = new long[KEYS];

    static {
        for (int i = 0; i < KEYS; i++) {
            KEY_HASHES[i] = TENANT.hash(TestRequest.get("/").header("X-Tenant", "tenant-" + i));
        }
    }

    private static String[] assign(Balancer balancer, TestCandidates candidates) {
        TestPickContext context = new TestPickContext(0);
        String[] owner = new String[KEYS];
        for (int i = 0; i < KEYS; i++) {
            context.requestKeyHash = KEY_HASHES[i];
            // a source address that changes with the key must not matter
            context.affinityHash = i;
            owner[i] = candidates.name(balancer.pick(candidates, context));
        }
        return owner;
    }

    @Test
    void aKeyKeepsItsServerAndKeysSpreadEvenlyOverAll() {
        TestCandidates candidates = TestCandidates.equal(5);
        Balancer balancer = BalancingStrategy.hashOn(TENANT).newBalancer();
        String[] first = assign(balancer, candidates);

        assertThat(assign(balancer, candidates)).isEqualTo(first);
        // another balancer (another proxy instance) agrees
        assertThat(assign(BalancingStrategy.hashOn(TENANT).newBalancer(), candidates)).isEqualTo(first);
        Map<String, Integer> counts = new HashMap<>();
        for (String s : first) {
            counts.merge(s, 1, Integer::sum);
        }
        assertThat(counts).containsOnlyKeys("s0", "s1", "s2", "s3", "s4");
        counts.values().forEach(c -> assertThat((double) c / KEYS).isCloseTo(0.2, within(0.04)));
    }

    @Test
    void keysLandWhereTheSourceHashRingPutsTheSameHash() {
        TestCandidates candidates = TestCandidates.weights(1, 2, 1);
        Balancer keyed = BalancingStrategy.hashOn(TENANT).newBalancer();
        Balancer source = BalancingStrategy.sourceHash().newBalancer();
        TestPickContext context = new TestPickContext(0);
        for (int i = 0; i < 1000; i++) {
            context.requestKeyHash = KEY_HASHES[i];
            context.affinityHash = KEY_HASHES[i];
            assertThat(keyed.pick(candidates, context)).isEqualTo(source.pick(candidates, context));
        }
    }

    @Test
    void removingOneOfFiveServersMovesOnlyItsOwnKeys() {
        TestCandidates candidates = TestCandidates.equal(5);
        Balancer balancer = BalancingStrategy.hashOn(TENANT).newBalancer();
        String[] before = assign(balancer, candidates);

        candidates.remove("s2");
        String[] after = assign(balancer, candidates);

        int moved = 0;
        for (int i = 0; i < KEYS; i++) {
            if (!before[i].equals(after[i])) {
                moved++;
                assertThat(before[i]).as("key %s moved", i).isEqualTo("s2");
            }
        }
        assertThat((double) moved / KEYS).isCloseTo(0.2, within(0.04));
    }

    @Test
    void aKeyWhoseServerIsUnavailableGoesWhereItWouldWithoutThatServer() {
        // a retry excludes the failed server: the next server on the ring, as source hashing does
        TestCandidates all = TestCandidates.equal(4).available(1, false);
        TestCandidates without = TestCandidates.equal(4).remove("s1");
        String[] walked = assign(BalancingStrategy.hashOn(TENANT).newBalancer(), all);
        String[] removed = assign(BalancingStrategy.hashOn(TENANT).newBalancer(), without);
        assertThat(walked).isEqualTo(removed).doesNotContain("s1");
    }

    @Test
    void requestsWithoutTheKeyAreBalancedRoundRobin() {
        TestCandidates candidates = TestCandidates.weights(1, 2, 1);
        Balancer balancer = BalancingStrategy.hashOn(TENANT).newBalancer();
        TestPickContext context = new TestPickContext(0);
        context.requestKeyHash = 0;
        int[] counts = new int[3];
        for (int i = 0; i < 400; i++) {
            context.affinityHash = 42;
            counts[balancer.pick(candidates, context)]++;
        }
        // smooth weighted round robin: exactly the weights over whole cycles, whatever the client
        assertThat(counts).containsExactly(100, 200, 100);
    }

    @Test
    void hashingOnTheSourceIsSourceHash() {
        assertThat(BalancingStrategy.hashOn(HashKey.source())).isSameAs(BalancingStrategy.sourceHash());
    }

    @Test
    void weightsSplitTheKeysAndTheOrderTheServersCameInDoesNotMatter() {
        String[] split = assign(BalancingStrategy.hashOn(TENANT).newBalancer(), TestCandidates.weights(3, 1));
        int heavy = 0;
        for (String s : split) {
            heavy += s.equals("s0") ? 1 : 0;
        }
        assertThat((double) heavy / KEYS).as("share of the server of weight 3").isCloseTo(0.75, within(0.03));
        // another instance that lists the servers in another order
        TestCandidates reversed = new TestCandidates().add("s1", 1).add("s0", 3);
        assertThat(assign(BalancingStrategy.hashOn(TENANT).newBalancer(), reversed)).isEqualTo(split);
    }

    @Test
    void theServerOfAKeyIsTheSameInEveryJvm() {
        // pinned: a change here sends keys to other servers in a fleet of mixed versions
        String[] owner = assign(BalancingStrategy.hashOn(TENANT).newBalancer(), TestCandidates.equal(5));
        assertThat(java.util.Arrays.copyOf(owner, 12)).containsExactly(PINNED);
    }

    private static final String[] PINNED = {"s0", "s1", "s2", "s1", "s4", "s4", "s1", "s0", "s2", "s2", "s4", "s2"};
}
