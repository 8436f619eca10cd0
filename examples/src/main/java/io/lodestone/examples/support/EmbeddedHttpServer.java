package io.lodestone.examples.support;

import io.lodestone.examples.Running;
import io.lodestone.tls.ServerTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tiny HTTP/1.1 server on Netty that examples and their tests run as backends: it answers every
 * request from a {@link Handler}, by default with {@code hello from NAME: GET /path}. Keep-alive is
 * honoured; {@code Connection: close}, in the request or in the handler's {@link Reply#headers()},
 * closes after the response. Every response carries the header
 * {@code x-served-by: NAME}.
 *
 * <pre>{@code
 * try (EmbeddedHttpServer web1 = EmbeddedHttpServer.start("web1", "127.0.0.1", 0)) {
 *     Backend app = Backend.named("app").server("web1", web1.hostPort()).build();
 *     ...
 * }
 * }</pre>
 */
public final class EmbeddedHttpServer implements Running {

    /** The response header naming the server that answered. */
    public static final String SERVED_BY = "x-served-by";

    private static final int MAX_REQUEST_BYTES = 1 << 20;

    private final String name;
    private final Handler handler;
    private final ServerTls tls;
    private final EventLoopGroup group;
    private final ChannelGroup channels;
    private final AtomicLong requests = new AtomicLong();
    private InetSocketAddress address;

