package io.lodestone.l7;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;

/**
 * A test server on 127.0.0.1 speaking HTTP/1.1 or HTTP/2 (h2c, or h2 over TLS), optionally over TLS
 * with a client-certificate request, that records what it sees (connections, SNI, client
 * certificates, request headers and trailers, the most concurrent streams on one connection) and
 * answers {@code proto:path} with trailers ({@code grpc-status: 0}) as gRPC does, unless the path
 * starts with {@code /plain}. Paths starting with {@code /grpc-error} get a trailers-only answer,
 * those starting with {@code /reset} (HTTP/2) a RST_STREAM, {@code /big/N} (HTTP/2) N bytes of {@code x},
 * {@code /die} (HTTP/2) a head and some data, then the connection closes, {@code /status/N} (HTTP/2) HEADERS
 * with {@code :status N} as it is and the body {@code late}, {@code /edge-space} (HTTP/2) a 200 with a field
 * value ending in a space, {@code /edge-space-trailer} (HTTP/2) such a value in its trailers. Over
 * HTTP/2 it counts the PINGs it receives and acknowledges them, or swallows them ({@link #answerPings}).
 */
final class ProtocolBackend implements AutoCloseable {

    /** What the backend saw of one request. */
    record Seen(String path, HttpHeaders headers, HttpHeaders trailers, String body, int connection) {
    }

    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    final boolean h2;
    final List<Seen> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    /** The bytes this server has handed its connections' sockets, TLS records included. */
    final AtomicLong bytesSent = new AtomicLong();
    final List<String> serverNames = new CopyOnWriteArrayList<>();
    /** The ALPN protocol of each handshake, {@code ""} for none. */
    final List<String> applicationProtocols = new CopyOnWriteArrayList<>();
    final List<String> clientCertificates = new CopyOnWriteArrayList<>();
    final AtomicInteger handshakeFailures = new AtomicInteger();
    /** The most streams open at once on one connection. */
    final AtomicInteger maxConcurrent = new AtomicInteger();
    private final List<Channel> open = new CopyOnWriteArrayList<>();
    private final Map<Channel, AtomicInteger> active = new ConcurrentHashMap<>();
    private final Channel server;
    /** HTTP/2: how many ms each answer waits (0: at once). */
    volatile long delayMillis;
    /**
     * HTTP/2: when set, the first connection holds its first request until this many have arrived
     * on it, then sends GOAWAY naming that first request as the last it processes, and answers it.
     */
    volatile int goAwayAfter;
    private final AtomicBoolean goAwaySent = new AtomicBoolean();
    /** HTTP/2: the PINGs received (acknowledgements not counted). */
    final AtomicInteger pings = new AtomicInteger();
    /** HTTP/2: the reading of {@link #pingClock} when each PING arrived. */
    final List<Long> pingTimes = new CopyOnWriteArrayList<>();
    /** HTTP/2: the clock {@link #pingTimes} reads (a test's manual clock). */
    volatile java.util.function.LongSupplier pingClock = System::nanoTime;
    /** HTTP/2: whether PINGs are acknowledged (a server that swallows them when false; other frames are answered). */
    volatile boolean answerPings = true;

