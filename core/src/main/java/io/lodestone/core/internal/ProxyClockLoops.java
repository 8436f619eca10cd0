package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Event loops whose timers follow a {@link Clock} other than the system's, such as a test's manual
 * clock. Netty measures every task scheduled on an event loop with the loop's {@link Ticker}: the
 * proxy's own timers (client, server, keep-alive and pool idle timeouts, health-check intervals) and
 * those Netty keeps for it (connect timeouts, TLS handshake timeouts, {@code IdleStateHandler}). Here
 * that ticker reads the proxy's clock, so moving the clock forward makes them fall due; a loop looks
 * at the clock at least once per millisecond ({@link LoopTurns#CLOCK_CHECK_NANOS}).
 *
 * <p>Only proxies built with such a clock use these loops; with {@link Clock#system()} the loops are
 * Netty's own.
 */
final class ProxyClockLoops {

    private ProxyClockLoops() {
    }

    /** A group of {@code threads} loops made by {@code factory}, whose timers follow {@code clock}. */
    static EventLoopGroup newGroup(int threads, ThreadFactory threadFactory, IoHandlerFactory factory, Clock clock) {
        return new Group(threads, threadFactory, factory, new ClockTicker(clock));
    }

    private static final class Group extends MultiThreadIoEventLoopGroup {
        private final ClockTicker ticker;

        Group(int threads, ThreadFactory threadFactory, IoHandlerFactory factory, ClockTicker ticker) {
            // the ticker travels in the arguments: newChild runs inside the super constructor
            super(threads, threadFactory, factory, ticker);
            this.ticker = ticker;
        }

        @Override
        protected IoEventLoop newChild(Executor executor, IoHandlerFactory factory, Object... args) {
            ClockTicker ticker = (ClockTicker) args[0];
            return new SingleThreadIoEventLoop(this, executor, factory) {
                @Override
                public Ticker ticker() {
                    return ticker;
                }
            };
        }

        @Override
        public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
            ticker.runFreely();
            return super.shutdownGracefully(quietPeriod, timeout, unit);
        }
    }

    /**
     * Netty's view of the proxy's clock. Once its loops shut down, it runs on from the clock's last
     * reading at the system clock's pace: Netty measures a loop's quiet period and shutdown timeout
     * with the loop's ticker, and a manual clock that nobody moves would keep the loop from ever
     * ending.
     */
    private static final class ClockTicker implements Ticker {
        private final Clock clock;
        private final long initial;
        /** Set once the loops shut down: the system time minus this is the ticker's time. */
        private volatile long freeRunningOffset;
        private volatile boolean freeRunning;

        ClockTicker(Clock clock) {
            this.clock = clock;
            this.initial = clock.nanoTime();
        }

        synchronized void runFreely() {
            if (!freeRunning) {
                freeRunningOffset = System.nanoTime() - clock.nanoTime();
                freeRunning = true;
            }
        }

        @Override
        public long initialNanoTime() {
            return initial;
        }

        @Override
        public long nanoTime() {
            return freeRunning ? System.nanoTime() - freeRunningOffset : clock.nanoTime();
        }

        @Override
        public void sleep(long delay, TimeUnit unit) throws InterruptedException {
            // nothing on Lodestone's loops sleeps; a caller that does waits in real time
            unit.sleep(delay);
        }
    }
}
