package io.lodestone.core.health.internal;

import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.HealthCheckTarget;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.BackendTls;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.BackendHandshake;
import io.lodestone.core.internal.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Sends a minimal HTTP/1.1 request (over TLS, after the handshake, when the backend has TLS and the
 * check goes to the server's own address; plain HTTP on a check port or address of its own, as HAProxy
 * checks such a port without ssl) with {@code Connection: close} and judges the response by its
 * status line (and, when configured, a substring of its body), parsed by {@link HttpResponseProbe}.
 * The whole probe, connect and TLS handshake included, is bounded by the check timeout, counted from
 * the call on the probe's event loop clock: when it runs out, the verdict is given and the connection
 * closed together, so no probe socket outlives the timeout the health monitor judges by. To the own
 * address of a server that speaks HTTP/2 (a backend of protocol {@code H2} or {@code H2C}) the request
 * is an HTTP/2 stream instead, sent by the HTTP engine's {@link Http2Probe} once the connection (and
 * the TLS handshake, which must choose {@code h2}) is up, under the same deadline.
 */
final class HttpHealthChecker implements HealthChecker {

    private final EventLoopGroup group;
    private final Transport transport;
    private final HealthCheck check;
    private final BackendTls tls;
    /** The HTTP/2 probe for servers that speak HTTP/2, or {@code null}: HTTP/1.1. */
    private final Http2Probe http2;

    HttpHealthChecker(EventLoopGroup group, Transport transport, HealthCheck check, BackendTls tls, Http2Probe http2) {
        this.group = group;
        this.transport = transport;
        this.check = check;
        this.tls = tls;
        this.http2 = http2;
    }

