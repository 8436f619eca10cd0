package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.EventLoopGroup;
import java.util.Map;

/**
 * What a started proxy hands its engines: event loops, the transport, the clock and the runtime
 * state of every backend. For engine implementations, not for applications.
 */
public final class EngineContext {

    private final EventLoopGroup acceptGroup;
    private final EventLoopGroup ioGroup;
    private final Transport transport;
    private final Clock clock;
    private final Map<String, BackendRuntime> backends;

    public EngineContext(EventLoopGroup acceptGroup, EventLoopGroup ioGroup, Transport transport, Clock clock,
            Map<String, BackendRuntime> backends) {
        this.acceptGroup = acceptGroup;
        this.ioGroup = ioGroup;
        this.transport = transport;
        this.clock = clock;
        this.backends = Map.copyOf(backends);
    }

    /** The group whose loops accept connections. */
    public EventLoopGroup acceptGroup() {
        return acceptGroup;
    }

    /** The group whose loops serve connections, client and server side alike. */
    public EventLoopGroup ioGroup() {
        return ioGroup;
    }

    /** The transport the channels must use. */
    public Transport transport() {
        return transport;
    }

    /** The proxy's clock. */
    public Clock clock() {
        return clock;
    }

    /** Returns the runtime of a backend; build() has checked that every referenced one exists. */
    public BackendRuntime backend(String name) {
        BackendRuntime b = backends.get(name);
        if (b == null) {
            throw new IllegalArgumentException("backend: " + name + " (no such backend)");
        }
        return b;
    }

    /** Every backend's runtime, by name. */
    public Map<String, BackendRuntime> backends() {
        return backends;
    }
}
