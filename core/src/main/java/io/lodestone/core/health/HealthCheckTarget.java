package io.lodestone.core.health;

import io.lodestone.core.Server;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * What one probe is about: the server, its backend, the address to probe (the server's own, or the
 * check address or port configured in {@link HealthCheck}) and how long the probe may take.
 */
public final class HealthCheckTarget {

    private final String backendName;
    private final Server server;
    private final InetSocketAddress address;
    private final Duration timeout;

    /**
     * Creates a target; the monitor makes these, and tests of checkers may too.
     *
     * @param backendName the server's backend
     * @param server the server's configuration
     * @param address the address to probe
     * @param timeout how long the probe may take
     */
    public HealthCheckTarget(String backendName, Server server, InetSocketAddress address, Duration timeout) {
        this.backendName = Objects.requireNonNull(backendName, "backendName");
        this.server = Objects.requireNonNull(server, "server");
        this.address = Objects.requireNonNull(address, "address");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    /** {@return the name of the server's backend} */
    public String backendName() {
        return backendName;
    }

    /** {@return the server's configuration} */
    public Server server() {
        return server;
    }

    /** {@return the address to probe} */
    public InetSocketAddress address() {
        return address;
    }

    /** {@return how long the probe may take before it counts as failed} */
    public Duration timeout() {
        return timeout;
    }

    @Override
    public String toString() {
        return backendName + "/" + server.name() + " " + address;
    }
}