    private EmbeddedHttpServer(String name, Handler handler, ServerTls tls) {
        this.name = name;
        this.handler = handler;
        this.tls = tls;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(name, true), NioIoHandler.newFactory());
        this.channels = new DefaultChannelGroup(name, GlobalEventExecutor.INSTANCE);
    }

    /** Starts a server answering {@link #hello(Request)} on {@code host:port} (port 0: chosen by the OS). */
    public static EmbeddedHttpServer start(String name, String host, int port) {
        return start(name, host, port, EmbeddedHttpServer::hello);
    }

    /**
     * Starts a server answering with {@code handler} on {@code host:port} (port 0: chosen by the OS);
     * returns once it listens.
     *
     * @throws IllegalStateException when the address cannot be bound
     */
    public static EmbeddedHttpServer start(String name, String host, int port, Handler handler) {
        return start(name, host, port, null, handler);
    }

    /**
     * Starts an HTTPS server that terminates TLS itself with {@code tls} (its own certificate) and
     * answers with {@code handler}; returns once it listens. The server does not close {@code tls}.
     *
     * @throws IllegalStateException when the address cannot be bound
     */
    public static EmbeddedHttpServer startTls(String name, String host, int port, ServerTls tls, Handler handler) {
        return start(name, host, port, Objects.requireNonNull(tls, "tls"), handler);
    }

    private static EmbeddedHttpServer start(String name, String host, int port, ServerTls tls, Handler handler) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(handler, "handler");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        EmbeddedHttpServer server = new EmbeddedHttpServer(name, handler, tls);
        server.bind(new InetSocketAddress(host, port));
        return server;
    }

    /** The default answer: {@code hello from NAME: METHOD URI}, as plain text. */
    public static Reply hello(Request request) {
        return Reply.text("hello from " + request.serverName() + ": " + request.method() + " " + request.uri() + "\n");
    }

    private void bind(InetSocketAddress bindAddress) {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        if (tls != null) {
                            ch.pipeline().addLast("tls", tls.newHandler());
                        }
                        ch.pipeline()
                                .addLast("codec", new HttpServerCodec())
                                .addLast("aggregator", new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                .addLast("handler", new RequestHandler());
                    }
                });
        ChannelFuture bound = b.bind(bindAddress).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            throw new IllegalStateException(name + ": cannot listen on " + bindAddress + ": " + bound.cause().getMessage(), bound.cause());
        }
        Channel server = bound.channel();
        channels.add(server);
        address = (InetSocketAddress) server.localAddress();
    }

    /** The server's name, as it appears in its answers. */
    public String name() {
        return name;
    }

    /** The address the server listens on. */
    public InetSocketAddress address() {
        return address;
    }

    /** The port the server listens on. */
    public int port() {
        return address.getPort();
    }

    /** The listening address as {@code host:port}, ready for {@code Backend.server(name, address)}. */
    public String hostPort() {
        String host = address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** How many requests the server has answered. */
    public long requests() {
        return requests.get();
    }

    /** Closes the listening socket and every open connection, and stops the server's thread. */
    @Override
    public void close() {
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "EmbeddedHttpServer{" + name + " " + address + "}";
    }

    /** Answers one request; called on the server's I/O thread, so it must not block. */
    @FunctionalInterface
    public interface Handler {
        /** Returns the reply to {@code request}. */
        Reply handle(Request request);
    }

    /** What a {@link Handler} sees of a request. */
    public static final class Request {
        private final String serverName;
        private final String method;
        private final String uri;
        private final HttpHeaders headers;
        private final String body;

        Request(String serverName, FullHttpRequest request) {
            this.serverName = serverName;
            this.method = request.method().name();
            this.uri = request.uri();
            this.headers = request.headers();
            this.body = request.content().toString(StandardCharsets.UTF_8);
        }

        /** The name of the server that received the request. */
        public String serverName() {
            return serverName;
        }

        /** The request method, e.g. {@code GET}. */
        public String method() {
            return method;
        }

        /** The request target as sent, path and query. */
        public String uri() {
            return uri;
        }

        /** The first value of a request header, or {@code null}. */
        public String header(String name) {
            return headers.get(name);
        }

        /** The request body as UTF-8 text; empty when there is none. */
        public String body() {
            return body;
        }
    }

    /**
     * A response: status, content type and a text body.
     *
     * @param status the HTTP status code
     * @param contentType the {@code content-type} header
     * @param body the body, sent as UTF-8
     * @param headers more response headers, in order; {@code Connection: close} closes the connection
     *        after the response
     * @param delay how long the server waits before it answers (without blocking its event loop)
     */
    public record Reply(int status, String contentType, String body, Map<String, String> headers, Duration delay) {

        /** Checks the fields. */
        public Reply {
            if (status < 100 || status > 999) {
                throw new IllegalArgumentException("status: " + status + " (expected: 100..999)");
            }
            Objects.requireNonNull(contentType, "contentType");
            Objects.requireNonNull(body, "body");
            headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
            if (delay.isNegative()) {
                throw new IllegalArgumentException("delay: " + delay + " (expected: >= 0)");
            }
        }

        /** A reply without more headers, sent at once. */
        public Reply(int status, String contentType, String body) {
            this(status, contentType, body, Map.of(), Duration.ZERO);
        }

        /** This reply with one more header. */
        public Reply withHeader(String name, String value) {
            Map<String, String> more = new LinkedHashMap<>(headers);
            more.put(name, value);
            return new Reply(status, contentType, body, more, delay);
        }

        /** This reply sent after {@code delay}. */
        public Reply after(Duration delay) {
            return new Reply(status, contentType, body, headers, delay);
        }

        /** A 200 response with a plain-text body. */
        public static Reply text(String body) {
            return new Reply(200, "text/plain; charset=utf-8", body);
        }

        /** A response of the given status with a plain-text body. */
        public static Reply text(int status, String body) {
            return new Reply(status, "text/plain; charset=utf-8", body);
        }
    }

    private final class RequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            if (!request.decoderResult().isSuccess()) {
                respond(ctx, request, Reply.text(400, "bad request\n"), false);
                return;
            }
            requests.incrementAndGet();
            Reply reply;
            try {
                reply = handler.handle(new Request(name, request));
            } catch (RuntimeException e) {
                reply = Reply.text(500, "handler failed: " + e + "\n");
            }
            respond(ctx, request, reply, HttpUtil.isKeepAlive(request));
        }

        private void respond(ChannelHandlerContext ctx, FullHttpRequest request, Reply reply, boolean keepAlive) {
            byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
            boolean head = HttpMethod.HEAD.equals(request.method());
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(reply.status()),
                    head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            HttpHeaders h = response.headers();
            h.set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            h.set(SERVED_BY, name);
            reply.headers().forEach(h::set);
            // a Connection: close among the handler's fields closes the connection too
            boolean open = keepAlive && HttpUtil.isKeepAlive(response);
            if (!open) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            if (!reply.delay().isZero()) {
                ctx.executor().schedule(() -> write(ctx, response, open), reply.delay().toNanos(), TimeUnit.NANOSECONDS);
                return;
            }
            write(ctx, response, open);
        }

        private void write(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
            if (!ctx.channel().isActive()) {
                response.release();
                return;
            }
            ChannelFuture written = ctx.writeAndFlush(response);
            if (!keepAlive) {
                written.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
