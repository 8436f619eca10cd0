package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUringIoHandler;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Transport#newGroup}: its event loops stay on their threads. Netty suspends only loops whose
 * I/O handler may change threads, and times every turn of those loops' I/O to decide when; a loop
 * that refuses to be suspended does neither. And {@link Transport#of} knows its groups and plain
 * Netty groups.
 */
class TransportGroupTest {

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aLoopRefusesToBeSuspendedAndKeepsRunningTasks(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        EventLoopGroup group = transport.newGroup(1, "group-test");
        try {
            EventLoop loop = group.next();
            assertThat(loop.submit(() -> Thread.currentThread().getName()).get(5, TimeUnit.SECONDS)).startsWith("group-test");

            assertThat(loop.trySuspend()).isFalse();

            assertThat(loop.isSuspended()).isFalse();
            assertThat(loop.submit(() -> loop.inEventLoop()).get(5, TimeUnit.SECONDS)).isTrue();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aGroupOfTheTransportOrOfPlainNettyIsRecognisedAsItsTransport(Transport transport) {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        IoHandlerFactory plain = switch (transport) {
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
            case IO_URING -> IoUringIoHandler.newFactory();
        };
        EventLoopGroup own = transport.newGroup(1, "own-group-test");
        EventLoopGroup netty = new MultiThreadIoEventLoopGroup(1, plain);
        try {
            assertThat(Transport.of(own)).isEqualTo(transport);
            assertThat(Transport.of(netty)).isEqualTo(transport);
        } finally {
            own.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
            netty.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
