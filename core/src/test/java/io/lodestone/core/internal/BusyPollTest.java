package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lodestone.core.testing.Await;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerContext;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link BusyPoll}: the window after the last I/O in which the loop may not block, on a clock the
 * test sets; and, on real epoll and io_uring loops, that a loop given a window spends it polling.
 */
class BusyPollTest {

    private static final long WINDOW = 50_000;

    private long now = 1_000_000;
    private final BusyPoll busyPoll = new BusyPoll(WINDOW, () -> now);

    @Test
    void beforeAnyIoTheLoopMayBlock() {
        Context loop = new Context(true);

        assertThat(busyPoll.context(loop)).isSameAs(loop);
    }

    @Test
    void withinTheWindowAfterIoTheLoopPollsAndKeepsItsTimers() {
        Context loop = new Context(true);
        busyPoll.handled(3);
        now += WINDOW - 1;

        IoHandlerContext polling = busyPoll.context(loop);

        assertThat(polling.canBlock()).isFalse();
        assertThat(polling.deadlineNanos()).isEqualTo(loop.deadlineNanos());
        assertThat(polling.delayNanos(now)).isEqualTo(loop.delayNanos(now));
    }

    @Test
    void onceTheWindowHasPassedTheLoopBlocksUntilTheNextIo() {
        Context loop = new Context(true);
        busyPoll.handled(1);
        now += WINDOW;

        assertThat(busyPoll.context(loop)).as("the window has passed").isSameAs(loop);
        now += 1;
        busyPoll.handled(0);
        assertThat(busyPoll.context(loop)).as("a turn without I/O does not open it").isSameAs(loop);
        busyPoll.handled(2);
        assertThat(busyPoll.context(loop).canBlock()).as("new I/O opens it again").isFalse();
    }

    @Test
    void eachIoMovesTheWindowOn() {
        Context loop = new Context(true);
        busyPoll.handled(1);
        now += WINDOW - 10;
        busyPoll.handled(1);
        now += WINDOW - 10;

        assertThat(busyPoll.context(loop).canBlock()).isFalse();
    }

    @Test
    void aLoopThatMayNotBlockAnywayKeepsItsContext() {
        Context busy = new Context(false);
        busyPoll.handled(1);

        assertThat(busyPoll.context(busy)).isSameAs(busy);
    }

    @Test
    void rejectsAnEmptyWindow() {
        assertThatIllegalArgumentException().isThrownBy(() -> new BusyPoll(0, System::nanoTime))
                .withMessage("windowNanos: 0 (expected: > 0)");
    }

    /**
     * An accepted connection is I/O; for the window after it, the loop's thread keeps running instead
     * of waiting in the kernel, which its CPU time shows.
     */
    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void aLoopGivenAWindowKeepsPollingAfterIo(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isCurrentThreadCpuTimeSupported(), "no thread CPU time here");
        EventLoopGroup group = transport.newGroup(1, "busy-poll-test", Duration.ofSeconds(5).toNanos());
        try {
            EventLoop loop = group.next();
            long loopThread = loop.submit(() -> Thread.currentThread().getId()).get(5, TimeUnit.SECONDS);
            Channel listener = new ServerBootstrap().group(group).channel(transport.serverChannelClass())
                    .childHandler(new ChannelInboundHandlerAdapter())
                    .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
            long before = threads.getThreadCpuTime(loopThread);

            try (Socket client = new Socket("127.0.0.1", ((InetSocketAddress) listener.localAddress()).getPort())) {
                Await.until(Duration.ofSeconds(10), "the loop thread spends 100 ms of CPU polling after the accept",
                        () -> threads.getThreadCpuTime(loopThread) - before >= TimeUnit.MILLISECONDS.toNanos(100));
            }
            listener.close().syncUninterruptibly();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static final class Context implements IoHandlerContext {
        private final boolean canBlock;

        Context(boolean canBlock) {
            this.canBlock = canBlock;
        }

        @Override
        public boolean canBlock() {
            return canBlock;
        }

        @Override
        public long delayNanos(long currentTimeNanos) {
            return 7_000 - currentTimeNanos % 1000;
        }

        @Override
        public long deadlineNanos() {
            return 123_456;
        }
    }
}
