package io.lodestone.core.metrics;

import java.util.List;

/**
 * The figures of one backend: its own traffic (every server's, plus what failed before a server was
 * chosen, such as "no server available") and each server's.
 *
 * @param name the backend's name
 * @param traffic its traffic
 * @param usableServers how many servers could take a new connection at the time (HAProxy's {@code nbsrv})
 * @param servers its servers, in configuration order, servers added at run time last
 */
public record BackendSnapshot(String name, TrafficSnapshot traffic, int usableServers, List<ServerSnapshot> servers) {

    /**
     * Makes an immutable copy of the server list.
     *
     * @param name the backend's name
     * @param traffic its traffic
     * @param usableServers how many servers could take a new connection
     * @param servers its servers
     */
    public BackendSnapshot {
        servers = List.copyOf(servers);
    }

    /**
     * Returns the snapshot of one server.
     *
     * @param serverName the server's name
     * @return the snapshot of one server
     * @throws IllegalArgumentException when there is no server of that name
     */
    public ServerSnapshot server(String serverName) {
        for (ServerSnapshot s : servers) {
            if (s.name().equals(serverName)) {
                return s;
            }
        }
        throw new IllegalArgumentException("server: " + serverName + " (no such server in backend " + name + ")");
    }
}
