package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.util.concurrent.Ticker;

/**
 * What Lodestone's handlers ({@link EpollWithoutEmptyInterest}, {@link IoUringWithoutLostPollOut},
 * {@link ClockedIoHandler}) do around each turn of the Netty handler they wrap: tell the loop's
 * {@link LoopClock} when each phase begins, before the loop waits and after it has handled what was
 * ready, and, with a busy-polling window, keep the loop from blocking while it is open
 * ({@link BusyPoll}).
 *
 * <p>On a loop whose timers follow a clock other than the system's ({@link ProxyClockLoops}), it
 * also keeps the loop from waiting longer than {@link #CLOCK_CHECK_NANOS} at a time, so that a timer
 * falls due within a millisecond of the clock being moved past it, and it converts the loop's
 * deadlines, which are on that clock, into the system time that Netty's handlers wait by.
 *
 * <p>Only the event loop's own thread uses an instance.
 */
final class LoopTurns {

    /** The longest a loop on a clock other than the system's waits before it looks at the clock again. */
    static final long CLOCK_CHECK_NANOS = 1_000_000;

    /** {@code null} when the loop does not busy-poll. */
    private final BusyPoll busyPoll;
    /** The loop's context seen through the clock its timers follow; {@code null} with the system's clock. */
    private final OnClock onClock;
    /** The loop's clock for timeouts, installed on the loop's thread when it starts. */
    private LoopClock clock;

    /** Turns that busy-poll for {@code busyPollNanos} after the last I/O; 0 never busy-polls. */
    LoopTurns(long busyPollNanos) {
        this(busyPollNanos, null);
    }

    /**
     * Turns that busy-poll for {@code busyPollNanos} after the last I/O (0 never busy-polls) on a loop
     * whose timers follow {@code timerClock}, {@code null} meaning the system's.
     */
    LoopTurns(long busyPollNanos, Clock timerClock) {
        this.busyPoll = busyPollNanos > 0 ? new BusyPoll(busyPollNanos, System::nanoTime) : null;
        this.onClock = timerClock == null ? null : new OnClock(timerClock);
    }

    /** Installs the loop's clock; called on the loop's thread before its first turn. */
    void initialize() {
        clock = LoopClock.install(onClock == null ? null : onClock.clock);
    }

    /** Runs one turn of {@code handler}; returns what it returned, the number of I/O events it handled. */
    int run(IoHandler handler, IoHandlerContext context) {
        clock.turn();
        if (onClock != null) {
            onClock.loop = context;
            context = onClock;
        }
        int handled;
        if (busyPoll == null) {
            handled = handler.run(context);
        } else {
            handled = handler.run(busyPoll.context(context));
            busyPoll.handled(handled);
        }
        clock.turn();
        return handled;
    }

    /**
     * A loop's context whose deadlines are on a clock other than the system's, as the handler needs
     * them: delays measured on that clock, at most {@link #CLOCK_CHECK_NANOS}, and deadlines in the
     * system time of Netty's {@link Ticker#systemTicker()}.
     */
    private static final class OnClock implements IoHandlerContext {
        private final Clock clock;
        IoHandlerContext loop;

        OnClock(Clock clock) {
            this.clock = clock;
        }

        @Override
        public boolean canBlock() {
            return loop.canBlock();
        }

        @Override
        public long delayNanos(long systemNanos) {
            long delay = loop.delayNanos(clock.nanoTime());
            return Math.max(0, Math.min(delay, CLOCK_CHECK_NANOS));
        }

        @Override
        public long deadlineNanos() {
            return Ticker.systemTicker().nanoTime() + delayNanos(0);
        }
    }
}
