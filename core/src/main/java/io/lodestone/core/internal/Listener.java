package io.lodestone.core.internal;

import io.lodestone.core.Frontend;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.List;

/** A started frontend: its bound sockets and its open connections. Returned by {@code Frontend.start}. */
public interface Listener {

    /** The addresses the frontend listens on, with the ports the OS chose for port 0. */
    List<InetSocketAddress> localAddresses();

    /** The number of client connections open now. */
    int openConnections();

    /**
     * Stops accepting, asks open connections to finish (an HTTP engine closes its idle keep-alive
     * connections) and returns a future that completes when every connection open now is closed.
     */
    Future<?> drain();

    /**
     * Takes a new configuration of the frontend (same engine, same bind addresses, or others
     * {@linkplain #rebind bound} already) in a
     * reconfiguration of the proxy, keeping the bound sockets and the open connections: connections
     * accepted from now on, and at L7 requests started from now on, follow {@code frontend} and reach
     * the backends of {@code context}; what is in flight finishes on the configuration it started
     * with. Returns {@code false} when the engine cannot (another engine's frontend), and the proxy
     * then closes this listener and binds the new frontend afresh.
     */
    default boolean reconfigure(Frontend frontend, EngineContext context) {
        return false;
    }

    /**
     * Whether this listener can take {@code frontend} with other bind addresses (same engine, some
     * bind address in common) through {@link #rebind}; {@code false} by default.
     */
    default boolean canRebind(Frontend frontend) {
        return false;
    }

    /**
     * For a reconfiguration that keeps this listener for a frontend of other bind addresses (see
     * {@link #canRebind}), before anything else changes: keeps the sockets of the addresses it still
     * lists and binds the new ones, which accept at once. Throws when one cannot be bound, having
     * closed those it bound. {@link #reconfigure} follows a commit.
     */
    default Rebinding rebind(Frontend frontend) {
        throw new UnsupportedOperationException("rebind");
    }

    /** A change of a listener's bind addresses, prepared by {@link #rebind}. */
    interface Rebinding {
        /** The reconfiguration goes ahead: closes the sockets of the addresses no longer listed. */
        void commit();

        /** The reconfiguration is given up: closes the sockets the rebinding bound. */
        void abort();
    }

    /**
     * Called after a reconfiguration of the proxy has removed servers (alone or with their backend):
     * an engine that keeps idle connections to servers closes those of removed servers. Does nothing
     * by default.
     */
    default void serversRemoved() {
    }

    /**
     * Called before {@link #closeAll} when the proxy stops, on every listener before the first of them
     * closes its connections: from now on a connection or request of this listener that is handed a
     * slot in a backend's queue (the slot of one that another listener's, or this one's, close ended
     * first) is closed, not sent on to the server in the middle of the stop. {@link #closeAll} implies
     * it. Does nothing by default.
     */
    default void closing() {
    }

    /** Closes every connection at once. */
    void closeAll();
}
