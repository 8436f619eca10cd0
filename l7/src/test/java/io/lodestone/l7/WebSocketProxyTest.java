package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.netty.channel.ChannelFutureListener;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.pkitesting.X509Bundle;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WebSocketProxyTest {

    private EventLoopGroup group;
    private Channel echo;
    private final List<HttpHeaders> upgrades = new CopyOnWriteArrayList<>();
    private Proxy proxy;

    @BeforeEach
    void startEcho() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        echo = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof HttpRequest r) {
                                    upgrades.add(r.headers().copy());
                                }
                                ctx.fireChannelRead(msg);
                            }
                        }, new HttpObjectAggregator(65536), new WebSocketServerProtocolHandler("/ws"),
                                new SimpleChannelInboundHandler<TextWebSocketFrame>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
                                        if (frame.text().equals("close")) {
                                            // the server ends the session: its close frame, then its FIN
                                            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocket.NORMAL_CLOSURE, "server bye"))
                                                    .addListener(ChannelFutureListener.CLOSE);
                                            return;
                                        }
                                        ctx.writeAndFlush(new TextWebSocketFrame("echo: " + frame.text()));
                                    }
                                });
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        echo.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final CapturingLogger tunnelLines = new CapturingLogger();

    private int startProxy(Duration tunnelTimeout) {
        int echoPort = ((InetSocketAddress) echo.localAddress()).getPort();
        proxy = Proxy.builder().accessLog(AccessLog.text(tunnelLines))
                .backend(Backend.named("ws").server("e1", "127.0.0.1:" + echoPort))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("ws").tunnelTimeout(tunnelTimeout))
                .build();
        proxy.start();
        return proxy.port();
    }

    @Test
    void echoesThroughTheTunnel() throws Exception {
        int port = startProxy(Duration.ofHours(1));
        LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        received.add(data.toString());
                        webSocket.request(1);
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
        ws.sendText("hello", true).get(10, TimeUnit.SECONDS);
        assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: hello");
        ws.sendText("again", true).get(10, TimeUnit.SECONDS);
        assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: again");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);

        assertThat(upgrades).hasSize(1);
        HttpHeaders seen = upgrades.get(0);
        assertThat(seen.get("upgrade")).isEqualToIgnoringCase("websocket");
        assertThat(seen.get("connection")).isEqualToIgnoringCase("upgrade");
        assertThat(seen.get("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(seen.get("sec-websocket-key")).isNotEmpty();
    }

    @Test
    void anIdleTunnelIsClosed() throws Exception {
        int port = startProxy(Duration.ofMillis(300));
        CompletableFuture<Integer> closed = new CompletableFuture<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                        closed.complete(statusCode);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket webSocket, Throwable error) {
                        closed.complete(-1);
                    }
                }).get(10, TimeUnit.SECONDS);
        // the proxy closes the TCP connection without a close frame: the JDK client reports an abnormal end
        assertThat(closed.get(10, TimeUnit.SECONDS)).isIn(-1, WebSocket.NORMAL_CLOSURE, 1006);
        assertThat(ws.isInputClosed()).isTrue();
        // logged at its end: the tunnel timeout, a timeout error on the frontend
        assertThat(tunnelLines.await(l -> l.contains(" 101 "))).contains(" web ws/e1 ", " cD \"GET /ws HTTP/1.1\" ");
        assertThat(proxy.metrics().frontend("web").traffic().errors().timeout()).isEqualTo(1);
    }

    /**
     * The tunnel through an HTTPS frontend ({@code wss://}, the frontend offering h2 and http/1.1 as
     * a browser-facing one does): the echo works, and a session closed by either side ends cleanly.
     * The client's close frame is answered by the server's, whose FIN then reaches the client as the
     * proxy's close_notify and FIN; the server's own close frame and FIN reach the client the same
     * way. Neither client sees an error and the proxy lets both connections go. The tunnel used to
     * lose its 101 (still queued in the TLS handler, which the switch to a tunnel removed) and would
     * have relayed plain bytes after it: the client waited for the handshake's answer.
     */
    @Test
    void echoesAndClosesThroughATlsTunnelFromEitherSide() throws Exception {
        X509Bundle ca = TlsPki.ca();
        CapturingLogger lines = new CapturingLogger();
        int echoPort = ((InetSocketAddress) echo.localAddress()).getPort();
        proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("ws").server("e1", "127.0.0.1:" + echoPort))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("ws")
                        .tls(TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"))))
                .build();
        proxy.start();
        HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca)).build();
        URI uri = URI.create("wss://127.0.0.1:" + proxy.port() + "/ws");

        for (boolean clientCloses : new boolean[] {true, false}) {
            String side = clientCloses ? "client" : "server";
            LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
            CompletableFuture<String> closed = new CompletableFuture<>();
            CompletableFuture<Throwable> failed = new CompletableFuture<>();
            WebSocket ws = client.newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    received.add(data.toString());
                    webSocket.request(1);
                    return null;
                }

                @Override
                public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                    closed.complete(statusCode + " " + reason);
                    return null;
                }

                @Override
                public void onError(WebSocket webSocket, Throwable error) {
                    failed.complete(error);
                }
            }).get(10, TimeUnit.SECONDS);
            ws.sendText("hello " + side, true).get(10, TimeUnit.SECONDS);
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: hello " + side);

            if (clientCloses) {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
                assertThat(closed.get(10, TimeUnit.SECONDS)).as("the server's answer to the close").isEqualTo("1000 bye");
            } else {
                ws.sendText("close", true).get(10, TimeUnit.SECONDS);
                assertThat(closed.get(10, TimeUnit.SECONDS)).as("the server's close").isEqualTo("1000 server bye");
            }
            Await.until("the " + side + "-closed tunnel gone from the proxy",
                    () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            assertThat(ws.isInputClosed()).isTrue();
            assertThat(failed).as("an error on the client after a " + side + "'s close").isNotDone();
            int logged = clientCloses ? 1 : 2;
            Await.until("the " + side + "-closed tunnel logged", () -> lines.lines().stream().filter(l -> l.contains(" 101 ")).count() == logged);
        }
        List<String> tunnels = lines.lines().stream().filter(l -> l.contains(" 101 ")).toList();
        assertThat(tunnels).hasSize(2).allSatisfy(l -> assertThat(l).contains(" -- \"GET /ws HTTP/1.1\""));
        assertThat(upgrades).hasSize(2).allSatisfy(h -> assertThat(h.get("x-forwarded-proto")).isEqualTo("https"));
    }

    /**
     * A tunnel's line is written when the tunnel ends, as HAProxy writes it: its bytes are the
     * tunnel's each way, and the frontend and the server count them. The line was written at the 101
     * with 0 bytes each way, and the tunnel's bytes were counted nowhere. Raw sockets both sides: the
     * server answers the upgrade, then sends back each byte it reads twice.
     */
    @Test
    void aTunnelIsLoggedAndCountedWithItsBytesWhenItEnds() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            RawBackend.write(s, SWITCHING);
            byte[] b = in.readNBytes(1000);
            s.getOutputStream().write(b);
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
            while (in.read() >= 0) {
                // until the client's FIN, passed on by the proxy
            }
            s.close();
        })) {
            startLogged(lines, server);
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(upgrade("/ws"));
                assertThat(c.read().status()).isEqualTo(101);
                c.send("x".repeat(1000));
                assertThat(c.in.readNBytes(2000)).hasSize(2000);
                c.socket.shutdownOutput();
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(lines.await(l -> l.contains(" 101 "))).contains(" web ws/e1 ", " 101 1000 2000 -- \"GET /ws HTTP/1.1\" ");
            Await.until("the tunnel counted", () -> proxy.metrics().frontend("web").traffic().requests() == 1);
            TrafficSnapshot web = proxy.metrics().frontend("web").traffic();
            TrafficSnapshot e1 = proxy.metrics().backend("ws").server("e1").traffic();
            assertThat(new long[] {web.bytesIn(), web.bytesOut(), e1.bytesIn(), e1.bytesOut()}).containsExactly(1000, 2000, 1000, 2000);

            // a client that resets its tunnel: CD, a reset error on the frontend
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(upgrade("/reset"));
                assertThat(c.read().status()).isEqualTo(101);
                c.send("y".repeat(1000));
                assertThat(c.in.readNBytes(2000)).hasSize(2000);
                c.socket.setSoLinger(true, 0);
            }
            assertThat(lines.await(l -> l.contains("/reset"))).contains(" 101 1000 2000 CD \"GET /reset HTTP/1.1\" ");
            assertThat(proxy.metrics().frontend("web").traffic().errors().reset()).isEqualTo(1);
        }
    }

    /**
     * Bytes a client sends right behind its upgrade request, before the 101 (which RFC 6455 forbids, but
     * eager clients do), reach the server raw once it has switched, however they read as HTTP: a masked
     * frame whose mask holds an LF, empty lines, a request line. They used to be decoded as the next
     * pipelined requests, found malformed or queued, and dropped when the tunnel began: a frame with an
     * LF in its first bytes (one in three of 100 bytes, masks being random) was lost.
     */
    @Test
    void bytesSentBehindTheUpgradeBeforeThe101ReachTheServerRaw() throws Exception {
        // and more than the 64 KiB the proxy gathers before it stops reading the client until the answer
        String early = "\u0081\u0085\n\u0001\u0002\u0003bdmol" + "\r\n\r\n" + "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
                + "z".repeat(200_000);
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            RawBackend.write(s, SWITCHING);
            s.getOutputStream().write(in.readNBytes(early.length()));
            s.getOutputStream().flush();
            in.read();
        })) {
            startLogged(new CapturingLogger(), server);
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(upgrade("/ws") + early);
                assertThat(c.read().status()).isEqualTo(101);
                assertThat(new String(c.in.readNBytes(early.length()), StandardCharsets.ISO_8859_1)).isEqualTo(early);
            }
        }
    }

    /** Behind an upgrade that the server refuses, what the client sent is its next request, answered as such. */
    @Test
    void whatFollowsAnUpgradeTheServerRefusesIsTheNextRequest() throws Exception {
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                RawBackend.write(s, head.startsWith("GET /ws ") ? "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
            }
        })) {
            startLogged(new CapturingLogger(), server);
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(upgrade("/ws") + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
                RawHttp.Response refused = c.read();
                assertThat(refused.status()).isEqualTo(400);
                assertThat(refused.body()).isEqualTo("no");
                assertThat(c.read().body()).isEqualTo("next");
            }
        }
    }

    /** A tunnel still open when the proxy stops is closed at its drain timeout: {@code KD}, as a TCP session's; it was {@code --}. */
    @Test
    void aTunnelTheProxysStopClosesIsLoggedKd() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            RawBackend.write(s, SWITCHING);
            while (in.read() >= 0) {
                // until the proxy closes the tunnel
            }
        })) {
            startLogged(lines, server);
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(upgrade("/ws"));
                assertThat(c.read().status()).isEqualTo(101);
                proxy.close();
                assertThat(c.closedByPeer()).isTrue();
            }
            assertThat(lines.await(l -> l.contains(" 101 "))).contains(" KD \"GET /ws HTTP/1.1\" ");
        }
    }

    /**
     * Starts a proxy whose frontend "web" sends everything to backend "ws", server "e1" at
     * {@code server}, logging to {@code lines}, with a drain timeout of 100 ms.
     */
    private void startLogged(CapturingLogger lines, RawBackend server) {
        proxy = Proxy.builder().accessLog(AccessLog.text(lines)).drainTimeout(Duration.ofMillis(100))
                .backend(Backend.named("ws").server("e1", server.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("ws"))
                .build();
        proxy.start();
    }

    /** A server's answer to a WebSocket upgrade. */
    private static final String SWITCHING = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    /** A WebSocket upgrade request for {@code path}, Host a. */
    private static String upgrade(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    }
}
