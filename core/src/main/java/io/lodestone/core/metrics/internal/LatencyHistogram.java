package io.lodestone.core.metrics.internal;

import io.lodestone.core.metrics.LatencySnapshot;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A lock-free latency histogram with fixed log-linear buckets over microseconds. Values below 16 µs
 * have a bucket each; above, each power of two is split into 16 equal buckets, so a bucket is at
 * most 1/16 (6.25 %) as wide as its lower edge. Values are clamped to {@code 2^36 - 1} µs (about
 * 19 hours). 528 buckets, about 4 KiB. {@link #record(long)} takes no lock and allocates nothing.
 */
public final class LatencyHistogram {

    private static final int SUB_BITS = 4;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    private static final int MAX_EXPONENT = 36;
    static final long MAX_MICROS = (1L << MAX_EXPONENT) - 1;
    static final int BUCKETS = (MAX_EXPONENT - SUB_BITS + 1) * SUB_COUNT;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final LongAdder sumMicros = new LongAdder();
    private final AtomicLong maxMicros = new AtomicLong();

    /** Records one sample in nanoseconds; negative values count as 0. */
    public void record(long nanos) {
        long micros = nanos <= 0 ? 0 : Math.min(nanos / 1000, MAX_MICROS);
        counts.incrementAndGet(index(micros));
        sumMicros.add(micros);
        long max = maxMicros.get();
        while (micros > max && !maxMicros.compareAndSet(max, micros)) {
            max = maxMicros.get();
        }
    }

    /** Returns the bucket of a value in microseconds, 0 ≤ value ≤ {@link #MAX_MICROS}. */
    static int index(long micros) {
        if (micros < SUB_COUNT) {
            return (int) micros;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(micros);
        int sub = (int) (micros >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1);
        return ((exponent - SUB_BITS + 1) << SUB_BITS) + sub;
    }

    /** Returns the largest value in microseconds that falls in a bucket. */
    static long upperEdge(int index) {
        if (index < SUB_COUNT) {
            return index;
        }
        int shift = (index >>> SUB_BITS) - 1;
        long lower = (long) (SUB_COUNT + (index & (SUB_COUNT - 1))) << shift;
        return lower + (1L << shift) - 1;
    }

    /** Takes a snapshot with the 50th, 90th, 99th and 99.9th percentiles. */
    public LatencySnapshot snapshot() {
        long[] copy = new long[BUCKETS];
        long count = 0;
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = counts.get(i);
            count += copy[i];
        }
        if (count == 0) {
            return LatencySnapshot.EMPTY;
        }
        long max = maxMicros.get();
        long[] q = new long[LatencySnapshot.QUANTILE_COUNT];
        int bucket = 0;
        long seen = 0;
        for (int k = 0; k < q.length; k++) {
            long rank = Math.max(1, (long) Math.ceil(LatencySnapshot.quantileAt(k) * count));
            while (seen + copy[bucket] < rank) {
                seen += copy[bucket];
                bucket++;
            }
            q[k] = Math.min(upperEdge(bucket), max) * 1000;
        }
        return new LatencySnapshot(count, sumMicros.sum() * 1000, max * 1000, q[0], q[1], q[2], q[3]);
    }
}
