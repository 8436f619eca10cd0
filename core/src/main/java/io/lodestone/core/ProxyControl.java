package io.lodestone.core;

import java.util.List;

/**
 * Runtime control of a proxy's servers, obtained from {@link Proxy#control()}. Works before and
 * after {@link Proxy#start()}; what it changes is runtime state, never configuration.
 */
public interface ProxyControl {

    /**
     * Returns the control of one server.
     *
     * @throws IllegalArgumentException naming the backend or server when there is no such one
     */
    ServerControl server(String backendName, String serverName);

    /**
     * Returns the controls of every server of one backend, in configuration order.
     *
     * @throws IllegalArgumentException naming the backend when there is no such one
     */
    List<ServerControl> servers(String backendName);

    /** Returns how many servers of the backend could take a new connection now (HAProxy's {@code nbsrv}). */
    int usableServers(String backendName);
}
