package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link LoopClock}: one reading per phase of a turn on Lodestone's epoll and io_uring loops, the system clock
 * everywhere else. The waits below are the clock's own subject: a spin on {@link System#nanoTime()}
 * inside one task, and a task the loop schedules for later.
 */
class LoopClockTest {

    private static final long MILLIS_5 = TimeUnit.MILLISECONDS.toNanos(5);

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
    void onANativeLoopAPhaseKeepsItsFirstReadingAndTheNextTurnReadsAgain(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        EventLoopGroup group = transport.newGroup(1, "loop-clock-test");
        try {
            EventLoop loop = group.next();
            CompletableFuture<long[]> readings = new CompletableFuture<>();
            loop.execute(() -> {
                long first = LoopClock.nanoTime();
                spinPast(System.nanoTime() + MILLIS_5);
                long sameTask = LoopClock.nanoTime();
                loop.schedule(() -> readings.complete(new long[] {first, sameTask, LoopClock.nanoTime()}), 5, TimeUnit.MILLISECONDS);
            });
            long[] r = readings.get(5, TimeUnit.SECONDS);

            assertThat(r[1]).as("a reading later in the same phase").isEqualTo(r[0]);
            assertThat(r[2] - r[0]).as("a task scheduled 5 ms on, after the loop waited").isGreaterThanOrEqualTo(2 * MILLIS_5);
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void elsewhereEveryReadingIsTheSystemClocks() {
        long before = System.nanoTime();
        long first = LoopClock.nanoTime();
        spinPast(first);
        long second = LoopClock.nanoTime();

        assertThat(first).isGreaterThanOrEqualTo(before);
        assertThat(second).isGreaterThan(first);
    }

    @Test
    void aTurnForgetsTheReadingKept() throws Exception {
        CompletableFuture<long[]> readings = new CompletableFuture<>();
        Thread loop = new Thread(() -> {
            LoopClock clock = LoopClock.install(null);
            long first = LoopClock.nanoTime();
            spinPast(first);
            long kept = LoopClock.nanoTime();
            clock.turn();
            readings.complete(new long[] {first, kept, LoopClock.nanoTime()});
        });
        loop.start();
        long[] r = readings.get(5, TimeUnit.SECONDS);

        assertThat(r[1]).isEqualTo(r[0]);
        assertThat(r[2]).isGreaterThan(r[0]);
    }

    private static void spinPast(long nanos) {
        while (System.nanoTime() <= nanos) {
            Thread.onSpinWait();
        }
    }
}
