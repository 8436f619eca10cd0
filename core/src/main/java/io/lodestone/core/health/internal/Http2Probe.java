package io.lodestone.core.health.internal;

import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.netty.channel.Channel;
import java.util.concurrent.CompletableFuture;

/**
 * The HTTP/2 side of an HTTP health check, for a backend whose servers speak HTTP/2 (HAProxy checks
 * a server of {@code proto h2} in h2 too): the HTTP engine supplies it, as core has no HTTP/2 codec.
 * {@link HttpHealthChecker} makes the connection (and its TLS handshake, which must choose
 * {@code h2}), bounds the whole probe by the check's timeout, and closes the connection once
 * {@code result} completes.
 */
@FunctionalInterface
public interface Http2Probe {

    /**
     * On {@code connection}'s event loop, once it is up: sets up the HTTP/2 client codec on it, sends
     * the check's request as one stream ({@code :scheme} {@code scheme}, {@code :authority}
     * {@code authority}) and completes {@code result} with the verdict on the response's status and,
     * when the check expects one, its body, judged as {@link HttpHealthChecker} judges an HTTP/1.1
     * response.
     */
    void start(Channel connection, HealthCheck check, String scheme, String authority, CompletableFuture<HealthCheckResult> result);
}
