package io.lodestone.core;

/**
 * The source of time for everything in Lodestone that waits or measures: health-check intervals,
 * slow start, cache expiry, latency figures, and the timers of connections (client, server,
 * keep-alive, tunnel, pool idle, connect, TLS handshake and ClientHello timeouts). Nothing in
 * Lodestone reads the system time directly; tests hand in a manual clock and advance it instead of
 * sleeping.
 *
 * <p>With a clock other than {@link #system()}, the event loops the proxy makes run their timers on
 * it: moving the clock past a timeout makes the timer fire within a millisecond, and a timer not yet
 * due never fires, however long a test takes. To do that each loop looks at the clock at least once
 * per millisecond and reads it at every use, which is meant for tests, not for production. Event
 * loops an application hands in ({@link Proxy.Builder#eventLoopGroups}) keep their own timers.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder().clock(Clock.system())...build();
 * }</pre>
 */
public interface Clock {

    /**
     * Returns a monotonic reading in nanoseconds, only meaningful as a difference between two
     * readings of the same clock.
     *
     * @return a monotonic reading in nanoseconds, only meaningful as a difference between two readings of the
     *     same clock
     */
    long nanoTime();

    /** {@return the wall-clock time in milliseconds since the epoch, for logs and HTTP dates} */
    long currentTimeMillis();

    /** {@return the clock backed by {@link System#nanoTime()} and {@link System#currentTimeMillis()}} */
    static Clock system() {
        return SystemClock.INSTANCE;
    }
}

/** The one place that reads the system time. */
enum SystemClock implements Clock {
    INSTANCE;

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long currentTimeMillis() {
        return System.currentTimeMillis();
    }
}
