package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Transport#bind}: a listener of the address's family that takes in every queued connection
 * when it is ready (up to {@link Transport#ACCEPTS_PER_READ}), not one per turn of its event loop,
 * and on epoll gives every accepted socket a limit on the bytes queued and not yet sent; an HTTP
 * listener's accepted sockets leave the acknowledgement of the first request to the answer.
 */
class TransportBindTest {

    private static final int CLIENTS = 20;

    @ParameterizedTest
    @EnumSource(Transport.class)
    void connectionsQueuedWhileTheLoopWasBusyAreAcceptedInOneGo(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        EventLoopGroup group = transport.newGroup(1, "bind-test");
        List<Integer> acceptedPerReady = new CopyOnWriteArrayList<>();
        CountDownLatch allAccepted = new CountDownLatch(CLIENTS);
        CountDownLatch firstReadyDone = new CountDownLatch(1);
        List<Socket> clients = new ArrayList<>();
        try {
            ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(group)
                    .handler(new ChannelInboundHandlerAdapter() {
                        private int accepted;

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object child) {
                            accepted++;
                            ctx.fireChannelRead(child);
                        }

                        @Override
                        public void channelReadComplete(ChannelHandlerContext ctx) {
                            acceptedPerReady.add(accepted);
                            accepted = 0;
                            firstReadyDone.countDown();
                            ctx.fireChannelReadComplete();
                        }
                    })
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            allAccepted.countDown();
                        }
                    });
            Channel server = transport.bind(bootstrap, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "test bind");
            assertThat(((InetSocketAddress) server.localAddress()).getAddress()).isInstanceOf(Inet4Address.class);
            int port = ((InetSocketAddress) server.localAddress()).getPort();

            // keep the loop busy while every client connects: the kernel queues the connections
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch busy = new CountDownLatch(1);
            server.eventLoop().execute(() -> {
                busy.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(new Socket(InetAddress.getLoopbackAddress(), port));
            }
            release.countDown();

            assertThat(allAccepted.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(firstReadyDone.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(acceptedPerReady).first().isEqualTo(CLIENTS);
            server.close().sync();
        } finally {
            for (Socket s : clients) {
                s.close();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void anAcceptedSocketInheritsFromItsListenerToQueueAtMostHalfAMebibyteNotYetSent(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        EventLoopGroup group = transport.newGroup(1, "bind-test");
        try {
            // read back from the kernel (getsockopt), not from Netty's copy
            onAnAcceptedSocket(transport, group, false, (server, child) -> {
                assertThat(server.config().getOption(Transport.TCP_NOTSENT_LOWAT)).as("the listener").isEqualTo(512 * 1024);
                assertThat(child.config().getOption(Transport.TCP_NOTSENT_LOWAT)).as("an accepted socket").isEqualTo(512 * 1024);
                return null;
            });
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void anHttpListenerLeavesTheAcknowledgementOfTheFirstRequestToTheAnswer(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        EventLoopGroup group = transport.newGroup(1, "bind-test");
        try {
            // read back from the kernel (getsockopt): 0 while a socket delays its acknowledgements
            for (boolean ackWithFirstAnswer : new boolean[] {true, false}) {
                int expected = ackWithFirstAnswer ? 0 : 1;
                onAnAcceptedSocket(transport, group, ackWithFirstAnswer, (server, child) -> {
                    assertThat(server.config().getOption(Transport.TCP_QUICKACK)).as("the listener").isEqualTo(expected);
                    assertThat(child.config().getOption(Transport.TCP_QUICKACK)).as("an accepted socket").isEqualTo(expected);
                    return null;
                });
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Binds a listener, connects one client to it and applies {@code check} to the listener and the accepted channel. */
    private static <T> T onAnAcceptedSocket(Transport transport, EventLoopGroup group, boolean ackWithFirstAnswer,
            BiFunction<Channel, Channel, T> check) throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.complete(ch);
                    }
                });
        Channel server = transport.bind(bootstrap, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "test bind",
                ackWithFirstAnswer);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), ((InetSocketAddress) server.localAddress()).getPort())) {
            return check.apply(server, accepted.get(5, TimeUnit.SECONDS));
        } finally {
            server.close().sync();
        }
    }
}
