package io.lodestone.core.balance;

/**
 * A weighted random choice among the available candidates, drawn from {@link PickContext#random()}.
 * The cumulative weights are cached per candidate version, so a pick costs a binary search.
 */
final class RandomBalancer implements Balancer {

    private volatile WeightTable table;

    RandomBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        WeightTable cached = table;
        WeightTable t = WeightTable.of(candidates, cached);
        if (t != cached) {
            table = t;
        }
        return t.draw(candidates, context.random(), -1);
    }
}
