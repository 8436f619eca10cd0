package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Clock;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.limit.RateLimiters;
import io.lodestone.core.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The indexed router against the linear one ({@code new Router(..., false)}): random rule tables
 * over a small vocabulary, so that conditions often match, routed with random requests. Both must
 * give equal decisions (rule, backend, edits, 429s of rate-limiting rules, each router counting in
 * its own buckets on its own manual clock), make the same random draws and call the same custom
 * ACLs in the same order.
 */
class RouterIndexDifferentialTest {

    private static final String[] SEGMENTS = {
        "a", "A", "ab", "admin", "Admin", "api", "v1", "k", "K", "\u212A", "\u017F", "s", "S", "\u0131", "i", "I",
        "x.css", "X.CSS", "\uD83D\uDE00", "re1", "23", "\u00B5", "\u039C", "\u00FF", "\u0178", "svc"
    };
    private static final String[] HOSTS = {
        "example.com", "www.example.com", "api.example.com", "API.Example.COM", "a.b.example.org", "example.com:8080",
        "ex\u212Ample.com", "[::1]:80", "x"
    };
    private static final String[] HEADERS = {"X-A", "x-b", "X-C"};
    private static final String[] HEADER_VALUES = {"1", "2", "a", "A", "ab", "\u212A"};
    private static final String[] METHODS = {"GET", "POST", "PUT", "get"};
    private static final String[] BACKENDS = {"b0", "b1", "b2", "b3"};

    /** Custom ACLs append their id here, so that both routers can be shown to call them alike. */
    private final List<Integer> calls = new ArrayList<>();
    /** False while the named ACLs themselves are made: they do not refer to each other here. */
    private boolean namedAllowed;

    @Test
    void indexedAndLinearRoutersDecideAlike() {
        SplittableRandom rnd = new SplittableRandom(20261203L);
        int tables = 400;
        int requestsPerTable = 60;
        int matchedByRule = 0;
        int limited = 0;
        for (int t = 0; t < tables; t++) {
            Routing routing = routing(rnd);
            BackendStates states = b -> b.equals("b0") ? 0 : b.equals("b1") ? 1 : 3;
            ManualClock indexedClock = new ManualClock();
            ManualClock linearClock = new ManualClock();
            Router indexed = routing.router(states, RateLimiters.inMemory(indexedClock), indexedClock);
            Router linear = new Router(routing, states, RateLimiters.inMemory(linearClock), linearClock, false);
            for (int q = 0; q < requestsPerTable; q++) {
                Supplier<TestRequest> request = request(rnd);
                long seed = rnd.nextLong();
                Duration later = Duration.ofMillis(rnd.nextInt(300));
                indexedClock.advance(later);
                linearClock.advance(later);
                SplittableRandom linearDraws = new SplittableRandom(seed);
                SplittableRandom indexedDraws = new SplittableRandom(seed);

                calls.clear();
                TestRequest lr = request.get().random(linearDraws);
                Decision expected = linear.route(lr);
                List<Integer> expectedCalls = new ArrayList<>(calls);
                calls.clear();
                Decision actual = indexed.route(request.get().random(indexedDraws));
                String where = "table " + t + " " + routing.rules() + " request " + lr;
                assertThat(actual).as(where).isEqualTo(expected);
                assertThat(calls).as("custom ACL calls, " + where).isEqualTo(expectedCalls);
                assertThat(indexedDraws.nextLong()).as("random draws, " + where).isEqualTo(linearDraws.nextLong());
                if (expected.matched().index() >= 0) {
                    matchedByRule++;
                }
                if (expected instanceof Decision.Deny deny && deny.status() == 429) {
                    limited++;
                }
            }
        }
        // The vocabulary is small enough that rules match often, not just the defaults.
        assertThat(matchedByRule).isGreaterThan(tables * requestsPerTable / 4);
        assertThat(limited).as("requests denied by a rate-limiting rule").isGreaterThan(100);
    }

    @Test
    void aLargeTableOfGuardedRulesDecidesAlike() {
        SplittableRandom rnd = new SplittableRandom(7L);
        for (int t = 0; t < 20; t++) {
            Routing.Builder b = Routing.builder();
            int n = 70 + rnd.nextInt(200);
            for (int i = 0; i < n; i++) {
                b.rule(Rule.when(leaf(rnd)).use(pick(rnd, BACKENDS)));
            }
            Routing routing = b.defaultBackend("b3").build();
            Router indexed = routing.router(BackendStates.allUp());
            Router linear = new Router(routing, BackendStates.allUp(), null, Clock.system(), false);
            for (int q = 0; q < 200; q++) {
                Supplier<TestRequest> request = request(rnd);
                TestRequest lr = request.get();
                assertThat(indexed.route(request.get())).as("%s", lr).isEqualTo(linear.route(lr));
            }
        }
    }

