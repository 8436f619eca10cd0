package io.lodestone.core.balance;

import java.util.Arrays;

/**
 * Consistent hashing on a ring of virtual nodes, {@value #POINTS_PER_WEIGHT} per unit of weight.
 * Where a server's points sit depends only on a 64-bit hash of its name, so adding, removing or
 * reweighting one server moves only the clients whose nearest point belongs to it, and every proxy
 * instance (every JVM) builds the same ring. A client's {@link PickContext#affinityHash()} lands on
 * the next point clockwise; when that point's server is unavailable the walk goes on clockwise for a
 * bounded number of points, then over the candidates in order.
 *
 * <p>The ring is rebuilt only when {@link Candidates#version()} changes. It is one sorted
 * {@code long[]}: the high bits of each entry are the point's position, the low bits the index of
 * the candidate that owns it, so a pick is one binary search and no allocation.
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
        Ring r = ring;
        if (r == null || r.version != candidates.version() || r.size != candidates.size()) {
            r = new Ring(candidates);
            ring = r;
        }
        long[] entries = r.entries;
        int points = entries.length;
        if (points == 0) {
            return -1;
        }
        long mask = r.ownerMask;
        // the first entry whose position (entry & ~mask) is >= the client's position
        int at = Arrays.binarySearch(entries, Hashes.mix(context.affinityHash()) & ~mask);
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

        Ring(Candidates candidates) {
            this.version = candidates.version();
            this.size = candidates.size();
            // 16 owner bits whatever the size (more only past 65536 servers), so positions keep
            // their precision of 48 bits and do not shift when the set grows or shrinks
            int ownerBits = Math.max(16, 32 - Integer.numberOfLeadingZeros(Math.max(1, size - 1)));
            this.ownerMask = (1L << ownerBits) - 1;
            int total = 0;
            for (int i = 0; i < size; i++) {
                total += Math.max(0, candidates.weight(i)) * POINTS_PER_WEIGHT;
            }
            long[] e = new long[total];
            int p = 0;
            for (int i = 0; i < size; i++) {
                // a splitmix64 stream seeded by the name alone: point v of a server never moves
                long seed = Hashes.hash(candidates.server(i).name());
                int count = Math.max(0, candidates.weight(i)) * POINTS_PER_WEIGHT;
                for (int v = 1; v <= count; v++) {
                    e[p++] = (Hashes.mix(seed + v * 0x9E3779B97F4A7C15L) & ~ownerMask) | i;
                }
            }
            Arrays.sort(e);
            this.entries = e;
        }
    }
}
