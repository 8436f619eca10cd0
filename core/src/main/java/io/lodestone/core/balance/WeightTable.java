package io.lodestone.core.balance;

import java.util.random.RandomGenerator;

/**
 * The cumulative weights of one version of a candidate set, for weighted random draws in
 * O(log n): a draw lands on a candidate with probability proportional to its weight, and draws that
 * land on an unavailable candidate are redrawn (rejection sampling, which keeps the distribution
 * exact over the available ones) a few times before an exact linear pass takes over.
 */
final class WeightTable {

    /** Redraws before the linear pass; enough when most of the weight is available. */
    private static final int DRAWS = 4;

    final long version;
    final int size;
    private final long[] cumulative;
    private final long total;

    private WeightTable(Candidates candidates) {
        this.version = candidates.version();
        this.size = candidates.size();
        this.cumulative = new long[size];
        long sum = 0;
        for (int i = 0; i < size; i++) {
            sum += Math.max(0, candidates.weight(i));
            cumulative[i] = sum;
        }
        this.total = sum;
    }

    /** Returns {@code cached} when it describes this version of the candidates, else a new table. */
    static WeightTable of(Candidates candidates, WeightTable cached) {
        if (cached != null && cached.version == candidates.version() && cached.size == candidates.size()) {
            return cached;
        }
        return new WeightTable(candidates);
    }

    /**
     * Draws an available candidate other than {@code except} with probability proportional to its
     * weight; -1 when there is none.
     */
    int draw(Candidates candidates, RandomGenerator random, int except) {
        if (total <= 0) {
            return -1;
        }
        for (int attempt = 0; attempt < DRAWS; attempt++) {
            int i = indexOf(random.nextLong(total));
            if (i != except && candidates.isAvailable(i)) {
                return i;
            }
        }
        return linearDraw(candidates, random, except);
    }

    /** The candidate whose weight interval holds {@code r}: the first {@code i} with cumulative[i] > r. */
    private int indexOf(long r) {
        int low = 0;
        int high = size - 1;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (cumulative[mid] > r) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return low;
    }

    private int linearDraw(Candidates candidates, RandomGenerator random, int except) {
        long available = 0;
        for (int i = 0; i < size; i++) {
            if (i != except && candidates.isAvailable(i)) {
                available += weight(i);
            }
        }
        if (available <= 0) {
            return -1;
        }
        long r = random.nextLong(available);
        int last = -1;
        for (int i = 0; i < size; i++) {
            long w = weight(i);
            if (w > 0 && i != except && candidates.isAvailable(i)) {
                last = i;
                r -= w;
                if (r < 0) {
                    return i;
                }
            }
        }
        // a candidate became unavailable between the passes: settle for the last one still available
        return last;
    }

    private long weight(int i) {
        return i == 0 ? cumulative[0] : cumulative[i] - cumulative[i - 1];
    }
}
