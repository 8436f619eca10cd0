package io.lodestone.core.metrics.internal;

/**
 * The live counters of one backend, held by its {@code BackendRuntime}. Its servers' counters roll up
 * into it; record here directly only what never reached a server.
 */
public final class BackendMetrics extends TrafficMetrics {

    private final String name;

    /** Creates the counters of a backend. */
    public BackendMetrics(String name) {
        super(null);
        this.name = name;
    }

    /** The backend's name. */
    public String name() {
        return name;
    }
}
