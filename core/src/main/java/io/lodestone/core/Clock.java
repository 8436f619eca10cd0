package io.lodestone.core;

/**
 * The source of time for everything in Lodestone that waits or measures: health-check intervals,
 * slow start, cache expiry, latency figures. Nothing in Lodestone reads the system time directly;
 * tests hand in a manual clock and advance it instead of sleeping.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder().clock(Clock.system())...build();
 * }</pre>
 */
public interface Clock {

    /**
     * Returns a monotonic reading in nanoseconds, only meaningful as a difference between two
     * readings of the same clock.
     */
    long nanoTime();

    /** Returns the wall-clock time in milliseconds since the epoch, for logs and HTTP dates. */
    long currentTimeMillis();

    /** Returns the clock backed by {@link System#nanoTime()} and {@link System#currentTimeMillis()}. */
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