    private Routing routing(SplittableRandom rnd) {
        Routing.Builder b = Routing.builder();
        namedAllowed = false;
        b.acl("n0", acl(rnd, 2)).acl("n1", acl(rnd, 1));
        namedAllowed = true;
        int n = 1 + rnd.nextInt(40);
        for (int i = 0; i < n; i++) {
            b.rule(rule(rnd));
        }
        if (rnd.nextInt(4) == 0) {
            b.virtualHost("example.com", vh -> {
                for (int i = rnd.nextInt(5); i > 0; i--) {
                    vh.rule(rule(rnd));
                }
                if (rnd.nextBoolean()) {
                    vh.defaultBackend("b2");
                }
            });
        }
        if (rnd.nextInt(4) == 0) {
            b.virtualHost("*.example.com", vh -> {
                for (int i = rnd.nextInt(5); i > 0; i--) {
                    vh.rule(rule(rnd));
                }
            });
        }
        if (rnd.nextInt(3) > 0) {
            b.defaultBackend("b0", rnd.nextBoolean() ? "b1" : null);
        }
        return b.build();
    }

    private Rule rule(SplittableRandom rnd) {
        Rule.Builder r = Rule.when(acl(rnd, 3));
        if (rnd.nextInt(3) == 0) {
            r = r.name("r" + rnd.nextInt(100));
        }
        switch (rnd.nextInt(14)) {
            case 0: return r.deny(403);
            case 1: return r.setRequestHeader("X-Edit", "v" + rnd.nextInt(5));
            case 2: return r.addResponseHeader("X-Resp", "v" + rnd.nextInt(5));
            case 3: return r.stripPrefix("/a");
            case 4: return r.redirectPrefix(302, "https://elsewhere.example");
            case 5: return r.respond(200, "hi");
            case 6: return r.setHost("internal");
            case 7: {
                // a backend cannot back itself up
                String backend = pick(rnd, BACKENDS);
                return r.use(backend, backend.equals("b2") ? "b3" : "b2");
            }
            case 8: return r.rateLimit(RateLimit.perSecond(4).burst(2));
            case 9: return r.rateLimit(RateLimit.perSecond(2).byHeader("X-A"));
            default: return r.use(pick(rnd, BACKENDS));
        }
    }

    private Acl acl(SplittableRandom rnd, int depth) {
        int k = rnd.nextInt(depth > 0 ? 12 : 8);
        if (k < 8 || depth == 0) {
            return leaf(rnd);
        }
        switch (k) {
            case 8: return Acl.and(parts(rnd, depth));
            case 9: return Acl.or(parts(rnd, depth));
            case 10: return Acl.not(acl(rnd, depth - 1));
            default: return rnd.nextBoolean() && namedAllowed ? Acl.named(rnd.nextBoolean() ? "n0" : "n1") : Acl.describe("d", acl(rnd, depth - 1));
        }
    }

