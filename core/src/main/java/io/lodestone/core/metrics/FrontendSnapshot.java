package io.lodestone.core.metrics;

/**
 * The figures of one frontend: its client side.
 *
 * @param name the frontend's name
 * @param traffic its traffic
 * @param refusedConnections client connections refused and closed at once by a per-source limit
 *     (concurrent connections or new connections per second from one address); not counted in
 *     {@code traffic}
 */
public record FrontendSnapshot(String name, TrafficSnapshot traffic, long refusedConnections) {

    /**
     * The figures of a frontend that refused no connection.
     *
     * @param name the frontend's name
     * @param traffic its figures
     */
    public FrontendSnapshot(String name, TrafficSnapshot traffic) {
        this(name, traffic, 0);
    }
}
