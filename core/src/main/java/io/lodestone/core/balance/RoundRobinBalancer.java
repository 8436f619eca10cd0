package io.lodestone.core.balance;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Smooth weighted round robin without a lock: the interleaved schedule of one cycle (nginx's
 * algorithm, run once) is computed per candidate version, and an atomic cursor walks it. A pick costs
 * one atomic increment when the scheduled candidate is available; otherwise the walk goes on along
 * the schedule for a bounded number of slots, then over the candidates in order.
 *
 * <p>Weights are divided by their greatest common divisor first, so weights 100 and 50 make a cycle
 * of 3 slots, not 150. Building a schedule costs O(cycle * n) once per version.
 */
final class RoundRobinBalancer implements Balancer {

    /** Schedule slots tried before the walk falls back to a plain scan of the candidates. */
    static final int MAX_WALK = 64;

    private final AtomicLong cursor = new AtomicLong();
    private volatile Schedule schedule;

    RoundRobinBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        Schedule s = schedule;
        if (s == null || s.version != candidates.version() || s.size != candidates.size()) {
            s = new Schedule(candidates);
            schedule = s;
        }
        int[] order = s.order;
        int length = order.length;
        if (length == 0) {
            return -1;
        }
        // a retry looks from where the rotation stands without moving it (see Candidates#retrying)
        boolean retrying = candidates.retrying();
        long start = retrying ? cursor.get() : cursor.getAndIncrement();
        int slot = (int) Long.remainderUnsigned(start, length);
        int walk = Math.min(length, MAX_WALK);
        for (int i = 0; i < walk; i++) {
            int candidate = order[slot];
            if (candidates.isAvailable(candidate)) {
                if (i > 0 && !retrying) {
                    // the skipped slots are spent, so the next pick continues after this one
                    cursor.addAndGet(i);
                }
                return candidate;
            }
            if (++slot == length) {
                slot = 0;
            }
        }
        int n = candidates.size();
        int candidate = order[slot];
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

    /** One cycle of smooth weighted round robin over the weights divided by their common divisor. */
    static final class Schedule {
        final long version;
        final int size;
        final int[] order;

        Schedule(Candidates candidates) {
            this.version = candidates.version();
            this.size = candidates.size();
            int n = size;
            int[] weights = new int[n];
            int divisor = 0;
            for (int i = 0; i < n; i++) {
                weights[i] = Math.max(0, candidates.weight(i));
                divisor = gcd(divisor, weights[i]);
            }
            int total = 0;
            if (divisor > 0) {
                for (int i = 0; i < n; i++) {
                    weights[i] /= divisor;
                    total += weights[i];
                }
            }
            order = new int[total];
            int[] current = new int[n];
            for (int slot = 0; slot < total; slot++) {
                int best = -1;
                for (int i = 0; i < n; i++) {
                    current[i] += weights[i];
                    if (weights[i] > 0 && (best < 0 || current[i] > current[best])) {
                        best = i;
                    }
                }
                current[best] -= total;
                order[slot] = best;
            }
        }

        private static int gcd(int a, int b) {
            while (b != 0) {
                int t = a % b;
                a = b;
                b = t;
            }
            return a;
        }
    }
}
