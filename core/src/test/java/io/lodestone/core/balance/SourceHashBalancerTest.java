package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SourceHashBalancerTest {

    private static final int CLIENTS = 10_000;

    /** Synthetic client addresses 10.x.y.z, hashed as an engine does. */
    private static final long[] CLIENT_HASHES = new long[CLIENTS];

    static {
        for (int i = 0; i < CLIENTS; i++) {
            byte[] ip = {10, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i};
            try {
                CLIENT_HASHES[i] = PickContext.hash(InetAddress.getByAddress(ip));
            } catch (UnknownHostException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** The name of the server each synthetic client lands on. */
    private static String[] assign(Balancer balancer, TestCandidates candidates) {
        TestPickContext context = new TestPickContext(0);
        String[] owner = new String[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            context.affinityHash = CLIENT_HASHES[i];
            owner[i] = candidates.name(balancer.pick(candidates, context));
        }
        return owner;
    }

    @Test
    void keepsEachClientOnItsServerWhileTheServersAreUnchanged() {
        TestCandidates candidates = TestCandidates.equal(5);
        Balancer balancer = BalancingStrategy.sourceHash().newBalancer();
        String[] first = assign(balancer, candidates);

        assertThat(assign(balancer, candidates)).isEqualTo(first);
        // a new version of the same servers, and another balancer (another proxy instance), agree
        candidates.weight(0, 1);
        assertThat(assign(balancer, candidates)).isEqualTo(first);
        assertThat(assign(BalancingStrategy.sourceHash().newBalancer(), candidates)).isEqualTo(first);
    }

    @Test
    void spreadsClientsEvenlyAndByWeight() {
        String[] owner = assign(BalancingStrategy.sourceHash().newBalancer(), TestCandidates.equal(5));
        for (int s = 0; s < 5; s++) {
            assertThat(share(owner, "s" + s)).as("share of s%s", s).isCloseTo(0.2, within(0.04));
        }

        String[] weighted = assign(BalancingStrategy.sourceHash().newBalancer(), TestCandidates.weights(1, 3));
        assertThat(share(weighted, "s1")).isCloseTo(0.75, within(0.05));
    }

    @Test
    void removingOneOfFiveServersMovesOnlyItsOwnClients() {
        TestCandidates candidates = TestCandidates.equal(5);
        Balancer balancer = BalancingStrategy.sourceHash().newBalancer();
        String[] before = assign(balancer, candidates);

        candidates.remove("s2");
        String[] after = assign(balancer, candidates);

        int moved = 0;
        for (int i = 0; i < CLIENTS; i++) {
            if (!before[i].equals(after[i])) {
                moved++;
                assertThat(before[i]).as("client %s moved", i).isEqualTo("s2");
            }
        }
        assertThat((double) moved / CLIENTS).isCloseTo(0.2, within(0.04));
        assertThat(after).doesNotContain("s2");
    }

    @Test
    void addingAServerTakesClientsOnlyForItself() {
        TestCandidates candidates = TestCandidates.equal(5);
        Balancer balancer = BalancingStrategy.sourceHash().newBalancer();
        String[] before = assign(balancer, candidates);

        candidates.add("s5", 1);
        String[] after = assign(balancer, candidates);

        int moved = 0;
        for (int i = 0; i < CLIENTS; i++) {
            if (!before[i].equals(after[i])) {
                moved++;
                assertThat(after[i]).as("client %s moved", i).isEqualTo("s5");
            }
        }
        assertThat((double) moved / CLIENTS).isCloseTo(1 / 6.0, within(0.04));
    }

    @Test
    void sendsTheClientsOfAnUnavailableServerElsewhereAndBackWhenItReturns() {
        TestCandidates candidates = TestCandidates.equal(5);
        Balancer balancer = BalancingStrategy.sourceHash().newBalancer();
        String[] before = assign(balancer, candidates);

        candidates.available(candidates.indexOf("s3"), false);
        String[] during = assign(balancer, candidates);
        int[] spread = new int[5];
        for (int i = 0; i < CLIENTS; i++) {
            if (before[i].equals("s3")) {
                spread[during[i].charAt(1) - '0']++;
            } else {
                assertThat(during[i]).isEqualTo(before[i]);
            }
        }
        assertThat(spread[3]).isZero();
        assertThat(spread).as("s3's clients are shared by the others").containsOnlyOnce(0);

        candidates.available(candidates.indexOf("s3"), true);
        assertThat(assign(balancer, candidates)).isEqualTo(before);
    }

    /**
     * A heavy server at its limit leaves runs of its points longer than the walk's 64: its clients go
     * where a walk of the whole ring takes them, the next point of a server that has room, and so are
     * shared by the others. The walk ended with a scan of the candidates in configuration order from
     * the last point's owner, which sent every such client to the server after the heavy one.
     */
    @Test
    void theClientsOfAFullHeavyServerGoToTheNextServerOnTheRingHoweverFar() {
        TestCandidates candidates = TestCandidates.weights(256, 1, 1, 1).available(0, false);
        SourceHashBalancer.Ring ring = new SourceHashBalancer.Ring(candidates, null);
        String[] owner = assign(BalancingStrategy.sourceHash().newBalancer(), candidates);
        int[] spread = new int[4];
        for (int i = 0; i < CLIENTS; i++) {
            // the reference: walk the whole ring from the client's point to a server with room
            int at = Arrays.binarySearch(ring.entries, Hashes.mix(CLIENT_HASHES[i]) & ~ring.ownerMask);
            at = at < 0 ? -at - 1 : at;
            int next;
            do {
                next = (int) (ring.entries[at++ % ring.entries.length] & ring.ownerMask);
            } while (!candidates.isAvailable(next));
            assertThat(owner[i]).as("client %s", i).isEqualTo(candidates.name(next));
            spread[next]++;
        }
        for (int s = 1; s < 4; s++) {
            // the share of each server's 100 points, not exact: where they fall on the ring is hashed
            assertThat(spread[s] / (double) CLIENTS).as("share of s%s", s).isCloseTo(1 / 3.0, within(0.1));
        }
    }

    @Test
    void rebuildsFromThePreviousRingExactlyAsFromScratch() {
        TestCandidates candidates = TestCandidates.weights(1, 2, 3, 1, 1);
        Balancer reused = BalancingStrategy.sourceHash().newBalancer();
        assign(reused, candidates);

        candidates.remove("s1");
        assertThat(assign(reused, candidates)).isEqualTo(assign(BalancingStrategy.sourceHash().newBalancer(), candidates));
        candidates.add("s9", 4);
        assertThat(assign(reused, candidates)).isEqualTo(assign(BalancingStrategy.sourceHash().newBalancer(), candidates));
        candidates.weight(candidates.indexOf("s2"), 1);
        assertThat(assign(reused, candidates)).isEqualTo(assign(BalancingStrategy.sourceHash().newBalancer(), candidates));
        candidates.add("s1", 2);
        assertThat(assign(reused, candidates)).isEqualTo(assign(BalancingStrategy.sourceHash().newBalancer(), candidates));
    }

    @Test
    void hashesAddressesStablyAndDistinctly() throws Exception {
        InetAddress v4 = InetAddress.getByName("192.0.2.1");
        InetAddress v6 = InetAddress.getByName("2001:db8::1");

        assertThat(PickContext.hash(v4)).isEqualTo(PickContext.hash(InetAddress.getByName("192.0.2.1")));
        assertThat(PickContext.hash(v4)).isNotEqualTo(PickContext.hash(InetAddress.getByName("192.0.2.2")));
        assertThat(PickContext.hash(v6)).isNotEqualTo(PickContext.hash(InetAddress.getByName("2001:db8::2")));
        assertThat(PickContext.hash(v6)).isNotEqualTo(PickContext.hash(v4));
        assertThat(PickContext.hash(null)).isZero();
        // pinned: a change here would move every client of every deployed proxy at once
        assertThat(PickContext.hash(v4)).isEqualTo(PINNED_V4);
        assertThat(Hashes.hash("web1")).isEqualTo(PINNED_NAME);
    }

    /**
     * fe80::1 on two links is two clients, so the zone (the scope id a socket address carries) goes
     * into the hash; an address without one hashes as before. Unit level: the tests have only
     * 127.0.0.1 and ::1, and neither has a zone.
     */
    @Test
    void aZonedAddressHashesWithItsZoneAndOneWithoutAsBefore() throws Exception {
        byte[] linkLocal = InetAddress.getByName("fe80::1").getAddress();
        long eth0 = PickContext.hash(Inet6Address.getByAddress(null, linkLocal, 2));
        long eth1 = PickContext.hash(Inet6Address.getByAddress(null, linkLocal, 3));
        assertThat(eth0).isNotEqualTo(eth1).isNotZero();
        assertThat(PickContext.hash(Inet6Address.getByAddress(null, linkLocal, 2))).isEqualTo(eth0);
        assertThat(PickContext.hash(InetAddress.getByName("fe80::1"))).isNotEqualTo(eth0).isEqualTo(PINNED_LINK_LOCAL)
                .isEqualTo(PickContext.hash(Inet6Address.getByAddress(null, linkLocal, 0)));
        assertThat(PickContext.hash(InetAddress.getByName("2001:db8::1"))).isEqualTo(PINNED_V6);
    }

    private static final long PINNED_V4 = -3345448384065859918L;
    private static final long PINNED_V6 = -9171178094244090316L;
    private static final long PINNED_LINK_LOCAL = 8642659233453767038L;
    private static final long PINNED_NAME = -7748447615821506458L;

    private static double share(String[] owner, String name) {
        int n = 0;
        for (String o : owner) {
            if (o.equals(name)) {
                n++;
            }
        }
        return (double) n / owner.length;
    }
    @Test
    void smallSetsKeepAHundredPointsPerUnitOfWeightAndLargeOnesStayWithinTheBound() {
        // up to a total weight of 10,485 the ring is what it was (every key where it went)
        assertThat(SourceHashBalancer.pointsPerWeight(1)).isEqualTo(100);
        assertThat(SourceHashBalancer.pointsPerWeight(10_485)).isEqualTo(100);
        assertThat(SourceHashBalancer.pointsPerWeight(10_486)).isEqualTo(64);
        assertThat(SourceHashBalancer.pointsPerWeight(2_000 * 256)).isEqualTo(2);
        assertThat(SourceHashBalancer.pointsPerWeight(1 << 20)).isEqualTo(1);
        assertThat(SourceHashBalancer.pointsPerWeight(5_000_000)).isEqualTo(1);

        TestCandidates small = TestCandidates.weights(256, 1, 3);
        assertThat(new SourceHashBalancer.Ring(small, null).entries).hasSize(260 * 100);
        // 1,000 servers of weight 256 were 25.6 million points (205 MB and their 102 MB index)
        int[] heavy = new int[1_000];
        Arrays.fill(heavy, 256);
        SourceHashBalancer.Ring ring = new SourceHashBalancer.Ring(TestCandidates.weights(heavy), null);
        assertThat(ring.pointsPerWeight).isEqualTo(4);
        assertThat(ring.entries).hasSize(1_000 * 256 * 4);
        assertThat(ring.entries.length).isLessThanOrEqualTo(SourceHashBalancer.MAX_POINTS);
    }

    @Test
    void aLargeRingSpreadsKeysByWeightAndMovesOnlyTheKeysOfAServerAdded() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(19);
        int n = 1_000;
        int[] weights = new int[n];
        long total = 0;
        for (int i = 0; i < n; i++) {
            weights[i] = 1 + random.nextInt(256);
            total += weights[i];
        }
        TestCandidates candidates = TestCandidates.weights(weights);
        Balancer balancer = BalancingStrategy.sourceHash().newBalancer();
        int keys = 2_000_000;
        long[] hashes = new long[keys];
        int[] owner = new int[keys];
        int[] got = new int[n];
        TestPickContext context = new TestPickContext(0);
        for (int k = 0; k < keys; k++) {
            hashes[k] = random.nextLong() | 1;
            context.affinityHash = hashes[k];
            owner[k] = balancer.pick(candidates, context);
            got[owner[k]]++;
        }
        assertThat(SourceHashBalancer.pointsPerWeight(total)).isEqualTo(8);
        // keys per unit of weight, over the servers expected to get 1,000 keys or more: the most
        // loaded gets at most 1.35 times the least (1.09 to 1.51 measured for 100 to 2,000 servers)
        double max = 0;
        double min = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            double expected = (double) keys * weights[i] / total;
            if (expected >= 1_000) {
                max = Math.max(max, got[i] / expected);
                min = Math.min(min, got[i] / expected);
            }
        }
        assertThat(max / min).isLessThan(1.35);
        // a server added at the same points per unit of weight takes keys for itself only
        candidates.add("new", 128);
        int moved = 0;
        for (int k = 0; k < keys; k++) {
            context.affinityHash = hashes[k];
            int now = balancer.pick(candidates, context);
            if (now != owner[k]) {
                assertThat(candidates.name(now)).isEqualTo("new");
                moved++;
            }
        }
        assertThat((double) moved / keys).isCloseTo(128.0 / (total + 128), within(0.0005));
    }
    @Test
    void aPreparedRingIsNotBuiltAgainByThePicksNorByPicksStillOnThePreviousVersion() {
        TestCandidates candidates = TestCandidates.weights(3, 1, 2);
        Balancer balancer = BalancingStrategy.sourceHash().newBalancer();
        balancer.prepare(candidates);
        int reads = candidates.weightReads();
        String[] before = assign(balancer, candidates);
        assertThat(candidates.weightReads()).isEqualTo(reads);
        long old = candidates.version();
        candidates.weight(1, 4);
        balancer.prepare(candidates);
        reads = candidates.weightReads();
        String[] after = assign(balancer, candidates);
        candidates.weight(1, 1);
        candidates.version(old);
        assertThat(assign(balancer, candidates)).isEqualTo(before);
        assertThat(candidates.weightReads()).isEqualTo(reads);
        assertThat(after).isNotEqualTo(before);
    }
}
