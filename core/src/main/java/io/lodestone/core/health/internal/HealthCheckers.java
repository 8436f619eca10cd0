package io.lodestone.core.health.internal;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.BackendTls;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.internal.Transport;
import io.netty.channel.EventLoopGroup;

/** Makes the checker of a {@link HealthCheck}: the application's own, or a built-in one on the proxy's event loops. */
public final class HealthCheckers {

    private HealthCheckers() {
    }

    /** Returns the checker that runs {@code check}. */
    public static HealthChecker create(HealthCheck check, EventLoopGroup group, Transport transport) {
        return create(check, null, group, transport);
    }

    /**
     * Returns the checker that runs {@code check}; a TCP or HTTP check speaks {@code tls} when it is
     * not null (a TCP check completes the handshake, then closes).
     */
    public static HealthChecker create(HealthCheck check, BackendTls tls, EventLoopGroup group, Transport transport) {
        return switch (check.type()) {
            case CUSTOM -> check.checker();
            case TCP -> new TcpHealthChecker(group, transport, tls);
            case HTTP -> new HttpHealthChecker(group, transport, check, tls, null);
        };
    }

    /**
     * Returns the checker that runs {@code backend}'s {@code check}, over its TLS; an HTTP check of a
     * backend whose servers speak HTTP/2 ({@link BackendProtocol#H2}, {@link BackendProtocol#H2C})
     * speaks HTTP/2 to their own address through {@code http2}, the HTTP engine's, when there is one.
     */
    public static HealthChecker create(HealthCheck check, Backend backend, EventLoopGroup group, Transport transport, Http2Probe http2) {
        if (check.type() == HealthCheck.Type.HTTP) {
            boolean h2 = backend.protocol() != BackendProtocol.HTTP_1_1;
            return new HttpHealthChecker(group, transport, check, backend.tls(), h2 ? http2 : null);
        }
        return create(check, backend.tls(), group, transport);
    }
}
