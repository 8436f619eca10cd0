package io.lodestone.core.balance;

import java.util.Arrays;

/**
 * Consistent hashing on a ring of virtual nodes (a number per server proportional to its weight),
 * rebuilt per candidate version. A client's hash lands on the next virtual node clockwise; when that
 * server is unavailable the walk goes on clockwise.
 */
final class SourceHashBalancer implements Balancer {

    /** Virtual nodes per unit of weight. */
    static final int POINTS_PER_WEIGHT = 40;

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
        int points = r.hashes.length;
        if (points == 0) {
            return -1;
        }
        long h = mix(context.affinityHash());
        int at = Arrays.binarySearch(r.hashes, h);
        if (at < 0) {
            at = -at - 1;
        }
        for (int k = 0; k < points; k++) {
            int p = at + k;
            if (p >= points) {
                p -= points;
            }
            int candidate = r.owners[p];
            if (candidates.isAvailable(candidate)) {
                return candidate;
            }
        }
        return -1;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    /** The ring: sorted point hashes and, at the same index, the candidate owning each point. */
    static final class Ring {
        final long version;
        final int size;
        final long[] hashes;
        final int[] owners;

        Ring(Candidates candidates) {
            this.version = candidates.version();
            this.size = candidates.size();
            int total = 0;
            for (int i = 0; i < size; i++) {
                total += Math.max(0, candidates.weight(i)) * POINTS_PER_WEIGHT;
            }
            long[] packed = new long[total];
            long[] keys = new long[total];
            int p = 0;
            for (int i = 0; i < size; i++) {
                // points depend on the server's name only, so other servers' points stay put
                long seed = candidates.server(i).name().hashCode() * 0x9E3779B97F4A7C15L;
                int count = Math.max(0, candidates.weight(i)) * POINTS_PER_WEIGHT;
                for (int v = 0; v < count; v++) {
                    keys[p] = mix(seed + v * 0xBF58476D1CE4E5B9L);
                    packed[p] = i;
                    p++;
                }
            }
            Integer[] idx = new Integer[total];
            for (int i = 0; i < total; i++) {
                idx[i] = i;
            }
            Arrays.sort(idx, (x, y) -> Long.compare(keys[x], keys[y]));
            hashes = new long[total];
            owners = new int[total];
            for (int i = 0; i < total; i++) {
                hashes[i] = keys[idx[i]];
                owners[i] = (int) packed[idx[i]];
            }
        }
    }
}
