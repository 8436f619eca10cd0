package io.lodestone.core.balance;

/** Two weighted random draws; the one with the lower load per unit of weight wins. */
final class PowerOfTwoChoicesBalancer implements Balancer {

    PowerOfTwoChoicesBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        int first = RandomBalancer.weightedRandom(candidates, context, -1);
        if (first < 0) {
            return -1;
        }
        int second = RandomBalancer.weightedRandom(candidates, context, first);
        if (second < 0) {
            return first;
        }
        long a = (long) candidates.load(first) * Math.max(1, candidates.weight(second));
        long b = (long) candidates.load(second) * Math.max(1, candidates.weight(first));
        return b < a ? second : first;
    }
}
