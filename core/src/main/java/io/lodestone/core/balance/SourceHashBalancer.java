package io.lodestone.core.balance;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Consistent hashing on a ring of virtual nodes, {@value #POINTS_PER_WEIGHT} per unit of weight.
 * Where a server's points sit depends only on a 64-bit hash of its name, so adding, removing or
 * reweighting one server moves only the clients whose nearest point belongs to it, and every proxy
 * instance (every JVM) builds the same ring. A client's {@link PickContext#affinityHash()} (or, for
 * {@link KeyHashBalancer}, a request key's hash) lands on
 * the next point clockwise; when that point's server is unavailable the walk goes on clockwise for a
 * bounded number of points, then over the candidates in order.
 *
 * <p>The ring is rebuilt only when {@link Candidates#version()} changes. It is one sorted
 * {@code long[]}: the high bits of each entry are the point's position, the low bits the index of
 * the candidate that owns it, so a pick is one binary search and no allocation. A rebuild reuses
 * the previous ring: the points of servers whose name and weight are unchanged are carried over in
 * order, only the points of new or reweighted servers are made and sorted, and the two sorted runs
 * are merged, so a server going down or coming back costs a linear pass, not a full sort.
 */
final class SourceHashBalancer implements Balancer {

    /** Virtual nodes per unit of weight: a server of weight 1 has 100 points on the ring. */
    static final int POINTS_PER_WEIGHT = 100;

    /** Ring points tried before the walk falls back to a plain scan of the candidates. */
    static final int MAX_WALK = 64;

    private volatile Ring ring;

    SourceHashBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        return pick(candidates, context.affinityHash());
    }

    /**
     * Picks the candidate whose ring point follows {@code hash} (mixed once more, so that hashes of
     * nearby values spread), walking on past unavailable ones; -1 when none is available. Shared by
     * {@link KeyHashBalancer}, which hashes a request key instead of the source address.
     */
    int pick(Candidates candidates, long hash) {
        Ring r = ring;
        if (r == null || r.version != candidates.version() || r.size != candidates.size()) {
            r = new Ring(candidates, r);
            ring = r;
        }
        long[] entries = r.entries;
        int points = entries.length;
        if (points == 0) {
            return -1;
        }
        long mask = r.ownerMask;
        // the first entry whose position (entry & ~mask) is >= the client's position
        int at = Arrays.binarySearch(entries, Hashes.mix(hash) & ~mask);
        if (at < 0) {
            at = -at - 1;
        }
        if (at == points) {
            at = 0;
        }
        int walk = Math.min(points, MAX_WALK);
        for (int k = 0; k < walk; k++) {
            int candidate = (int) (entries[at] & mask);
            if (candidates.isAvailable(candidate)) {
                return candidate;
            }
            if (++at == points) {
                at = 0;
            }
        }
        int n = candidates.size();
        int candidate = (int) (entries[at] & mask);
        for (int k = 0; k < n; k++) {
            if (++candidate == n) {
                candidate = 0;
            }
            if (candidates.weight(candidate) > 0 && candidates.isAvailable(candidate)) {
                return candidate;
            }
        }
        return -1;
    }

    /** The ring of one candidate version: sorted entries of position (high bits) and owner (low bits). */
    static final class Ring {
        final long version;
        final int size;
        final long ownerMask;
        final long[] entries;
        /** Name and weight of each owner index, to recognise unchanged servers at the next rebuild. */
        private final String[] names;
        private final int[] weights;

        Ring(Candidates candidates, Ring previous) {
            this.version = candidates.version();
            this.size = candidates.size();
            // 16 owner bits whatever the size (more only past 65536 servers), so positions keep
            // their precision of 48 bits and do not shift when the set grows or shrinks
            int ownerBits = Math.max(16, 32 - Integer.numberOfLeadingZeros(Math.max(1, size - 1)));
            this.ownerMask = (1L << ownerBits) - 1;
            this.names = new String[size];
            this.weights = new int[size];
            for (int i = 0; i < size; i++) {
                names[i] = candidates.server(i).name();
                weights[i] = Math.max(0, candidates.weight(i));
            }
            // remap[old owner] = new owner, for servers kept with the same name and weight
            int[] remap = null;
            boolean[] kept = new boolean[size];
            if (previous != null && previous.ownerMask == ownerMask) {
                Map<String, Integer> now = new HashMap<>();
                for (int i = 0; i < size; i++) {
                    now.put(names[i], i);
                }
                remap = new int[previous.size];
                for (int o = 0; o < previous.size; o++) {
                    Integer i = now.get(previous.names[o]);
                    if (i != null && !kept[i] && weights[i] == previous.weights[o]) {
                        remap[o] = i;
                        kept[i] = true;
                    } else {
                        remap[o] = -1;
                    }
                }
            }
            int carried = 0;
            int fresh = 0;
            for (int i = 0; i < size; i++) {
                if (kept[i]) {
                    carried += weights[i] * POINTS_PER_WEIGHT;
                } else {
                    fresh += weights[i] * POINTS_PER_WEIGHT;
                }
            }
            long[] old = new long[carried];
            if (carried > 0) {
                int p = 0;
                long oldMask = previous.ownerMask;
                for (long e : previous.entries) {
                    int to = remap[(int) (e & oldMask)];
                    if (to >= 0) {
                        old[p++] = (e & ~ownerMask) | to;
                    }
                }
            }
            long[] made = new long[fresh];
            int p = 0;
            for (int i = 0; i < size; i++) {
                if (!kept[i]) {
                    // a splitmix64 stream seeded by the name alone: point v of a server never moves
                    long seed = Hashes.hash(names[i]);
                    int count = weights[i] * POINTS_PER_WEIGHT;
                    for (int v = 1; v <= count; v++) {
                        made[p++] = (Hashes.mix(seed + v * 0x9E3779B97F4A7C15L) & ~ownerMask) | i;
                    }
                }
            }
            Arrays.sort(made);
            this.entries = merge(old, made);
        }

        private static long[] merge(long[] a, long[] b) {
            if (a.length == 0) {
                return b;
            }
            if (b.length == 0) {
                return a;
            }
            long[] out = new long[a.length + b.length];
            int i = 0;
            int j = 0;
            int k = 0;
            while (i < a.length && j < b.length) {
                out[k++] = a[i] <= b[j] ? a[i++] : b[j++];
            }
            while (i < a.length) {
                out[k++] = a[i++];
            }
            while (j < b.length) {
                out[k++] = b[j++];
            }
            return out;
        }
    }
}
