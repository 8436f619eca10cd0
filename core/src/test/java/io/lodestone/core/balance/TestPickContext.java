package io.lodestone.core.balance;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * A {@link PickContext} with a settable affinity hash and request key hash and a seeded random
 * source; {@link #client} sets both hashes, so a key-hashing strategy sees one key per client.
 */
final class TestPickContext implements PickContext {

    private final RandomGenerator random;
    long affinityHash;
    long requestKeyHash;

    TestPickContext(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Sets the affinity hash to that of client number {@code i}, well spread. */
    TestPickContext client(long i) {
        this.affinityHash = i * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        this.requestKeyHash = affinityHash == 0 ? 1 : affinityHash;
        return this;
    }

    @Override
    public long affinityHash() {
        return affinityHash;
    }

    @Override
    public long requestKeyHash() {
        return requestKeyHash;
    }

    @Override
    public RandomGenerator random() {
        return random;
    }
}
