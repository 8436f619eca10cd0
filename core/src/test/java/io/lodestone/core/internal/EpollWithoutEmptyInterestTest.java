package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The epoll event loop adds a new socket to the epoll set only when it is about to wait, with the
 * interest set the socket has by then. A socket that does not read at once must still be added before
 * the loop waits: else it would never hear of its peer's close or of bytes that arrived before it read.
 * (A connecting socket, added the same way, is covered by {@link TransportConnectTest}.) Every later
 * change of interest made on the loop's thread is held the same way and only the last one is given
 * to the epoll set: a socket told to stop reading must stop before the loop waits, and one told to
 * stop and then to go on within the same turn must go on reading.
 */
class EpollWithoutEmptyInterestTest {

    private EventLoopGroup group;
    private Channel server;
    private final CompletableFuture<Channel> accepted = new CompletableFuture<>();
    private final StringBuffer received = new StringBuffer();

    @BeforeEach
    void epollOnly() {
        assumeTrue(Epoll.isAvailable(), "native epoll does not load on this platform");
        group = Transport.EPOLL.newGroup(1, "epoll-interest-test");
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private int listen(boolean autoRead) throws Exception {
        server = new ServerBootstrap()
                .group(group)
                .channel(Transport.EPOLL.serverChannelClass())
                .childOption(ChannelOption.AUTO_READ, autoRead)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf b = (ByteBuf) msg;
                                received.append(b.toString(StandardCharsets.US_ASCII));
                                ctx.writeAndFlush(b);
                            }
                        });
                        accepted.complete(ch);
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Test
    void aSocketThatReadsAtOnceGetsWhatArrivedWithItsConnection() throws Exception {
        int port = listen(true);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            client.setSoTimeout(5_000);
            client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(client.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
    }

    @Test
    void aSocketThatDoesNotReadYetStillHearsItsPeerClose() throws Exception {
        int port = listen(false);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Channel child = accepted.get(5, TimeUnit.SECONDS);
            client.close();
            // no read was ever asked for: only the interest set added before the loop waited reports the close
            assertThat(child.closeFuture().await(5, TimeUnit.SECONDS)).as("closed after its peer closed").isTrue();
        }
    }

    @Test
    void bytesThatArriveBeforeTheFirstReadAreReadWhenItComes() throws Exception {
        int port = listen(false);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            client.setSoTimeout(5_000);
            Channel child = accepted.get(5, TimeUnit.SECONDS);
            OutputStream out = client.getOutputStream();
            out.write("early".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // the loop has added the socket without read interest by the time this task runs after the accept
            child.eventLoop().submit(() -> { }).sync();
            assertThat(received).isEmpty();
            child.read();
            InputStream in = client.getInputStream();
            assertThat(new String(in.readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("early");
        }
    }

    @Test
    void aSocketToldToStopReadingReadsNothingMoreUntilToldToReadAgain() throws Exception {
        int port = listen(true);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Channel child = echoedOne(client);
            child.eventLoop().submit(() -> child.config().setAutoRead(false)).sync();
            write(client, "two");
            // the loop waits and wakes for this task; had the socket kept its read interest, "two" would be read by now
            child.eventLoop().submit(() -> { }).sync();
            child.eventLoop().submit(() -> { }).sync();
            assertThat(received.toString()).isEqualTo("one");
            child.eventLoop().submit(() -> child.config().setAutoRead(true)).sync();
            assertThat(read(client, 3)).isEqualTo("two");
        }
    }

    @Test
    void aSocketToldToStopAndGoOnReadingInOneTurnGoesOnReading() throws Exception {
        int port = listen(true);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Channel child = echoedOne(client);
            child.eventLoop().submit(() -> {
                child.config().setAutoRead(false);
                child.config().setAutoRead(true);
            }).sync();
            write(client, "two");
            assertThat(read(client, 3)).isEqualTo("two");
        }
    }

    /** Sends "one" and reads its echo, so the accepted socket is reading; returns its channel. */
    private Channel echoedOne(Socket client) throws Exception {
        client.setSoTimeout(5_000);
        write(client, "one");
        assertThat(read(client, 3)).isEqualTo("one");
        return accepted.get(5, TimeUnit.SECONDS);
    }

    private static void write(Socket client, String text) throws IOException {
        client.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    }

    private static String read(Socket client, int length) throws IOException {
        return new String(client.getInputStream().readNBytes(length), StandardCharsets.US_ASCII);
    }
}
