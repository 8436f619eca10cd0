package io.lodestone.core.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.limit.internal.GcraRateLimiter;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.BackendStates;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.HeaderEdit;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.RoutedFrontend;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.ManualClock;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RateLimitTest {

    private final ManualClock clock = new ManualClock();

    private Proxy proxy(Rule... rules) {
        return Proxy.builder()
                .clock(clock)
                .backend(Backend.named("app").server("a", "127.0.0.1:10001").build())
                .frontend(new RoutedFrontend("web", Routing.builder().rules(rules).defaultBackend("app").build()))
                .build();
    }

    private Router router(RateLimiter limiter, Rule... rules) {
        return Routing.builder().rules(rules).defaultBackend("app").build().router(b -> 1, limiter, clock);
    }

    private static String retryAfter(Decision d) {
        assertThat(d).isInstanceOf(Decision.Deny.class);
        assertThat(((Decision.Deny) d).status()).isEqualTo(429);
        for (HeaderEdit e : d.responseHeaders()) {
            if (e.name().equals("Retry-After")) {
                return e.value();
            }
        }
        throw new AssertionError("no Retry-After in " + d.responseHeaders());
    }

    @Test
    void theBoundaryIsExactOnAManualClock() {
        try (Proxy proxy = proxy(Rule.always().name("ten-per-second").rateLimit(RateLimit.perSecond(10)))) {
            TestRequest req = TestRequest.get("/").source("10.0.0.1");
            for (int i = 0; i < 10; i++) {
                assertThat(proxy.route(req)).as("request %d of the burst", i).isInstanceOf(Decision.Forward.class);
            }
            Decision over = proxy.route(req);
            assertThat(retryAfter(over)).isEqualTo("1");
            assertThat(((Decision.Deny) over).body()).isEqualTo("Too Many Requests\n");
            assertThat(over.matched().name()).isEqualTo("ten-per-second");

            clock.advance(Duration.ofNanos(99_999_999));            // one token every 100 ms: 1 ns short
            assertThat(proxy.route(req)).isInstanceOf(Decision.Deny.class);
            clock.advance(Duration.ofNanos(1));
            assertThat(proxy.route(req)).isInstanceOf(Decision.Forward.class);
            assertThat(proxy.route(req)).isInstanceOf(Decision.Deny.class);

            clock.advance(Duration.ofSeconds(1));                    // a full bucket again, not more
            for (int i = 0; i < 10; i++) {
                assertThat(proxy.route(req)).isInstanceOf(Decision.Forward.class);
            }
            assertThat(proxy.route(req)).isInstanceOf(Decision.Deny.class);
        }
    }

    @Test
    void theLimiterSaysHowLongToWaitToTheNanosecond() {
        GcraRateLimiter limiter = new GcraRateLimiter(clock, 100);
        RateLimit limit = RateLimit.of(3, Duration.ofSeconds(1)).burst(2);   // a token every 333 333 333 ns
        assertThat(limiter.tryAcquire(limit, "k", 0)).isZero();
        assertThat(limiter.tryAcquire(limit, "k", 0)).isZero();
        assertThat(limiter.tryAcquire(limit, "k", 0)).isEqualTo(333_333_333L);
        assertThat(limiter.tryAcquire(limit, "k", 333_333_332L)).isEqualTo(1);
        assertThat(limiter.tryAcquire(limit, "k", 333_333_333L)).isZero();
        assertThat(limiter.tryAcquire(limit, "k", 333_333_333L)).isEqualTo(333_333_333L);
    }

    @Test
    void retryAfterIsRoundedUpToWholeSeconds() {
        try (Proxy proxy = proxy(Rule.always().rateLimit(RateLimit.perMinute(1)))) {
            TestRequest req = TestRequest.get("/").source("10.0.0.1");
            assertThat(proxy.route(req)).isInstanceOf(Decision.Forward.class);
            assertThat(retryAfter(proxy.route(req))).isEqualTo("60");
            clock.advance(Duration.ofMillis(59_500));
            assertThat(retryAfter(proxy.route(req))).isEqualTo("1");
            clock.advance(Duration.ofMillis(500));
            assertThat(proxy.route(req)).isInstanceOf(Decision.Forward.class);
        }
    }

    @Test
    void eachSourceAddressHasItsOwnBucket() {
        Router router = router(RateLimiters.inMemory(clock), Rule.always().rateLimit(RateLimit.perSecond(2)));
        TestRequest a = TestRequest.get("/").source("10.0.0.1");
        TestRequest b = TestRequest.get("/").source("10.0.0.2");
        assertThat(router.route(a)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(a)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(a)).isInstanceOf(Decision.Deny.class);
        assertThat(router.route(b)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(TestRequest.get("/").source("10.0.0.1", 40000))).as("same address, another port")
                .isInstanceOf(Decision.Deny.class);
    }

    /**
     * A limiter shared between instances writes the key to its store: an IPv6 source is keyed by its
     * RFC 5952 text, as the access log and {@code X-Forwarded-For} write it, whatever form it came in.
     */
    @Test
    void anIpv6SourceIsKeyedByItsShortForm() {
        RateLimit limit = RateLimit.perSecond(1);
        assertThat(limit.key(TestRequest.get("/").source("0:0:0:0:0:0:0:1"))).isEqualTo("::1");
        assertThat(limit.key(TestRequest.get("/").source("2001:DB8:0:0:0:0:0:A"))).isEqualTo("2001:db8::a");
        assertThat(limit.key(TestRequest.get("/").source("192.0.2.1"))).isEqualTo("192.0.2.1");
    }

    /**
     * fe80::1 on two links is two hosts: a zoned IPv6 source is keyed with {@code %} and its scope id
     * (RFC 4007's numeric zone form), which is what a socket address carries. Unit level: the tests
     * only have 127.0.0.1 and ::1, and neither has a zone.
     */
    @Test
    void aLinkLocalSourceIsKeyedWithItsZone() throws Exception {
        RateLimit limit = RateLimit.perSecond(1);
        byte[] linkLocal = InetAddress.getByName("fe80::1").getAddress();
        String eth0 = limit.key(TestRequest.get("/").source(Inet6Address.getByAddress(null, linkLocal, 2), 40000));
        String eth1 = limit.key(TestRequest.get("/").source(Inet6Address.getByAddress(null, linkLocal, 3), 40000));
        assertThat(eth0).isEqualTo("fe80::1%2");
        assertThat(eth1).isEqualTo("fe80::1%3");
        assertThat(limit.key(TestRequest.get("/").source("fe80::1"))).isEqualTo("fe80::1");

        Router router = router(RateLimiters.inMemory(clock), Rule.always().rateLimit(limit));
        TestRequest first = TestRequest.get("/").source(Inet6Address.getByAddress(null, linkLocal, 2), 40000);
        TestRequest other = TestRequest.get("/").source(Inet6Address.getByAddress(null, linkLocal, 3), 40000);
        assertThat(router.route(first)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(other)).as("another link's host").isInstanceOf(Decision.Forward.class);
        assertThat(router.route(first)).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void aHeaderKeysTheBucketsAndARequestWithoutItIsNotLimited() {
        Router router = router(RateLimiters.inMemory(clock),
                Rule.when(Acl.pathBegins("/api")).rateLimit(RateLimit.perSecond(1).byHeader("X-Api-Key")));
        TestRequest alice = TestRequest.get("/api/x").source("10.0.0.1").header("x-api-key", "alice");
        TestRequest bob = TestRequest.get("/api/x").source("10.0.0.1").header("X-API-KEY", "bob");
        assertThat(router.route(alice)).isInstanceOf(Decision.Forward.class);
        assertThat(retryAfter(router.route(alice))).isEqualTo("1");
        assertThat(router.route(bob)).as("same address, another key").isInstanceOf(Decision.Forward.class);
        for (int i = 0; i < 5; i++) {
            assertThat(router.route(TestRequest.get("/api/x").source("10.0.0.1"))).isInstanceOf(Decision.Forward.class);
            assertThat(router.route(TestRequest.get("/other").header("x-api-key", "alice"))).as("rule not matched")
                    .isInstanceOf(Decision.Forward.class);
        }
    }

    @Test
    void aKeyFunctionKeysTheBuckets() {
        RateLimit perSession = RateLimit.perSecond(1).burst(2).byKey(r -> r.cookie("session"));
        Router router = router(RateLimiters.inMemory(clock), Rule.always().rateLimit(perSession));
        TestRequest s1 = TestRequest.get("/").cookie("session", "s1");
        TestRequest s2 = TestRequest.get("/").cookie("session", "s2");
        assertThat(router.route(s1)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(s1)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(s1)).isInstanceOf(Decision.Deny.class);
        assertThat(router.route(s2)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(TestRequest.get("/"))).as("no key: not limited").isInstanceOf(Decision.Forward.class);
    }

    @Test
    void aLimitGoesOnToTheNextRulesAndKeepsTheResponseEditsOnItsDeny() {
        Router router = router(RateLimiters.inMemory(clock),
                Rule.always().setResponseHeader("X-Gateway", "lodestone"),
                Rule.always().rateLimit(RateLimit.perSecond(1)),
                Rule.when(Acl.pathBegins("/admin")).deny(403));
        assertThat(router.route(TestRequest.get("/admin"))).isInstanceOfSatisfying(Decision.Deny.class,
                d -> assertThat(d.status()).isEqualTo(403));
        Decision over = router.route(TestRequest.get("/"));
        assertThat(retryAfter(over)).isEqualTo("1");
        assertThat(over.responseHeaders()).containsExactly(new HeaderEdit(HeaderEdit.Op.SET, "X-Gateway", "lodestone"),
                new HeaderEdit(HeaderEdit.Op.SET, "Retry-After", "1"));
        assertThat(over.matched().index()).isEqualTo(1);
    }

    @Test
    void equalLimitsShareTheirBucketsAndNamesKeepThemApart() {
        RateLimiter limiter = RateLimiters.inMemory(clock);
        Router router = router(limiter,
                Rule.when(Acl.pathBegins("/a")).rateLimit(RateLimit.perSecond(1)),
                Rule.when(Acl.pathBegins("/b")).rateLimit(RateLimit.perSecond(1)),
                Rule.when(Acl.pathBegins("/c")).rateLimit(RateLimit.perSecond(1).name("c")));
        assertThat(RateLimit.perSecond(1)).isEqualTo(RateLimit.perSecond(1)).hasSameHashCodeAs(RateLimit.perSecond(1));
        assertThat(RateLimit.perSecond(1).name("c")).isNotEqualTo(RateLimit.perSecond(1));
        assertThat(router.route(TestRequest.get("/a"))).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(TestRequest.get("/b"))).as("same limit as /a").isInstanceOf(Decision.Deny.class);
        assertThat(router.route(TestRequest.get("/c"))).isInstanceOf(Decision.Forward.class);
    }

    @Test
    void theProxyUsesTheLimiterItIsGiven() {
        List<String> asked = new ArrayList<>();
        RateLimiter none = (limit, key, now) -> {
            asked.add(limit.name() + " " + key + " @" + now);
            return 2_500_000_000L;
        };
        clock.advance(Duration.ofSeconds(7));
        try (Proxy proxy = Proxy.builder()
                .clock(clock)
                .rateLimiter(none)
                .backend(Backend.named("app").server("a", "127.0.0.1:10001").build())
                .frontend(new RoutedFrontend("web", Routing.builder()
                        .rule(Rule.always().rateLimit(RateLimit.perSecond(5).name("api")))
                        .defaultBackend("app").build()))
                .build()) {
            assertThat(retryAfter(proxy.route(TestRequest.get("/").source("10.9.8.7")))).isEqualTo("3");
            assertThat(asked).containsExactly("api 10.9.8.7 @7000000000");
        }
    }

    /**
     * A limiter of one's own may keep a key out for good and say so with the longest wait there is:
     * Retry-After is that wait rounded up, not the 1 s that the rounding's overflow made of it.
     */
    @Test
    void retryAfterOfAVeryLongWaitIsNotCutToOneSecond() {
        for (long wait : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 999_999_998L, 9_000_000_000_000_000_001L}) {
            RateLimiter banned = (limit, key, now) -> wait;
            Router router = router(banned, Rule.always().rateLimit(RateLimit.perSecond(5)));
            long seconds = wait / 1_000_000_000L + (wait % 1_000_000_000L == 0 ? 0 : 1);
            assertThat(retryAfter(router.route(TestRequest.get("/").source("10.9.8.7")))).as("wait %d ns", wait)
                    .isEqualTo(Long.toString(seconds));
        }
    }

    @Test
    void concurrentRequestsNeverTakeMoreThanTheBurst() throws Exception {
        GcraRateLimiter limiter = new GcraRateLimiter(clock, 100);
        RateLimit limit = RateLimit.perSecond(100);
        int threads = 4;
        AtomicInteger allowed = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < 1000; i++) {
                        if (limiter.tryAcquire(limit, "hot", 5_000L) == 0) {
                            allowed.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(allowed.get()).isEqualTo(100);
    }

    @Test
    void memoryStaysBoundedUnderManyDistinctKeys() {
        GcraRateLimiter limiter = new GcraRateLimiter(clock, 1_000);
        RateLimit limit = RateLimit.perSecond(10);
        for (int i = 0; i < 50_000; i++) {
            limiter.tryAcquire(limit, "client-" + i, clock.nanoTime());
        }
        assertThat(limiter.size()).isBetween(1L, 1_000L);

        // past the refill time every bucket would be full again; Caffeine's timer wheel drops expired
        // entries within about a second (2^30 ns) of their expiry
        clock.advance(Duration.ofSeconds(1));
        assertThat(limiter.tryAcquire(limit, "client-1", clock.nanoTime())).isZero();
        clock.advance(Duration.ofMillis(1_100));
        assertThat(limiter.size()).as("only client-1 was used in the last second").isLessThanOrEqualTo(1L);
        clock.advance(Duration.ofMillis(1_100));
        assertThat(limiter.size()).isZero();
    }

    @Test
    void memoryStaysBoundedUnderManyDistinctLongKeys() {
        // a byHeader key is as long as a client makes its header: 16 KiB under the default header limit
        GcraRateLimiter limiter = new GcraRateLimiter(clock, 1_000);
        RateLimit limit = RateLimit.perMinute(10).byHeader("X-Api-Key");
        String padding = "k".repeat(16_000);
        for (int i = 0; i < 5_000; i++) {
            limiter.tryAcquire(limit, i + padding, clock.nanoTime());
        }
        assertThat(limiter.keyChars()).as("the characters held, not only the buckets, are bounded")
                .isLessThanOrEqualTo(1_000L * GcraRateLimiter.KEY_CHARS_PER_BUCKET);

        // a long key is still limited, even one longer than the table holds
        String key = "x" + padding;
        GcraRateLimiter fresh = new GcraRateLimiter(clock, 1_000);
        assertThat(fresh.tryAcquire(RateLimit.perMinute(1), key, clock.nanoTime())).isZero();
        assertThat(fresh.tryAcquire(RateLimit.perMinute(1), key, clock.nanoTime())).isPositive();
        GcraRateLimiter tiny = new GcraRateLimiter(clock, 2);
        assertThat(tiny.tryAcquire(RateLimit.perMinute(1), key, clock.nanoTime())).isZero();
        assertThat(tiny.tryAcquire(RateLimit.perMinute(1), key, clock.nanoTime())).isPositive();
        // short keys weigh one bucket each, as before
        GcraRateLimiter shortKeys = new GcraRateLimiter(clock, 1_000);
        for (int i = 0; i < 1_000; i++) {
            shortKeys.tryAcquire(limit, "2001:db8::" + Integer.toHexString(i), clock.nanoTime());
        }
        assertThat(shortKeys.size()).isGreaterThan(900L);
    }

    @Test
    void aBucketIsForgottenOnlyOnceItWouldBeFullAgain() {
        GcraRateLimiter limiter = new GcraRateLimiter(clock, 1_000);
        RateLimit limit = RateLimit.perSecond(2);
        assertThat(limiter.tryAcquire(limit, "k", clock.nanoTime())).isZero();
        assertThat(limiter.tryAcquire(limit, "k", clock.nanoTime())).isZero();
        clock.advance(Duration.ofMillis(999));
        assertThat(limiter.size()).isEqualTo(1);
        assertThat(limiter.tryAcquire(limit, "k", clock.nanoTime())).isZero();   // one token back after 500 ms
        assertThat(limiter.tryAcquire(limit, "k", clock.nanoTime())).isEqualTo(1_000_000L);
        clock.advance(Duration.ofSeconds(3));
        assertThat(limiter.size()).isZero();
    }

    @Test
    void aRouterWithoutALimiterKeepsItsOwn() {
        Router router = Routing.builder().rule(Rule.always().rateLimit(RateLimit.perMinute(1)))
                .defaultBackend("app").build().router(BackendStates.allUp());
        assertThat(router.route(TestRequest.get("/"))).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(TestRequest.get("/"))).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void aConnectionOnlyRoutingTakesSourceLimitsButNotHeaderLimits() {
        Routing l4 = Routing.builder().connectionOnly().rule(Rule.always().rateLimit(RateLimit.perSecond(1)))
                .defaultBackend("db").build();
        assertThat(l4.isRateLimited()).isTrue();
        Router router = l4.router(b -> 1, RateLimiters.inMemory(clock), clock);
        assertThat(router.route(TestRequest.connection().source("10.0.0.1"))).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(TestRequest.connection().source("10.0.0.1"))).isInstanceOf(Decision.Deny.class);
        assertThatThrownBy(() -> Routing.builder().connectionOnly()
                .rule(Rule.always().name("keys").rateLimit(RateLimit.perSecond(1).byHeader("x-api-key")))
                .defaultBackend("db").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend rule #0 'keys' action: rate limit 1/PT1S burst 1 by header x-api-key")
                .hasMessageContaining("expected: a rate limit by source address or key function");
    }

    @Test
    void badSettingsFailNamingTheFieldAndValue() {
        assertThatThrownBy(() -> RateLimit.perSecond(0)).hasMessage("rate limit permits: 0 (expected: >= 1)");
        assertThatThrownBy(() -> RateLimit.of(1, Duration.ZERO)).hasMessageStartingWith("rate limit period: PT0S (expected: > 0");
        assertThatThrownBy(() -> RateLimit.of(2_000_000_000L, Duration.ofSeconds(1)))
                .hasMessage("rate limit permits: 2000000000 per PT1S (expected: at most one per nanosecond)");
        assertThatThrownBy(() -> RateLimit.perSecond(1).burst(0)).hasMessageStartingWith("rate limit burst: 0 (expected: 1..");
        assertThatThrownBy(() -> RateLimit.perSecond(1).byHeader("x key")).hasMessage("rate limit header: x key (expected: an HTTP token)");
        assertThatThrownBy(() -> RateLimit.perSecond(1).name(" ")).hasMessage("rate limit name: \" \" (expected: a non-blank name)");
        assertThatThrownBy(() -> RateLimiters.inMemory(clock, 0)).hasMessage("rate limiter maxKeys: 0 (expected: >= 1)");
        assertThatThrownBy(() -> Rule.always().rateLimit(null)).isInstanceOf(NullPointerException.class).hasMessage("rateLimit");
    }

    @Test
    void aLimitDescribesItself() {
        RateLimit limit = RateLimit.perMinute(600).burst(50).byHeader("X-Api-Key");
        assertThat(limit.permits()).isEqualTo(600);
        assertThat(limit.period()).isEqualTo(Duration.ofMinutes(1));
        assertThat(limit.burst()).isEqualTo(50);
        assertThat(limit.intervalNanos()).isEqualTo(100_000_000L);
        assertThat(limit.refillNanos()).isEqualTo(5_000_000_000L);
        assertThat(limit.header()).isEqualTo("x-api-key");
        assertThat(limit.name()).isEqualTo("600/PT1M burst 50 by header x-api-key");
        assertThat(limit.name("api").toString()).isEqualTo("api (600/PT1M burst 50 by header x-api-key)");
        assertThat(Rule.always().rateLimit(limit.bySourceAddress()).toString())
                .isEqualTo("rate limit 600/PT1M burst 50 by source if always");
    }

    /**
     * A reconfiguration keeps the buckets of the limits it keeps: equal limits, so a key function
     * must be the same object; a new one (a capturing lambda evaluated again) starts with full buckets.
     */
    @Test
    void aReconfigurationKeepsTheBucketsOfEqualLimits() {
        java.util.function.Function<io.lodestone.core.route.RequestView, String> tenant = r -> r.queryParam("t");
        try (Proxy proxy = proxy(Rule.always().rateLimit(RateLimit.perSecond(1)),
                Rule.always().rateLimit(RateLimit.perSecond(1).byKey(tenant)))) {
            assertThat(proxy.route(TestRequest.get("/?t=a").source("192.0.2.1"))).isInstanceOf(Decision.Forward.class);
            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("app").server("a", "127.0.0.1:10001").build())
                    .frontend(new RoutedFrontend("web", Routing.builder()
                            .rule(Rule.always().rateLimit(RateLimit.perSecond(1).byKey(tenant)))
                            .defaultBackend("app").build())));
            assertThat(retryAfter(proxy.route(TestRequest.get("/?t=a").source("192.0.2.2")))).as("the same function: kept").isEqualTo("1");

            String param = "t";
            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("app").server("a", "127.0.0.1:10001").build())
                    .frontend(new RoutedFrontend("web", Routing.builder()
                            .rule(Rule.always().rateLimit(RateLimit.perSecond(1).byKey(r -> r.queryParam(param))))
                            .rule(Rule.always().rateLimit(RateLimit.perSecond(1)))
                            .defaultBackend("app").build())));
            assertThat(proxy.route(TestRequest.get("/?t=a").source("192.0.2.3"))).as("a new function: new buckets")
                    .isInstanceOf(Decision.Forward.class);
            assertThat(retryAfter(proxy.route(TestRequest.get("/?t=b").source("192.0.2.1")))).as("by source: kept").isEqualTo("1");
        }
    }

    /**
     * A limit takes one token per request however many of its rules match it, as HAProxy counts a
     * request once on a counter two {@code track-sc0} rules track: until 2026-12-07 a request to
     * /api/v2 matched by an /api and an /api/v2 rule sharing a limit of 2 a second took both tokens.
     */
    @Test
    void aRequestTakesOneTokenOfALimitHoweverManyOfItsRulesMatch() {
        RateLimit api = RateLimit.perSecond(2);
        Routing routing = Routing.builder()
                .virtualHost("example.com", h -> h.rule(Rule.when(Acl.pathBegins("/api")).rateLimit(api)))
                .rule(Rule.when(Acl.pathBegins("/api")).rateLimit(api))
                .rule(Rule.when(Acl.pathBegins("/api/v2")).rateLimit(api))
                .rule(Rule.when(Acl.pathBegins("/api/v2")).rateLimit(RateLimit.perSecond(2).byHeader("X-Key")))
                .defaultBackend("app").build();
        Router router = routing.router(b -> 1, RateLimiters.inMemory(clock), clock);
        TestRequest v2 = TestRequest.get("/api/v2/x").host("example.com").header("X-Key", "k").source("192.0.2.1");
        assertThat(router.route(v2)).isInstanceOf(Decision.Forward.class);
        assertThat(router.route(v2)).as("two requests of two a second").isInstanceOf(Decision.Forward.class);
        assertThat(retryAfter(router.route(v2))).isEqualTo("1");

        // more shared limits than a word of bits holds
        List<Rule> rules = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            RateLimit each = RateLimit.perSecond(1).name("limit " + i);
            rules.add(Rule.always().rateLimit(each));
            rules.add(Rule.always().rateLimit(each));
        }
        Router many = Routing.builder().rules(rules.toArray(Rule[]::new)).defaultBackend("app").build()
                .router(b -> 1, RateLimiters.inMemory(clock), clock);
        assertThat(many.route(TestRequest.get("/").source("192.0.2.1"))).isInstanceOf(Decision.Forward.class);
        assertThat(retryAfter(many.route(TestRequest.get("/").source("192.0.2.1")))).isEqualTo("1");
    }
}
