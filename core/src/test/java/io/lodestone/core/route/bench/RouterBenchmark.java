package io.lodestone.core.route.bench;

import io.lodestone.core.route.Acl;
import io.lodestone.core.route.BackendStates;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.route.internal.HttpParts;
import io.lodestone.core.route.internal.HttpRequestView;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * {@code Router.route()} over a 100-rule table mixing path, host and header ACLs (and a few regex
 * ones). {@code prebuilt} routes a ready {@link TestRequest}; {@code freshView} builds an engine-style
 * view per request, so it also pays for splitting the target, normalising the path and parsing
 * the Host header. {@code where} picks the request: matched by rule 2, by rule 47, or by none
 * (no rule matches, then the default backend).
 *
 * <p>Run: {@code mvn -q -B -o test-compile -pl core} then
 * {@code java -cp core/target/test-classes:core/target/classes:$(cat cp.txt) org.openjdk.jmh.Main RouterBenchmark
 * -bm sample -wi 5 -w 1 -i 10 -r 1 -f 1 -prof gc} (see the README's Routing section, Cost). It is
 * not a unit test: surefire does not pick it up.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouterBenchmark {

    @Param({"early", "middle", "none"})
    public String where;

    private Router router;
    private TestRequest request;
    private String target;
    private Map<String, List<String>> headers;

    /** Builds the table: 100 rules in groups of ten of every kind. */
    static Routing table() {
        Routing.Builder b = Routing.builder();
        b.rule(Rule.always().setRequestHeader("X-Forwarded-Proto", "http"));
        b.rule(Rule.when(Acl.and(Acl.pathBegins("/admin"), Acl.not(Acl.source("10.0.0.0/8")))).deny(403));
        for (int i = 0; i < 98; i++) {
            switch (i % 10) {
                case 0: b.rule(Rule.when(Acl.pathBegins("/svc" + i + "/")).use("b" + i)); break;
                case 1: b.rule(Rule.when(Acl.host("host" + i + ".example.com")).use("b" + i)); break;
                case 2: b.rule(Rule.when(Acl.header("X-Tenant", "tenant" + i)).use("b" + i)); break;
                case 3: b.rule(Rule.when(Acl.pathEnds("/app" + i)).use("b" + i)); break;
                case 4: b.rule(Rule.when(Acl.hostWildcard("*.zone" + i + ".example.com")).use("b" + i)); break;
                case 5: b.rule(Rule.when(Acl.and(Acl.hostBegins("api" + i + "."), Acl.pathBegins("/v2/"))).use("b" + i)); break;
                case 6: b.rule(Rule.when(Acl.headerExists("X-Feature-" + i)).use("b" + i)); break;
                case 7: b.rule(Rule.when(Acl.pathBeginsIgnoreCase("/Static" + i + "/")).use("b" + i)); break;
                case 8: b.rule(Rule.when(Acl.pathRegex("^/re" + i + "/[0-9]+$")).use("b" + i)); break;
                default: b.rule(Rule.when(Acl.or(Acl.path("/exact" + i), Acl.cookie("route", "c" + i))).use("b" + i)); break;
            }
        }
        return b.defaultBackend("default").build();
    }

    @Setup
    public void setUp() {
        router = table().router(BackendStates.allUp());
        switch (where) {
            case "early":
                target = "/svc0/users/42?x=1";
                break;
            case "middle":
                target = "/v2/items";
                break;
            default:
                target = "/nothing/matches/here?q=1";
                break;
        }
        String host = where.equals("middle") ? "api45.example.com" : "www.example.org";
        request = TestRequest.get(target).host(host).header("X-Tenant", "acme").header("User-Agent", "bench");
        headers = new HashMap<>();
        headers.put("host", List.of(host));
        headers.put("x-tenant", List.of("acme"));
        headers.put("user-agent", List.of("bench"));
        Decision d = router.route(request);
        if (!(d instanceof Decision.Forward f) || f.backend().equals("default") != where.equals("none")) {
            throw new IllegalStateException("unexpected decision for " + where + ": " + d);
        }
    }

    @Benchmark
    public Decision prebuilt() {
        return router.route(request);
    }

    @Benchmark
    public Decision freshView() {
        return router.route(new MapView(target, headers));
    }

    /** An engine-style view over a header map keyed by lower-case names, as Netty's headers hash case-insensitively. */
    static final class MapView extends HttpRequestView {
        private static final InetSocketAddress CLIENT = new InetSocketAddress("192.0.2.10", 50000);
        private final Map<String, List<String>> headers;

        MapView(String target, Map<String, List<String>> headers) {
            super(CLIENT, 80, null, null, "GET", target);
            this.headers = headers;
        }

        @Override
        public String header(String name) {
            List<String> v = headers.get(HttpParts.toLowerAscii(name));
            return v == null ? null : v.get(0);
        }

        @Override
        public List<String> headers(String name) {
            List<String> v = headers.get(HttpParts.toLowerAscii(name));
            return v == null ? List.of() : v;
        }
    }

    /** Runs the benchmark with short iterations. */
    public static void main(String[] args) throws RunnerException {
        new Runner(new OptionsBuilder().include(RouterBenchmark.class.getName() + ".*").build()).run();
    }
}
