package io.lodestone.core.testing;

import io.lodestone.core.internal.Transport;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One event loop of the transport under test whose timers follow a {@link ManualClock}, as the loops
 * of a proxy built with that clock do, for a proxy that a test runs on it
 * ({@code Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group())}). Holding the
 * loop lets the test wait until a move of the clock has been acted on: {@link #advance} returns
 * once every timer that fell due has run, so a test can also show that a timer not yet due did not
 * fire.
 */
public final class ManualClockLoop implements AutoCloseable {

    private final ManualClock clock;
    private final EventLoopGroup group;

    public ManualClockLoop(ManualClock clock) {
        this.clock = clock;
        this.group = Transport.best().newGroup(1, "manual-clock-loop", 0, clock);
    }

    /** The group of the one loop. */
    public EventLoopGroup group() {
        return group;
    }

    /** Moves the clock by {@code d} and returns once the loop has run every timer due by then. */
    public void advance(Duration d) {
        clock.advance(d);
        awaitDueTimers();
    }

    /**
     * Returns once the loop has run every timer due now, and everything it was given to do before.
     * The loop schedules a task of no delay itself: due timers run in deadline order, and among equal
     * deadlines in the order they were scheduled, so that task runs after them. (A task scheduled
     * from another thread would not do: Netty hands it to the loop as a plain task, which runs
     * before the due timers.)
     */
    public void awaitDueTimers() {
        EventLoop loop = group.next();
        Promise<Void> done = loop.newPromise();
        loop.execute(() -> loop.schedule(() -> done.setSuccess(null), 0, TimeUnit.NANOSECONDS));
        if (!done.awaitUninterruptibly(10, TimeUnit.SECONDS)) {
            throw new AssertionError("the event loop did not run its due timers within 10 s");
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
