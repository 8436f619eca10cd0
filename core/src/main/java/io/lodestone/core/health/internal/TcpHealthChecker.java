package io.lodestone.core.health.internal;

import io.lodestone.core.BackendTls;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.HealthCheckTarget;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.internal.BackendHandshake;
import io.lodestone.core.internal.NoSocketException;
import io.lodestone.core.internal.OffLoopResolver;
import io.lodestone.core.internal.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Healthy when a TCP connection to the server opens within the timeout, and for a backend with TLS
 * checked at the server's own address when its handshake completes within the same timeout too
 * (HAProxy's Layer 6 check of an {@code ssl} server); the connection is closed at once.
 */
final class TcpHealthChecker implements HealthChecker {

    private final EventLoopGroup group;
    private final Transport transport;
    private final BackendTls tls;

    TcpHealthChecker(EventLoopGroup group, Transport transport, BackendTls tls) {
        this.group = group;
        this.transport = transport;
        this.tls = tls;
    }

    /**
     * Connects a check's channel with {@code handler} to the target, within its timeout, resolving a
     * host name off the event loop; {@code null}, with {@code result} completed as a failed connect,
     * when no socket can be made (no file descriptor left: a failed check, as HAProxy's socket error).
     */
    static ChannelFuture connect(EventLoopGroup group, Transport transport, HealthCheckTarget target, ChannelHandler handler,
            CompletableFuture<HealthCheckResult> result) {
        try {
            return Transport.connect(new Bootstrap()
                    .group(group)
                    .channelFactory(transport.socketChannelFactory())
                    .resolver(OffLoopResolver.INSTANCE)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis(target))
                    .handler(handler), target.address());
        } catch (NoSocketException e) {
            result.complete(HealthCheckResult.unhealthy("connect failed: " + describe(e)));
            return null;
        }
    }

    @Override
    public CompletionStage<HealthCheckResult> check(HealthCheckTarget target) {
        CompletableFuture<HealthCheckResult> result = new CompletableFuture<>();
        // a check sent to a port or address of its own only connects, as HAProxy inherits ssl for checks only then
        BackendTls tls = target.address().equals(target.server().address()) ? this.tls : null;
        ChannelFuture connect = connect(group, transport, target, new ChannelInboundHandlerAdapter(), result);
        if (connect == null) {
            return result;
        }
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                result.complete(HealthCheckResult.unhealthy("connect failed: " + describe(f.cause())));
            } else if (tls == null) {
                f.channel().close();
                result.complete(HealthCheckResult.healthy("connected"));
            }
        });
        if (tls != null) {
            // the handshake gets what the connect left of the timeout, as the connect timeout of a server connection
            BackendHandshake.after(connect, tls, target.address(), null, null).addListener((ChannelFutureListener) f -> {
                f.channel().close();
                if (f.isSuccess()) {
                    result.complete(HealthCheckResult.healthy("connected, TLS handshake done"));
                } else if (connect.isSuccess()) {
                    result.complete(HealthCheckResult.unhealthy("TLS handshake failed: " + describe(f.cause())));
                }
            });
        }
        return result;
    }

    static int timeoutMillis(HealthCheckTarget target) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, target.timeout().toMillis()));
    }

    static String describe(Throwable cause) {
        if (cause == null) {
            return "unknown error";
        }
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
