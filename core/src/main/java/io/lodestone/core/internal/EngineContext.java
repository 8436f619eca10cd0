package io.lodestone.core.internal;

import io.lodestone.core.health.internal.Http2Probe;
import io.lodestone.core.Clock;
import io.lodestone.core.limit.RateLimiter;
import io.lodestone.core.limit.RateLimiters;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.internal.MetricsRegistry;
import io.lodestone.core.trace.Tracing;
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
    private final MetricsRegistry metrics;
    private final AccessLog accessLog;
    private final Tracing tracing;
    private final RateLimiter rateLimiter;
    /** The HTTP engine's HTTP/2 side of HTTP health checks, once an HTTP frontend has started. */
    private volatile Http2Probe http2HealthProbe;

    /**
     * Creates a context with its own metrics registry, no access log, tracing off and an in-memory
     * rate limiter on {@code clock}: for engine tests.
     */
    public EngineContext(EventLoopGroup acceptGroup, EventLoopGroup ioGroup, Transport transport, Clock clock,
            Map<String, BackendRuntime> backends) {
        this(acceptGroup, ioGroup, transport, clock, backends, new MetricsRegistry(clock, backends.values()),
                AccessLog.off(), Tracing.off(), RateLimiters.inMemory(clock));
    }

    /** Creates the context a proxy hands its frontends. */
    public EngineContext(EventLoopGroup acceptGroup, EventLoopGroup ioGroup, Transport transport, Clock clock,
            Map<String, BackendRuntime> backends, MetricsRegistry metrics, AccessLog accessLog, Tracing tracing,
            RateLimiter rateLimiter) {
        this.acceptGroup = acceptGroup;
        this.ioGroup = ioGroup;
        this.transport = transport;
        this.clock = clock;
        this.backends = Map.copyOf(backends);
        this.metrics = metrics;
        this.accessLog = accessLog;
        this.tracing = tracing;
        this.rateLimiter = rateLimiter;
    }

    /**
     * The HTTP/2 side of HTTP health checks ({@link Http2Probe}), which the HTTP engine sets when one
     * of its frontends starts; {@code null} without one, and an HTTP check then speaks HTTP/1.1 only.
     */
    public Http2Probe http2HealthProbe() {
        return http2HealthProbe;
    }

    /** Sets {@link #http2HealthProbe()}: called by the HTTP engine. */
    public void http2HealthProbe(Http2Probe probe) {
        this.http2HealthProbe = probe;
    }

    /** Where rate-limiting rules keep their buckets: the proxy's, shared by every frontend and {@code proxy.route}. */
    public RateLimiter rateLimiter() {
        return rateLimiter;
    }

    /**
     * The proxy's metrics: {@code metrics().frontend(name)} gives a frontend's counters (fetch once
     * when the frontend starts); servers' and backends' counters are {@link ServerRuntime#metrics()}
     * and {@link BackendRuntime#metrics()}.
     */
    public MetricsRegistry metrics() {
        return metrics;
    }

    /** The access log; engines fill an entry only when {@link AccessLog#isEnabled()}. */
    public AccessLog accessLog() {
        return accessLog;
    }

    /** What to do with W3C trace context headers (HTTP engine). */
    public Tracing tracing() {
        return tracing;
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
