package io.lodestone.core.metrics.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.metrics.LatencySnapshot;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MetricsHistogramTest {

    @Test
    void everyValueFallsInABucketAtMostOneSixteenthWide() {
        int previous = -1;
        for (long v = 0; v < 200_000; v++) {
            int i = LatencyHistogram.index(v);
            assertThat(i).isBetween(previous, previous + 1);
            previous = i;
            long upper = LatencyHistogram.upperEdge(i);
            assertThat(upper).isGreaterThanOrEqualTo(v);
            assertThat(upper - v).isLessThanOrEqualTo(v / 16);
        }
        for (int shift = 17; shift < 36; shift++) {
            long v = (1L << shift) + 12_345;
            long upper = LatencyHistogram.upperEdge(LatencyHistogram.index(v));
            assertThat(upper).isGreaterThanOrEqualTo(v).isLessThanOrEqualTo(v + v / 16);
        }
        assertThat(LatencyHistogram.index(LatencyHistogram.MAX_MICROS)).isEqualTo(LatencyHistogram.BUCKETS - 1);
        assertThat(LatencyHistogram.upperEdge(LatencyHistogram.BUCKETS - 1)).isEqualTo(LatencyHistogram.MAX_MICROS);
    }

    @Test
    void emptyHistogramHasNoSample() {
        assertThat(new LatencyHistogram().snapshot()).isEqualTo(LatencySnapshot.EMPTY);
    }

    @Test
    void oneSampleIsEveryQuantileAndTheMax() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(1_234_567_891L);
        LatencySnapshot s = h.snapshot();
        assertThat(s.count()).isEqualTo(1);
        assertThat(s.maxNanos()).isEqualTo(1_234_567_000L);
        assertThat(s.sumNanos()).isEqualTo(1_234_567_000L);
        assertThat(s.p50Nanos()).isEqualTo(1_234_567_000L);
        assertThat(s.p999Nanos()).isEqualTo(1_234_567_000L);
    }

    @Test
    void negativeSamplesCountAsZeroAndHugeOnesAreClamped() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(-5);
        h.record(Long.MAX_VALUE);
        LatencySnapshot s = h.snapshot();
        assertThat(s.count()).isEqualTo(2);
        assertThat(s.p50Nanos()).isZero();
        assertThat(s.maxNanos()).isEqualTo(LatencyHistogram.MAX_MICROS * 1000);
        assertThat(s.p999Nanos()).isEqualTo(LatencyHistogram.MAX_MICROS * 1000);
    }

    @Test
    void quantilesAreNeverBelowTheTrueOneAndAtMostOneSixteenthAbove() {
        SplittableRandom random = new SplittableRandom(7);
        LatencyHistogram h = new LatencyHistogram();
        int n = 20_000;
        long[] micros = new long[n];
        for (int i = 0; i < n; i++) {
            // a long tail: mostly 100 us .. 10 ms, some up to 5 s
            micros[i] = random.nextInt(10) == 0 ? random.nextLong(10_000, 5_000_000) : random.nextLong(100, 10_000);
            h.record(micros[i] * 1000 + random.nextInt(1000));
        }
        Arrays.sort(micros);
        LatencySnapshot s = h.snapshot();
        assertThat(s.count()).isEqualTo(n);
        assertThat(s.maxNanos()).isEqualTo(micros[n - 1] * 1000);
        assertThat(s.sumNanos()).isEqualTo(Arrays.stream(micros).sum() * 1000);
        for (int q = 0; q < LatencySnapshot.QUANTILE_COUNT; q++) {
            long exact = micros[(int) Math.ceil(LatencySnapshot.quantileAt(q) * n) - 1] * 1000;
            assertThat(s.quantile(q)).as("quantile %s", LatencySnapshot.quantileAt(q))
                    .isGreaterThanOrEqualTo(exact).isLessThanOrEqualTo(exact + exact / 16);
        }
        assertThat(s.p50Nanos()).isLessThanOrEqualTo(s.p90Nanos());
        assertThat(s.p99Nanos()).isLessThanOrEqualTo(s.p999Nanos());
    }

    @Test
    void concurrentRecordingLosesNothing() throws Exception {
        LatencyHistogram h = new LatencyHistogram();
        int threads = 4;
        int perThread = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            long value = (t + 1) * 1_000_000L;
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        h.record(value);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            });
            thread.start();
        }
        start.countDown();
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        LatencySnapshot s = h.snapshot();
        assertThat(s.count()).isEqualTo((long) threads * perThread);
        assertThat(s.sumNanos()).isEqualTo(perThread * (1 + 2 + 3 + 4) * 1_000_000L);
        assertThat(s.maxNanos()).isEqualTo(4_000_000L);
        // 2000 us lies in the bucket 1984..2047 us
        assertThat(s.p50Nanos()).isEqualTo(2_047_000L);
        assertThat(s.p999Nanos()).isEqualTo(4_000_000L);
    }
}
