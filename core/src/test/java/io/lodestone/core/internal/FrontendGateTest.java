package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.testing.Await;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gate on real sockets, with an engine's way of releasing (on close): a connection counted but
 * never registered with its own loop gives its slot back.
 */
class FrontendGateTest {

    private final EventLoopGroup acceptGroup = Transport.best().newGroup(1, "gate-accept");
    private final EventLoopGroup ioGroup = Transport.best().newGroup(1, "gate-io");
    private final List<Channel> listening = new CopyOnWriteArrayList<>();
    private final AtomicInteger admitted = new AtomicInteger();
    private final AtomicInteger abandoned = new AtomicInteger();

    @AfterEach
    void stop() {
        for (Channel ch : listening) {
            ch.close().syncUninterruptibly();
        }
        ioGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        acceptGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** A gate of limit 1 that releases a connection when it closes, as the engines do; {@code failing} admissions throw. */
    private FrontendGate gate(int failing) {
        return new FrontendGate(acceptGroup.next(), 1, listening) {
            private final ChannelFutureListener releaseOnClose = f -> release(f.channel());

            @Override
            protected void admitted(Channel child) {
                child.closeFuture().addListener(releaseOnClose);
                if (admitted.incrementAndGet() <= failing) {
                    throw new IllegalStateException("cannot prepare " + child);
                }
            }

            @Override
            protected void abandoned(Channel child) {
                abandoned.incrementAndGet();
            }
        };
    }

    private int bind(FrontendGate gate) {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(gate.acceptLoop(), ioGroup)
                .handler(gate)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // a connection that reaches its loop is only read, and closed when its client goes
                    }
                });
        Channel ch = Transport.best().bind(bootstrap, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "test bind");
        listening.add(ch);
        return ((InetSocketAddress) ch.localAddress()).getPort();
    }

    /** The gate's count once the accept loop has finished what it was doing. */
    private static int connectionsAfterAccept(FrontendGate gate) throws Exception {
        return gate.acceptLoop().submit(gate::connections).get(5, TimeUnit.SECONDS);
    }

    private static void assertClosedByTheProxy(Socket client) throws Exception {
        client.setSoTimeout(5_000);
        InputStream in = client.getInputStream();
        try {
            assertThat(in.read()).isEqualTo(-1);
        } catch (SocketException reset) {
            // closed with a reset: closed too
        }
    }

    @Test
    void aConnectionItsLoopDoesNotTakeGivesItsSlotBack() throws Exception {
        FrontendGate gate = gate(0);
        int port = bind(gate);
        ioGroup.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();   // the connections' loop is gone
        for (int i = 1; i <= 2; i++) {
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
                int n = i;
                Await.until("connection " + n + " admitted", () -> admitted.get() == n);
                assertThat(connectionsAfterAccept(gate)).as("slots taken after connection %d", n).isZero();
                assertThat(abandoned.get()).isEqualTo(n);
                assertClosedByTheProxy(client);
            }
        }
    }

    @Test
    void aConnectionTheEngineFailsToPrepareGivesItsSlotBack() throws Exception {
        FrontendGate gate = gate(1);
        int port = bind(gate);
        try (Socket first = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Await.until("the first connection admitted", () -> admitted.get() == 1);
            assertThat(connectionsAfterAccept(gate)).isZero();
            assertThat(abandoned.get()).isEqualTo(1);
            assertClosedByTheProxy(first);
        }
        try (Socket second = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Await.until("the second connection admitted", () -> admitted.get() == 2);   // the gate still accepts
            assertThat(connectionsAfterAccept(gate)).isEqualTo(1);
            second.shutdownOutput();                                  // the client ends: the connection closes
            Await.until("the second connection released when it closed", () -> gate.connections() == 0);
        }
        assertThat(abandoned.get()).isEqualTo(1);
    }
}
