package io.lodestone.core.balance;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Smooth weighted round robin without a lock: the interleaved schedule of one cycle (nginx's
 * algorithm, run once) is computed per candidate version, and an atomic cursor walks it.
 */
final class RoundRobinBalancer implements Balancer {

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
        if (order.length == 0) {
            return -1;
        }
        long start = cursor.getAndIncrement();
        for (int i = 0; i < order.length; i++) {
            int candidate = order[(int) Long.remainderUnsigned(start + i, order.length)];
            if (candidates.isAvailable(candidate)) {
                if (i > 0) {
                    cursor.addAndGet(i);
                }
                return candidate;
            }
        }
        return -1;
    }

    /** One cycle of smooth weighted round robin: {@code order.length} is the total weight. */
    static final class Schedule {
        final long version;
        final int size;
        final int[] order;

        Schedule(Candidates candidates) {
            this.version = candidates.version();
            this.size = candidates.size();
            int n = size;
            int[] weights = new int[n];
            int total = 0;
            for (int i = 0; i < n; i++) {
                weights[i] = Math.max(0, candidates.weight(i));
                total += weights[i];
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
    }
}
