package io.lodestone.examples.gateway;

import static io.lodestone.examples.gateway.GatewayOptionsTest.assertExits2;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Proxy;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The launcher's {@code --h2c} switch: parsing, the frontend it builds, and HTTP/2 with prior knowledge beside HTTP/1.1;
 * and its {@code --websocket-over-h2} beside it.
 */
class GatewayH2cTest {

    @Test
    void h2cIsASwitchThatTurnsOnThePlainTextHttp2OfTheFrontend() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--h2c");
        assertThat(o.h2c()).isTrue();
        assertThat(o.toString()).contains(" h2c");
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1").h2c()).isFalse();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class, f -> assertThat(f.h2c()).isTrue());
        }
    }

    @Test
    void misusedH2cExits2NamingIt() {
        assertExits2("--h2c: on (only in http mode: add --mode http)", "--listen", "127.0.0.1:0", "--backend", "h:1", "--h2c");
        assertExits2("--h2c: on (not with --tls-cert: over TLS, clients choose HTTP/2 through ALPN)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--h2c", "--tls-cert", "c.pem", "--tls-key", "k.pem");
        assertExits2("--h2c: on (given more than once)", "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--h2c", "--h2c");
        assertExits2("--h2c: yes (expected: no value; --h2c is a switch)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--h2c=yes");
    }

    @Test
    void websocketOverH2IsASwitchThatTurnsOnExtendedConnect() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--h2c",
                "--websocket-over-h2");
        assertThat(o.websocketOverH2()).isTrue();
        assertThat(o.toString()).contains(" websocketOverH2");
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--h2c")
                .websocketOverH2()).isFalse();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class,
                    f -> assertThat(f.websocketOverHttp2()).isTrue());
        }
        assertExits2("--websocket-over-h2: on (only in http mode: add --mode http)",
                "--listen", "127.0.0.1:0", "--backend", "h:1", "--websocket-over-h2");
        assertExits2("--websocket-over-h2: on (needs HTTP/2 from clients: add --h2c, or --tls-cert for h2 through ALPN)",
                "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "h:1", "--websocket-over-h2");
        MainRunner help = MainRunner.complete("gateway", "--help");
        assertThat(help.awaitStatus()).isZero();
        assertThat(help.out()).contains("--websocket-over-h2      http, with --h2c or --tls-cert");
    }

    @Test
    void anHttp2ClientWithPriorKnowledgeAndAnHttp11ClientShareThePort() throws Exception {
        EmbeddedHttpServer server = EmbeddedHttpServer.start("one", "127.0.0.1", 0);
        EventLoopGroup clients = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (MainRunner r = MainRunner.start("gateway", "--mode", "http", "--listen", "127.0.0.1:0",
                "--backend", server.hostPort(), "--h2c")) {
            int port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).contains("; HTTP/2 with prior knowledge (h2c) too");
            Answer h2 = getOverH2c(clients, port, "/over-h2");
            assertThat(h2.status).isEqualTo("200");
            assertThat(h2.requestId).isNotEmpty();
            assertThat(h2.body.toString()).isEqualTo("hello from one: GET /over-h2\n");
            HttpResponse<String> h1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                    .send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/over-h1"))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(h1.statusCode()).isEqualTo(200);
            assertThat(h1.body()).isEqualTo("hello from one: GET /over-h1\n");
            assertThat(r.stop()).isZero();
        } finally {
            clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            server.close();
        }
    }

    /** One GET over a new h2c connection that starts with the HTTP/2 preface. */
    private static Answer getOverH2c(EventLoopGroup group, int port, String path) throws Exception {
        Channel connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
        try {
            Answer answer = new Answer();
            Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(answer).open().sync().getNow();
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(
                    new DefaultHttp2Headers().method("GET").path(path).scheme("http").authority("gateway.test"), true));
            return answer.done.get(10, TimeUnit.SECONDS);
        } finally {
            connection.close().sync();
        }
    }

    /** What the client received on its stream. */
    private static final class Answer extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Answer> done = new CompletableFuture<>();
        final StringBuilder body = new StringBuilder();
        String status;
        String requestId;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                boolean end = false;
                if (msg instanceof Http2HeadersFrame h) {
                    status = String.valueOf(h.headers().status());
                    requestId = String.valueOf(h.headers().get("x-request-id"));
                    end = h.isEndStream();
                } else if (msg instanceof Http2DataFrame d) {
                    body.append(d.content().toString(StandardCharsets.UTF_8));
                    end = d.isEndStream();
                }
                if (end) {
                    done.complete(this);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.completeExceptionally(new IllegalStateException("stream closed before its end"));
        }
    }
}
