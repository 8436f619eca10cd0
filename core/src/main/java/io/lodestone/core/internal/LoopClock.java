package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The time for timeouts, read from {@link System#nanoTime()} at most once per turn of one of
 * Lodestone's epoll and io_uring event loops: the first reading after the loop wakes up (or after it has handled
 * its ready channels) is kept for the rest of that phase of the turn. A request touches its timers
 * several times in one turn (the client's keep-alive and head timers, the server's timeout, the
 * pool's idle mark), and each reading of the clock costs tens of nanoseconds on a virtual machine. A
 * reading is behind the system clock by at most the time the loop has spent in the current phase,
 * which timeouts of milliseconds and more do not notice. On any other thread (NIO loops, tests,
 * application threads) every reading is the system clock's.
 *
 * <p>A proxy built with a {@link Clock} other than {@link Clock#system()} runs its timers on that
 * clock ({@link ProxyClockLoops}); the loop clocks of its loops, NIO ones included, then read that
 * clock instead of the system's, at every reading: a test moves such a clock by whole timeouts at
 * once, and a reading kept from before the move would be that much behind.
 *
 * <p>For timeouts only: durations that are measured and reported (latencies, the access log) read the
 * proxy's {@link Clock} directly.
 */
public final class LoopClock {

    private static final FastThreadLocal<LoopClock> LOOP = new FastThreadLocal<>();

    /** The clock the loop's timers follow; {@code null} for the system's. */
    private final Clock source;
    private long now;
    private boolean read;

    private LoopClock(Clock source) {
        this.source = source;
    }

    /** The time in nanoseconds, as {@link System#nanoTime()} counts it; see the class description for how fresh it is. */
    public static long nanoTime() {
        LoopClock clock = LOOP.getIfExists();
        return clock == null ? System.nanoTime() : clock.read();
    }

    /**
     * Gives the calling thread, an event loop's, a clock read once per phase of a turn; {@link #turn()}
     * starts each phase. It reads {@code source}, the clock the loop's timers follow, or the system's
     * when that is {@code null}.
     */
    static LoopClock install(Clock source) {
        LoopClock clock = new LoopClock(source);
        LOOP.set(clock);
        return clock;
    }

    /** Forgets the reading kept: the loop is about to wait, or has just handled what was ready. */
    void turn() {
        read = false;
    }

    private long read() {
        if (source != null) {
            return source.nanoTime();
        }
        if (!read) {
            now = System.nanoTime();
            read = true;
        }
        return now;
    }
}
