package io.lodestone.core.balance;

import java.util.Objects;

/**
 * Consistent hashing of a request key ({@link PickContext#requestKeyHash()}) on the ring of
 * {@link SourceHashBalancer}, whose code and guarantees it shares; a request without the key is
 * balanced by a smooth weighted round robin kept beside the ring, as HAProxy balances a request
 * without its {@code url_param} or {@code hdr}.
 */
final class KeyHashBalancer implements Balancer {

    private final SourceHashBalancer ring = new SourceHashBalancer();
    private final RoundRobinBalancer fallback = new RoundRobinBalancer();

    KeyHashBalancer() {
    }

    @Override
    public int pick(Candidates candidates, PickContext context) {
        long hash = context.requestKeyHash();
        return hash != 0 ? ring.pick(candidates, hash) : fallback.pick(candidates, context);
    }

    @Override
    public void prepare(Candidates candidates) {
        ring.prepare(candidates);
        fallback.prepare(candidates);
    }

    /** The strategy of {@link BalancingStrategy#hashOn(HashKey)} for a key other than the source address. */
    static final class Strategy implements BalancingStrategy {

        private final HashKey key;

        Strategy(HashKey key) {
            this.key = Objects.requireNonNull(key, "hash key");
        }

        @Override
        public Balancer newBalancer() {
            return new KeyHashBalancer();
        }

        @Override
        public HashKey hashKey() {
            return key;
        }

        @Override
        public boolean equals(Object o) {
            return o == this || o instanceof Strategy s && key.equals(s.key);
        }

        @Override
        public int hashCode() {
            return key.hashCode();
        }

        @Override
        public String toString() {
            return "hashOn(" + key + ")";
        }
    }
}
