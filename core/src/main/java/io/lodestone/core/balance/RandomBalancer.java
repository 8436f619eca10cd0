package io.lodestone.core.balance;

/** A weighted random choice among the available candidates. */
final class RandomBalancer implements Balancer {

    RandomBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        return weightedRandom(candidates, context, -1);
    }

    /** Draws an available candidate with probability proportional to its weight, skipping {@code except}. */
    static int weightedRandom(Candidates candidates, PickContext context, int except) {
        int n = candidates.size();
        long total = 0;
        for (int i = 0; i < n; i++) {
            if (i != except && candidates.isAvailable(i)) {
                total += candidates.weight(i);
            }
        }
        if (total <= 0) {
            return -1;
        }
        long r = context.random().nextLong(total);
        for (int i = 0; i < n; i++) {
            if (i != except && candidates.isAvailable(i)) {
                r -= candidates.weight(i);
                if (r < 0) {
                    return i;
                }
            }
        }
        return -1;
    }
}
