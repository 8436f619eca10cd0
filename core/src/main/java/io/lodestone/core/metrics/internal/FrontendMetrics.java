package io.lodestone.core.metrics.internal;

import java.util.concurrent.atomic.LongAdder;

/**
 * The live counters of one frontend's client side. Obtained once per frontend from
 * {@code context.metrics().frontend(name)} and kept by the engine.
 */
public final class FrontendMetrics extends TrafficMetrics {

    private final String name;
    private final LongAdder refusedConnections = new LongAdder();

    FrontendMetrics(String name) {
        super(null);
        this.name = name;
    }

    /** The frontend's name. */
    public String name() {
        return name;
    }

    /**
     * A client connection was refused by a per-source limit and closed at once; it is not counted by
     * {@link #connectionOpened()}.
     */
    public void connectionRefused() {
        refusedConnections.increment();
    }

    /** The client connections refused so far by per-source limits. */
    public long refusedConnections() {
        return refusedConnections.sum();
    }
}
