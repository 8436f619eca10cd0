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
 * of 3 slots, not 150. nginx's algorithm costs O(cycle * n) to run over a cycle, so it makes the
 * schedule only while cycle * n is at most {@value #NGINX_WORK} (about a millisecond); a larger set
 * is scheduled by earliest deadline first, as Envoy's scheduler does, in O(cycle + n): slot
 * {@code k} of a candidate of weight {@code w} is due at {@code (k - 1/2) / w} of the cycle, and the
 * slots are laid out by due time (ties to the lower index). Each candidate still has its weight's
 * number of slots per cycle, spread evenly. Until 2026-12-07 every size ran nginx's algorithm: 2,000
 * servers of random weights 1..256 (a cycle of 256,935 slots) took 728 ms to schedule, 8 to 38 ms
 * now; see the README's figures for large backends (made with {@code BalancerScale} in the tests). The schedule is built once per version, when the backend's
 * servers or weights change ({@link #prepare}), not by the event loop of the next pick.
 */
final class RoundRobinBalancer implements Balancer {

    /** Schedule slots tried one by one before the walk jumps to the next slot of an available candidate. */
    static final int MAX_WALK = 64;

    /** The largest cycle * n scheduled by nginx's algorithm, whose exact order small sets keep. */
    static final long NGINX_WORK = 1 << 20;

    private final AtomicLong cursor = new AtomicLong();
    private volatile Schedule schedule;

    RoundRobinBalancer() {
    }

    @Override
    public void prepare(Candidates candidates) {
        Schedule s = schedule;
        if (s == null || s.version < candidates.version() || s.size != candidates.size()) {
            Schedule next = new Schedule(candidates);
            if (s != null) {
                // picks that took the candidates just before they changed find theirs here
                s.older = null;
                next.older = s;
            }
            schedule = next;
        }
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        Schedule s = schedule;
        if (s == null || s.version != candidates.version() || s.size != candidates.size()) {
            Schedule older = s == null ? null : s.older;
            if (older != null && older.version == candidates.version() && older.size == candidates.size()) {
                s = older;
            } else {
                s = new Schedule(candidates);
                schedule = s;
            }
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
        /** The schedule this one replaced in {@link #prepare}, for picks still on its version; else null. */
        Schedule older;
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
            order = (long) total * n <= NGINX_WORK ? nginx(weights, total) : earliestDeadlineFirst(weights, total);
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

        /** nginx's smooth weighted round robin over one cycle: O(total * n). */
        static int[] nginx(int[] weights, int total) {
            int n = weights.length;
            int[] order = new int[total];
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
            return order;
        }

        /**
         * One cycle by earliest deadline first: slot k (from 1) of candidate i is due at
         * (2k - 1) / (2 w_i) of the cycle, and the slots are laid out by due time, ties to the lower
         * index (the order a heap of the candidates keyed by their next due time gives). Each slot
         * goes to the bucket of its due time times the cycle (a counting sort: the buckets are the
         * cycle's slots, so about one slot each), and the few that share a bucket are put in order
         * by their exact due times: O(cycle + n).
         */
        static int[] earliestDeadlineFirst(int[] weights, int total) {
            int n = weights.length;
            int[] start = new int[total + 1];
            for (int i = 0; i < n; i++) {
                for (int k = 1; k <= weights[i]; k++) {
                    start[bucket(k, weights[i], total) + 1]++;
                }
            }
            for (int b = 0; b < total; b++) {
                start[b + 1] += start[b];
            }
            int[] order = new int[total];
            int[] kth = new int[total];
            int[] next = Arrays.copyOf(start, total);
            for (int i = 0; i < n; i++) {
                for (int k = 1; k <= weights[i]; k++) {
                    int at = next[bucket(k, weights[i], total)]++;
                    order[at] = i;
                    kth[at] = k;
                }
            }
            // within a bucket, by exact due time; filled by ascending index, and the insertion sort
            // is stable, so ties stay with the lower index first
            for (int b = 0; b < total; b++) {
                for (int x = start[b] + 1; x < start[b + 1]; x++) {
                    int i = order[x];
                    int k = kth[x];
                    int y = x - 1;
                    while (y >= start[b] && (2L * kth[y] - 1) * weights[i] > (2L * k - 1) * weights[order[y]]) {
                        order[y + 1] = order[y];
                        kth[y + 1] = kth[y];
                        y--;
                    }
                    order[y + 1] = i;
                    kth[y + 1] = k;
                }
            }
            return order;
        }

        /** The slot of the cycle in which slot k of a candidate of weight w falls due: floor((2k - 1) * total / 2w). */
        private static int bucket(int k, int w, int total) {
            return (int) ((2L * k - 1) * total / (2L * w));
        }

        /** Whether candidate {@code i} has slots in the cycle (a weight above 0). */
        boolean hasSlots(int i) {
            return from[i + 1] > from[i];
        }

        /** How many slots on from {@code slot} the next slot of candidate {@code i} is, around the cycle; it must have one. */
        int distance(int i, int slot) {
            return Cycles.distance(slots, from[i], from[i + 1], slot, order.length);
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
