package io.lodestone.l7;

import static io.lodestone.l7.Http2Test.frame;
import static io.lodestone.l7.Http2Test.h2c;
import static io.lodestone.l7.Http2Test.literals;
import static io.lodestone.l7.Http2Test.resetCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.ReferenceCountUtil;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * WebSocket over HTTP/2 (RFC 8441) from clients to HTTP/1.1 servers, on real sockets: a Netty HTTP/2
 * client opens extended CONNECT streams through the proxy to a Netty WebSocket echo server.
 */
class Http2WebSocketTest {

    private static final int PROTOCOL_ERROR = 1;

    private EventLoopGroup group;
    private Channel echo;
    private final List<HttpHeaders> upgrades = new CopyOnWriteArrayList<>();
    private final AtomicInteger serverConnections = new AtomicInteger();
    private final AtomicInteger serverConnectionsClosed = new AtomicInteger();
    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;
    private Channel client;

    @BeforeEach
    void startEcho() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        echo = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        serverConnections.incrementAndGet();
                        ch.closeFuture().addListener(f -> serverConnectionsClosed.incrementAndGet());
                        ch.pipeline().addLast(new HttpServerCodec(), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof HttpRequest r) {
                                    upgrades.add(r.headers().copy());
                                }
                                ctx.fireChannelRead(msg);
                            }
                        }, new HttpObjectAggregator(65536), new WebSocketServerProtocolHandler("/ws"),
                                new SimpleChannelInboundHandler<Object>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
                                        if (msg instanceof FullHttpRequest) {
                                            // not the WebSocket path: an ordinary answer
                                            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                                    HttpResponseStatus.NOT_FOUND, Unpooled.copiedBuffer("no", StandardCharsets.US_ASCII));
                                            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 2);
                                            ctx.writeAndFlush(r);
                                        } else if (msg instanceof TextWebSocketFrame frame) {
                                            if (frame.text().equals("close")) {
                                                ctx.writeAndFlush(new CloseWebSocketFrame(1000, "server bye"))
                                                        .addListener(ChannelFutureListener.CLOSE);
                                                return;
                                            }
                                            ctx.writeAndFlush(new TextWebSocketFrame("echo: " + frame.text()));
                                        }
                                    }
                                });
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close().syncUninterruptibly();
        }
        if (proxy != null) {
            proxy.close();
        }
        echo.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private int echoPort() {
        return ((InetSocketAddress) echo.localAddress()).getPort();
    }

    private int startProxy(String server, boolean on) {
        return startProxy(Backend.named("ws").server("e1", server), HttpFrontend.bind("127.0.0.1:0").h2c(true).websocketOverHttp2(on));
    }

    private int startProxy(Backend.Builder backend, HttpFrontend.Builder frontend) {
        proxy = Proxy.builder().accessLog(AccessLog.text(lines)).backend(backend)
                .frontend(frontend.name("web").defaultBackend("ws")).build();
        proxy.start();
        return proxy.port();
    }

    // ---------------------------------------------------------------- the client

    /** What one stream of the client received. */
    static final class Probe extends ChannelInboundHandlerAdapter {
        final LinkedBlockingQueue<Http2Headers> headers = new LinkedBlockingQueue<>();
        /** The stream's bytes (the first MiB), and how far the frames were read. */
        private final java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        private int read;
        final AtomicLong dataBytes = new AtomicLong();
        final AtomicBoolean endStream = new AtomicBoolean();
        final AtomicLong reset = new AtomicLong(-1);
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        volatile boolean pauseAfterHeaders;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame h) {
                headers.add(h.headers());
                if (h.isEndStream()) {
                    endStream.set(true);
                }
                if (pauseAfterHeaders) {
                    ctx.channel().config().setAutoRead(false);
                }
            } else if (msg instanceof Http2DataFrame d) {
                dataBytes.addAndGet(d.content().readableBytes());
                synchronized (data) {
                    if (data.size() < 1 << 20) {
                        byte[] b = new byte[d.content().readableBytes()];
                        d.content().readBytes(b);
                        data.writeBytes(b);
                    }
                }
                if (d.isEndStream()) {
                    endStream.set(true);
                }
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame r) {
                reset.set(r.errorCode());
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed.complete(null);
        }

        Http2Headers response() throws InterruptedException {
            Http2Headers h = headers.poll(10, TimeUnit.SECONDS);
            assertThat(h).as("response HEADERS").isNotNull();
            return h;
        }

        /** The next unmasked WebSocket frame from the server: its opcode and payload as text. */
        String nextFrame() {
            String[] out = new String[1];
            Await.until(Duration.ofSeconds(10), "a WebSocket frame", () -> {
                synchronized (data) {
                    byte[] all = data.toByteArray();
                    if (all.length - read < 2) {
                        return false;
                    }
                    int len = all[read + 1] & 0x7f;
                    if (all.length - read < 2 + len) {
                        return false;
                    }
                    int op = all[read] & 0x0f;
                    byte[] p = java.util.Arrays.copyOfRange(all, read + 2, read + 2 + len);
                    read += 2 + len;
                    out[0] = op + ":" + (op == 8 ? new String(p, 2, p.length - 2, StandardCharsets.UTF_8) : new String(p, StandardCharsets.UTF_8));
                    return true;
                }
            });
            return out[0];
        }
    }

    /** A masked client frame (RFC 6455, 5.3) of {@code opcode} with {@code payload} (under 126 bytes). */
    static ByteBuf clientFrame(int opcode, byte[] payload) {
        ByteBuf b = Unpooled.buffer(6 + payload.length);
        b.writeByte(0x80 | opcode);
        b.writeByte(0x80 | payload.length);
        byte[] mask = {0x11, 0x22, 0x33, 0x44};
        b.writeBytes(mask);
        for (int i = 0; i < payload.length; i++) {
            b.writeByte(payload[i] ^ mask[i % 4]);
        }
        return b;
    }

    static ByteBuf text(String s) {
        return clientFrame(1, s.getBytes(StandardCharsets.UTF_8));
    }

    static ByteBuf close(int code) {
        return clientFrame(8, new byte[] {(byte) (code >> 8), (byte) code});
    }

    private final LinkedBlockingQueue<Http2Settings> settings = new LinkedBlockingQueue<>();

    /** An HTTP/2 connection to the proxy, h2c or, with {@code tls}, over TLS with ALPN h2. */
    private Channel connect(int port, SslContext tls) throws Exception {
        client = new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (tls != null) {
                    ch.pipeline().addLast(tls.newHandler(ch.alloc(), "127.0.0.1", port));
                }
                ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                        new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof Http2SettingsFrame s) {
                                    settings.add(s.settings());
                                }
                                ReferenceCountUtil.release(msg);
                            }
                        });
            }
        }).connect("127.0.0.1", port).sync().channel();
        Http2Settings first = settings.poll(10, TimeUnit.SECONDS);
        assertThat(first).as("the proxy's SETTINGS").isNotNull();
        assertThat(first.connectProtocolEnabled()).as("SETTINGS_ENABLE_CONNECT_PROTOCOL").isTrue();
        return client;
    }

    private Http2StreamChannel open(Probe probe) throws Exception {
        return new Http2StreamChannelBootstrap(client).handler(probe).open().sync().getNow();
    }

    private static Http2Headers extendedConnect(String path) {
        Http2Headers h = new DefaultHttp2Headers().method("CONNECT").scheme("http").path(path).authority("chat.example");
        h.set(":protocol", "websocket");
        h.set("sec-websocket-version", "13");
        h.set("sec-websocket-protocol", "chat");
        h.set("origin", "http://chat.example");
        h.add("cookie", "a=1");
        h.add("cookie", "b=2");
        return h;
    }

    /** Opens a WebSocket on a new stream; returns the stream once its 200 is in. */
    private Http2StreamChannel webSocket(Probe probe, String path) throws Exception {
        Http2StreamChannel s = open(probe);
        s.writeAndFlush(new DefaultHttp2HeadersFrame(extendedConnect(path), false)).sync();
        Http2Headers response = probe.response();
        assertThat(response.status().toString()).isEqualTo("200");
        return s;
    }

    // ---------------------------------------------------------------- tunnels

    @Test
    void masksFramesThroughAndEchoesThemBack() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = webSocket(p, "/ws");
        s.writeAndFlush(new DefaultHttp2DataFrame(text("hello"))).sync();
        assertThat(p.nextFrame()).isEqualTo("1:echo: hello");
        s.writeAndFlush(new DefaultHttp2DataFrame(text("again"))).sync();
        assertThat(p.nextFrame()).isEqualTo("1:echo: again");

        HttpHeaders seen = upgrades.get(0);
        assertThat(seen.get("upgrade")).isEqualToIgnoringCase("websocket");
        assertThat(seen.get("connection")).isEqualToIgnoringCase("upgrade");
        assertThat(seen.get("sec-websocket-version")).isEqualTo("13");
        assertThat(Base64.getDecoder().decode(seen.get("sec-websocket-key"))).hasSize(16);
        assertThat(seen.get("sec-websocket-protocol")).isEqualTo("chat");
        assertThat(seen.get("origin")).isEqualTo("http://chat.example");
        assertThat(seen.get("cookie")).isEqualTo("a=1; b=2");
        assertThat(seen.get("host")).isEqualTo("chat.example");
        assertThat(seen.get("x-forwarded-for")).isEqualTo("127.0.0.1");

        // the client closes: its close frame, the server's answer and its FIN reach the client as END_STREAM
        s.writeAndFlush(new DefaultHttp2DataFrame(close(1000))).sync();
        assertThat(p.nextFrame()).isEqualTo("8:");
        Await.until("the server's end as END_STREAM", p.endStream::get);
        assertThat(p.reset.get()).isEqualTo(-1);
        s.writeAndFlush(new DefaultHttp2DataFrame(true)).sync();
        p.closed.get(10, TimeUnit.SECONDS);
        assertThat(p.reset.get()).as("no RST_STREAM after both ends").isEqualTo(-1);
        Await.until("the tunnel's log line", () -> lines.lines().stream().anyMatch(l -> l.contains("GET /ws")));
        String line = lines.lines().stream().filter(l -> l.contains("GET /ws")).findFirst().orElseThrow();
        assertThat(line).contains(" 101 ").contains("HTTP/2.0");
        Await.until("the tunnel counted", () -> proxy.metrics().frontend("web").traffic().requests() == 1);
    }

    @Test
    void theServersCloseEndsTheStreamAndTheResponseHasNoHandshakeFields() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = open(p);
        s.writeAndFlush(new DefaultHttp2HeadersFrame(extendedConnect("/ws"), false)).sync();
        Http2Headers h = p.response();
        assertThat(h.status().toString()).isEqualTo("200");
        assertThat(h.contains("sec-websocket-accept")).isFalse();
        assertThat(h.contains("upgrade")).isFalse();
        assertThat(h.contains("connection")).isFalse();
        assertThat(h.get("sec-websocket-protocol")).isNull();
        s.writeAndFlush(new DefaultHttp2DataFrame(text("close"))).sync();
        assertThat(p.nextFrame()).isEqualTo("8:server bye");
        Await.until("END_STREAM after the server's FIN", p.endStream::get);
        assertThat(p.reset.get()).isEqualTo(-1);
    }

    @Test
    void theClientsEndStreamHalfClosesTheServerAndItsResetResetsIt() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe p1 = new Probe();
        Http2StreamChannel s1 = webSocket(p1, "/ws");
        s1.writeAndFlush(new DefaultHttp2DataFrame(text("one"), true)).sync();
        assertThat(p1.nextFrame()).isEqualTo("1:echo: one");
        // the server closes once its input ends (no half-close in Netty's default), which ends the stream
        p1.closed.get(10, TimeUnit.SECONDS);
        assertThat(p1.reset.get()).isEqualTo(-1);

        Probe p2 = new Probe();
        Http2StreamChannel s2 = webSocket(p2, "/ws");
        s2.writeAndFlush(new DefaultHttp2DataFrame(text("two"))).sync();
        assertThat(p2.nextFrame()).isEqualTo("1:echo: two");
        int closedBefore = serverConnectionsClosed.get();
        s2.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)).sync();
        Await.until("the server connection closed after the client's reset", () -> serverConnectionsClosed.get() > closedBefore);
        Await.until("the reset logged", () -> lines.lines().stream().filter(l -> l.contains("GET /ws")).count() == 2);
        assertThat(lines.lines().stream().filter(l -> l.contains("GET /ws")).toList().get(1)).contains(" CD");
    }

    @Test
    void whatTheClientSendsBeforeThe200ReachesTheServerFirst() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = open(p);
        s.write(new DefaultHttp2HeadersFrame(extendedConnect("/ws"), false));
        s.writeAndFlush(new DefaultHttp2DataFrame(text("eager"))).sync();
        assertThat(p.response().status().toString()).isEqualTo("200");
        assertThat(p.nextFrame()).isEqualTo("1:echo: eager");
        s.writeAndFlush(new DefaultHttp2DataFrame(text("then"))).sync();
        assertThat(p.nextFrame()).isEqualTo("1:echo: then");
    }

    @Test
    void theRulesSeeAGetOfThePath() throws Exception {
        int port = startProxy(Backend.named("ws").server("e1", "127.0.0.1:" + echoPort()),
                HttpFrontend.bind("127.0.0.1:0").h2c(true).websocketOverHttp2(true)
                        .rule(io.lodestone.core.route.Rule.when(io.lodestone.core.route.Acl.pathBegins("/admin")).deny(403)));
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = open(p);
        s.writeAndFlush(new DefaultHttp2HeadersFrame(extendedConnect("/admin/ws"), false)).sync();
        assertThat(p.response().status().toString()).isEqualTo("403");
        assertThat(serverConnections.get()).isZero();
        Await.until("the denied handshake logged", () -> lines.lines().stream().anyMatch(l -> l.contains("GET /admin/ws HTTP/2.0")));
    }

    @Test
    void anIdleTunnelIsClosedAtTheTunnelTimeout() throws Exception {
        int port = startProxy(Backend.named("ws").server("e1", "127.0.0.1:" + echoPort()),
                HttpFrontend.bind("127.0.0.1:0").h2c(true).websocketOverHttp2(true).tunnelTimeout(Duration.ofMillis(300)));
        connect(port, null);
        Probe p = new Probe();
        webSocket(p, "/ws");
        p.closed.get(10, TimeUnit.SECONDS);
        Await.until("the server connection closed", () -> serverConnectionsClosed.get() == 1);
        Await.until("the timeout logged", () -> lines.lines().stream().anyMatch(l -> l.contains("GET /ws") && l.contains(" cD")));
        assertThat(proxy.metrics().frontend("web").traffic().errors().timeout()).isEqualTo(1);
    }

    @Test
    void theClientConnectionsFinEndsTheTunnelsClientSide() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = webSocket(p, "/ws");
        s.writeAndFlush(new DefaultHttp2DataFrame(text("last"))).sync();
        assertThat(p.nextFrame()).isEqualTo("1:echo: last");
        // the client's FIN on its connection: nothing more can come on the stream, a FIN to the server,
        // whose close comes back as the stream's END_STREAM
        ((io.netty.channel.socket.SocketChannel) client).shutdownOutput().sync();
        Await.until("the server connection closed", () -> serverConnectionsClosed.get() == 1);
        // then RST_STREAM CANCEL, or the connection's close, as the client can send no END_STREAM any more
        Await.until("the stream's END_STREAM", p.endStream::get);
        p.closed.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aServersResetIsAConnectError() throws Exception {
        try (RawBackend b = new RawBackend((sock, n) -> {
            String head = RawBackend.nextHead(sock.getInputStream());
            String key = head.lines().filter(l -> l.toLowerCase().startsWith("sec-websocket-key:")).findFirst().orElseThrow()
                    .substring("sec-websocket-key:".length()).trim();
            RawBackend.write(sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept(key) + "\r\n\r\n");
            // the first client frame, then a reset
            sock.getInputStream().read();
            sock.setSoLinger(true, 0);
            sock.close();
        })) {
            int port = startProxy(b.address(), true);
            connect(port, null);
            Probe p = new Probe();
            Http2StreamChannel s = webSocket(p, "/ws");
            s.writeAndFlush(new DefaultHttp2DataFrame(text("x"))).sync();
            p.closed.get(10, TimeUnit.SECONDS);
            assertThat(p.reset.get()).as("RST_STREAM CONNECT_ERROR").isEqualTo(Http2Error.CONNECT_ERROR.code());
            Await.until("the server's reset logged", () -> lines.lines().stream().anyMatch(l -> l.contains("GET /ws") && l.contains(" SD")));
        }
    }

    @Test
    void twoTunnelsAndOrdinaryRequestsShareOneConnection() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe a = new Probe();
        Probe b = new Probe();
        Http2StreamChannel sa = webSocket(a, "/ws");
        Http2StreamChannel sb = webSocket(b, "/ws");
        Probe plain = new Probe();
        Http2StreamChannel sp = open(plain);
        sp.writeAndFlush(new DefaultHttp2HeadersFrame(
                new DefaultHttp2Headers().method("GET").scheme("http").path("/other").authority("chat.example"), true)).sync();
        sa.writeAndFlush(new DefaultHttp2DataFrame(text("to a"))).sync();
        sb.writeAndFlush(new DefaultHttp2DataFrame(text("to b"))).sync();
        assertThat(plain.response().status().toString()).isEqualTo("404");
        assertThat(b.nextFrame()).isEqualTo("1:echo: to b");
        assertThat(a.nextFrame()).isEqualTo("1:echo: to a");
        Await.until("the plain stream's end", plain.endStream::get);
        sa.writeAndFlush(new DefaultHttp2DataFrame(text("a again"))).sync();
        assertThat(a.nextFrame()).isEqualTo("1:echo: a again");
        assertThat(serverConnections.get()).as("a server connection per tunnel, none reused").isGreaterThanOrEqualTo(2);
    }

    @Test
    void aServerThatRefusesTheUpgradeIsRelayed() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = open(p);
        s.writeAndFlush(new DefaultHttp2HeadersFrame(extendedConnect("/nowhere"), false)).sync();
        assertThat(p.response().status().toString()).isEqualTo("404");
        Await.until("the 404's body and end", () -> p.endStream.get() && p.dataBytes.get() == 2);
    }

    @Test
    void aWrongAcceptIsA502() throws Exception {
        try (RawBackend b = new RawBackend((sock, n) -> {
            b0(sock);
            RawBackend.write(sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
            sock.getInputStream().transferTo(OutputStream.nullOutputStream());
        })) {
            int port = startProxy(b.address(), true);
            connect(port, null);
            Probe p = new Probe();
            Http2StreamChannel s = open(p);
            s.writeAndFlush(new DefaultHttp2HeadersFrame(extendedConnect("/ws"), false)).sync();
            assertThat(p.response().status().toString()).isEqualTo("502");
        }
    }

    private static void b0(Socket sock) throws java.io.IOException {
        RawBackend.nextHead(sock.getInputStream());
    }

    @Test
    void aClientThatStopsReadingStopsTheProxyReadingTheServer() throws Exception {
        long total = 96L << 20;
        AtomicLong written = new AtomicLong();
        AtomicBoolean blocked = new AtomicBoolean();
        AtomicBoolean done = new AtomicBoolean();
        try (RawBackend b = new RawBackend((sock, n) -> {
            String head = RawBackend.nextHead(sock.getInputStream());
            String key = head.lines().filter(l -> l.toLowerCase().startsWith("sec-websocket-key:")).findFirst().orElseThrow()
                    .substring("sec-websocket-key:".length()).trim();
            RawBackend.write(sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept(key) + "\r\n\r\n");
            byte[] chunk = new byte[64 * 1024];
            OutputStream out = sock.getOutputStream();
            while (written.get() < total) {
                blocked.set(true);
                out.write(chunk);
                blocked.set(false);
                written.addAndGet(chunk.length);
            }
            out.flush();
            done.set(true);
            sock.shutdownOutput();
            sock.getInputStream().transferTo(OutputStream.nullOutputStream());
        })) {
            int port = startProxy(b.address(), true);
            connect(port, null);
            Probe p = new Probe();
            p.pauseAfterHeaders = true;
            Http2StreamChannel s = webSocket(p, "/ws");
            // the server writes until its socket is full: the proxy stopped reading it (its write stays
            // blocked, nothing more taken, for 200 polls in a row)
            long[] last = {-1, 0};
            Await.until(Duration.ofSeconds(30), "the server blocked, or done", () -> {
                long w = written.get();
                if (done.get()) {
                    return true;
                }
                last[1] = blocked.get() && w == last[0] ? last[1] + 1 : 0;
                last[0] = w;
                return last[1] >= 200;
            });
            assertThat(done.get()).as("the server could not write all %d bytes", total).isFalse();
            // the kernel's buffers (the server's send buffer, the proxy's receive buffer, up to 32 MiB
            // here) and the stream's window and high water mark: far from the 96 MiB an unbounded proxy takes
            assertThat(written.get()).as("bytes the server got rid of while the client read nothing")
                    .isLessThan(48L << 20);
            s.config().setAutoRead(true);
            Await.until(Duration.ofSeconds(60), "every byte through", () -> p.dataBytes.get() == total && p.endStream.get());
        }
    }

    @Test
    void aServerThatStopsReadingStopsTheClientsWindow() throws Exception {
        long total = 96L << 20;
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        try (RawBackend b = new RawBackend((sock, n) -> {
            String head = RawBackend.nextHead(sock.getInputStream());
            String key = head.lines().filter(l -> l.toLowerCase().startsWith("sec-websocket-key:")).findFirst().orElseThrow()
                    .substring("sec-websocket-key:".length()).trim();
            RawBackend.write(sock, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept(key) + "\r\n\r\n");
            // reads nothing until the test is done
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })) {
            int port = startProxy(b.address(), true);
            connect(port, null);
            Probe p = new Probe();
            Http2StreamChannel s = webSocket(p, "/ws");
            AtomicLong taken = new AtomicLong();
            // the client writes while its stream can take more: its writes complete as the proxy's window allows
            Runnable[] pump = new Runnable[1];
            pump[0] = () -> {
                while (s.isActive() && s.isWritable() && taken.get() < total) {
                    ByteBuf chunk = Unpooled.wrappedBuffer(new byte[16 * 1024]);
                    s.writeAndFlush(new DefaultHttp2DataFrame(chunk)).addListener(f -> {
                        if (f.isSuccess()) {
                            taken.addAndGet(16 * 1024);
                        }
                    });
                }
            };
            s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                    pump[0].run();
                    ctx.fireChannelWritabilityChanged();
                }
            });
            s.eventLoop().execute(pump[0]);
            long[] last = {-1, 0};
            Await.until(Duration.ofSeconds(30), "the client's stream blocked, or all taken", () -> {
                long t = taken.get();
                if (t >= total) {
                    return true;
                }
                last[1] = !s.isWritable() && t == last[0] ? last[1] + 1 : 0;
                last[0] = t;
                return last[1] >= 200;
            });
            release.countDown();
            assertThat(taken.get()).as("bytes the proxy took from the client while the server read nothing").isLessThan(48L << 20);
        }
    }

    static String accept(String key) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void overTlsWithAlpnH2() throws Exception {
        X509Bundle ca = TlsPki.ca();
        X509Bundle cert = TlsPki.server(ca, "chat.example");
        int port = startProxy(Backend.named("ws").server("e1", "127.0.0.1:" + echoPort()),
                HttpFrontend.bind("127.0.0.1:0").tls(TlsPki.serverTls(List.of("h2", "http/1.1"), cert)).websocketOverHttp2(true));
        SslContext tls = SslContextBuilder.forClient().trustManager(ca.toTrustManagerFactory())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build();
        connect(port, tls);
        Probe p = new Probe();
        Http2StreamChannel s = webSocket(p, "/ws");
        s.writeAndFlush(new DefaultHttp2DataFrame(text("secure"))).sync();
        assertThat(p.nextFrame()).isEqualTo("1:echo: secure");
        assertThat(upgrades.get(0).get("x-forwarded-proto")).isEqualTo("https");
    }

    @Test
    void anHttp2BackendIsA502() throws Exception {
        int port = startProxy(Backend.named("ws").protocol(BackendProtocol.H2C).server("e1", "127.0.0.1:" + echoPort()),
                HttpFrontend.bind("127.0.0.1:0").h2c(true).websocketOverHttp2(true));
        connect(port, null);
        Probe p = new Probe();
        Http2StreamChannel s = open(p);
        s.writeAndFlush(new DefaultHttp2HeadersFrame(extendedConnect("/ws"), false)).sync();
        assertThat(p.response().status().toString()).isEqualTo("502");
        assertThat(serverConnections.get()).as("no server spoken to").isZero();
    }

    /**
     * An HTTP/1.1 client's WebSocket upgrade routed to an HTTP/2 backend gets the same {@code 502}: an
     * HTTP/2 request has no {@code Upgrade}, so the server would answer an ordinary GET, which the
     * client's handshake then fails on, with nothing in the log to say why (it was so forwarded).
     */
    @Test
    void anHttp11UpgradeToAnHttp2BackendIsA502() throws Exception {
        try (ProtocolBackend h2c = ProtocolBackend.h2c(0)) {
            int port = startProxy(Backend.named("ws").protocol(BackendProtocol.H2C).server("e1", h2c.address()),
                    HttpFrontend.bind("127.0.0.1:0"));
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(502);
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(h2c.requests).as("no request sent to the server").isEmpty();
            Await.until("the refusal logged", () -> lines.lines().stream().anyMatch(l -> l.contains("GET /ws HTTP/1.1") && l.contains(" 502 ")));
        }
    }

    // ---------------------------------------------------------------- refusals

    @Test
    void malformedExtendedConnectsAreResetAndOtherProtocolsAreACONNECT() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), true);
        try (Socket s = h2c(port)) {
            OutputStream out = s.getOutputStream();
            // :protocol on a GET, and an extended CONNECT without :path: malformed (RFC 8441, 4; RFC 9113, 8.3)
            out.write(frame(1, 1, 0x4, literals(":method", "GET", ":scheme", "http", ":path", "/ws", ":authority", "h", ":protocol", "websocket")));
            out.write(frame(3, 1, 0x4, literals(":method", "CONNECT", ":scheme", "http", ":authority", "h", ":protocol", "websocket")));
            out.flush();
            assertThat(resetCode(s.getInputStream(), 1)).as("stream 1").isEqualTo(PROTOCOL_ERROR);
            assertThat(resetCode(s.getInputStream(), 3)).as("stream 3").isEqualTo(PROTOCOL_ERROR);
            // another protocol: a plain CONNECT, which the proxy answers 501
            out.write(frame(5, 1, 0x4, literals(":method", "CONNECT", ":scheme", "http", ":path", "/x", ":authority", "h", ":protocol", "connect-udp")));
            out.flush();
            assertThat(Http2Test.streamFrames(s.getInputStream(), 5).get(0)).as("HEADERS").isEqualTo(1);
        }
        assertThat(upgrades).isEmpty();
        Await.until("the CONNECT logged", () -> lines.lines().stream().anyMatch(l -> l.contains(" 501 ")));
    }

    @Test
    void withoutTheOptionAnExtendedConnectIsStillAProtocolError() throws Exception {
        int port = startProxy("127.0.0.1:" + echoPort(), false);
        try (Socket s = h2c(port)) {
            OutputStream out = s.getOutputStream();
            out.write(frame(1, 1, 0x4, literals(":method", "CONNECT", ":scheme", "http", ":path", "/ws", ":authority", "h", ":protocol", "websocket")));
            out.flush();
            assertThat(resetCode(s.getInputStream(), 1)).isEqualTo(PROTOCOL_ERROR);
        }
        assertThat(upgrades).isEmpty();
    }

    @Test
    void theOptionNeedsAFrontendThatSpeaksHttp2() {
        assertThatThrownBy(() -> HttpFrontend.bind(0).defaultBackend("b").websocketOverHttp2(true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("websocketOverHttp2: true");
        assertThat(HttpFrontend.bind(0).defaultBackend("b").build().websocketOverHttp2()).isFalse();
        assertThat(HttpFrontend.bind(0).defaultBackend("b").h2c(true).websocketOverHttp2(true).build().websocketOverHttp2()).isTrue();
    }
}
