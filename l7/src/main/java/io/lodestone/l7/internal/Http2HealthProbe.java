package io.lodestone.l7.internal;

import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.internal.Http2Probe;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * An HTTP health check's request to a server that speaks HTTP/2 (HAProxy's checks of a server with
 * {@code proto h2}): Netty's client frame codec, set up as for the pool's HTTP/2 connections
 * ({@link HttpPipeline#initHealthCheckHttp2}), and one stream carrying the check's request. The
 * verdict reads as over HTTP/1.1: {@code HTTP 200}, {@code HTTP 503 (expected: 200..399)}, and with an
 * expected body {@code HTTP 200, body matches} or {@code ..., body does not contain the expected text},
 * searched in the first 64 KiB of the body.
 */
public final class Http2HealthProbe implements Http2Probe {

    /** The probe: it holds no state. */
    public static final Http2HealthProbe INSTANCE = new Http2HealthProbe();

    /** The most body searched for the expected text, as over HTTP/1.1. */
    static final int MAX_BODY = 64 * 1024;
    private static final AsciiString USER_AGENT = AsciiString.cached("lodestone-health-check");
    private static final AsciiString ANY = AsciiString.cached("*/*");

    private Http2HealthProbe() {
    }

    @Override
    public void start(Channel connection, HealthCheck check, String scheme, String authority, CompletableFuture<HealthCheckResult> result) {
        HttpPipeline.initHealthCheckHttp2(connection);
        connection.pipeline().addLast(new ConnectionErrors(result));
        connection.closeFuture().addListener(f -> result.complete(
                HealthCheckResult.unhealthy("connection closed before the response was complete")));
        new Http2StreamChannelBootstrap(connection).handler(new Stream(check, result)).open().addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                result.complete(HealthCheckResult.unhealthy("cannot open a stream: " + f.cause()));
                return;
            }
            Http2Headers headers = new DefaultHttp2Headers()
                    .method(check.method()).scheme(scheme).authority(authority).path(check.path());
            headers.add(HttpHeaderNames.USER_AGENT, USER_AGENT).add(HttpHeaderNames.ACCEPT, ANY);
            f.getNow().writeAndFlush(new DefaultHttp2HeadersFrame(headers, true)).addListener((ChannelFutureListener) w -> {
                if (!w.isSuccess()) {
                    result.complete(HealthCheckResult.unhealthy("cannot send the request: " + w.cause()));
                }
            });
        });
    }

    /** An error on the connection that the codec passes on (a reset, say): the check fails with it. */
    private static final class ConnectionErrors extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<HealthCheckResult> result;

        ConnectionErrors(CompletableFuture<HealthCheckResult> result) {
            this.result = result;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.complete(HealthCheckResult.unhealthy("I/O error: " + cause));
            ctx.close();
        }
    }

    /** The check's stream: judges the response's status, then, when asked, its body. */
    private static final class Stream extends ChannelInboundHandlerAdapter {
        private final int minStatus;
        private final int maxStatus;
        private final byte[] expected;
        private final CompletableFuture<HealthCheckResult> result;
        private int status = -1;
        private byte[] body;
        private int size;

        Stream(HealthCheck check, CompletableFuture<HealthCheckResult> result) {
            this.minStatus = check.minStatus();
            this.maxStatus = check.maxStatus();
            this.expected = check.expectedBody() == null ? null : check.expectedBody().getBytes(StandardCharsets.UTF_8);
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (result.isDone()) {
                    return;
                }
                if (msg instanceof Http2HeadersFrame h) {
                    headers(h);
                } else if (msg instanceof Http2DataFrame d) {
                    data(d.content(), d.isEndStream());
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void headers(Http2HeadersFrame h) {
            if (status >= 0) {
                // trailers: the body ended without the expected text
                if (h.isEndStream()) {
                    bodyEnded();
                }
                return;
            }
            CharSequence s = h.headers().status();
            int code = parseStatus(s);
            if (code < 0) {
                result.complete(HealthCheckResult.unhealthy("invalid HTTP/2 response: :status " + s));
                return;
            }
            if (code < 200) {
                // an interim response: the final one follows
                return;
            }
            status = code;
            if (code < minStatus || code > maxStatus) {
                result.complete(HealthCheckResult.unhealthy("HTTP " + code + " (expected: " + minStatus + ".." + maxStatus + ")"));
            } else if (expected == null) {
                result.complete(HealthCheckResult.healthy("HTTP " + code));
            } else if (h.isEndStream()) {
                bodyEnded();
            } else {
                body = new byte[Math.min(MAX_BODY, 4096)];
            }
        }

        private void data(ByteBuf content, boolean end) {
            if (body == null) {
                return;
            }
            int n = Math.min(content.readableBytes(), MAX_BODY - size);
            if (size + n > body.length) {
                body = Arrays.copyOf(body, Math.min(MAX_BODY, Math.max(size + n, body.length * 2)));
            }
            content.getBytes(content.readerIndex(), body, size, n);
            size += n;
            if (contains()) {
                result.complete(HealthCheckResult.healthy("HTTP " + status + ", body matches"));
            } else if (end || size >= MAX_BODY) {
                bodyEnded();
            }
        }

        private void bodyEnded() {
            result.complete(contains() ? HealthCheckResult.healthy("HTTP " + status + ", body matches")
                    : HealthCheckResult.unhealthy("HTTP " + status + ", body does not contain the expected text"));
        }

        private boolean contains() {
            outer:
            for (int i = 0; i + expected.length <= size; i++) {
                for (int j = 0; j < expected.length; j++) {
                    if (body[i + j] != expected[j]) {
                        continue outer;
                    }
                }
                return true;
            }
            return false;
        }

        private static int parseStatus(CharSequence s) {
            if (s == null || s.length() != 3) {
                return -1;
            }
            int code = 0;
            for (int i = 0; i < 3; i++) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    return -1;
                }
                code = code * 10 + (c - '0');
            }
            return code >= 100 ? code : -1;
        }

        /** The multiplexer hands a stream the server's RST_STREAM as an event, then closes it. */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof Http2ResetFrame r) {
                result.complete(HealthCheckResult.unhealthy("stream reset by the server (error " + r.errorCode() + ")"));
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!result.isDone()) {
                if (status >= 0 && expected != null) {
                    bodyEnded();
                } else {
                    result.complete(HealthCheckResult.unhealthy("stream closed before the response was complete"));
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.complete(HealthCheckResult.unhealthy("HTTP/2 error: " + cause));
            ctx.close();
        }
    }
}
