package io.lodestone.l7.internal;

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
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A test backend on 127.0.0.1 that records every byte it receives, exactly as received, and the
 * requests it could decode completely. It answers each complete request with raw bytes from a
 * scriptable {@link #responder} (by default a 200 with the body {@code ok}), written straight to the
 * socket, so a test can make it send any garbage.
 */
final class RawRecordingBackend implements AutoCloseable {

    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    private final Channel server;
    private final StringBuffer received = new StringBuffer();
    /** "METHOD uri" of every request received completely. */
    final List<String> requests = new CopyOnWriteArrayList<>();
    /** The connection number of every request received completely. */
    final List<Integer> requestConnections = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final List<Channel> open = new CopyOnWriteArrayList<>();
    /** The raw answer to a complete request, given its "METHOD uri". */
    volatile Function<String, String> responder = request -> OK;

    RawRecordingBackend() {
        server = new ServerBootstrap()
                .group(GROUP)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        int id = connections.incrementAndGet();
                        open.add(ch);
                        ch.closeFuture().addListener(f -> open.remove(ch));
                        Tap tap = new Tap();
                        ch.pipeline().addLast(tap, new HttpServerCodec(), new Answer(tap, id));
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    String address() {
        return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Every byte received since the last {@link #reset()}. */
    String received() {
        return received.toString();
    }

    void reset() {
        received.setLength(0);
        requests.clear();
        requestConnections.clear();
        responder = request -> OK;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Channel ch : open) {
            ch.close().syncUninterruptibly();
        }
    }

    private final class Tap extends ChannelInboundHandlerAdapter {
        ChannelHandlerContext ctx;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                received.append(b.toString(StandardCharsets.ISO_8859_1));
            }
            ctx.fireChannelRead(msg);
        }
    }

    private final class Answer extends ChannelInboundHandlerAdapter {
        private final Tap tap;
        private final int connection;
        private String current;

        Answer(Tap tap, int connection) {
            this.tap = tap;
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest r) {
                    current = r.decoderResult().isSuccess() ? r.method() + " " + r.uri() : null;
                }
                if (msg instanceof LastHttpContent last && current != null && last.decoderResult().isSuccess()) {
                    requests.add(current);
                    requestConnections.add(connection);
                    String answer = responder.apply(current);
                    current = null;
                    // from the tap's context: straight to the socket, past the HTTP encoder
                    tap.ctx.writeAndFlush(Unpooled.copiedBuffer(answer, StandardCharsets.ISO_8859_1));
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
