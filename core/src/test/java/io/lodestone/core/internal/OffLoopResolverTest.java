package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.DefaultAddressResolverGroup;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link OffLoopResolver}: a server's host name is looked up on a thread of its own, so a lookup
 * that waits (a slow DNS server) holds back only the connection that needs it, while the event loop
 * goes on serving everything else; the answer reaches the connecting loop.
 */
class OffLoopResolverTest {

    private final EventLoopGroup group = Transport.NIO.newGroup(1, "resolver-test");
    private final ExecutorService lookups = Executors.newSingleThreadExecutor();

    @AfterEach
    void shutDown() {
        lookups.shutdownNow();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aLookupThatWaitsLeavesTheEventLoopFreeAndItsAnswerReachesTheLoop() throws Exception {
        CountDownLatch dnsAnswers = new CountDownLatch(1);
        OffLoopResolver resolver = new OffLoopResolver(host -> {
            await(dnsAnswers);
            return new InetAddress[] {InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1})};
        }, lookups);
        EventLoop loop = group.next();
        AddressResolver<InetSocketAddress> onLoop = loop.submit(() -> resolver.getResolver(loop)).get(5, TimeUnit.SECONDS);

        // completed by the listener, which runs after the promise is done: get() alone may return first
        CompletableFuture<Boolean> answerOnLoop = new CompletableFuture<>();
        Future<InetSocketAddress> resolved = loop.submit(() -> onLoop.resolve(InetSocketAddress.createUnresolved("app.internal", 8080))
                .addListener(f -> answerOnLoop.complete(loop.inEventLoop()))).get(5, TimeUnit.SECONDS);

        // the lookup waits, and the loop still runs other work at once
        assertThat(loop.submit(() -> "served").get(5, TimeUnit.SECONDS)).isEqualTo("served");
        assertThat(resolved.isDone()).isFalse();

        dnsAnswers.countDown();
        InetSocketAddress address = resolved.get(5, TimeUnit.SECONDS);
        assertThat(address.isUnresolved()).isFalse();
        assertThat(address.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(address.getPort()).isEqualTo(8080);
        assertThat(answerOnLoop.get(5, TimeUnit.SECONDS)).as("the answer's listener ran on the loop").isTrue();
    }

    /** What the engines did before: Netty's default resolver looks the name up on the loop itself. */
    @Test
    void nettysDefaultResolverLooksUpOnTheEventLoop() throws Exception {
        EventLoop loop = group.next();
        AddressResolver<InetSocketAddress> onLoop = loop.submit(() -> DefaultAddressResolverGroup.INSTANCE.getResolver(loop))
                .get(5, TimeUnit.SECONDS);
        Future<InetSocketAddress> resolved = loop.submit(() -> onLoop.resolve(InetSocketAddress.createUnresolved("localhost", 80)))
                .get(5, TimeUnit.SECONDS);
        // done when resolve returned: the lookup ran on the loop's thread
        assertThat(resolved.isDone()).isTrue();
    }

    @Test
    void aNameThatDoesNotResolveFailsItsPromise() throws Exception {
        OffLoopResolver resolver = new OffLoopResolver(host -> {
            throw new UnknownHostException(host + ": no such name");
        }, lookups);
        EventLoop loop = group.next();
        Future<InetSocketAddress> resolved = loop.submit(() -> resolver.getResolver(loop)
                .resolve(InetSocketAddress.createUnresolved("nowhere.invalid", 80))).get(5, TimeUnit.SECONDS);
        assertThatThrownBy(() -> resolved.get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(UnknownHostException.class)
                .hasMessageContaining("nowhere.invalid");
    }

    @Test
    void aBootstrapWithTheSharedInstanceConnectsToLocalhostByName() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("localhost"))) {
            ChannelFuture connect = new Bootstrap()
                    .group(group)
                    .channelFactory(Transport.NIO.socketChannelFactory())
                    .resolver(OffLoopResolver.INSTANCE)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(InetSocketAddress.createUnresolved("localhost", server.getLocalPort()));
            try (Socket accepted = server.accept()) {
                assertThat(connect.await(5, TimeUnit.SECONDS)).isTrue();
                assertThat(connect.isSuccess()).isTrue();
                assertThat(((InetSocketAddress) connect.channel().remoteAddress()).getPort()).isEqualTo(server.getLocalPort());
            } finally {
                connect.channel().close().syncUninterruptibly();
            }
        }
    }

    private static void await(CountDownLatch latch) throws UnknownHostException {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new UnknownHostException("test: the lookup was never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnknownHostException("test: interrupted");
        }
    }
}
