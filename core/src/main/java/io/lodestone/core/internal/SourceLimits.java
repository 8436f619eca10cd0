package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.limit.internal.GcraRateLimiter;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A frontend's per-source connection limits, shared by both engines: at most so many connections
 * open at once from one client address, and at most so many new ones per second (a token bucket of
 * that size, refilled over a second). An engine asks {@link #tryAcquire} when it accepts a connection,
 * closes it at once when refused, and calls {@link #release} when an admitted one closes.
 *
 * <p>An address is a client's IP address and, for an IPv6 address with a zone, its zone: fe80::1 on
 * two links is two clients (see {@link Addresses#keyText}).
 *
 * <p>Lock-free. Open connections are counted in a map holding one counter per address that has a
 * connection open now, so its size is bounded by the open connections; a counter that falls to zero
 * is removed and never counts again (a newcomer makes a fresh one). New connections per second are
 * counted by a {@link GcraRateLimiter}, whose table forgets an address after a second without
 * connections and holds at most {@link #MAX_RATE_KEYS} addresses.
 */
public final class SourceLimits {

    /** The most addresses whose connection rate is remembered at once. */
    static final long MAX_RATE_KEYS = 100_000;

    private final int maxConnections;
    private final RateLimit rate;
    private final GcraRateLimiter rates;
    private final Clock clock;
    /** Keyed by {@link #key}: the address, or the address and its zone. */
    private final ConcurrentHashMap<Object, AtomicInteger> open = new ConcurrentHashMap<>();

    private SourceLimits(int maxConnections, int connectionsPerSecond, Clock clock) {
        this.maxConnections = maxConnections;
        this.clock = clock;
        if (connectionsPerSecond > 0) {
            this.rate = RateLimit.perSecond(connectionsPerSecond).name("connections per source");
            this.rates = new GcraRateLimiter(clock, MAX_RATE_KEYS);
        } else {
            this.rate = null;
            this.rates = null;
        }
    }

    /**
     * Checks a frontend's {@code maxConnectionsPerSource} setting.
     *
     * @param frontend the frontend as the message names it, such as {@code frontend www}
     * @return the setting
     * @throws IllegalArgumentException naming the field and the value when negative
     */
    public static int checkMaxConnections(String frontend, int maxConnections) {
        if (maxConnections < 0) {
            throw new IllegalArgumentException(frontend + " maxConnectionsPerSource: " + maxConnections + " (expected: >= 0)");
        }
        return maxConnections;
    }

    /**
     * Checks a frontend's {@code maxConnectionRatePerSource} setting.
     *
     * @param frontend the frontend as the message names it, such as {@code frontend www}
     * @return the setting
     * @throws IllegalArgumentException naming the field and the value when negative or above 1 000 000 000
     */
    public static int checkConnectionRate(String frontend, int perSecond) {
        if (perSecond < 0 || perSecond > 1_000_000_000) {
            throw new IllegalArgumentException(frontend + " maxConnectionRatePerSource: " + perSecond + " (expected: 0..1000000000)");
        }
        return perSecond;
    }

    /**
     * The limits of a frontend, or {@code null} when it has none (both 0).
     *
     * @param maxConnections connections open at once per address; 0 for no limit
     * @param connectionsPerSecond new connections per second per address; 0 for no limit
     */
    public static SourceLimits of(int maxConnections, int connectionsPerSecond, Clock clock) {
        if (maxConnections <= 0 && connectionsPerSecond <= 0) {
            return null;
        }
        return new SourceLimits(Math.max(0, maxConnections), connectionsPerSecond, clock);
    }

    /** The client address of an accepted channel's remote address, or {@code null} (not an IP socket). */
    public static InetAddress address(SocketAddress remote) {
        return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    /**
     * Admits a new connection from {@code source}, counting it, or refuses it. A connection without
     * an address is admitted and not counted. Every admitted connection must be
     * {@link #release released} once, when it closes.
     */
    public boolean tryAcquire(InetAddress source) {
        if (source == null) {
            return true;
        }
        if (rates != null && rates.tryAcquire(rate, Addresses.keyText(source), clock.nanoTime()) != 0) {
            return false;
        }
        if (maxConnections == 0) {
            return true;
        }
        Object key = key(source);
        for (;;) {
            AtomicInteger c = open.get(key);
            if (c == null) {
                if (open.putIfAbsent(key, new AtomicInteger(1)) == null) {
                    return true;
                }
                continue;
            }
            int n = c.get();
            if (n == 0) {
                // released to zero: being removed, never counts again
                open.remove(key, c);
                continue;
            }
            if (n >= maxConnections) {
                return false;
            }
            if (c.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** A connection {@link #tryAcquire admitted} for {@code source} closed. */
    public void release(InetAddress source) {
        if (source == null || maxConnections == 0) {
            return;
        }
        Object key = key(source);
        AtomicInteger c = open.get(key);
        if (c != null && c.decrementAndGet() == 0) {
            open.remove(key, c);
        }
    }

    /** The connections open now from {@code source}, as counted. */
    public int openConnections(InetAddress source) {
        AtomicInteger c = open.get(key(source));
        return c == null ? 0 : c.get();
    }

    /**
     * The key of {@code source}'s count: the address itself, or with an IPv6 zone the address and its
     * scope id, since the JDK's {@code Inet6Address.equals} ignores the zone and fe80::1 on two links
     * is two hosts (see {@link Addresses#keyText}). Only a zoned address makes an object.
     */
    private static Object key(InetAddress source) {
        int scope;
        if (source instanceof Inet6Address v6 && (scope = v6.getScopeId()) != 0) {
            return new Zoned(source, scope);
        }
        return source;
    }

    private record Zoned(InetAddress address, int scope) {
    }

    /** The addresses with connections open now. */
    public int sources() {
        return open.size();
    }
}
