package io.lodestone.core.limit;

import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.Names;
import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.internal.HttpParts;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;

/**
 * A token bucket per key: {@code permits} requests per {@code period} on average, up to
 * {@link #burst()} at once, with one bucket for each client address (the default), each value of a
 * header, or each key a function computes. Applied by a rule, which answers 429 Too Many Requests
 * with {@code Retry-After} when the request's bucket is empty:
 *
 * <pre>{@code
 * Rule.always().rateLimit(RateLimit.perSecond(10))                              // 10/s per client address
 * Rule.when(Acl.pathBegins("/api")).rateLimit(RateLimit.perMinute(600).burst(50).byHeader("X-Api-Key"))
 * Rule.always().rateLimit(RateLimit.perSecond(5).byKey(r -> r.cookie("session")))
 * }</pre>
 *
 * <p>Immutable: every method returns a new limit. The bucket holds {@link #burst()} tokens (by
 * default one period's worth, {@code permits}) and gains one every {@link #intervalNanos()}.
 * Equal limits share their buckets in a {@link RateLimiter}: use one limit in several rules to count
 * their requests together (a request that several of them match takes one token), or
 * {@link #name(String) name} limits to keep equal ones apart.
 *
 * <p>A request without a key (no source address, no such header, a key function returning
 * {@code null}) is not limited by the rule; limit such requests with another rule if they must be.
 */
public final class RateLimit {

    private static final long MAX_NANOS = Long.MAX_VALUE / 4;

    /** What keys the buckets. */
    private enum KeyKind { SOURCE, HEADER, FUNCTION }

    private final long permits;
    private final Duration period;
    private final long intervalNanos;
    private final long burst;
    private final KeyKind keyKind;
    private final String header;
    private final Function<RequestView, String> keyFunction;
    private final String name;
    private final int hash;

    private RateLimit(long permits, Duration period, long intervalNanos, long burst, KeyKind keyKind, String header,
            Function<RequestView, String> keyFunction, String name) {
        this.permits = permits;
        this.period = period;
        this.intervalNanos = intervalNanos;
        this.burst = burst;
        this.keyKind = keyKind;
        this.header = header;
        this.keyFunction = keyFunction;
        this.name = name;
        this.hash = Objects.hash(intervalNanos, burst, keyKind, header, keyFunction, name);
    }

    /**
     * {@code permits} requests per second per client address, burst {@code permits}.
     *
     * @param permits requests per second
     * @return {@code permits} requests per second per client address, burst {@code permits}
     */
    public static RateLimit perSecond(long permits) {
        return of(permits, Duration.ofSeconds(1));
    }

    /**
     * {@code permits} requests per minute per client address, burst {@code permits}.
     *
     * @param permits requests per minute
     * @return {@code permits} requests per minute per client address, burst {@code permits}
     */
    public static RateLimit perMinute(long permits) {
        return of(permits, Duration.ofMinutes(1));
    }

    /**
     * {@code permits} requests per {@code period} per client address, burst {@code permits}.
     *
     * @param permits requests per period
     * @param period the period
     * @return {@code permits} requests per {@code period} per client address, burst {@code permits}
     * @throws IllegalArgumentException when {@code permits} is below 1, the period is not positive, or
     *     a token would come more often than every nanosecond
     */
    public static RateLimit of(long permits, Duration period) {
        if (permits < 1) {
            throw new IllegalArgumentException("rate limit permits: " + permits + " (expected: >= 1)");
        }
        if (period == null || period.isNegative() || period.isZero() || period.compareTo(Duration.ofNanos(MAX_NANOS)) > 0) {
            throw new IllegalArgumentException("rate limit period: " + period + " (expected: > 0, at most " + Duration.ofNanos(MAX_NANOS) + ")");
        }
        long interval = period.toNanos() / permits;
        if (interval < 1) {
            throw new IllegalArgumentException("rate limit permits: " + permits + " per " + period
                    + " (expected: at most one per nanosecond)");
        }
        return new RateLimit(permits, period, interval, permits, KeyKind.SOURCE, null, null, null).checked();
    }

    /**
     * The same limit with a bucket of {@code burst} tokens: how many requests a key may send at once
     * after a quiet spell.
     *
     * @param burst the bucket size
     * @return the same limit with a bucket of {@code burst} tokens: how many requests a key may send at once
     *     after a quiet spell
     * @throws IllegalArgumentException when below 1 or so large that refilling would take centuries
     */
    public RateLimit burst(long burst) {
        if (burst < 1 || burst > MAX_NANOS / intervalNanos) {
            throw new IllegalArgumentException("rate limit burst: " + burst + " (expected: 1.." + MAX_NANOS / intervalNanos + ")");
        }
        return new RateLimit(permits, period, intervalNanos, burst, keyKind, header, keyFunction, name);
    }

    /**
     * The same limit with one bucket per client address (the default), keyed by the address's text:
     * dotted decimal, or an IPv6 address in its RFC 5952 form ({@code 2001:db8::1}), followed for an
     * address with a zone by {@code %} and the zone's number ({@code fe80::1%2}), since one link-local
     * address on two links is two hosts.
     *
     * @return the same limit with one bucket per client address (the default), keyed by the address's text:
     *     dotted decimal, or an IPv6 address in its RFC 5952 form ({@code 2001:db8::1}), followed for an
     *     address with a zone by {@code %} and the zone's number ({@code fe80::1%2}), since one link-local
     *     address on two links is two hosts
     */
    public RateLimit bySourceAddress() {
        return new RateLimit(permits, period, intervalNanos, burst, KeyKind.SOURCE, null, null, name);
    }

