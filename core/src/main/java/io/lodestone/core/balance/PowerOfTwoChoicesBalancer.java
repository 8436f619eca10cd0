package io.lodestone.core.balance;

/**
 * Two distinct weighted random draws; the one with the lower load per unit of weight wins, the
 * first on a tie. Load is compared as least connections compares it: an idle server beats a busy
 * one, two idle servers tie whatever their weights (so under light load each server takes its
 * weight's share, as with HAProxy's {@code random(2)}), and busy ones compare
 * {@code (load + 1) / weight}.
 */
final class PowerOfTwoChoicesBalancer implements Balancer {

    private volatile WeightTable table;

    PowerOfTwoChoicesBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        WeightTable cached = table;
        WeightTable t = WeightTable.of(candidates, cached);
        if (t != cached) {
            table = t;
        }
        int first = t.draw(candidates, context.random(), -1);
        if (first < 0) {
            return -1;
        }
        int second = t.draw(candidates, context.random(), first);
        if (second < 0) {
            return first;
        }
        return LeastConnectionsBalancer.lessLoaded(candidates, second, first) ? second : first;
    }
}
