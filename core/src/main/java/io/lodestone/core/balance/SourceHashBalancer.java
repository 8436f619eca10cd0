package io.lodestone.core.balance;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Consistent hashing on a ring of virtual nodes, {@value #POINTS_PER_WEIGHT} per unit of weight
 * while the ring stays within {@value #MAX_POINTS} points (a total weight up to 10,485: 40 servers of
 * weight 256, or 10,485 of weight 1). A larger set gets the largest power of two of points per unit
 * of weight (64, 32, ... 1) that keeps it within that bound, so a ring is at most 12 MB (with its
 * index) up to a total weight of 2^20, and a full build takes about 0.1 s; until 2026-12-07, 2,000
 * servers of random weights 1..256 made 25.7 million points (308 MB, built in 3.4 s, then on the
 * event loop of the next pick), 1.03 million now. The spread of the keys depends on the points per
 * server, not per unit of weight: 2,000 servers of weight 256 still have 512 points each (2 per
 * unit), more than the 100 of a server of weight 1, and over 2,000 keys per server the most loaded
 * server of 2,000 of random weights gets 1.51 times the keys per unit of weight of the least (1.20
 * with the 100 points per unit before; 2.10 for 2,000 servers of weight 1, as before); see the
 * README's figures for large backends. The points of a server are a prefix of one stream seeded by
 * its name, so a change of the points per unit of weight (the total weight crossing a power of two
 * past the bound) drops or adds only the tail of each server's points.
 * Where a server's points sit depends only on a 64-bit hash of its name, so adding, removing or
 * reweighting one server moves only the clients whose nearest point belongs to it (while the points
 * per unit of weight stay the same), and every proxy instance (every JVM) builds the same ring.
 * A client's {@link PickContext#affinityHash()} (or, for
 * {@link KeyHashBalancer}, a request key's hash) lands on
 * the next point clockwise; when that point's server is unavailable the walk goes on clockwise for a
 * bounded number of points, then jumps to the next point of an available server (a binary search in
 * each server's points), so the key always lands where a walk of the whole ring would take it.
 *
 * <p>The ring is rebuilt only when {@link Candidates#version()} changes, in {@link #prepare} on the
 * thread that changed the servers, once for every event loop. It is one sorted
 * {@code long[]}: the high bits of each entry are the point's position, the low bits the index of
 * the candidate that owns it, so a pick is one binary search and no allocation. A rebuild reuses
 * the previous ring: the points of servers whose name and weight are unchanged are carried over in
 * order, only the points of new or reweighted servers are made and sorted, and the two sorted runs
 * are merged, so a server going down or coming back costs a linear pass, not a full sort.
 */
final class SourceHashBalancer implements Balancer {

    /** Virtual nodes per unit of weight within {@link #MAX_POINTS}: a server of weight 1 has 100 points on the ring. */
    static final int POINTS_PER_WEIGHT = 100;

    /** The most points a ring has while it gives each unit of weight at least one (2^20: 12 MB with its index). */
    static final int MAX_POINTS = 1 << 20;

    /** Ring points tried one by one before the walk jumps to the next point of an available candidate. */
    static final int MAX_WALK = 64;

    private volatile Ring ring;

    SourceHashBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        return pick(candidates, context.affinityHash());
    }

    @Override
    public void prepare(Candidates candidates) {
        Ring r = ring;
        if (r == null || r.version < candidates.version() || r.size != candidates.size()) {
            Ring next = new Ring(candidates, r);
            if (r != null) {
                // picks that took the candidates just before they changed find theirs here
                r.older = null;
                next.older = r;
            }
            ring = next;
        }
    }

    /**
     * The points per unit of weight for a set of this total weight: {@value #POINTS_PER_WEIGHT}
     * within {@value #MAX_POINTS} points, else the largest power of two within them, at least 1.
     */
    static int pointsPerWeight(long totalWeight) {
        if (totalWeight * POINTS_PER_WEIGHT <= MAX_POINTS) {
            return POINTS_PER_WEIGHT;
        }
        int p = Integer.highestOneBit((int) Math.max(1, MAX_POINTS / Math.max(1, totalWeight)));
        return Math.max(1, Math.min(64, p));
    }

    /**
     * Picks the candidate whose ring point follows {@code hash} (mixed once more, so that hashes of
     * nearby values spread), walking on past unavailable ones; -1 when none is available. Shared by
     * {@link KeyHashBalancer}, which hashes a request key instead of the source address.
     */
    int pick(Candidates candidates, long hash) {
        Ring r = ring;
        if (r == null || r.version != candidates.version() || r.size != candidates.size()) {
            Ring older = r == null ? null : r.older;
            if (older != null && older.version == candidates.version() && older.size == candidates.size()) {
                r = older;
            } else {
                r = new Ring(candidates, r);
                ring = r;
            }
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
        // a long run of an unavailable server's points: the next point of an available candidate, as
        // a walk of the whole ring finds it. A scan of the candidates in configuration order from the
        // last point's owner sent all such keys to the candidate after it: with weights 256, 1, 1 and
        // 1 and the first full, the second took 64 % of its keys instead of about a third
        int best = -1;
        int nearest = Integer.MAX_VALUE;
        for (int candidate = 0, n = candidates.size(); candidate < n; candidate++) {
            if (r.hasPoints(candidate) && candidates.isAvailable(candidate)) {
                int distance = r.distance(candidate, at);
                if (distance < nearest) {
                    nearest = distance;
                    best = candidate;
                }
            }
        }
        return best;
    }

    /** The ring of one candidate version: sorted entries of position (high bits) and owner (low bits). */
    static final class Ring {
        final long version;
        final int size;
        final long ownerMask;
        final long[] entries;
        /** The ring this one replaced in {@link #prepare}, for picks still on its version; else null. */
        Ring older;
        /** The points per unit of weight of this ring ({@link #pointsPerWeight}). */
        final int pointsPerWeight;
        /** Name and weight of each owner index, to recognise unchanged servers at the next rebuild. */
        private final String[] names;
        private final int[] weights;
        /** The indexes of the entries of each owner in ascending order: those of owner i from {@code from[i]} to {@code from[i + 1]}. */
        private final int[] byOwner;
        private final int[] from;

        Ring(Candidates candidates, Ring previous) {
            this.version = candidates.version();
            this.size = candidates.size();
            // 16 owner bits whatever the size (more only past 65536 servers), so positions keep
            // their precision of 48 bits and do not shift when the set grows or shrinks
            int ownerBits = Math.max(16, 32 - Integer.numberOfLeadingZeros(Math.max(1, size - 1)));
            this.ownerMask = (1L << ownerBits) - 1;
            this.names = new String[size];
            this.weights = new int[size];
            long totalWeight = 0;
            for (int i = 0; i < size; i++) {
                names[i] = candidates.server(i).name();
                weights[i] = Math.max(0, candidates.weight(i));
                totalWeight += weights[i];
            }
            this.pointsPerWeight = pointsPerWeight(totalWeight);
            int perWeight = pointsPerWeight;
            // remap[old owner] = new owner, for servers kept with the same name and weight
            int[] remap = null;
            boolean[] kept = new boolean[size];
            if (previous != null && previous.ownerMask == ownerMask && previous.pointsPerWeight == perWeight) {
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
                    carried += weights[i] * perWeight;
                } else {
                    fresh += weights[i] * perWeight;
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
                    int count = weights[i] * perWeight;
                    for (int v = 1; v <= count; v++) {
                        made[p++] = (Hashes.mix(seed + v * 0x9E3779B97F4A7C15L) & ~ownerMask) | i;
                    }
                }
            }
            Arrays.sort(made);
            this.entries = merge(old, made);
            // each owner's entries in ring order, for the jump past a long run of unavailable points
            this.from = new int[size + 1];
            for (long e : entries) {
                from[(int) (e & ownerMask) + 1]++;
            }
            for (int i = 0; i < size; i++) {
                from[i + 1] += from[i];
            }
            this.byOwner = new int[entries.length];
            int[] next = Arrays.copyOf(from, size);
            for (int k = 0; k < entries.length; k++) {
                byOwner[next[(int) (entries[k] & ownerMask)]++] = k;
            }
        }

        /** Whether candidate {@code i} has points on the ring (a weight above 0). */
        boolean hasPoints(int i) {
            return from[i + 1] > from[i];
        }

        /** How many entries on from entry {@code at} the next point of candidate {@code i} is, around the ring; it must have one. */
        int distance(int i, int at) {
            return Cycles.distance(byOwner, from[i], from[i + 1], at, entries.length);
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
