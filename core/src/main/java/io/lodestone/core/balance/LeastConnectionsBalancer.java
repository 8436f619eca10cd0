package io.lodestone.core.balance;

import java.util.concurrent.atomic.AtomicInteger;

/** Weighted least connections; ties go to the first candidate after a rotating start. */
final class LeastConnectionsBalancer implements Balancer {

    private final AtomicInteger start = new AtomicInteger();

    LeastConnectionsBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        int n = candidates.size();
        if (n == 0) {
            return -1;
        }
        int offset = Math.floorMod(start.getAndIncrement(), n);
        int best = -1;
        long bestLoad = 0;
        long bestWeight = 1;
        for (int k = 0; k < n; k++) {
            int i = offset + k;
            if (i >= n) {
                i -= n;
            }
            if (!candidates.isAvailable(i)) {
                continue;
            }
            long load = candidates.load(i);
            long weight = Math.max(1, candidates.weight(i));
            // load / weight < bestLoad / bestWeight, without division
            if (best < 0 || load * bestWeight < bestLoad * weight) {
                best = i;
                bestLoad = load;
                bestWeight = weight;
            }
        }
        return best;
    }
}
