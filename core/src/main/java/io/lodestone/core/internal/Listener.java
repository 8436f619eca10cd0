package io.lodestone.core.internal;

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

    /** Closes every connection at once. */
    void closeAll();
}
