package io.lodestone.l7;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test HTTP/1.1 server on 127.0.0.1 that records every request it receives (method, target,
 * headers, body size, connection) and answers through a scriptable {@link Responder}; the default
 * answers 200 with the body {@code name:target}.
 */
final class RecordingBackend implements AutoCloseable {

    /** What the backend saw of one request. */
    record Recorded(String method, String uri, HttpVersion version, HttpHeaders headers, long bodyBytes, String body, int connection) {
        String header(CharSequence name) {
            return headers.get(name);
        }
    }

    /** Answers a complete request; may write anything to the channel. */
    @FunctionalInterface
    interface Responder {
        void respond(Recorded request, ChannelHandlerContext ctx);
    }

    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    final String name;
    final List<Recorded> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final List<Channel> open = new CopyOnWriteArrayList<>();
    private final Channel server;
    volatile Responder responder;

    private RecordingBackend(String name, Responder responder) {
        this("127.0.0.1", name, responder);
    }

    private RecordingBackend(String host, String name, Responder responder) {
        this.name = name;
        this.responder = responder != null ? responder : (r, ctx) -> ok(ctx, name + ":" + r.uri(), Map.of());
        this.server = new ServerBootstrap()
                .group(GROUP)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        int id = connections.incrementAndGet();
                        open.add(ch);
                        ch.closeFuture().addListener(f -> open.remove(ch));
                        ch.pipeline().addLast(new HttpServerCodec(), new Recorder(id));
                    }
                })
                .bind(host, 0).syncUninterruptibly().channel();
    }

    static RecordingBackend start(String name) {
        return new RecordingBackend(name, null);
    }

    static RecordingBackend start(String name, Responder responder) {
        return new RecordingBackend(name, responder);
    }

    /** Starts a default backend listening on {@code host}, for example {@code ::1}. */
    static RecordingBackend startOn(String host, String name) {
        return new RecordingBackend(host, name, null);
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    String address() {
        return "127.0.0.1:" + port();
    }

    Recorded last() {
        return requests.get(requests.size() - 1);
    }

    static void ok(ChannelHandlerContext ctx, String body, Map<String, String> headers) {
        respond(ctx, HttpResponseStatus.OK, body, headers);
    }

    static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body, Map<String, String> headers) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        headers.forEach(r.headers()::add);
        ctx.writeAndFlush(r);
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Channel ch : open) {
            ch.close().syncUninterruptibly();
        }
    }

    private final class Recorder extends ChannelInboundHandlerAdapter {
        private final int connection;
        private HttpRequest request;
        private long bodyBytes;
        private StringBuilder body;

        Recorder(int connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest r) {
                    request = r;
                    bodyBytes = 0;
                    body = new StringBuilder();
                    if (HttpUtil.is100ContinueExpected(r)) {
                        ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
                    }
                }
                if (msg instanceof HttpContent c) {
                    int n = c.content().readableBytes();
                    bodyBytes += n;
                    if (body.length() < 4096) {
                        body.append(c.content().toString(StandardCharsets.UTF_8));
                    }
                    if (msg instanceof LastHttpContent) {
                        Recorded rec = new Recorded(request.method().name(), request.uri(), request.protocolVersion(),
                                request.headers().copy(), bodyBytes, body.toString(), connection);
                        requests.add(rec);
                        responder.respond(rec, ctx);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
