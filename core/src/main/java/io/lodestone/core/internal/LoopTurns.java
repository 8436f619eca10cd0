package io.lodestone.core.internal;

import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;

/**
 * What Lodestone's epoll and io_uring handlers ({@link EpollWithoutEmptyInterest},
 * {@link ClockedIoHandler}) do around each turn of the Netty handler they wrap: tell the loop's
 * {@link LoopClock} when each phase begins, before the loop waits and after it has handled what was
 * ready, and, with a busy-polling window, keep the loop from blocking while it is open
 * ({@link BusyPoll}).
 *
 * <p>Only the event loop's own thread uses an instance.
 */
final class LoopTurns {

    /** {@code null} when the loop does not busy-poll. */
    private final BusyPoll busyPoll;
    /** The loop's clock for timeouts, installed on the loop's thread when it starts. */
    private LoopClock clock;

    /** Turns that busy-poll for {@code busyPollNanos} after the last I/O; 0 never busy-polls. */
    LoopTurns(long busyPollNanos) {
        this.busyPoll = busyPollNanos > 0 ? new BusyPoll(busyPollNanos, System::nanoTime) : null;
    }

    /** Installs the loop's clock; called on the loop's thread before its first turn. */
    void initialize() {
        clock = LoopClock.install();
    }

    /** Runs one turn of {@code handler}; returns what it returned, the number of I/O events it handled. */
    int run(IoHandler handler, IoHandlerContext context) {
        clock.turn();
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
}
