package io.lodestone.core.balance;

import java.util.Random;

/**
 * A plain timing harness (no JMH) for the per-version structures of the balancers at scale: the
 * round-robin schedule and the hash ring, built for 10 to 2,000 servers of weight 1, random weights
 * 1..256 and a mix (a tenth of weight 256, the rest of weight 1..3), with their size, build time and
 * the max/min share of the ring over many keys relative to weight. Run after {@code install}:
 * {@code java -Xmx3g -cp core/target/classes:core/target/test-classes:NETTY_COMMON_JAR
 * io.lodestone.core.balance.BalancerScale}. Bounded loops; not part of the test run (no test
 * method). The README's figures for large backends come from it.
 */
public final class BalancerScale {

    private BalancerScale() {
    }

    public static void main(String[] args) {
        int[] sizes = {10, 100, 500, 2000};
        String[] kinds = {"1", "random", "mixed"};
        System.out.printf("%-7s %6s %10s %9s %10s %11s %9s %10s%n", "weights", "n", "rr slots", "rr ms", "rr bytes",
                "ring points", "ring ms", "ring bytes");
        for (String kind : kinds) {
            for (int n : sizes) {
                int[] w = weights(kind, n, new Random(n));
                TestCandidates c = TestCandidates.weights(w);
                long best = Long.MAX_VALUE;
                int slots = 0;
                for (int r = 0; r < 3; r++) {
                    long t0 = System.nanoTime();
                    RoundRobinBalancer.Schedule s = new RoundRobinBalancer.Schedule(c);
                    best = Math.min(best, System.nanoTime() - t0);
                    slots = s.order.length;
                }
                long ringBest = Long.MAX_VALUE;
                int points = 0;
                double maxMin = 0;
                for (int r = 0; r < 3; r++) {
                    long t0 = System.nanoTime();
                    SourceHashBalancer.Ring ring = new SourceHashBalancer.Ring(c, null);
                    ringBest = Math.min(ringBest, System.nanoTime() - t0);
                    points = ring.entries.length;
                }
                maxMin = shareSpread(c, w, n);
                System.out.printf("%-7s %6d %10d %9.2f %10d %11d %9.2f %10d  share max/min %.2f%n", kind, n, slots, best / 1e6,
                        8L * slots, points, ringBest / 1e6, 12L * points, maxMin);
            }
        }
    }

    static int[] weights(String kind, int n, Random random) {
        int[] w = new int[n];
        for (int i = 0; i < n; i++) {
            w[i] = switch (kind) {
                case "1" -> 1;
                case "random" -> 1 + random.nextInt(256);
                default -> i % 10 == 0 ? 256 : 1 + random.nextInt(3);
            };
        }
        return w;
    }

    /** The largest over the smallest share of keys per unit of weight, over 2,000 keys per server (at least 1,000,000), among servers expected to get 1,000 or more. */
    static double shareSpread(Candidates c, int[] w, int n) {
        SourceHashBalancer b = new SourceHashBalancer();
        int keys = Math.max(1_000_000, 2_000 * n);
        long total = 0;
        for (int x : w) {
            total += x;
        }
        int[] got = new int[n];
        Random random = new Random(7);
        for (int k = 0; k < keys; k++) {
            got[b.pick(c, random.nextLong() | 1)]++;
        }
        double max = 0;
        double min = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            // only servers expected to get 1,000 keys or more, so sampling noise stays small
            double expected = (double) keys * w[i] / total;
            if (expected >= 1_000) {
                double ratio = got[i] / expected;
                max = Math.max(max, ratio);
                min = Math.min(min, ratio);
            }
        }
        return min == Double.MAX_VALUE ? Double.NaN : max / Math.max(min, 1e-9);
    }
}
