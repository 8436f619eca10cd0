package io.lodestone.core.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets a log line through at most once per interval, timed on the caller's ticker (an event loop's,
 * which reads the proxy's clock): for a warning that would otherwise repeat at every connection.
 * One per thing warned about, held by it (a server's runtime), so it goes when that goes and never
 * compares times of two clocks. Lock-free; any thread.
 */
public final class LogThrottle {

    private static final long NEVER = Long.MIN_VALUE;

    private final long intervalNanos;
    private final AtomicLong last = new AtomicLong(NEVER);

    /** Creates a throttle that lets one line through every {@code intervalNanos}. */
    public LogThrottle(long intervalNanos) {
        this.intervalNanos = intervalNanos;
    }

    /** Whether a line may be logged at {@code nowNanos}; if so, the next one waits the interval from now. */
    public boolean tryAcquire(long nowNanos) {
        long l = last.get();
        return (l == NEVER || nowNanos - l >= intervalNanos) && last.compareAndSet(l, nowNanos);
    }
}
