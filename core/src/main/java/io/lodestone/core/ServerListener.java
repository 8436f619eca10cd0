package io.lodestone.core;

import io.lodestone.core.health.HealthCheckResult;

/**
 * Receives server events of a proxy: state changes (by health checks, outlier ejection or runtime
 * control) and, optionally, every health check result. Registered with
 * {@link ProxyControl#addListener(ServerListener)}; a lambda receives state changes:
 *
 * <pre>{@code
 * proxy.control().addListener((server, from, to, reason) ->
 *     log.info("{}/{} {} -> {} ({})", server.backendName(), server.server().name(), from, to, reason));
 * }</pre>
 *
 * <p>Listeners are called on the thread that made the change (an event loop for checks and
 * ejections): they must be quick and must not block. An exception thrown by a listener is logged and
 * does not affect the proxy.
 */
@FunctionalInterface
public interface ServerListener {

    /**
     * Called when the state of {@code server} changed from {@code previous} to {@code current}.
     *
     * @param server the server
     * @param previous its state before
     * @param current its state now
     * @param reason why it changed
     */
    void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason);

    /**
     * Called with the result of every health check; does nothing by default. A result that changes the
     * server's state is told after {@link #stateChanged} (whose reason quotes it) and once
     * {@code server.state()} reads the new state, so a listener that hands the result on (to a test
     * waiting for the next check, say) hands on a server in that state; during that
     * {@code stateChanged}, {@code server.lastCheck()} still has the previous result.
     *
     * @param server the server
     * @param result the check's result
     */
    default void checked(ServerControl server, HealthCheckResult result) {
    }
}
