package io.lodestone.core.balance;

/**
 * Weighted least connections, as HAProxy 2.6's {@code leastconn}: an idle candidate wins over a busy
 * one, idle candidates are equal whatever their weights, and among busy ones the lowest
 * {@code (load + 1) / weight} wins. Ties go round robin: the scan starts just after the candidate
 * chosen last. So one request at a time takes every usable server in turn (weights 3 and 1: ABAB),
 * and weights count once requests are in flight (8 held at once: ABAAAABA, 6 and 2, HAProxy's
 * order). Candidates of weight 0 are never chosen. One volatile read and write per pick, no allocation.
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
     * of positive weight: {@code a} is idle and {@code b} is not, or both are busy and
     * {@code (loadA + 1) / weightA < (loadB + 1) / weightB}, compared without division. Two idle
     * candidates are equal whatever their weights (HAProxy's key of 0 for an idle server): with the
     * {@code + 1} applied to idle ones too, the heavier of two idle servers always won, and a lighter
     * server got nothing while requests came one at a time.
     */
    static boolean lessLoaded(Candidates candidates, int a, int b) {
        int loadA = candidates.load(a);
        int loadB = candidates.load(b);
        if (loadA == 0 || loadB == 0) {
            return loadA == 0 && loadB != 0;
        }
        long weightA = candidates.weight(a);
        long weightB = candidates.weight(b);
        return (loadA + 1L) * weightB < (loadB + 1L) * weightA;
    }
}
