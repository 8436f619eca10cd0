package io.lodestone.core.balance;

import java.util.random.RandomGenerator;

/** What a {@link Balancer} may know of the connection or request it picks a server for. */
public interface PickContext {

    /**
     * A hash of what should keep landing on the same server: the client's source address for
     * {@link BalancingStrategy#sourceHash()}.
     */
    long affinityHash();

    /**
     * The random source for random choices; seedable, so that {@code proxy.route(...)} is
     * deterministic in tests.
     */
    RandomGenerator random();
}
