package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.testing.ManualClock;
import java.net.Inet6Address;
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

    /**
     * fe80::1 on two links is two hosts; the JDK's {@code Inet6Address.equals} ignores the zone, so the
     * limits key a zoned address by its scope id too. Unit level: a socket from a zoned address needs a
     * link-local address on an interface, and the tests only have 127.0.0.1 (and ::1, which has no zone).
     */
    @Test
    void countsALinkLocalAddressPerZone() throws Exception {
        InetAddress eth0 = zoned("fe80::1", 2);
        InetAddress eth1 = zoned("fe80::1", 3);
        assertThat(eth0).as("the JDK's equality ignores the zone").isEqualTo(eth1);

        SourceLimits open = SourceLimits.of(1, 0, clock);
        assertThat(open.tryAcquire(eth0)).isTrue();
        assertThat(open.tryAcquire(eth1)).as("another link's host").isTrue();
        assertThat(open.tryAcquire(zoned("fe80::1", 2))).as("the same host again").isFalse();
        assertThat(open.tryAcquire(ip("fe80::1"))).as("no zone: a third key").isTrue();
        assertThat(open.openConnections(eth0)).isEqualTo(1);
        open.release(eth0);
        open.release(eth1);
        open.release(ip("fe80::1"));
        assertThat(open.sources()).isZero();

        SourceLimits rate = SourceLimits.of(0, 1, clock);
        assertThat(rate.tryAcquire(eth0)).isTrue();
        assertThat(rate.tryAcquire(eth1)).as("another link's host has its own bucket").isTrue();
        assertThat(rate.tryAcquire(zoned("fe80::1", 2))).isFalse();
    }

    private static InetAddress zoned(String ip, int scopeId) throws Exception {
        return Inet6Address.getByAddress(null, InetAddress.getByName(ip).getAddress(), scopeId);
    }

    @Test
    void theAddressOfAnIpSocket() throws Exception {
        assertThat(SourceLimits.address(new InetSocketAddress(ip("10.1.2.3"), 80))).isEqualTo(ip("10.1.2.3"));
        assertThat(SourceLimits.address(null)).isNull();
    }
}
