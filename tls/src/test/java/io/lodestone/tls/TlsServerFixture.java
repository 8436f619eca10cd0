package io.lodestone.tls;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A small Netty TLS echo server on 127.0.0.1 using {@link ServerTls#newHandler()}; records the outcome
 * of every handshake.
 */
final class TlsServerFixture implements AutoCloseable {

    /** Closes the channel on an exception (the handshake failures the tests provoke) instead of logging it. */
    static final ChannelHandler CLOSE_ON_ERROR = new CloseOnError();

    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final BlockingQueue<TlsInfo> handshakes = new LinkedBlockingQueue<>();
    final BlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
    private final Channel server;

    TlsServerFixture(ServerTls tls) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("tls", tls.newHandler());
                        ch.pipeline().addLast("echo", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof SslHandshakeCompletionEvent) {
                                    SslHandshakeCompletionEvent e = (SslHandshakeCompletionEvent) evt;
                                    if (e.isSuccess()) {
                                        handshakes.add(TlsInfo.of(ctx.channel()));
                                    } else {
                                        failures.add(e.cause());
                                        ctx.close();
                                    }
                                }
                                ctx.fireUserEventTriggered(evt);
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.writeAndFlush(msg);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    TlsInfo nextHandshake() throws InterruptedException {
        TlsInfo info = handshakes.poll(10, TimeUnit.SECONDS);
        if (info == null) {
            throw new AssertionError("no successful handshake within 10 s; failures: " + failures);
        }
        return info;
    }

    Throwable nextFailure() throws InterruptedException {
        Throwable t = failures.poll(10, TimeUnit.SECONDS);
        if (t == null) {
            throw new AssertionError("no failed handshake within 10 s");
        }
        return t;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    @ChannelHandler.Sharable
    private static final class CloseOnError extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

}
