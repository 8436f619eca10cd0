package io.lodestone.core.balance;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/** A {@link PickContext} with a settable affinity hash and a seeded random source. */
final class TestPickContext implements PickContext {

    private final RandomGenerator random;
    long affinityHash;

    TestPickContext(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Sets the affinity hash to that of client number {@code i}, well spread. */
    TestPickContext client(long i) {
        this.affinityHash = i * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        return this;
    }

    @Override
    public long affinityHash() {
        return affinityHash;
    }

    @Override
    public RandomGenerator random() {
        return random;
    }
}
