package io.lodestone.core;

/**
 * Runtime control of one server: its state, its current weight and its load. Obtained from
 * {@code proxy.control().server("app", "web1")}; changes apply to the next connection or request.
 *
 * <pre>{@code
 * ServerControl web1 = proxy.control().server("app", "web1");
 * web1.drain();            // no new traffic; open connections go on
 * web1.weight(20);         // canary share
 * web1.ready();            // back in rotation
 * }</pre>
 */
public interface ServerControl {

    /** The server's configuration. */
    Server server();

    /** The name of the backend the server belongs to. */
    String backendName();

    /** The current state. */
    ServerState state();

    /** Sets the state; {@link ServerState#UP} puts the server back in rotation. */
    void state(ServerState state);

    /** Stops new traffic to the server; open connections and in-flight requests go on. */
    default void drain() {
        state(ServerState.DRAIN);
    }

    /** Puts the server in maintenance: no new traffic, as if removed. */
    default void maintenance() {
        state(ServerState.MAINT);
    }

    /** Puts the server back in rotation. */
    default void ready() {
        state(ServerState.UP);
    }

    /** The current weight, 0..256. */
    int weight();

    /** Sets the current weight, 0..256; 0 stops new traffic. */
    void weight(int weight);

    /** Open connections (L4) or requests in flight (L7) on this server now. */
    int load();

    /** Connections (L4) or requests (L7) sent to this server since the proxy started. */
    long totalSelected();
}
