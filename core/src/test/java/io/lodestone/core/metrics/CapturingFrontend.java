package io.lodestone.core.metrics;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.testing.IdleListener;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;

/**
 * A frontend that binds nothing and keeps the {@link EngineContext} the proxy hands it, so that a test
 * can record on the metrics handles exactly as an engine does.
 */
public final class CapturingFrontend implements Frontend {

    private final String name;
    private final Set<String> backends;
    private volatile EngineContext context;

    public CapturingFrontend(String name, String... backends) {
        this.name = name;
        this.backends = Set.of(backends);
    }

    /** The context of the started proxy. */
    public EngineContext context() {
        if (context == null) {
            throw new IllegalStateException("the proxy is not started");
        }
        return context;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Set<String> backendNames() {
        return backends;
    }

    @Override
    public Listener start(EngineContext engineContext) {
        this.context = engineContext;
        return new IdleListener(List.of(new InetSocketAddress("127.0.0.1", 0)));
    }
}
