package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.Await;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.TestTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.ReferenceCountUtil;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's backend flags: {@code --backend-tls}, {@code --backend-ca} and {@code --backend-proto}. */
class GatewayBackendTlsTest {

    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    @TempDir
    static Path dir;

    private static X509Bundle ca;
    private static Path caPem;

    @BeforeAll
    static void setUp() throws Exception {
        ca = TestTls.ca();
        caPem = TestTls.writePem(ca, dir, "ca")[0];
    }

    @AfterAll
    static void tearDown() {
        GROUP.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** An HTTP/2 server (h2c, or h2 over TLS with ALPN) that answers {@code h2:PATH} and counts its connections and the PINGs it gets. */
    private static final class H2Server implements AutoCloseable {
        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger pings = new AtomicInteger();
        private final Channel server;

        H2Server(SslContext tls) {
            server = new ServerBootstrap().group(GROUP).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            connections.incrementAndGet();
                            if (tls != null) {
                                ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                            }
                            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                                    new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                        @Override
                                        protected void initChannel(Http2StreamChannel stream) {
                                            stream.pipeline().addLast(new Answer());
                                        }
                                    }),
                                    new ChannelInboundHandlerAdapter() {
                                        @Override
                                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                            // the codec acknowledges PINGs itself
                                            if (msg instanceof Http2PingFrame ping && !ping.ack()) {
                                                pings.incrementAndGet();
                                            }
                                            ReferenceCountUtil.release(msg);
                                        }
                                    });
                        }
                    })
                    .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        }

        String hostPort() {
            return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
        }

        @Override
        public void close() {
            server.close().syncUninterruptibly();
        }
    }

    private static final class Answer extends ChannelInboundHandlerAdapter {
        private String path;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                boolean end = false;
                if (msg instanceof Http2HeadersFrame h) {
                    if (path == null) {
                        path = h.headers().path().toString();
                    }
                    end = h.isEndStream();
                } else if (msg instanceof Http2DataFrame d) {
                    end = d.isEndStream();
                }
                if (end) {
                    ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                    ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("h2:" + path, StandardCharsets.UTF_8), true));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Connection", "close").timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void h2OverVerifiedTlsToTheServers() throws Exception {
        X509Bundle cert = TestTls.server(ca, "grpc.example");
        SslContext tls = SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2")).build();
        try (H2Server h2 = new H2Server(tls);
             MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0", "--backend", h2.hostPort(),
                     "--backend-proto", "h2", "--backend-tls", "verify", "--backend-ca", caPem.toString())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; h2 to the servers; TLS to the servers (verify against " + caPem + ")");
            assertThat(get(port, "/one").body()).isEqualTo("h2:/one");
            assertThat(get(port, "/two").body()).isEqualTo("h2:/two");
            assertThat(h2.connections.get()).isBetween(1, 2);
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void h2cToTheServers() throws Exception {
        try (H2Server h2c = new H2Server(null);
             MainRunner r = MainRunner.start("gateway", "--mode=http", "--listen=127.0.0.1:0", "--backend=" + h2c.hostPort(),
                     "--backend-proto=h2c", "--io-threads=1")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(get(port, "/a").body()).isEqualTo("h2:/a");
            assertThat(get(port, "/b").body()).isEqualTo("h2:/b");
            assertThat(h2c.connections).hasValue(1);
            assertThat(r.stop()).isZero();
        }
    }

    /**
     * {@code --backend-h2-keepalive}: an idle h2c connection of the gateway is PINGed every 100 ms (on
     * the system clock) and kept, as its server answers; the start line says so.
     */
    @Test
    void h2cToTheServersWithKeepAlivePings() throws Exception {
        try (H2Server h2c = new H2Server(null);
             MainRunner r = MainRunner.start("gateway", "--mode=http", "--listen=127.0.0.1:0", "--backend=" + h2c.hostPort(),
                     "--backend-proto=h2c", "--backend-h2-keepalive=100ms,5s", "--io-threads=1")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; h2c to the servers; HTTP/2 keep-alive PINGs to the servers (0.1s,5s)");
            assertThat(get(port, "/a").body()).isEqualTo("h2:/a");
            Await.until(Duration.ofSeconds(10), "three PINGs on the idle connection", () -> h2c.pings.get() >= 3);
            assertThat(get(port, "/b").body()).isEqualTo("h2:/b");
            assertThat(h2c.connections).hasValue(1);
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void theH2KeepAliveFlagIsCheckedAndSetsTheBackendsOfHttp2Servers() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--route", "/api=127.0.0.1:9002", "--backend-proto", "h2c", "--backend-h2-keepalive", "30s,5s");
        assertThat(o.backendH2KeepAlive()).contains(Duration.ofSeconds(30));
        assertThat(o.backendH2KeepAliveTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(o.toString()).contains("backendProto=h2c backendH2KeepAlive=PT30S,PT5S");
        try (Proxy proxy = Gateway.newProxy(o)) {
            // the --route servers' backends too
            assertThat(proxy.backends()).hasSize(2);
            for (Backend b : proxy.backends().values()) {
                assertThat(b.http2KeepAliveInterval()).as(b.name()).isEqualTo(Duration.ofSeconds(30));
                assertThat(b.http2KeepAliveTimeout()).as(b.name()).isEqualTo(Duration.ofSeconds(5));
            }
        }
        GatewayOptions defaultTimeout = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h2", "--backend-tls", "insecure", "--backend-h2-keepalive=2m");
        assertThat(defaultTimeout.backendH2KeepAlive()).contains(Duration.ofMinutes(2));
        assertThat(defaultTimeout.backendH2KeepAliveTimeout()).isEqualTo(GatewayOptions.DEFAULT_H2_KEEPALIVE_TIMEOUT).isEqualTo(Duration.ofSeconds(20));
        GatewayOptions none = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h2c");
        assertThat(none.backendH2KeepAlive()).isEmpty();
        try (Proxy proxy = Gateway.newProxy(none)) {
            assertThat(proxy.backends().get(Gateway.BACKEND).http2KeepAliveInterval()).as("off by default").isNull();
        }
        String[] h2c = {"--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001", "--backend-proto", "h2c"};
        String expected = " (expected: INTERVAL[,TIMEOUT], durations above zero like 30s or 30s,10s (TIMEOUT 20s unless given))";
        for (String bad : new String[] {"0", "30s,0", "30", "30s,", ",5s", "30s,5s,1s", "-1s", ""}) {
            assertThatThrownBy(() -> GatewayOptions.parse(with(h2c, "--backend-h2-keepalive=" + bad)))
                    .isInstanceOf(UsageException.class).hasMessage("--backend-h2-keepalive: " + bad + expected);
        }
        assertThatThrownBy(() -> GatewayOptions.parse(with(h2c, "--backend-h2-keepalive=30s,876001h")))
                .isInstanceOf(UsageException.class).hasMessage("--backend-h2-keepalive: 30s,876001h (expected: durations of at most 876000h)");
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-h2-keepalive", "30s")).isInstanceOf(UsageException.class)
                .hasMessage("--backend-h2-keepalive: 30s (needs --backend-proto h2c or h2: HTTP/1.1 connections to the servers have no PING)");
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "http1", "--backend-h2-keepalive", "30s")).isInstanceOf(UsageException.class)
                .hasMessageStartingWith("--backend-h2-keepalive: 30s (needs --backend-proto h2c or h2");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-h2-keepalive", "30s,5s")).isInstanceOf(UsageException.class)
                .hasMessage("--backend-h2-keepalive: 30s,5s (only in http mode: add --mode http)");
        assertThat(Gateway.usage()).contains("--backend-h2-keepalive INTERVAL[,TIMEOUT]");
    }

    private static String[] with(String[] args, String more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = more;
        return all;
    }

    @Test
    void tcpModeReencryptsToAVerifiedServerAndRefusesAnUntrustedOne() throws Exception {
        try (TestTls.EchoServer echo = new TestTls.EchoServer(TestTls.server(ca, "echo.example"));
             MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0", "--backend", echo.hostPort(),
                     "--backend-tls", "verify", "--backend-ca", caPem.toString())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(echo(port, "over tls")).isEqualTo("over tls");
            assertThat(r.stop()).isZero();
        }
        X509Bundle otherCa = TestTls.ca();
        try (TestTls.EchoServer echo = new TestTls.EchoServer(TestTls.server(otherCa, "echo.example"));
             MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0", "--backend", echo.hostPort(),
                     "--retries", "0", "--backend-tls", "verify", "--backend-ca", caPem.toString())) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(echoOrReset(port, "refused")).isEmpty();
            assertThat(r.stop()).isZero();
        }
    }

    /**
     * Like {@link #echo}, but a reset counts as the peer closing: a proxy that gives up on the
     * server may close before the client's line has even arrived, and the kernel answers a line
     * that arrives at a closed socket with a reset.
     */
    private static String echoOrReset(int port, String message) throws Exception {
        try {
            return echo(port, message);
        } catch (SocketException e) {
            assertThat(e).hasMessageContaining("reset");
            return "";
        }
    }

    /** Sends a line over plain TCP and reads what comes back until the peer closes or the line is back. */
    private static String echo(int port, String message) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(message.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder sb = new StringBuilder();
            while (sb.length() < message.length()) {
                int c = in.read();
                if (c < 0) {
                    break;
                }
                sb.append((char) c);
            }
            return sb.toString();
        }
    }

    @Test
    void theFlagsAreChecked() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h2", "--backend-tls", "verify", "--backend-ca", caPem.toString());
        assertThat(o.backendProto()).isEqualTo(GatewayOptions.BackendProto.H2);
        assertThat(o.backendTls()).contains(GatewayOptions.BackendTlsMode.VERIFY);
        assertThat(o.backendCa()).contains(caPem);
        assertThat(o.toString()).contains("backendProto=h2 backendTls=verify backendCa=" + caPem);
        assertThat(GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001").backendProto())
                .isEqualTo(GatewayOptions.BackendProto.HTTP1);
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h3")).isInstanceOf(UsageException.class).hasMessage("--backend-proto: h3 (expected: http1, h2c or h2)");
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h2")).isInstanceOf(UsageException.class).hasMessageStartingWith("--backend-proto: h2 (needs --backend-tls");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h2c")).isInstanceOf(UsageException.class).hasMessageContaining("only in http mode");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-tls", "maybe")).isInstanceOf(UsageException.class).hasMessage("--backend-tls: maybe (expected: verify or insecure)");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-tls", "insecure", "--backend-ca", caPem.toString()))
                .isInstanceOf(UsageException.class).hasMessageContaining("only with --backend-tls verify");
        // the check speaks HTTP/2 to servers that do (it was refused, as it spoke HTTP/1.1 only)
        GatewayOptions h2cChecked = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--backend-proto", "h2c", "--health-check", "/health");
        try (Proxy proxy = Gateway.newProxy(h2cChecked)) {
            Backend b = proxy.backends().get(Gateway.BACKEND);
            assertThat(b.protocol()).isEqualTo(BackendProtocol.H2C);
            assertThat(b.healthCheck().path()).isEqualTo("/health");
        }
        assertThat(Gateway.usage()).contains("--backend-tls verify|insecure", "--backend-ca PEM", "--backend-proto http1|h2c|h2");
    }
}
