package io.lodestone.core;

import io.lodestone.core.health.HealthCheckResult;
import java.util.concurrent.CompletableFuture;

/**
 * Runtime control of one server: its state, its current weight and its load. Obtained from
 * {@code proxy.control().server("app", "web1")}; changes apply to the next connection or request.
 *
 * <pre>{@code
 * ServerControl web1 = proxy.control().server("app", "web1");
 * web1.drain().get(30, TimeUnit.SECONDS);   // no new traffic; wait for open connections to finish
 * web1.weight(20);                          // canary share
 * web1.ready();                             // back in rotation once healthy
 * }</pre>
 *
 * <p>A server has an administrative state (ready, draining, in maintenance), set here, and a health,
 * set by health checks and outlier detection. {@link #state()} combines them, the administrative
 * state first: {@code MAINT} over {@code DRAIN} over {@code DOWN} over {@code UP}. A draining server
 * that passes its checks stays draining; a server made ready that fails its checks is down.
 */
public interface ServerControl {

    /** {@return the server's configuration} */
    Server server();

    /** {@return the name of the backend the server belongs to} */
    String backendName();

    /**
     * {@return the current state: {@code MAINT}, else {@code DRAIN}, else {@code DOWN} when unhealthy or
     * ejected, else {@code UP}} A new state reads here only once the servers the backend picks from
     * follow it, whatever made the change (a health check, outlier detection, this interface,
     * {@code addServer}): a server that reads {@code UP} is picked by the next request or
     * {@code routeAndPick} (weight above 0 and limits allowing), and one that reads otherwise gets no
     * new client from balancing. A server leaving rotation may still read as before for a moment while
     * it is picked no more, never the reverse. A change made here has taken effect for picks when the
     * call returns.
     */
    ServerState state();

    /**
     * Sets the state by hand: {@link ServerState#DRAIN} and {@link ServerState#MAINT} as
     * {@link #drain()} and {@link #maintenance()}; {@link ServerState#UP} makes the server ready and
     * forces its health up, {@link ServerState#DOWN} makes it ready and forces its health down (HAProxy's
     * {@code set server health}). Later health check results override forced health as usual.
     *
     * @param state the state by hand
     */
    void state(ServerState state);

    /**
     * Stops new clients from balancing to the server (HAProxy's {@code set server state drain}); open
     * connections and in-flight requests go on, and so do the server's persistent clients (a sticky
     * cookie or a source stick-table entry naming it) while it is healthy, so their sessions can end
     * on it. Returns a future that completes when the server's load reaches 0 (at once if it is
     * idle); persistent clients that keep coming back may delay that, so bound the wait.
     *
     * @return a future that completes when the server is idle
     */
    CompletableFuture<Void> drain();

    /**
     * Puts the server in maintenance: no traffic at all, as if removed; its persistent clients are
     * balanced to other servers and stuck to them. Open connections and in-flight requests go on.
     */
    default void maintenance() {
        state(ServerState.MAINT);
    }

    /**
     * Ends a drain or a maintenance: the server takes traffic again as soon as it is healthy (at once
     * when it is not checked). Unlike {@code state(UP)} it does not force the health up.
     */
    void ready();

    /** {@return a future that completes when the server's load next reaches 0 (at once if it is idle)} */
    CompletableFuture<Void> whenIdle();

    /**
     * {@return the current weight, 0..256} {@link #weight(int)} sets it and returns once picks use it;
     * another thread may read the new weight here a moment before that.
     */
    int weight();

    /**
     * Sets the current weight, 0..256. A weight of 0 takes the server out of balancing, as a drain
     * does: no new clients, but its persistent clients (sticky cookie, source stick table) are still
     * served while it is healthy.
     *
     * @param weight the current weight
     */
    void weight(int weight);

    /**
     * {@return the weight the balancer uses now: {@link #weight()}, or less while the server is
     * slow-starting} Read from the clock: a slow start's step reads here as soon as the clock reaches
     * it, and the balancer takes it when the step's timer runs on one of the proxy's event loops, a
     * moment later (on a manual clock, once that loop has looked at the moved clock).
     */
    int effectiveWeight();

    /** {@return whether outlier detection has ejected the server now} */
    boolean isEjected();

    /**
     * {@return the last health check result, or {@code null} when the server has not been checked} A
     * result that brings the server down or up is recorded once {@link #state()} reads the new state:
     * a test that awaits a new result here (after moving a manual clock, say) then reads the state it
     * leads to.
     */
    HealthCheckResult lastCheck();

    /**
     * Open connections (L4) or requests in flight (L7) on this server now.
     *
     * @return open connections (L4) or requests in flight (L7) on this server now
     */
    int load();

    /**
     * Connections (L4) or requests (L7) sent to this server since the proxy started.
     *
     * @return the connections or requests sent to the server so far
     */
    long totalSelected();

    /**
     * Failed connections or requests the engines reported for this server.
     *
     * @return failed connections or requests the engines reported for this server
     */
    long failures();

    /** {@return a snapshot of the server's state and counters} */
    ServerStatus status();
}
