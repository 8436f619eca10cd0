package io.lodestone.core.testing;

import io.lodestone.core.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link Clock} that moves only when a test advances it. */
public final class ManualClock implements Clock {

    private final AtomicLong nanos = new AtomicLong();
    private final long epochMillisAtZero;

    /** A clock at an arbitrary fixed wall time (2026-01-01T00:00:00Z). */
    public ManualClock() {
        this(1_767_225_600_000L);
    }

    /** A clock whose wall time starts at {@code epochMillis}. */
    public ManualClock(long epochMillis) {
        this.epochMillisAtZero = epochMillis;
    }

    @Override
    public long nanoTime() {
        return nanos.get();
    }

    @Override
    public long currentTimeMillis() {
        return epochMillisAtZero + nanos.get() / 1_000_000L;
    }

    /** Moves the clock forward. */
    public ManualClock advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("advance: " + d + " (expected: >= 0)");
        }
        nanos.addAndGet(d.toNanos());
        return this;
    }
}
