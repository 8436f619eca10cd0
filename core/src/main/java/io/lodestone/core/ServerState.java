package io.lodestone.core;

/**
 * The administrative and health state of one server at run time. It is held apart from the
 * server's configuration: the administrative state set through {@link Proxy#control()} combined
 * with the health set by health checks and outlier detection (see {@link ServerControl}).
 */
public enum ServerState {
    /** Takes new connections and requests. */
    UP,
    /** Failed its health checks: takes nothing new; existing connections are left to the engine. */
    DOWN,
    /**
     * Being drained: gets no new client from balancing; existing connections and requests go on until
     * they finish, and clients persistent to the server (sticky cookie, source stick table) are still
     * sent to it while it is healthy.
     */
    DRAIN,
    /** In maintenance: takes nothing new, persistent clients included, as if removed from the backend. */
    MAINT;

    /**
     * Returns whether a server in this state may be chosen by balancing for a new connection or
     * request. A {@link #DRAIN} server still takes its persistent clients.
     *
     * @return whether a server in this state may be chosen by balancing for a new connection or request
     */
    public boolean acceptsNewTraffic() {
        return this == UP;
    }
}