    @Override
    public CompletionStage<HealthCheckResult> check(HealthCheckTarget target) {
        CompletableFuture<HealthCheckResult> result = new CompletableFuture<>();
        // a check sent to a port or address of its own speaks plain HTTP, as HAProxy inherits ssl for checks only then
        boolean own = target.address().equals(target.server().address());
        BackendTls tls = own ? this.tls : null;
        String host = check.host() != null ? check.host() : Addresses.format(target.address());
        if (own && http2 != null) {
            // the servers' own port speaks HTTP/2 (h2c, or h2 chosen by ALPN); a port or address of
            // the check's own speaks HTTP/1.1 in plain text, as for any backend
            return checkHttp2(target, tls, host);
        }
        String request = check.method() + " " + check.path() + " HTTP/1.1\r\n"
                + "Host: " + host + "\r\n"
                + "User-Agent: lodestone-health-check\r\n"
                + "Accept: */*\r\n"
                + "Connection: close\r\n\r\n";
        Probe probe = new Probe(request, new HttpResponseProbe(check.minStatus(), check.maxStatus(), check.expectedBody()),
                result, tls != null);
        ChannelFuture connect = TcpHealthChecker.connect(group, transport, target, probe, result);
        if (connect == null) {
            return result;
        }
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                result.complete(HealthCheckResult.unhealthy("connect failed: " + TcpHealthChecker.describe(f.cause())));
            }
        });
        if (!connect.isDone() || connect.isSuccess()) {
            Channel ch = connect.channel();
            ScheduledFuture<?> deadline = deadline(ch, target, result);
            result.whenComplete((r, e) -> deadline.cancel(false));
        }
        if (tls != null) {
            BackendHandshake.after(connect, tls, target.address(), BackendHandshake.HTTP_1_1, null).addListener((ChannelFutureListener) f -> {
                if (f.isSuccess()) {
                    probe.send(f.channel().pipeline().context(probe));
                } else if (connect.isSuccess()) {
                    result.complete(HealthCheckResult.unhealthy("TLS handshake failed: " + TcpHealthChecker.describe(f.cause())));
                    f.channel().close();
                }
            });
        }
        return result;
    }

    /**
     * The probe's one deadline, from now (a slow connect does not extend it): fails {@code result}
     * unless it completed first, and closes the connection. The caller cancels it once {@code result} completes.
     */
    private static ScheduledFuture<?> deadline(Channel ch, HealthCheckTarget target, CompletableFuture<HealthCheckResult> result) {
        long timeoutNanos = target.timeout().toNanos();
        return ch.eventLoop().schedule(() -> {
            long ms = TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
            result.complete(HealthCheckResult.unhealthy(ch.isActive()
                    ? "no response within " + ms + " ms" : "not connected within " + ms + " ms"));
            ch.close();
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Connects (and with TLS shakes hands, the server having to choose {@code h2} by ALPN), then hands
     * the connection to {@link #http2}; one deadline bounds the whole probe, as over HTTP/1.1.
     */
    private CompletionStage<HealthCheckResult> checkHttp2(HealthCheckTarget target, BackendTls tls, String host) {
        CompletableFuture<HealthCheckResult> result = new CompletableFuture<>();
        // an h2c server sends its SETTINGS as soon as it accepts: nothing is read before the codec is
        // there to read it (over TLS the server speaks only after the handshake, which is awaited)
        ChannelFuture connect = TcpHealthChecker.connect(group, transport, target, tls == null ? NO_READS : new ChannelInboundHandlerAdapter(), result);
        if (connect == null) {
            return result;
        }
        Channel ch = connect.channel();
        ScheduledFuture<?> deadline = deadline(ch, target, result);
        result.whenComplete((r, e) -> {
            deadline.cancel(false);
            ch.close();
        });
        String scheme = tls != null ? "https" : "http";
        BackendHandshake.after(connect, tls, target.address(), BackendHandshake.H2, null).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                if (!result.isDone()) {
                    http2.start(ch, check, scheme, host, result);
                    ch.config().setAutoRead(true);
                }
            } else if (!connect.isSuccess()) {
                result.complete(HealthCheckResult.unhealthy("connect failed: " + TcpHealthChecker.describe(connect.cause())));
            } else {
                result.complete(HealthCheckResult.unhealthy("TLS handshake failed: " + TcpHealthChecker.describe(f.cause())));
            }
        });
        return result;
    }

    /** Keeps a new connection from reading until the HTTP/2 codec is set up on it. */
    private static final ChannelInboundHandlerAdapter NO_READS = new NoReads();

    @ChannelHandler.Sharable
    private static final class NoReads extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    /** One probe's channel handler: writes the request, feeds the response to the parser, closes when decided. */
    private static final class Probe extends ChannelInboundHandlerAdapter {
        private final String request;
        private final HttpResponseProbe parser;
        private final CompletableFuture<HealthCheckResult> result;
        private final boolean tls;

        Probe(String request, HttpResponseProbe parser, CompletableFuture<HealthCheckResult> result, boolean tls) {
            this.request = request;
            this.parser = parser;
            this.result = result;
            this.tls = tls;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (!tls) {
                send(ctx);
            }
        }

        /** Writes the request: at once on plain TCP, after the handshake with TLS. */
        void send(ChannelHandlerContext ctx) {
            if (result.isDone()) {
                return;
            }
            ByteBuf buf = ctx.alloc().buffer(request.length());
            buf.writeCharSequence(request, StandardCharsets.US_ASCII);
            ctx.writeAndFlush(buf).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    finish(ctx, HealthCheckResult.unhealthy("cannot send the request: " + TcpHealthChecker.describe(f.cause())));
                }
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (result.isDone()) {
                    return;
                }
                if (msg instanceof ByteBuf buf) {
                    HealthCheckResult r = parser.feed(buf);
                    if (r != null) {
                        finish(ctx, r);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(ctx, parser.end());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            for (Throwable t = cause; tls && t != null; t = t.getCause()) {
                if (t instanceof SSLException) {
                    // the handshake was done: a TLS 1.3 server's refusal of the client certificate, say
                    finish(ctx, HealthCheckResult.unhealthy("TLS failed after the handshake: " + BackendHandshake.reason(cause)));
                    return;
                }
            }
            finish(ctx, HealthCheckResult.unhealthy("I/O error: " + TcpHealthChecker.describe(cause)));
        }

        private void finish(ChannelHandlerContext ctx, HealthCheckResult r) {
            result.complete(r);
            ctx.close();
        }
    }
}
