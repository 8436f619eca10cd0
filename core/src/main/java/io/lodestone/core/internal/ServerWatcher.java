package io.lodestone.core.internal;

/** Watches the servers of one backend: the health monitor, told of servers added and removed at run time. */
public interface ServerWatcher {

    /** Starts watching a server. */
    void watch(ServerRuntime server);

    /** Stops watching a server. */
    void unwatch(ServerRuntime server);

    /** Checks the server soon, without waiting for the rest of its interval; a probe in flight is not counted. */
    void recheck(ServerRuntime server);

    /** Stops watching every server. */
    void stop();
}