    private Acl[] parts(SplittableRandom rnd, int depth) {
        Acl[] parts = new Acl[1 + rnd.nextInt(3)];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = acl(rnd, depth - 1);
        }
        return parts;
    }

    private Acl leaf(SplittableRandom rnd) {
        switch (rnd.nextInt(40)) {
            case 0: return Acl.path(paths(rnd, false));
            case 1: return Acl.pathIgnoreCase(paths(rnd, false));
            case 2: case 3: return Acl.pathBegins(paths(rnd, true));
            case 4: case 5: return Acl.pathBeginsIgnoreCase(paths(rnd, true));
            case 6: return Acl.pathEnds(suffixes(rnd));
            case 7: return Acl.pathEndsIgnoreCase(suffixes(rnd));
            case 8: return Acl.pathContains(pick(rnd, SEGMENTS));
            case 9: return Acl.pathContainsIgnoreCase(pick(rnd, SEGMENTS));
            case 10: return Acl.pathRegex("^" + paths(rnd, true)[0] + ".*");
            case 11: return Acl.pathRegexIgnoreCase("^" + paths(rnd, true)[0] + "[a-z]?");
            case 12: return Acl.host(hosts(rnd));
            case 13: return Acl.hostBegins(prefix(rnd, hostOf(rnd)));
            case 14: return Acl.hostEnds(suffix(rnd, hostOf(rnd)));
            case 15: return Acl.hostWildcard(rnd.nextBoolean() ? "*.example.com" : "*.EXAMPLE.com");
            case 16: return Acl.headerExists(pick(rnd, HEADERS));
            case 17: return Acl.header(pick(rnd, HEADERS), values(rnd));
            case 18: return Acl.headerIgnoreCase(pick(rnd, HEADERS), values(rnd));
            case 19: return Acl.headerBegins(pick(rnd, HEADERS), values(rnd));
            case 20: return Acl.headerRegex(pick(rnd, HEADERS), "^a");
            case 21: return Acl.method(rnd.nextBoolean() ? new String[] {pick(rnd, METHODS)} : new String[] {"GET", "HEAD"});
            case 22: return Acl.queryParam("q", pick(rnd, HEADER_VALUES));
            case 23: return Acl.cookie("c", pick(rnd, HEADER_VALUES));
            case 24: return Acl.source(rnd.nextBoolean() ? "10.0.0.0/8" : "192.0.2.7");
            case 25: return Acl.localPort(rnd.nextBoolean() ? 80 : 443);
            case 26: return Acl.usableServersBelow(pick(rnd, BACKENDS), 1 + rnd.nextInt(3));
            case 27: case 28: return Acl.random(rnd.nextInt(3) * 0.25 + 0.25);
            case 29: return rnd.nextBoolean() ? Acl.always() : Acl.never();
            case 30: return custom(rnd.nextInt(1000));
            case 31: return Acl.describe("custom", custom(rnd.nextInt(1000)));
            case 32: return Acl.sni("example.com");
            case 33: return Acl.queryParamIgnoreCase("q", values(rnd));
            case 34: return Acl.cookieIgnoreCase("c", values(rnd));
            case 35: return rnd.nextBoolean() ? Acl.queryParamExists("q") : Acl.cookieExists("c");
            case 37: return Acl.clientCertificate();
            case 38: return Acl.clientCommonName("alice");
            case 36: return Acl.or(Acl.path(paths(rnd, false)), Acl.cookie("c", values(rnd)));
            default: return Acl.headerBeginsIgnoreCase(pick(rnd, HEADERS), values(rnd));
        }
    }

    private Acl custom(int id) {
        return v -> {
            calls.add(id);
            return v.isHttp() && (v.header("x-c") != null || id % 2 == 0);
        };
    }

    private static String[] values(SplittableRandom rnd) {
        String[] v = new String[1 + rnd.nextInt(2)];
        for (int i = 0; i < v.length; i++) {
            v[i] = pick(rnd, HEADER_VALUES);
        }
        return v;
    }

    private static String[] paths(SplittableRandom rnd, boolean prefixes) {
        String[] v = new String[1 + rnd.nextInt(2)];
        for (int i = 0; i < v.length; i++) {
            String p = path(rnd);
            v[i] = prefixes ? prefix(rnd, p) : p;
            if (v[i].isEmpty()) {
                v[i] = "/";
            }
        }
        return v;
    }

    private static String[] suffixes(SplittableRandom rnd) {
        return new String[] {suffix(rnd, path(rnd))};
    }

    private static String[] hosts(SplittableRandom rnd) {
        return new String[] {hostOf(rnd)};
    }

    private static String hostOf(SplittableRandom rnd) {
        String h = pick(rnd, HOSTS);
        // the host as rules name it: without the port (an IPv6 literal keeps its brackets)
        int colon = h.startsWith("[") ? h.indexOf(':', h.indexOf(']')) : h.indexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    /** A prefix that never cuts a surrogate pair (a regex literal would not compile from half of one). */
    private static String prefix(SplittableRandom rnd, String s) {
        int end = 1 + rnd.nextInt(s.length());
        if (end < s.length() && Character.isLowSurrogate(s.charAt(end))) {
            end++;
        }
        return s.substring(0, end);
    }

    private static String suffix(SplittableRandom rnd, String s) {
        int start = rnd.nextInt(s.length());
        if (start > 0 && Character.isLowSurrogate(s.charAt(start))) {
            start--;
        }
        return s.substring(start);
    }

    private static String path(SplittableRandom rnd) {
        StringBuilder sb = new StringBuilder();
        for (int i = rnd.nextInt(4); i >= 0; i--) {
            sb.append('/').append(pick(rnd, SEGMENTS));
        }
        if (rnd.nextInt(5) == 0) {
            sb.append('/');
        }
        return sb.toString();
    }

    private static Supplier<TestRequest> request(SplittableRandom rnd) {
        if (rnd.nextInt(20) == 0) {
            String source = rnd.nextBoolean() ? "10.1.2.3" : "192.0.2.7";
            int port = rnd.nextBoolean() ? 80 : 443;
            return () -> TestRequest.connection().source(source).localPort(port);
        }
        String method = pick(rnd, METHODS);
        String target = path(rnd) + (rnd.nextBoolean() ? "?q=" + pick(rnd, HEADER_VALUES) : "");
        String host = rnd.nextInt(6) == 0 ? null : pick(rnd, HOSTS);
        List<String[]> headers = new ArrayList<>();
        for (int i = rnd.nextInt(4); i > 0; i--) {
            headers.add(new String[] {pick(rnd, HEADERS), pick(rnd, HEADER_VALUES)});
        }
        String cookie = rnd.nextBoolean() ? pick(rnd, HEADER_VALUES) : null;
        String source = rnd.nextBoolean() ? "10.1.2.3" : "192.0.2.7";
        boolean certificate = rnd.nextBoolean();
        return () -> {
            TestRequest r = TestRequest.request(method, target).source(source);
            if (certificate) {
                r.clientCertificate("CN=alice,O=Example", "alice.example");
            }
            if (host != null) {
                r.host(host);
            }
            for (String[] h : headers) {
                r.header(h[0], h[1]);
            }
            if (cookie != null) {
                r.cookie("c", cookie);
            }
            return r;
        };
    }

    private static String pick(SplittableRandom rnd, String[] from) {
        return from[rnd.nextInt(from.length)];
    }
}
