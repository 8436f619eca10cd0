package io.lodestone.core.metrics.internal;

/**
 * The live counters of one frontend's client side. Obtained once per frontend from
 * {@code context.metrics().frontend(name)} and kept by the engine.
 */
public final class FrontendMetrics extends TrafficMetrics {

    private final String name;

    FrontendMetrics(String name) {
        super(null);
        this.name = name;
    }

    /** The frontend's name. */
    public String name() {
        return name;
    }
}
