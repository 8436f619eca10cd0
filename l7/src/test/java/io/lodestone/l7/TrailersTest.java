package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Trailers pass through end to end: HTTP/2 clients to HTTP/2 backends the way gRPC uses them, and
 * HTTP/1.1 chunked trailers, in both directions and across protocol versions.
 */
class TrailersTest {

    private static final EventLoopGroup CLIENTS = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private Proxy proxy;

    @AfterAll
    static void stopClients() {
        CLIENTS.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    private int start(ProtocolBackend b, BackendProtocol protocol) {
        proxy = Proxy.builder()
                .backend(Backend.named("grpc").server("g1", b.address()).protocol(protocol).build())
                .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("grpc"))
                .build();
        proxy.start();
        return proxy.port();
    }

    /** What an HTTP/2 client received on one stream. */
    private static final class Received extends ChannelInboundHandlerAdapter {
        final List<Http2Headers> headers = new ArrayList<>();
        final StringBuilder body = new StringBuilder();
        final CompletableFuture<Received> done = new CompletableFuture<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                boolean end = false;
                if (msg instanceof Http2HeadersFrame h) {
                    headers.add(h.headers());
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

    /** Sends one gRPC-shaped call over h2c with prior knowledge: headers, a message, and request trailers. */
    private static Received call(int port, String path) throws Exception {
        Channel connection = new Bootstrap().group(CLIENTS).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
        try {
            Received received = new Received();
            Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(received).open().sync().getNow();
            Http2Headers head = new DefaultHttp2Headers().method("POST").path(path).scheme("http").authority("grpc.test")
                    .set("content-type", "application/grpc").set("te", "trailers");
            stream.write(new DefaultHttp2HeadersFrame(head, false));
            stream.write(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8), false));
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().set("x-request-trailer", "sent"), true));
            return received.done.get(10, TimeUnit.SECONDS);
        } finally {
            connection.close().sync();
        }
    }

    @Test
    void aGrpcCallGetsItsStatusTrailersThroughTheProxy() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(b, BackendProtocol.H2C);
            Received r = call(port, "/grpc/Echo/Say");
            assertThat(r.headers).hasSize(2);
            assertThat(r.headers.get(0).status().toString()).isEqualTo("200");
            assertThat(r.headers.get(0).get("content-type").toString()).isEqualTo("application/grpc");
            assertThat(r.body.toString()).isEqualTo("h2:/grpc/Echo/Say");
            assertThat(r.headers.get(1).get("grpc-status").toString()).isEqualTo("0");
            assertThat(r.headers.get(1).get("grpc-message").toString()).isEqualTo("ok");
            ProtocolBackend.Seen seen = b.last();
            assertThat(seen.headers().get("te")).isEqualTo("trailers");
            assertThat(seen.headers().get("content-type")).isEqualTo("application/grpc");
            assertThat(seen.body()).isEqualTo("hello");
            assertThat(seen.trailers().get("x-request-trailer")).isEqualTo("sent");
        }
    }

    @Test
    void aTrailersOnlyGrpcErrorReachesTheClient() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(b, BackendProtocol.H2C);
            Received r = call(port, "/grpc-error/Echo/Say");
            assertThat(r.headers.get(0).status().toString()).isEqualTo("200");
            assertThat(r.headers.get(0).get("grpc-status").toString()).isEqualTo("12");
            assertThat(r.body.toString()).isEmpty();
        }
    }

    @Test
    void anHttp2ClientGetsTheChunkedTrailersOfAnHttp11Backend() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(null)) {
            int port = start(b, BackendProtocol.HTTP_1_1);
            Received r = call(port, "/grpc/Over/Http1");
            assertThat(r.body.toString()).isEqualTo("http1:/grpc/Over/Http1");
            assertThat(r.headers.get(r.headers.size() - 1).get("x-trailer").toString()).isEqualTo("http1");
            assertThat(b.last().trailers().get("x-request-trailer")).isEqualTo("sent");
        }
    }

    private static final String CHUNKED_REQUEST = "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n0\r\nx-request-trailer: chunked\r\n\r\n";

    @Test
    void http11ChunkedTrailersPassBothWaysToAnHttp11Backend() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(null)) {
            int port = start(b, BackendProtocol.HTTP_1_1);
            String response = exchange(port, CHUNKED_REQUEST);
            assertThat(response).startsWith("HTTP/1.1 200").contains("http1:/t").contains("\r\n0\r\n").contains("x-trailer: http1\r\n");
            assertThat(b.last().body()).isEqualTo("hello");
            assertThat(b.last().trailers().get("x-request-trailer")).isEqualTo("chunked");
        }
    }

    @Test
    void aClientsTrailersCannotCarryFieldsTheServerWouldTakeForTheProxysOrForRouting() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(null)) {
            int port = start(b, BackendProtocol.HTTP_1_1);
            String response = exchange(port, "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n0\r\nx-request-trailer: kept\r\nHost: evil\r\nX-Forwarded-For: 192.0.2.66\r\n"
                    + "X-Real-IP: 192.0.2.66\r\nX-Request-ID: spoof\r\nAuthorization: Bearer x\r\nCookie: a=b\r\n\r\n");
            assertThat(response).startsWith("HTTP/1.1 200");
            assertThat(b.last().body()).isEqualTo("hello");
            assertThat(b.last().trailers().get("x-request-trailer")).isEqualTo("kept");
            assertThat(b.last().trailers().names()).containsExactly("x-request-trailer");
        }
    }

    @Test
    void http11ChunkedTrailersPassBothWaysToAnHttp2Backend() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(b, BackendProtocol.H2C);
            String response = exchange(port, CHUNKED_REQUEST);
            assertThat(response).startsWith("HTTP/1.1 200").contains("h2:/t").contains("\r\n0\r\n").contains("grpc-status: 0\r\n");
            assertThat(b.last().body()).isEqualTo("hello");
            assertThat(b.last().trailers().get("x-request-trailer")).isEqualTo("chunked");
        }
    }

    /**
     * A raw server that answers every request with a chunked response whose trailer section holds a
     * checksum (kept), a field with an underscore (kept: the underscore rule is the request's), and
     * fields no trailer may carry (RFC 9110, 6.5.1): connection control with a field that
     * {@code Connection} names, routing, content format, caching, a cookie and a challenge.
     */
    private static RawBackend answeringWithForbiddenTrailers() throws Exception {
        return answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
                + "5\r\nhello\r\n0\r\nx-checksum: abc\r\nX_Under: 1\r\nConnection: close, x-hop\r\nx-hop: 1\r\n"
                + "Keep-Alive: timeout=1\r\nProxy-Connection: close\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                + "Host: evil\r\nContent-Type: text/evil\r\nCache-Control: no-store\r\nSet-Cookie: s=1\r\n"
                + "WWW-Authenticate: Basic realm=x\r\n\r\n");
    }

    /** A server that answers every request, after reading it whole, with {@code response}. */
    private static RawBackend answering(String response) throws Exception {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                if (head.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked")) {
                    // the test's chunked bodies (one chunk, one trailer) hold no blank line before their end
                    RawBackend.nextHead(in);
                }
                RawBackend.write(s, response);
            }
        });
    }

    @Test
    void aServersTrailersReachAnHttp11ClientWithoutTheFieldsNoTrailerMayCarry() throws Exception {
        try (RawBackend b = answeringWithForbiddenTrailers()) {
            proxy = Proxy.builder()
                    .backend(Backend.named("raw").server("r1", b.address()).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("raw"))
                    .build();
            proxy.start();
            String response = exchange(proxy.port(), "GET /t HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(response).startsWith("HTTP/1.1 200").contains("\r\n5\r\nhello\r\n0\r\n")
                    .doesNotContain("Connection: close");
            String trailers = response.substring(response.indexOf("\r\n0\r\n") + 5);
            assertThat(trailers).isEqualTo("x-checksum: abc\r\nX_Under: 1\r\n\r\n");
        }
    }

    @Test
    void aServersTrailersReachAnHttp2ClientWithoutTheFieldsNoTrailerMayCarry() throws Exception {
        try (RawBackend b = answeringWithForbiddenTrailers()) {
            proxy = Proxy.builder()
                    .backend(Backend.named("raw").server("r1", b.address()).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("raw"))
                    .build();
            proxy.start();
            Received r = call(proxy.port(), "/t");
            assertThat(r.body.toString()).isEqualTo("hello");
            Http2Headers trailers = r.headers.get(r.headers.size() - 1);
            List<String> names = new ArrayList<>();
            trailers.forEach(e -> names.add(e.getKey().toString()));
            assertThat(names).containsExactly("x-checksum", "x_under");
        }
    }

    /**
     * A chunked request whose head's {@code Connection} names {@code X-Hop} (RFC 9110, 7.6.1) and whose
     * trailer section carries that field: hop-by-hop for the whole message, so it leaves the trailers
     * as it leaves the head.
     */
    private static final String CONNECTION_NAMED_IN_TRAILERS = "POST /t HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\n"
            + "X-Hop: head\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-request-trailer: kept\r\nx-hop: trailer\r\n\r\n";

    @Test
    void aFieldTheRequestsConnectionNamesLeavesItsTrailersToAnHttp11Server() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.http1(null)) {
            int port = start(b, BackendProtocol.HTTP_1_1);
            assertThat(exchange(port, CONNECTION_NAMED_IN_TRAILERS)).startsWith("HTTP/1.1 200");
            assertThat(b.last().headers().contains("x-hop")).isFalse();
            assertThat(b.last().trailers().names()).containsExactly("x-request-trailer");
        }
    }

    @Test
    void aFieldTheRequestsConnectionNamesLeavesItsTrailersToAnHttp2Server() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            int port = start(b, BackendProtocol.H2C);
            assertThat(exchange(port, CONNECTION_NAMED_IN_TRAILERS)).startsWith("HTTP/1.1 200");
            assertThat(b.last().headers().contains("x-hop")).isFalse();
            assertThat(b.last().trailers().names()).containsExactly("x-request-trailer");
        }
    }

    /**
     * A raw server whose chunked response names {@code X-Hop} in its head's {@code Connection} and
     * carries that field in its trailer section (beside a checksum), with no {@code Connection} of
     * its own there; {@code moreHead} adds fields to the head.
     */
    private static RawBackend answeringWithAConnectionNamedTrailer(String moreHead) throws Exception {
        return answering("HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: head\r\n" + moreHead + "Transfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\nx-checksum: abc\r\nx-hop: trailer\r\n\r\n");
    }

    @Test
    void aFieldTheResponsesConnectionNamesLeavesItsTrailersToAnHttp11Client() throws Exception {
        try (RawBackend b = answeringWithAConnectionNamedTrailer("")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("raw").server("r1", b.address()).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("raw"))
                    .build();
            proxy.start();
            assertConnectionNamedTrailerRemoved(exchange(proxy.port(), "GET /t HTTP/1.1\r\nHost: h\r\n\r\n"));
        }
    }

    /** As above, through a frontend whose cache takes the response in, which removes the head's hop-by-hop fields first. */
    @Test
    void aFieldTheResponsesConnectionNamesLeavesItsTrailersWhenTheCacheTakesTheResponseIn() throws Exception {
        try (RawBackend b = answeringWithAConnectionNamedTrailer("Cache-Control: max-age=60\r\n")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("raw").server("r1", b.address()).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("raw")
                            .cache("raw", ResponseCache.builder().maxBytes(1 << 20).statusHeader("X-Cache").build()))
                    .build();
            proxy.start();
            String response = exchange(proxy.port(), "GET /t HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(response).contains("X-Cache: MISS\r\n");
            assertConnectionNamedTrailerRemoved(response);
        }
    }

    private static void assertConnectionNamedTrailerRemoved(String response) {
        assertThat(response).startsWith("HTTP/1.1 200").contains("\r\n5\r\nhello\r\n0\r\n");
        assertThat(response.substring(0, response.indexOf("\r\n\r\n"))).doesNotContainIgnoringCase("x-hop");
        String trailers = response.substring(response.indexOf("\r\n0\r\n") + 5);
        assertThat(trailers).isEqualTo("x-checksum: abc\r\n\r\n");
    }

    @Test
    void aFieldTheResponsesConnectionNamesLeavesItsTrailersToAnHttp2Client() throws Exception {
        try (RawBackend b = answeringWithAConnectionNamedTrailer("")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("raw").server("r1", b.address()).build())
                    .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("raw"))
                    .build();
            proxy.start();
            Received r = call(proxy.port(), "/t");
            assertThat(r.body.toString()).isEqualTo("hello");
            assertThat(r.headers.get(0).contains("x-hop")).isFalse();
            Http2Headers trailers = r.headers.get(r.headers.size() - 1);
            List<String> names = new ArrayList<>();
            trailers.forEach(e -> names.add(e.getKey().toString()));
            assertThat(names).containsExactly("x-checksum");
        }
    }

    /** Sends a raw HTTP/1.1 request and reads its chunked response to the end of the trailer section. */
    private static String exchange(int port, String request) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder sb = new StringBuilder();
            byte[] buf = new byte[4096];
            while (true) {
                int last = sb.indexOf("\r\n0\r\n");
                if (last >= 0 && sb.indexOf("\r\n\r\n", last + 2) >= 0) {
                    return sb.toString();
                }
                int n = in.read(buf);
                if (n < 0) {
                    return sb.toString();
                }
                sb.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
            }
        }
    }
}
