package io.lodestone.core.metrics;

/**
 * A latency distribution since the proxy started, in nanoseconds. Samples are kept at microsecond
 * resolution in fixed log-linear buckets: a quantile is exact below 16 µs and otherwise the upper
 * edge of the bucket holding it, never below the true value and at most 6.25 % above it (and never
 * above {@link #maxNanos()}). Samples above about 19 hours count as 19 hours.
 *
 * @param count the number of samples
 * @param sumNanos the sum of the samples (at microsecond resolution)
 * @param maxNanos the largest sample, 0 when there is none
 * @param p50Nanos the median, 0 when there is no sample
 * @param p90Nanos the 90th percentile
 * @param p99Nanos the 99th percentile
 * @param p999Nanos the 99.9th percentile
 */
public record LatencySnapshot(long count, long sumNanos, long maxNanos, long p50Nanos, long p90Nanos, long p99Nanos,
        long p999Nanos) {

    /** A distribution with no sample. */
    public static final LatencySnapshot EMPTY = new LatencySnapshot(0, 0, 0, 0, 0, 0, 0);

    /** The number of quantiles every snapshot carries: 0.5, 0.9, 0.99 and 0.999. */
    public static final int QUANTILE_COUNT = 4;

    private static final double[] QUANTILES = {0.5, 0.9, 0.99, 0.999};

    /**
     * Returns the quantile of an index below {@link #QUANTILE_COUNT}: 0.5 for 0 .. 0.999 for 3.
     *
     * @param index an index below {@link #QUANTILE_COUNT}
     * @return the quantile of an index below {@link #QUANTILE_COUNT}: 0.5 for 0 .. 0.999 for 3
     */
    public static double quantileAt(int index) {
        return QUANTILES[index];
    }

    /**
     * Returns the value of the quantile {@link #quantileAt(int) quantileAt(index)}: {@link #p50Nanos()} for 0
     * .. {@link #p999Nanos()} for 3.
     *
     * @param index an index below {@link #QUANTILE_COUNT}
     * @return the value of the quantile {@link #quantileAt(int) quantileAt(index)}: {@link #p50Nanos()} for 0
     *     .. {@link #p999Nanos()} for 3
     */
    public long quantile(int index) {
        return switch (index) {
            case 0 -> p50Nanos;
            case 1 -> p90Nanos;
            case 2 -> p99Nanos;
            case 3 -> p999Nanos;
            default -> throw new IllegalArgumentException("index: " + index + " (expected: 0..3)");
        };
    }

    /** {@return the mean in nanoseconds, 0 when there is no sample} */
    public long meanNanos() {
        return count == 0 ? 0 : sumNanos / count;
    }
}
