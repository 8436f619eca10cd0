package io.lodestone.core.route;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import java.util.Set;

/**
 * A frontend that is only routed, never started: the engines' seam without an engine, for tests of
 * {@code proxy.route(...)}.
 */
public record RoutedFrontend(String name, Routing routing) implements Frontend {
    @Override
    public Set<String> backendNames() {
        return routing.backendNames();
    }

    /** An HTTP frontend unless its routing is connection-only, as the engines' frontends are. */
    @Override
    public boolean isHttp() {
        return !routing.isConnectionOnly();
    }

    @Override
    public Listener start(EngineContext context) {
        throw new UnsupportedOperationException("routing-only test frontend");
    }
}
