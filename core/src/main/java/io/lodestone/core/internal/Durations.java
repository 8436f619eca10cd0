package io.lodestone.core.internal;

import java.time.Duration;

/**
 * Checks the upper bound of the durations the builders take. The engines turn a timeout into
 * nanoseconds and add it to a clock reading; a duration past {@link #MAX} would overflow a
 * {@code long} there (past about 292 years in {@link Duration#toNanos()}, or in the sum, whose
 * comparisons need it within 2^62 ns of the reading), and every connection would then fail.
 */
public final class Durations {

    /** The longest duration a builder takes: 36,500 days (100 years), far below the overflow. */
    public static final Duration MAX = Duration.ofDays(36_500);

    private Durations() {
    }

    /**
     * Returns {@code d} when it is null or at most {@link #MAX}; the callers check the lower bound.
     *
     * @param field the configuration field, named in the error message
     * @throws IllegalArgumentException naming the field and the value otherwise
     */
    public static Duration atMostMax(String field, Duration d) {
        if (d != null && d.compareTo(MAX) > 0) {
            throw new IllegalArgumentException(field + ": " + d + " (expected: at most " + MAX.toDays() + " days)");
        }
        return d;
    }
}
