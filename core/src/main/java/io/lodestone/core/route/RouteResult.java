package io.lodestone.core.route;

import io.lodestone.core.Server;

/**
 * A {@link Decision} together with the server the backend's balancing strategy would pick for it
 * given the current server states: what {@link io.lodestone.core.Proxy#routeAndPick(RequestView)}
 * returns.
 *
 * @param decision the routing decision
 * @param server the server picked for a {@link Decision.Forward}, or {@code null} when the decision
 *     is not a forward or the backend has no usable server (the engine would answer 503)
 */
public record RouteResult(Decision decision, Server server) {

    /** {@return the picked server's name, or {@code null}} */
    public String serverName() {
        return server == null ? null : server.name();
    }
}
