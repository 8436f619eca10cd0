package io.lodestone.core.balance;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Smooth weighted round robin without a lock: the interleaved schedule of one cycle (nginx's
 * algorithm, run once) is computed per candidate version, and an atomic cursor walks it. A pick costs
 * one atomic increment when the scheduled candidate is available; otherwise the walk goes on along
 * the schedule for a bounded number of slots, then jumps to the next slot of an available candidate
 * (a binary search in each candidate's slots), so the picks are always those of a walk of the whole
 * cycle: the available candidates share the turns of the unavailable ones by their weights.
 *
 * <p>Weights are divided by their greatest common divisor first, so weights 100 and 50 make a cycle
 * of 3 slots, not 150. Building a schedule costs O(cycle * n) once per version.
 */
final class RoundRobinBalancer implements Balancer {

    /** Schedule slots tried one by one before the walk jumps to the next slot of an available candidate. */
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
        // a long run of unavailable slots (a heavy server at its limit): the next slot of an
        // available candidate, as a walk of the whole cycle finds it. A scan of the candidates in
        // configuration order from the last slot walked sent every such pick to the candidate after
        // that slot's, and with weights 200, 1 and 1 and the first full, the second took 35 picks
        // for each of the third's
        int best = -1;
        int nearest = Integer.MAX_VALUE;
        for (int candidate = 0, n = candidates.size(); candidate < n; candidate++) {
            if (s.hasSlots(candidate) && candidates.isAvailable(candidate)) {
                int distance = s.distance(candidate, slot);
                if (distance < nearest) {
                    nearest = distance;
                    best = candidate;
                }
            }
        }
        if (best >= 0 && !retrying) {
            cursor.addAndGet(walk + nearest);
        }
        return best;
    }

    /** One cycle of smooth weighted round robin over the weights divided by their common divisor. */
    static final class Schedule {
        final long version;
        final int size;
        final int[] order;
        /** The slots of each candidate in ascending order: those of candidate i from {@code from[i]} to {@code from[i + 1]}. */
        private final int[] slots;
        private final int[] from;

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
            from = new int[n + 1];
            for (int i = 0; i < n; i++) {
                from[i + 1] = from[i] + weights[i];
            }
            slots = new int[total];
            int[] next = Arrays.copyOf(from, n);
            for (int slot = 0; slot < total; slot++) {
                slots[next[order[slot]]++] = slot;
            }
        }

        /** Whether candidate {@code i} has slots in the cycle (a weight above 0). */
        boolean hasSlots(int i) {
            return from[i + 1] > from[i];
        }

        /** How many slots on from {@code slot} the next slot of candidate {@code i} is, around the cycle; it must have one. */
        int distance(int i, int slot) {
            int at = Arrays.binarySearch(slots, from[i], from[i + 1], slot);
            if (at >= 0) {
                return 0;
            }
            at = -at - 1;
            return at < from[i + 1] ? slots[at] - slot : slots[from[i]] + order.length - slot;
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
