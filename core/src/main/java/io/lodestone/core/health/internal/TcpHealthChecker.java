package io.lodestone.core.health.internal;

import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.HealthCheckTarget;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.internal.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Healthy when a TCP connection to the server opens within the timeout; the connection is closed at once. */
final class TcpHealthChecker implements HealthChecker {

    private final EventLoopGroup group;
    private final Transport transport;

    TcpHealthChecker(EventLoopGroup group, Transport transport) {
        this.group = group;
        this.transport = transport;
    }

    @Override
    public CompletionStage<HealthCheckResult> check(HealthCheckTarget target) {
        CompletableFuture<HealthCheckResult> result = new CompletableFuture<>();
        new Bootstrap()
                .group(group)
                .channelFactory(transport.socketChannelFactory())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis(target))
                .handler(new ChannelInboundHandlerAdapter())
                .connect(target.address())
                .addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        f.channel().close();
                        result.complete(HealthCheckResult.healthy("connected"));
                    } else {
                        result.complete(HealthCheckResult.unhealthy("connect failed: " + describe(f.cause())));
                    }
                });
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
