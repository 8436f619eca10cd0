package io.lodestone.core.balance;

/**
 * Weighted least connections: the available candidate with the lowest {@code (load + 1) / weight}
 * wins (the {@code + 1} makes an idle server of weight 3 take three connections before an idle one of
 * weight 1 takes its second, as in HAProxy). Ties go round robin: the scan starts just after the
 * candidate chosen last. Candidates of weight 0 are never chosen. One volatile read and write per pick, no allocation.
 */
final class LeastConnectionsBalancer implements Balancer {

    /** The index chosen last; a hint shared by all threads, so a lost update only shifts a tie. */
    private volatile int last = -1;

    LeastConnectionsBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        int n = candidates.size();
        if (n == 0) {
            return -1;
        }
        int i = last + 1;
        if (i >= n || i < 0) {
            i = 0;
        }
        int best = -1;
        for (int k = 0; k < n; k++) {
            if (candidates.weight(i) > 0 && candidates.isAvailable(i) && (best < 0 || lessLoaded(candidates, i, best))) {
                best = i;
            }
            if (++i == n) {
                i = 0;
            }
        }
        if (best >= 0) {
            last = best;
        }
        return best;
    }

    /**
     * Whether candidate {@code a} carries strictly less load per unit of weight than {@code b}, both
     * of positive weight: {@code (loadA + 1) / weightA < (loadB + 1) / weightB}, without division.
     */
    static boolean lessLoaded(Candidates candidates, int a, int b) {
        long loadA = candidates.load(a) + 1L;
        long loadB = candidates.load(b) + 1L;
        long weightA = candidates.weight(a);
        long weightB = candidates.weight(b);
        return loadA * weightB < loadB * weightA;
    }
}
