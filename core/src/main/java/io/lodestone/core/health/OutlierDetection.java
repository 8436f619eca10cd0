package io.lodestone.core.health;

import io.lodestone.core.internal.Durations;
import java.time.Duration;

/**
 * Passive health checking from live traffic (Envoy's outlier detection): a server that fails
 * {@code consecutiveFailures} connections or requests in a row (a refused or timed-out connect, a
 * 5xx response, or at L7 anything the proxy answers 502 or 504 for on the server's behalf: a close or
 * reset before the response, a malformed response, a server timeout) is ejected, meaning it gets no new traffic, for the base ejection time multiplied by
 * the number of times it has been ejected, at most the maximum ejection time. It returns by itself
 * when the time is up. At most {@code maxEjectionPercent} of a backend's servers are ejected at once,
 * but always at least one when the percentage is above 0 (so a backend of two servers can lose one).
 * A server removed from the backend ({@code removeServer} or a reconfiguration) or put in
 * maintenance holds none of those: its ejection ends then, and the failures of the requests it still
 * had open eject nothing (a server in maintenance counts its failures toward an ejection afresh once
 * it is made ready).
 *
 * <pre>{@code
 * Backend.named("app")
 *     .outlierDetection(OutlierDetection.consecutiveFailures(5)
 *         .baseEjectionTime(Duration.ofSeconds(30))
 *         .maxEjectionTime(Duration.ofMinutes(5))
 *         .maxEjectionPercent(50))
 *     ...
 * }</pre>
 *
 * <p>An ejected server shows as {@link io.lodestone.core.ServerState#DOWN DOWN}. A server that stays
 * in service longer than the maximum ejection time after returning starts its count of ejections
 * afresh.
 */
public final class OutlierDetection {

    private final int consecutiveFailures;
    private final Duration baseEjectionTime;
    private final Duration maxEjectionTime;
    private final int maxEjectionPercent;

    private OutlierDetection(Builder b) {
        this.consecutiveFailures = b.consecutiveFailures;
        this.baseEjectionTime = b.baseEjectionTime;
        this.maxEjectionTime = b.maxEjectionTime;
        this.maxEjectionPercent = b.maxEjectionPercent;
    }

    /**
     * Returns a builder that ejects a server after {@code failures} consecutive failures (Envoy's
     * {@code consecutive_5xx}, whose default is 5).
     *
     * @param failures failures in a row
     * @return a builder that ejects a server after {@code failures} consecutive failures (Envoy's {@code
     *     consecutive_5xx}, whose default is 5)
     * @throws IllegalArgumentException when {@code failures} is not in 1..1000
     */
    public static Builder consecutiveFailures(int failures) {
        return new Builder(failures);
    }

    /** {@return how many failures in a row eject a server} */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** {@return the ejection time of a first ejection; later ones last a multiple of it} */
    public Duration baseEjectionTime() {
        return baseEjectionTime;
    }

    /** {@return the longest an ejection lasts} */
    public Duration maxEjectionTime() {
        return maxEjectionTime;
    }

    /** {@return the largest share of the backend's servers ejected at once, in percent (0 disables ejection)} */
    public int maxEjectionPercent() {
        return maxEjectionPercent;
    }

    /**
     * Returns how long the {@code n}-th ejection (n >= 1) lasts: base * n, at most the maximum.
     *
     * @param n the ejection's number, from 1
     * @return how long the {@code n}-th ejection (n >= 1) lasts: base * n, at most the maximum
     */
    public Duration ejectionTime(int n) {
        Duration d = baseEjectionTime.multipliedBy(Math.max(1, n));
        return d.compareTo(maxEjectionTime) > 0 ? maxEjectionTime : d;
    }

    /**
     * Returns how many of {@code servers} servers may be ejected at once.
     *
     * @param servers the number of servers
     * @return how many of {@code servers} servers may be ejected at once
     */
    public int maxEjected(int servers) {
        if (maxEjectionPercent == 0 || servers == 0) {
            return 0;
        }
        return Math.max(1, servers * maxEjectionPercent / 100);
    }

    @Override
    public String toString() {
        return "OutlierDetection{consecutiveFailures=" + consecutiveFailures + " base=" + baseEjectionTime
                + " max=" + maxEjectionTime + " maxPercent=" + maxEjectionPercent + "}";
    }

    /** Builds an {@link OutlierDetection}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder {
        private final int consecutiveFailures;
        private Duration baseEjectionTime = Duration.ofSeconds(30);
        private Duration maxEjectionTime = Duration.ofSeconds(300);
        private int maxEjectionPercent = 10;

        Builder(int failures) {
            if (failures < 1 || failures > 1000) {
                throw new IllegalArgumentException("outlier detection consecutiveFailures: " + failures + " (expected: 1..1000)");
            }
            this.consecutiveFailures = failures;
        }

        /**
         * Sets the time of a first ejection (default 30 s).
         *
         * @param d the time of a first ejection
         * @return this builder
         */
        public Builder baseEjectionTime(Duration d) {
            this.baseEjectionTime = positive("baseEjectionTime", d);
            return this;
        }

        /**
         * Sets the longest ejection (default 300 s).
         *
         * @param d the longest ejection
         * @return this builder
         */
        public Builder maxEjectionTime(Duration d) {
            this.maxEjectionTime = positive("maxEjectionTime", d);
            return this;
        }

        /**
         * Sets the largest share of servers ejected at once, 0..100 percent (default 10).
         *
         * @param percent the largest share of servers ejected at once
         * @return this builder
         */
        public Builder maxEjectionPercent(int percent) {
            if (percent < 0 || percent > 100) {
                throw new IllegalArgumentException("outlier detection maxEjectionPercent: " + percent + " (expected: 0..100)");
            }
            this.maxEjectionPercent = percent;
            return this;
        }

        private static Duration positive(String field, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("outlier detection " + field + ": " + d + " (expected: > 0)");
            }
            return Durations.atMostMax("outlier detection " + field, d);
        }

        /**
         * Returns the immutable setting.
         *
         * @return the immutable setting
         * @throws IllegalArgumentException when the maximum ejection time is below the base time
         */
        public OutlierDetection build() {
            if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
                throw new IllegalArgumentException("outlier detection maxEjectionTime: " + maxEjectionTime
                        + " (expected: >= baseEjectionTime " + baseEjectionTime + ")");
            }
            return new OutlierDetection(this);
        }
    }
}
