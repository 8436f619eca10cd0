package io.lodestone.core.metrics.internal;

/**
 * The live counters of one server, held by its {@code ServerRuntime}; everything recorded here is
 * also recorded on the backend's {@link BackendMetrics}.
 */
public final class ServerMetrics extends TrafficMetrics {

    private final String backendName;
    private final String name;

    /** Creates the counters of a server whose traffic also counts for {@code backend}. */
    public ServerMetrics(BackendMetrics backend, String name) {
        super(backend);
        this.backendName = backend.name();
        this.name = name;
    }

    /** The backend's name. */
    public String backendName() {
        return backendName;
    }

    /** The server's name. */
    public String name() {
        return name;
    }
}