    private ProtocolBackend(boolean h2, SslContext tls, int maxConcurrentStreams) {
        this.h2 = h2;
        this.server = new ServerBootstrap()
                .group(GROUP)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        int id = connections.incrementAndGet();
                        open.add(ch);
                        ch.closeFuture().addListener(f -> open.remove(ch));
                        ChannelPipeline p = ch.pipeline();
                        p.addLast(new ChannelOutboundHandlerAdapter() {
                            @Override
                            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                                if (msg instanceof ByteBuf buf) {
                                    bytesSent.addAndGet(buf.readableBytes());
                                }
                                ctx.write(msg, promise);
                            }
                        });
                        if (tls != null) {
                            p.addLast(tls.newHandler(ch.alloc()));
                            p.addLast(new HandshakeRecorder());
                        }
                        if (h2) {
                            Http2Settings settings = Http2Settings.defaultSettings();
                            if (maxConcurrentStreams > 0) {
                                settings.maxConcurrentStreams(maxConcurrentStreams);
                            }
                            // PINGs are acknowledged by PingHandler, which counts them and may swallow them
                            p.addLast(Http2FrameCodecBuilder.forServer().initialSettings(settings).autoAckPingFrame(false).build());
                            p.addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                @Override
                                protected void initChannel(Http2StreamChannel stream) {
                                    stream.pipeline().addLast(new StreamHandler(id));
                                }
                            }));
                            p.addLast(new PingHandler());
                        } else {
                            p.addLast(new HttpServerCodec(), new Http1Handler(id));
                        }
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    static ProtocolBackend http1(SslContext tls) {
        return new ProtocolBackend(false, tls, 0);
    }

    static ProtocolBackend h2c(int maxConcurrentStreams) {
        return new ProtocolBackend(true, null, maxConcurrentStreams);
    }

    static ProtocolBackend h2(SslContext tls) {
        return new ProtocolBackend(true, tls, 0);
    }

    /** Server TLS (JDK provider, so that SNI is readable) with ALPN {@code alpn}; asks for a client certificate when {@code clientCa} is set. */
    static SslContext serverTls(X509Bundle certificate, X509Bundle clientCa, String... alpn) throws Exception {
        SslContextBuilder b = SslContextBuilder.forServer(certificate.getKeyPair().getPrivate(), certificate.getCertificatePath())
                .sslProvider(SslProvider.JDK);
        if (alpn.length > 0) {
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
        }
        if (clientCa != null) {
            b.clientAuth(ClientAuth.REQUIRE).trustManager(clientCa.getCertificate());
        }
        return b.build();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    String address() {
        return "127.0.0.1:" + port();
    }

    /** The connections open now. */
    int openConnections() {
        return open.size();
    }

    /**
     * Stops reading every connection open now, as a hung process or a peer gone without a FIN does:
     * requests and PINGs on them go unanswered. Connections made later are served.
     */
    void stopReadingOpenConnections() {
        for (Channel ch : open) {
            ch.eventLoop().submit(() -> ch.config().setAutoRead(false)).syncUninterruptibly();
        }
    }

    Seen last() {
        return requests.get(requests.size() - 1);
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Channel ch : open) {
            ch.close().syncUninterruptibly();
        }
    }

    private final class HandshakeRecorder extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (done.isSuccess()) {
                    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                    List<SNIServerName> names = ((ExtendedSSLSession) ssl.engine().getSession()).getRequestedServerNames();
                    serverNames.add(names.isEmpty() ? "" : ((SNIHostName) names.get(0)).getAsciiName());
                    applicationProtocols.add(ssl.applicationProtocol() == null ? "" : ssl.applicationProtocol());
                    try {
                        X509Certificate peer = (X509Certificate) ssl.engine().getSession().getPeerCertificates()[0];
                        clientCertificates.add(peer.getSubjectX500Principal().getName());
                    } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
                        // no client certificate
                    }
                } else {
                    handshakeFailures.incrementAndGet();
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** HTTP/2: counts the PINGs of a connection and acknowledges them, unless {@link #answerPings} is off. */
    private final class PingHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2PingFrame ping && !ping.ack()) {
                pingTimes.add(pingClock.getAsLong());
                pings.incrementAndGet();
                if (answerPings) {
                    ctx.writeAndFlush(new DefaultHttp2PingFrame(ping.content(), true));
                }
                return;
            }
            ReferenceCountUtil.release(msg);
        }
    }

    /** HTTP/1.1: records the request and its trailers, answers chunked with trailers. */
    private final class Http1Handler extends ChannelInboundHandlerAdapter {
        private final int connection;
        private HttpRequest request;
        private StringBuilder body;

        Http1Handler(int connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest r) {
                    request = r;
                    body = new StringBuilder();
                }
                if (msg instanceof HttpContent c) {
                    body.append(c.content().toString(StandardCharsets.UTF_8));
                    if (msg instanceof LastHttpContent last) {
                        requests.add(new Seen(request.uri(), request.headers().copy(), last.trailingHeaders().copy(), body.toString(), connection));
                        DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                        HttpUtil.setTransferEncodingChunked(head, true);
                        ctx.write(head);
                        ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("http1:" + request.uri(), StandardCharsets.UTF_8)));
                        LastHttpContent end = new DefaultLastHttpContent();
                        if (!request.uri().startsWith("/plain")) {
                            end.trailingHeaders().set("grpc-status", "0").set("x-trailer", "http1");
                        }
                        ctx.writeAndFlush(end);
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

    /** HTTP/2: one stream; records it and answers headers, data and trailers. */
    private final class StreamHandler extends ChannelInboundHandlerAdapter {
        private final int connection;
        private Http2Headers headers;
        private final StringBuilder body = new StringBuilder();
        private boolean counted;

        StreamHandler(int connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                boolean end = false;
                Http2Headers trailers = null;
                if (msg instanceof Http2HeadersFrame f) {
                    if (headers == null) {
                        headers = f.headers();
                        count(ctx);
                    } else {
                        trailers = f.headers();
                    }
                    end = f.isEndStream();
                } else if (msg instanceof Http2DataFrame d) {
                    body.append(d.content().toString(StandardCharsets.UTF_8));
                    end = d.isEndStream();
                }
                if (end) {
                    ended(ctx, trailers);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void count(ChannelHandlerContext ctx) {
            counted = true;
            int now = active.computeIfAbsent(ctx.channel().parent(), k -> new AtomicInteger()).incrementAndGet();
            maxConcurrent.accumulateAndGet(now, Math::max);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (counted) {
                active.get(ctx.channel().parent()).decrementAndGet();
            }
        }

        private void ended(ChannelHandlerContext ctx, Http2Headers trailers) {
            String path = headers.path().toString();
            HttpHeaders h = io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
            headers.forEach(e -> h.add(e.getKey().toString(), e.getValue().toString()));
            HttpHeaders t = io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
            if (trailers != null) {
                trailers.forEach(e -> t.add(e.getKey().toString(), e.getValue().toString()));
            }
            requests.add(new Seen(path, h, t, body.toString(), connection));
            int goAway = goAwayAfter;
            if (goAway > 0 && connection == 1 && !goAwaySent.get()) {
                holdForGoAway(ctx, goAway);
                return;
            }
            long delay = delayMillis;
            if (delay > 0) {
                ctx.executor().schedule(() -> answer(ctx, path), delay, TimeUnit.MILLISECONDS);
            } else {
                answer(ctx, path);
            }
        }

        private void holdForGoAway(ChannelHandlerContext ctx, int after) {
            Channel parent = ctx.channel().parent();
            List<Runnable> waiting = held.computeIfAbsent(parent, k -> new ArrayList<>());
            String path = headers.path().toString();
            int id = ((Http2StreamChannel) ctx.channel()).stream().id();
            waiting.add(() -> answer(ctx, path));
            if (waiting.size() == 1) {
                firstHeld.put(parent, id);
            }
            if (waiting.size() == after && goAwaySent.compareAndSet(false, true)) {
                Http2FrameCodec codec = parent.pipeline().get(Http2FrameCodec.class);
                ChannelHandlerContext codecCtx = parent.pipeline().context(codec);
                codec.goAway(codecCtx, firstHeld.get(parent), Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, codecCtx.newPromise());
                codecCtx.flush();
                waiting.get(0).run();
            }
        }

        private void answer(ChannelHandlerContext ctx, String path) {
            if (path.startsWith("/status/")) {
                // the :status as the path gives it, unchecked, and a body
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers(false).status(path.substring(8)).set("content-length", "4")));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("late", StandardCharsets.UTF_8), true));
                return;
            }
            if (path.startsWith("/edge-space-trailer")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                ctx.write(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("ok", StandardCharsets.UTF_8), false));
                ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers(false).set("x-t", "v "), true));
                return;
            }
            if (path.startsWith("/edge-space")) {
                ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers(false).status("200").set("x-edge", "v ")
                        .set("content-length", "0"), true));
                return;
            }
            if (path.startsWith("/reset")) {
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
                return;
            }
            if (path.startsWith("/die")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").set("content-type", "application/grpc")));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("partial", StandardCharsets.UTF_8), false))
                        .addListener(f -> ctx.channel().parent().close());
                return;
            }
            if (path.startsWith("/big/")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                byte[] big = new byte[Integer.parseInt(path.substring(5))];
                java.util.Arrays.fill(big, (byte) 'x');
                ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(big), true));
                bigStream = (Http2StreamChannel) ctx.channel();
                return;
            }
            if (path.startsWith("/grpc-error")) {
                ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")
                        .set("content-type", "application/grpc").set("grpc-status", "12"), true));
                return;
            }
            ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").set("content-type", "application/grpc")));
            ByteBuf data = Unpooled.copiedBuffer("h2:" + path, StandardCharsets.UTF_8);
            boolean plain = path.startsWith("/plain");
            ctx.write(new DefaultHttp2DataFrame(data, plain));
            if (!plain) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().set("grpc-status", "0").set("grpc-message", "ok"), true));
            }
            ctx.flush();
        }
    }

    private volatile Http2StreamChannel bigStream;

    /**
     * The window the client left the last {@code /big} stream, as this server sees it, or -1 before
     * such a stream or after it closed: 0 once the client stopped taking its data.
     */
    int bigStreamWindow() {
        Http2StreamChannel s = bigStream;
        if (s == null || !s.isActive()) {
            return -1;
        }
        return s.eventLoop().submit(() -> {
            Http2FrameCodec codec = s.parent().pipeline().get(Http2FrameCodec.class);
            io.netty.handler.codec.http2.Http2Stream stream = codec.connection().stream(s.stream().id());
            return stream == null ? -1 : codec.connection().remote().flowController().windowSize(stream);
        }).syncUninterruptibly().getNow();
    }

    private final Map<Channel, List<Runnable>> held = new ConcurrentHashMap<>();
    private final Map<Channel, Integer> firstHeld = new ConcurrentHashMap<>();

    /** The most streams on one connection seen at once (HTTP/2). */
    int maxConcurrentStreams() {
        return maxConcurrent.get();
    }
}
