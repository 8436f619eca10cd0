package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lodestone.core.testing.RefusingPort;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Transport#connect}: the pipeline is built before the connect is issued; a connect completes
 * whether the server answers at once or only later, and a refused one fails. On epoll this also
 * covers the event loop's deferred interest sets ({@link EpollWithoutEmptyInterest}): a connecting
 * socket is added to the epoll set only when the loop is about to wait, and must still hear that its
 * connect completed.
 */
class TransportConnectTest {

    private EventLoopGroup group;

    @AfterEach
    void shutDown() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aConnectionIsUpWithItsPipelineAndCarriesAWrite(Transport transport) throws Exception {
        EventLoop loop = loopOf(transport);
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
            CountDownLatch activeSeenByPipeline = new CountDownLatch(1);
            ChannelFuture connected = connectThenWrite(transport, loop, address, c -> c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    activeSeenByPipeline.countDown();
                    ctx.fireChannelActive();
                }
            }), "hello");

            assertThat(connected.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(connected.isSuccess()).as("connect succeeded: %s", connected.cause()).isTrue();
            assertThat(activeSeenByPipeline.await(5, TimeUnit.SECONDS)).as("the pipeline saw the channel become active").isTrue();
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(5_000);
                InputStream in = accepted.getInputStream();
                assertThat(new String(in.readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("hello");
            } finally {
                connected.channel().close().syncUninterruptibly();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aConnectTheServerHasNotAnsweredYetCompletesOnceItDoes(Transport transport) throws Exception {
        EventLoop loop = loopOf(transport);
        List<java.nio.channels.SocketChannel> queued = new ArrayList<>();
        Set<Integer> queuedPorts = new HashSet<>();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
            // fill the listener's accept queue: the system then drops further connection requests, so a
            // new connect stays in progress until the queue has room and the request is sent again
            for (int i = 0; i < 4; i++) {
                java.nio.channels.SocketChannel filler = java.nio.channels.SocketChannel.open();
                filler.configureBlocking(false);
                filler.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                filler.connect(address);
                queued.add(filler);
                queuedPorts.add(((InetSocketAddress) filler.getLocalAddress()).getPort());
            }
            ChannelFuture connected = connectThenWrite(transport, loop, address, null, "late");
            assertThat(connected.isDone()).as("the server has not taken the connection yet").isFalse();
            assertThat(connected.channel().isActive()).isFalse();

            List<Socket> accepted = new ArrayList<>();
            try {
                server.setSoTimeout(10_000);
                Socket proxied;
                do {
                    proxied = server.accept();
                    accepted.add(proxied);
                } while (queuedPorts.contains(proxied.getPort()));
                proxied.setSoTimeout(10_000);
                assertThat(new String(proxied.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("late");
                assertThat(connected.isSuccess()).isTrue();
            } finally {
                for (Socket s : accepted) {
                    s.close();
                }
                connected.channel().close().syncUninterruptibly();
            }
        } finally {
            for (java.nio.channels.SocketChannel c : queued) {
                c.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aRefusedConnectFailsTheFuture(Transport transport) throws Exception {
        EventLoop loop = loopOf(transport);
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), RefusingPort.next());

        ChannelFuture f = loop.submit(() -> transport.connect(loop, transport.newSocketChannel(address.getAddress()), address, null))
                .get(5, TimeUnit.SECONDS);

        assertThat(f.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isInstanceOf(ConnectException.class);
        assertThat(f.channel().isActive()).isFalse();
        f.channel().close().syncUninterruptibly();
    }

    /** Connects from the event loop, as the engines do, and writes {@code text} once connected. */
    private static ChannelFuture connectThenWrite(Transport transport, EventLoop loop, InetSocketAddress address,
            Consumer<Channel> beforeConnect, String text) throws Exception {
        return loop.submit(() -> {
            SocketChannel ch = transport.newSocketChannel(address.getAddress());
            ChannelFuture f = transport.connect(loop, ch, address, beforeConnect);
            f.addListener(done -> {
                if (done.isSuccess()) {
                    ch.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
                }
            });
            return f;
        }).get(5, TimeUnit.SECONDS);
    }

    private EventLoop loopOf(Transport transport) {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        group = transport.newGroup(1, "connect-test");
        return group.next();
    }
}
