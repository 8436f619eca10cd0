package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lodestone.core.testing.Await;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A channel whose peer has half-closed writes more than the sockets hold, several buffers per flush
 * (so that Netty writes them with {@code writev}, which returns {@code EAGAIN} on a full socket),
 * while the peer reads nothing; then the peer either reads everything or closes with the bytes unread
 * (a reset). On Lodestone's io_uring loops the channel delivers every byte in the first case and is
 * closed in the second. The same exchange on Netty 4.2.18's own io_uring loop shows what the loop
 * works around: the channel never writes again, and never hears of the reset.
 */
class IoUringWithoutLostPollOutTest {

    private static final int TOTAL = 8 << 20;
    private static final int PIECE = 16 * 1024;
    private static final int PIECES_PER_FLUSH = 4;

    private EventLoopGroup lodestone;
    private EventLoopGroup netty;

    @BeforeEach
    void ioUringOnly() {
        assumeTrue(IoUring.isAvailable(), "io_uring does not load on this platform");
        assertThat(IoUringWithoutLostPollOut.inForce()).as("Netty's io_uring operations can be read").isTrue();
        lodestone = Transport.IO_URING.newGroup(1, "uring-pollout-test", 0);
        netty = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
    }

    @AfterEach
    void stop() throws Exception {
        if (lodestone != null) {
            lodestone.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        if (netty != null) {
            netty.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aWriteBlockedAfterThePeersHalfCloseGoesOnOnceThePeerReads() throws Exception {
        assertThat(readAfterTheWriterBlocks(lodestone, 5_000)).as("bytes the half-closed peer received").isEqualTo(TOTAL);
    }

    @Test
    void onNettysOwnLoopTheSameWriteNeverGoesOn() throws Exception {
        assertThat(readAfterTheWriterBlocks(netty, 1_000)).as("bytes the half-closed peer received").isLessThan(TOTAL);
    }

    @Test
    void aResetAfterThePeersHalfCloseClosesTheBlockedChannel() throws Exception {
        assertThat(resetAfterTheWriterBlocks(lodestone, 5_000)).as("the channel closed after the reset").isTrue();
    }

    @Test
    void onNettysOwnLoopTheBlockedChannelNeverHearsOfTheReset() throws Exception {
        assertThat(resetAfterTheWriterBlocks(netty, 1_000)).as("the channel closed after the reset").isFalse();
    }

    @Test
    void retriesComeLaterWhileNothingIsWrittenAndSoonAgainAfterProgress() {
        long first = IoUringWithoutLostPollOut.FIRST_RETRY_NANOS;
        assertThat(IoUringWithoutLostPollOut.nextDelay(0, false)).isEqualTo(first);
        assertThat(IoUringWithoutLostPollOut.nextDelay(first, false)).isEqualTo(2 * first);
        assertThat(IoUringWithoutLostPollOut.nextDelay(IoUringWithoutLostPollOut.LAST_RETRY_NANOS, false))
                .isEqualTo(IoUringWithoutLostPollOut.LAST_RETRY_NANOS);
        assertThat(IoUringWithoutLostPollOut.nextDelay(IoUringWithoutLostPollOut.LAST_RETRY_NANOS, true)).isEqualTo(first);
    }

    @Test
    void retriesAreRoundedUpToAGrainSoThatManyShareAWakeUp() {
        long now = 123_456_789_012L;
        long shortRetry = IoUringWithoutLostPollOut.retryTime(now, IoUringWithoutLostPollOut.FIRST_RETRY_NANOS);
        assertThat(shortRetry).isGreaterThan(now + IoUringWithoutLostPollOut.FIRST_RETRY_NANOS)
                .isLessThanOrEqualTo(now + IoUringWithoutLostPollOut.FIRST_RETRY_NANOS + IoUringWithoutLostPollOut.TICK_SHORT);
        assertThat(shortRetry % IoUringWithoutLostPollOut.TICK_SHORT).isZero();
        long longRetry = IoUringWithoutLostPollOut.retryTime(now, IoUringWithoutLostPollOut.LAST_RETRY_NANOS);
        assertThat(longRetry % IoUringWithoutLostPollOut.TICK_LONG).isZero();
        // two channels stalled a little apart retry in the same turn
        assertThat(IoUringWithoutLostPollOut.retryTime(now + 1_000_000, IoUringWithoutLostPollOut.LAST_RETRY_NANOS)).isEqualTo(longRetry);
    }

    /**
     * Connects a writer on {@code group} to a peer that half-closes at once, waits until the writer is
     * blocked, then reads with {@code readTimeoutMillis}; returns the bytes the peer read, checked
     * against what was sent, until the stream ended or a read timed out.
     */
    private static long readAfterTheWriterBlocks(EventLoopGroup group, int readTimeoutMillis) throws Exception {
        try (ServerSocket listener = listener(); Blocked blocked = blockedWriter(group, listener)) {
            blocked.peer.setSoTimeout(readTimeoutMillis);
            InputStream in = blocked.peer.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long received = 0;
            try {
                for (int n; received < TOTAL && (n = in.read(buf)) >= 0; received += n) {
                    for (int i = 0; i < n; i++) {
                        if (buf[i] != patternByte(received + i)) {
                            throw new AssertionError("byte " + (received + i) + " differs from what was written");
                        }
                    }
                }
            } catch (SocketTimeoutException stalled) {
                // nothing more came: the received count says how far the writer got
            }
            return received;
        }
    }

    /**
     * As {@link #readAfterTheWriterBlocks}, but the peer closes with the bytes unread, which resets the
     * connection; returns whether the writer's channel closed within {@code waitMillis}.
     */
    private static boolean resetAfterTheWriterBlocks(EventLoopGroup group, int waitMillis) throws Exception {
        try (ServerSocket listener = listener(); Blocked blocked = blockedWriter(group, listener)) {
            blocked.peer.close();
            return blocked.writer.closeFuture().await(waitMillis, TimeUnit.MILLISECONDS);
        }
    }

    private static ServerSocket listener() throws IOException {
        ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        listener.setReceiveBufferSize(16 * 1024);
        return listener;
    }

    /** A writer's channel, blocked, and its peer's socket; closing closes both. */
    private record Blocked(Channel writer, Socket peer) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            peer.close();
            writer.close().sync();
        }
    }

    /**
     * Connects a {@link Writer} on {@code group} to {@code listener} and half-closes the accepted peer,
     * which reads nothing; returns both once the writer has been blocked for a while.
     */
    private static Blocked blockedWriter(EventLoopGroup group, ServerSocket listener) throws Exception {
        Channel writer = new Bootstrap()
                .group(group)
                .channel(Transport.of(group).socketChannelClass())
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new Writer())
                .connect(listener.getLocalSocketAddress()).sync().channel();
        Socket peer = listener.accept();
        peer.shutdownOutput();
        long[] last = {-1};
        int[] still = {0};
        Await.until("the writer blocked", () -> {
            long pending = writer.isWritable() ? -1 : writer.bytesBeforeWritable();
            still[0] = pending >= 0 && pending == last[0] ? still[0] + 1 : 0;
            last[0] = pending;
            return still[0] >= 150;
        });
        return new Blocked(writer, peer);
    }

    /** Starts writing when the peer half-closes: {@link #TOTAL} pattern bytes, several buffers per flush. */
    private static final class Writer extends ChannelInboundHandlerAdapter {
        private long written;
        private boolean started;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                started = true;
                write(ctx);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (started && ctx.channel().isWritable()) {
                write(ctx);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        private void write(ChannelHandlerContext ctx) {
            while (written < TOTAL && ctx.channel().isWritable()) {
                for (int p = 0; p < PIECES_PER_FLUSH && written < TOTAL; p++) {
                    ByteBuf piece = ctx.alloc().directBuffer(PIECE).writeBytes(PATTERN, (int) (written % 251), PIECE);
                    written += PIECE;
                    ctx.write(piece, ctx.voidPromise());
                }
                ctx.flush();
            }
        }
    }

    /** The bytes written: position i holds i mod 251, so a byte moved or lost shows. */
    private static byte patternByte(long i) {
        return (byte) (i % 251);
    }

    private static final byte[] PATTERN = new byte[251 + PIECE];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = patternByte(i);
        }
    }
}
