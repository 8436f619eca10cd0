package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A 1 GiB upload and a 1 GiB download through the proxy, with direct memory sampled throughout. */
class HttpStreamingTest {

    private static final long GIB = 1L << 30;
    private static final long MEMORY_BOUND = 64L << 20;

    private EventLoopGroup group;
    private Channel server;
    private Proxy proxy;
    private ScheduledExecutorService sampler;
    private final AtomicLong peak = new AtomicLong();

    @BeforeEach
    void start() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Streamer());
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        proxy = Proxy.builder()
                .backend(Backend.named("big").server("s1", "127.0.0.1:" + port))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("big"))
                .build();
        proxy.start();
        sampler = Executors.newSingleThreadScheduledExecutor();
        sampler.scheduleAtFixedRate(() -> peak.accumulateAndGet(usedDirectMemory(), Math::max), 0, 5, TimeUnit.MILLISECONDS);
    }

    @AfterEach
    void stop() {
        sampler.shutdownNow();
        proxy.close();
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static long usedDirectMemory() {
        long used = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        if (ByteBufAllocator.DEFAULT != PooledByteBufAllocator.DEFAULT
                && ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
            used += provider.metric().usedDirectMemory();
        }
        return used;
    }

    @Test
    void aOneGibDownloadStreamsWithBoundedMemory() throws Exception {
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /download HTTP/1.1\r\nHost: h\r\n\r\n");
            InputStream in = c.in;
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.read());
            }
            assertThat(head.toString()).startsWith("HTTP/1.1 200").contains("content-length: " + GIB);
            byte[] buf = new byte[256 * 1024];
            long total = 0;
            int n;
            while (total < GIB && (n = in.read(buf, 0, (int) Math.min(buf.length, GIB - total))) > 0) {
                total += n;
            }
            assertThat(total).isEqualTo(GIB);
        }
        assertThat(peak.get()).as("peak direct memory").isLessThan(MEMORY_BOUND);
    }

    @Test
    void aOneGibUploadStreamsWithBoundedMemory() throws Exception {
        ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor();
        try (RawHttp c = new RawHttp(proxy.port())) {
            // the answer comes after the whole GiB: give it the writer's bound, not RawHttp's 10 s per read
            // (a loaded two-core machine running the C1-compiled suite took more than 10 s)
            c.socket.setSoTimeout(60_000);
            OutputStream out = c.out;
            Future<?> sent = writer.submit(() -> {
                out.write(("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + GIB + "\r\n\r\n").getBytes());
                byte[] chunk = new byte[256 * 1024];
                for (long left = GIB; left > 0; left -= chunk.length) {
                    out.write(chunk, 0, (int) Math.min(chunk.length, left));
                }
                out.flush();
                return null;
            });
            RawHttp.Response r = c.read();
            sent.get(60, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("received " + GIB);
        } finally {
            writer.shutdownNow();
        }
        assertThat(peak.get()).as("peak direct memory").isLessThan(MEMORY_BOUND);
    }

    /** Serves /download as 1 GiB written only while the connection is writable; counts /upload bodies. */
    private static final class Streamer extends ChannelInboundHandlerAdapter {
        private long uploaded;
        private long toSend;
        private ChannelHandlerContext ctx;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            this.ctx = ctx;
            try {
                if (msg instanceof HttpRequest r && r.uri().equals("/download")) {
                    DefaultHttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                    res.headers().set(HttpHeaderNames.CONTENT_LENGTH, GIB);
                    ctx.write(res);
                    toSend = GIB;
                    pump();
                } else if (msg instanceof HttpContent content) {
                    uploaded += content.content().readableBytes();
                    if (msg instanceof LastHttpContent && uploaded > 0) {
                        RecordingBackend.ok(ctx, "received " + uploaded, Map.of());
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void pump() {
            while (toSend > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(64 * 1024, toSend);
                ByteBuf b = ctx.alloc().buffer(n);
                b.writerIndex(n);
                toSend -= n;
                ctx.write(toSend == 0 ? new io.netty.handler.codec.http.DefaultLastHttpContent(b) : new DefaultHttpContent(b));
            }
            ctx.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                pump();
            }
        }
    }
}
