package io.lodestone.core.internal;

import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerListener;
import io.lodestone.core.ServerState;
import io.lodestone.core.health.HealthCheckResult;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The listeners of one proxy, and the log of state changes. */
public final class ServerEvents {

    private static final Logger log = LoggerFactory.getLogger(ServerEvents.class);

    private final CopyOnWriteArrayList<ServerListener> listeners = new CopyOnWriteArrayList<>();

    public void add(ServerListener listener) {
        listeners.addIfAbsent(Objects.requireNonNull(listener, "listener"));
    }

    public void remove(ServerListener listener) {
        listeners.remove(listener);
    }

    void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason) {
        if (log.isInfoEnabled()) {
            log.info("server {}/{} is {} (was {}): {}", server.backendName(), server.server().name(), current, previous, reason);
        }
        for (ServerListener l : listeners) {
            try {
                l.stateChanged(server, previous, current, reason);
            } catch (RuntimeException e) {
                log.warn("server listener {} failed", l, e);
            }
        }
    }

    /** Publishes a health check result. */
    public void checked(ServerControl server, HealthCheckResult result) {
        for (ServerListener l : listeners) {
            try {
                l.checked(server, result);
            } catch (RuntimeException e) {
                log.warn("server listener {} failed", l, e);
            }
        }
    }
}
