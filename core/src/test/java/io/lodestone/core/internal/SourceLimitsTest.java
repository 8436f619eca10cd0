package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.testing.ManualClock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SourceLimitsTest {

    private final ManualClock clock = new ManualClock();

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void noLimitsMeansNoObject() {
        assertThat(SourceLimits.of(0, 0, clock)).isNull();
    }

    @Test
    void countsOpenConnectionsPerAddressAndForgetsAddressesWithNone() throws Exception {
        SourceLimits limits = SourceLimits.of(2, 0, clock);
        InetAddress a = ip("10.0.0.1");
        InetAddress b = ip("10.0.0.2");
        assertThat(limits.tryAcquire(a)).isTrue();
        assertThat(limits.tryAcquire(a)).isTrue();
        assertThat(limits.tryAcquire(a)).isFalse();
        assertThat(limits.tryAcquire(b)).isTrue();
        assertThat(limits.openConnections(a)).isEqualTo(2);
        limits.release(a);
        assertThat(limits.tryAcquire(a)).isTrue();
        limits.release(a);
        limits.release(a);
        limits.release(b);
        assertThat(limits.sources()).isZero();
        assertThat(limits.tryAcquire(null)).as("no address: admitted, not counted").isTrue();
        assertThat(limits.sources()).isZero();
    }

    @Test
    void limitsNewConnectionsPerSecondOnTheClock() throws Exception {
        SourceLimits limits = SourceLimits.of(0, 4, clock);
        InetAddress a = ip("10.0.0.1");
        for (int i = 0; i < 4; i++) {
            assertThat(limits.tryAcquire(a)).isTrue();
        }
        assertThat(limits.tryAcquire(a)).isFalse();
        assertThat(limits.tryAcquire(ip("10.0.0.9"))).isTrue();
        clock.advance(Duration.ofMillis(249));
        assertThat(limits.tryAcquire(a)).isFalse();
        clock.advance(Duration.ofMillis(1));
        assertThat(limits.tryAcquire(a)).isTrue();
        assertThat(limits.sources()).as("no open-connection counting without maxConnections").isZero();
    }

    @Test
    void concurrentAcquiresAndReleasesKeepTheCountExact() throws Exception {
        SourceLimits limits = SourceLimits.of(3, 0, clock);
        InetAddress a = ip("10.0.0.1");
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await();
                    int admitted = 0;
                    for (int i = 0; i < 20_000; i++) {
                        if (limits.tryAcquire(a)) {
                            admitted++;
                            int now = limits.openConnections(a);
                            if (now > 3) {
                                throw new AssertionError("over the limit: " + now);
                            }
                            limits.release(a);
                        }
                    }
                    return admitted;
                }));
            }
            go.countDown();
            int admitted = 0;
            for (Future<Integer> f : done) {
                admitted += f.get(60, TimeUnit.SECONDS);
            }
            assertThat(admitted).isPositive();
        } finally {
            pool.shutdownNow();
        }
        assertThat(limits.openConnections(a)).isZero();
        assertThat(limits.sources()).isZero();
    }

    @Test
    void theAddressOfAnIpSocket() throws Exception {
        assertThat(SourceLimits.address(new InetSocketAddress(ip("10.1.2.3"), 80))).isEqualTo(ip("10.1.2.3"));
        assertThat(SourceLimits.address(null)).isNull();
    }
}