    /**
     * The same limit with one bucket per value of a request header (its first value: the whole of
     * its first line, commas included; an empty value is a key too), such as an API key. HTTP only:
     * a connection-only (L4) routing rejects it at build time.
     *
     * @param headerName the header name
     * @return the same limit with one bucket per value of a request header (its first value: the whole of its
     *     first line, commas included; an empty value is a key too), such as an API key
     * @throws IllegalArgumentException when the name is not an HTTP token
     */
    public RateLimit byHeader(String headerName) {
        String lower = HttpParts.toLowerAscii(Names.token("rate limit header", headerName, "header name"));
        return new RateLimit(permits, period, intervalNanos, burst, KeyKind.HEADER, lower, null, name);
    }

    /**
     * The same limit with one bucket per key that {@code key} computes from the request (or
     * connection); a {@code null} key leaves the request unlimited. The function runs for every
     * request the rule matches, on an I/O thread: keep it cheap and non-blocking. Limits are equal
     * (and share buckets, across a {@code reconfigure} too) only with the same function object: reuse
     * the function, or this limit, rather than a capturing lambda made again.
     *
     * @param key computes the key from a request
     * @return the same limit with one bucket per key that {@code key} computes from the request (or
     *     connection); a {@code null} key leaves the request unlimited
     */
    public RateLimit byKey(Function<RequestView, String> key) {
        return new RateLimit(permits, period, intervalNanos, burst, KeyKind.FUNCTION, null,
                Objects.requireNonNull(key, "rate limit key"), name);
    }

    /**
     * The same limit under a name: it shows in {@link #toString()}, keeps the buckets of otherwise
     * equal limits apart, and is what a shared {@link RateLimiter} prefixes its keys with.
     *
     * @param name the name
     * @return the same limit under a name: it shows in {@link #toString()}, keeps the buckets of otherwise
     *     equal limits apart, and is what a shared {@link RateLimiter} prefixes its keys with
     * @throws IllegalArgumentException when blank
     */
    public RateLimit name(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("rate limit name: " + (name == null ? "null" : "\"" + name + "\"") + " (expected: a non-blank name)");
        }
        return new RateLimit(permits, period, intervalNanos, burst, keyKind, header, keyFunction, name);
    }

    private RateLimit checked() {
        return burst(burst);
    }

    /**
     * Requests per {@link #period()} on average.
     *
     * @return the requests per period
     */
    public long permits() {
        return permits;
    }

    /** {@return the period {@link #permits()} are counted over} */
    public Duration period() {
        return period;
    }

    /** {@return the most requests a key may send at once} */
    public long burst() {
        return burst;
    }

    /**
     * Nanoseconds between two tokens: the period divided by the permits.
     *
     * @return the nanoseconds between two tokens
     */
    public long intervalNanos() {
        return intervalNanos;
    }

    /**
     * Nanoseconds an empty bucket takes to fill up again: {@code burst * intervalNanos}.
     *
     * @return the nanoseconds an empty bucket takes to fill up
     */
    public long refillNanos() {
        return burst * intervalNanos;
    }

    /** {@return the header whose value keys the buckets, lower-cased, or {@code null} when keyed otherwise} */
    public String header() {
        return header;
    }

    /** {@return whether the key reads the HTTP request (a header), so that the limit cannot apply to connections} */
    public boolean readsHttp() {
        return keyKind == KeyKind.HEADER;
    }

    /**
     * The limit's name: the one given to {@link #name(String)}, otherwise a description of its
     * settings ({@code 10/PT1S burst 10 by source}). The description of a {@link #byKey} limit names
     * its function object ({@code ... by key Gateway$$Lambda/0x...@2a139a55}), which is not the same in
     * another process: a limit counted by a store shared across processes needs a name of its own.
     *
     * @return the limit's name: the one given to {@link #name(String)}, otherwise a description of its
     *     settings ({@code 10/PT1S burst 10 by source})
     */
    public String name() {
        return name != null ? name : describe();
    }

    /**
     * The key of the request's bucket, or {@code null} when the request has none (it is then not limited).
     *
     * @param request the request
     * @return the key of the request's bucket, or {@code null} when the request has none (it is then not
     *     limited)
     */
    public String key(RequestView request) {
        switch (keyKind) {
            case SOURCE:
                InetAddress a = request.sourceAddress();
                return a == null ? null : Addresses.keyText(a);
            case HEADER:
                return request.header(header);
            default:
                return keyFunction.apply(request);
        }
    }

    private String describe() {
        String by = switch (keyKind) {
            case SOURCE -> "source";
            case HEADER -> "header " + header;
            case FUNCTION -> "key " + keyFunction;
        };
        return permits + "/" + period + " burst " + burst + " by " + by;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        return o instanceof RateLimit r && hash == r.hash && intervalNanos == r.intervalNanos && burst == r.burst
                && keyKind == r.keyKind && Objects.equals(header, r.header) && Objects.equals(keyFunction, r.keyFunction)
                && Objects.equals(name, r.name);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return name != null ? name + " (" + describe() + ")" : describe();
    }
}
