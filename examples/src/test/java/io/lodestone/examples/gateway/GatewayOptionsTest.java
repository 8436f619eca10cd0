package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.TestRequest;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.gateway.GatewayOptions.Balance;
import io.lodestone.examples.gateway.GatewayOptions.Mode;
import io.lodestone.l7.HttpFrontend;
import io.lodestone.core.route.Rule;
import io.lodestone.l4.TcpFrontend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class GatewayOptionsTest {

    private static final String[] MINIMAL = {"--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001"};

    @Test
    void minimalCommandLineTakesTheDefaults() throws Exception {
        GatewayOptions o = GatewayOptions.parse(MINIMAL);
        assertThat(o.mode()).isEqualTo(Mode.TCP);
        assertThat(o.listen()).isEqualTo(new HostPort("127.0.0.1", 8080));
        assertThat(o.backends()).containsExactly(new HostPort("127.0.0.1", 9001));
        assertThat(o.balance()).isEqualTo(Balance.ROUNDROBIN);
        assertThat(o.retries()).isEmpty();
        assertThat(o.connectTimeout()).isEmpty();
        assertThat(o.clientTimeout()).isEmpty();
        assertThat(o.serverTimeout()).isEmpty();
        assertThat(o.ioThreads()).isZero();
        assertThat(o.denies()).isEmpty();
        assertThat(o.routes()).isEmpty();
        assertThat(o.tlsCert()).isEmpty();
        assertThat(o.tlsKey()).isEmpty();
        assertThat(o.snis()).isEmpty();
        assertThat(o.tlsPassthrough()).isFalse();
    }

    @Test
    void tlsCertAndKeyTogetherInEitherMode() throws Exception {
        for (String mode : List.of("tcp", "http")) {
            GatewayOptions o = GatewayOptions.parse("--mode", mode, "--listen", "127.0.0.1:8443", "--backend", "127.0.0.1:9001",
                    "--tls-cert", "certs/site.crt", "--tls-key=certs/site.key");
            assertThat(o.tlsCert()).contains(Path.of("certs/site.crt"));
            assertThat(o.tlsKey()).contains(Path.of("certs/site.key"));
            assertThat(o.tlsPassthrough()).isFalse();
            assertThat(o.toString()).contains("tlsCert=certs/site.crt tlsKey=certs/site.key");
        }
    }

    @Test
    void sniRepeatsInTcpModeWithNamesInLowerCase() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:8443", "--backend", "127.0.0.1:9001",
                "--sni", "Shop.Example.com=127.0.0.1:9443", "--sni=*.api.example.com=[::1]:9444");
        assertThat(o.snis()).containsExactly(
                new GatewayOptions.Sni("shop.example.com", new HostPort("127.0.0.1", 9443)),
                new GatewayOptions.Sni("*.api.example.com", new HostPort("::1", 9444)));
        assertThat(o.tlsPassthrough()).isTrue();
        assertThat(o.toString()).contains("sni=[shop.example.com=127.0.0.1:9443, *.api.example.com=[::1]:9444]");
    }

    @Test
    void sniBecomesPassthroughRulesAndOneServerBackends() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--sni", "a.example=127.0.0.1:9443", "--sni", "b.example=127.0.0.1:9444", "--timeout-connect", "250ms");
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends()).containsOnlyKeys(Gateway.BACKEND, "sni1", "sni2");
            assertThat(proxy.backends().get("sni2").servers()).extracting(s -> s.name() + " " + s.address().getPort())
                    .containsExactly("s1 9444");
            assertThat(proxy.backends().get("sni1").connectTimeout()).isEqualTo(Duration.ofMillis(250));
            TcpFrontend frontend = (TcpFrontend) proxy.frontends().get(0);
            assertThat(frontend.tlsPassthrough()).isTrue();
            assertThat(frontend.tls()).isNull();
            assertThat(frontend.routing().rules()).extracting(Rule::name).containsExactly("sni a.example", "sni b.example");
        }
    }

    @Test
    void timeoutClientHelloSetsTheTlsFrontendsClientHelloTimeout() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--sni", "a.example=127.0.0.1:9443", "--timeout-client-hello", "3s");
        assertThat(o.clientHelloTimeout()).contains(Duration.ofSeconds(3));
        assertThat(o.toString()).contains(" clientHelloTimeout=PT3S");
        assertThat(o.forWarmUp(new HostPort("127.0.0.1", 1)).clientHelloTimeout()).isEmpty();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(((TcpFrontend) proxy.frontends().get(0)).clientHelloTimeout()).isEqualTo(Duration.ofSeconds(3));
        }
        GatewayOptions terminating = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--tls-cert", "site.crt", "--tls-key", "site.key", "--timeout-client-hello=500ms");
        assertThat(terminating.clientHelloTimeout()).contains(Duration.ofMillis(500));
    }

    @Test
    void withoutTimeoutClientHelloTheFrontendKeepsItsDefault() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--sni", "a.example=127.0.0.1:9443");
        assertThat(o.clientHelloTimeout()).isEmpty();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(((TcpFrontend) proxy.frontends().get(0)).clientHelloTimeout())
                    .isEqualTo(TcpFrontend.DEFAULT_CLIENT_HELLO_TIMEOUT);
        }
    }

    @Test
    void denyAndRouteRepeatInHttpMode() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:8080", "--backend", "127.0.0.1:9001",
                "--deny", "/admin", "--route", "/api=127.0.0.1:9003", "--deny=/internal/", "--route=/img=[::1]:9004",
                "--route", "/api/v2=localhost:9005");
        assertThat(o.denies()).containsExactly("/admin", "/internal/");
        assertThat(o.routes()).containsExactly(
                new GatewayOptions.Route("/api", new HostPort("127.0.0.1", 9003)),
                new GatewayOptions.Route("/img", new HostPort("::1", 9004)),
                new GatewayOptions.Route("/api/v2", new HostPort("localhost", 9005)));
        assertThat(o.toString()).contains("deny=[/admin, /internal/]", "routes=[/api=127.0.0.1:9003, /img=[::1]:9004, /api/v2=localhost:9005]");
    }

    /** A prefix that normalised paths can begin with parses, dots and slashes at its end included. */
    @Test
    void denyAndRouteTakeEveryPrefixANormalisedPathCanBeginWith() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--deny", "/", "--deny", "/.", "--deny", "/.well-known/..", "--deny", "/admin/", "--route", "/a-b_c.d~e=127.0.0.1:9003");
        assertThat(o.denies()).containsExactly("/", "/.", "/.well-known/..", "/admin/");
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.route(TestRequest.get("/.env"))).isInstanceOf(Decision.Deny.class);
            assertThat(proxy.route(TestRequest.get("/.well-known/..x"))).isInstanceOf(Decision.Deny.class);
        }
    }

    @Test
    void denyAndRouteBecomeRulesAndOneServerBackends() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001",
                "--deny", "/admin", "--route", "/api=127.0.0.1:9003", "--route", "/img=127.0.0.1:9004", "--timeout-connect", "250ms");
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends()).containsOnlyKeys(Gateway.BACKEND, "route1", "route2");
            assertThat(proxy.backends().get("route1").servers()).extracting(s -> s.name() + " " + s.address().getPort())
                    .containsExactly("s1 9003");
            assertThat(proxy.backends().get("route2").connectTimeout()).isEqualTo(Duration.ofMillis(250));
            Decision denied = proxy.route(TestRequest.get("/%61dmin/x"));
            assertThat(denied).isInstanceOfSatisfying(Decision.Deny.class, d -> assertThat(d.status()).isEqualTo(403));
            assertThat(denied.matched().name()).isEqualTo("deny /admin");
            assertThat(proxy.route(TestRequest.get("/api/users?id=1")))
                    .isInstanceOfSatisfying(Decision.Forward.class, f -> {
                        assertThat(f.backend()).isEqualTo("route1");
                        assertThat(f.path()).isNull();
                    });
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/img/a.png"))).backend()).isEqualTo("route2");
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/other"))).backend()).isEqualTo(Gateway.BACKEND);
        }
    }

    @Test
    void everyFlagWithItsValueAsTheNextArgument() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "0.0.0.0:18115",
                "--backend", "127.0.0.1:18081", "--backend", "localhost:18082", "--balance", "leastconn",
                "--retries", "5", "--timeout-connect", "500ms", "--timeout-client", "2m",
                "--timeout-server", "1h", "--io-threads", "3", "--busy-poll", "50us");
        assertEveryFlag(o);
    }

    @Test
    void everyFlagWithItsValueAfterAnEqualsSign() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode=http", "--listen=0.0.0.0:18115",
                "--backend=127.0.0.1:18081", "--backend=localhost:18082", "--balance=leastconn",
                "--retries=5", "--timeout-connect=500ms", "--timeout-client=2m",
                "--timeout-server=1h", "--io-threads=3", "--busy-poll=50us");
        assertEveryFlag(o);
    }

    private static void assertEveryFlag(GatewayOptions o) {
        assertThat(o.mode()).isEqualTo(Mode.HTTP);
        assertThat(o.listen()).isEqualTo(new HostPort("0.0.0.0", 18115));
        assertThat(o.backends()).containsExactly(new HostPort("127.0.0.1", 18081), new HostPort("localhost", 18082));
        assertThat(o.balance()).isEqualTo(Balance.LEASTCONN);
        assertThat(o.retries()).isEqualTo(OptionalInt.of(5));
        assertThat(o.connectTimeout()).contains(Duration.ofMillis(500));
        assertThat(o.clientTimeout()).contains(Duration.ofMinutes(2));
        assertThat(o.serverTimeout()).contains(Duration.ofHours(1));
        assertThat(o.ioThreads()).isEqualTo(3);
        assertThat(o.busyPoll()).contains(Duration.ofNanos(50_000));
    }

    @Test
    void busyPollIsOffUnlessGivenAndZeroTurnsItOff() throws Exception {
        assertThat(GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "h:1").busyPoll()).isEmpty();
        assertThat(GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "h:1", "--busy-poll", "0").busyPoll()).isEmpty();
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "h:1", "--busy-poll", "1s");
        assertThat(o.busyPoll()).contains(Duration.ofSeconds(1));
        assertThat(o.forWarmUp(new HostPort("127.0.0.1", 9)).busyPoll()).as("the warm-up copy polls alike").contains(Duration.ofSeconds(1));
    }

    @Test
    void requestIdAndForwardedForSetTheFrontendAndAreCopiedForTheWarmUp() throws Exception {
        GatewayOptions plain = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1");
        assertThat(plain.requestIds()).isTrue();
        assertThat(plain.requestIdHeader()).isEqualTo("X-Request-ID");
        assertThat(plain.forwardedFor()).isTrue();
        try (Proxy proxy = Gateway.newProxy(plain)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class, f -> {
                assertThat(f.requestIds()).isTrue();
                assertThat(f.requestIdHeader()).isEqualTo("X-Request-ID");
                assertThat(f.forwardedFor()).isTrue();
            });
        }

        GatewayOptions named = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--request-id", "X-Trace-Id");
        assertThat(named.requestIdHeader()).isEqualTo("X-Trace-Id");
        assertThat(named.toString()).contains("requestId=X-Trace-Id");
        try (Proxy proxy = Gateway.newProxy(named)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class,
                    f -> assertThat(f.requestIdHeader()).isEqualTo("X-Trace-Id"));
        }

        GatewayOptions off = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--request-id=off", "--forwarded-for", "off");
        assertThat(off.requestIds()).isFalse();
        assertThat(off.forwardedFor()).isFalse();
        assertThat(off.toString()).contains("requestIds=off", "forwardedFor=off");
        GatewayOptions warm = off.forWarmUp(new HostPort("127.0.0.1", 9));
        assertThat(warm.requestIds()).as("the warm-up copy runs the same code").isFalse();
        assertThat(warm.forwardedFor()).isFalse();
        try (Proxy proxy = Gateway.newProxy(off)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class, f -> {
                assertThat(f.requestIds()).isFalse();
                assertThat(f.forwardedFor()).isFalse();
            });
        }
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--forwarded-for", "on").forwardedFor()).isTrue();
    }

    @Test
    void headersWithUnderscoresSetsTheFrontendAndIsCopiedForTheWarmUp() throws Exception {
        GatewayOptions plain = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1");
        assertThat(plain.headersWithUnderscores()).isEqualTo(HttpFrontend.HeadersWithUnderscores.ALLOW);
        assertThat(plain.toString()).doesNotContain("headersWithUnderscores");
        String[][] given = {{"allow", "ALLOW"}, {"drop", "DROP_HEADER"}, {"reject", "REJECT_REQUEST"}};
        for (String[] g : given) {
            GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                    "--headers-with-underscores", g[0]);
            HttpFrontend.HeadersWithUnderscores expected = HttpFrontend.HeadersWithUnderscores.valueOf(g[1]);
            assertThat(o.headersWithUnderscores()).isEqualTo(expected);
            assertThat(o.forWarmUp(new HostPort("127.0.0.1", 9)).headersWithUnderscores()).as("the warm-up copy").isEqualTo(expected);
            try (Proxy proxy = Gateway.newProxy(o)) {
                assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class,
                        f -> assertThat(f.headersWithUnderscores()).isEqualTo(expected));
            }
        }
    }

    @Test
    void deferAcceptIsAnHttpSwitchCopiedForTheWarmUp() throws Exception {
        GatewayOptions plain = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1");
        assertThat(plain.deferAccept()).isFalse();
        assertThat(plain.toString()).doesNotContain("deferAccept");
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--defer-accept");
        assertThat(o.deferAccept()).isTrue();
        assertThat(o.toString()).contains(" deferAccept");
        assertThat(o.forWarmUp(new HostPort("127.0.0.1", 9)).deferAccept()).as("the warm-up copy").isTrue();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class,
                    f -> assertThat(f.deferAccept()).isTrue());
        }
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "tcp", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--defer-accept")).isInstanceOf(UsageException.class)
                .hasMessage("--defer-accept: on (only in http mode: add --mode http)");
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--defer-accept", "--defer-accept")).isInstanceOf(UsageException.class)
                .hasMessage("--defer-accept: on (given more than once)");
    }

    @Test
    void abortOnCloseIsAnHttpSwitchForEveryBackendCopiedForTheWarmUp() throws Exception {
        GatewayOptions plain = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1");
        assertThat(plain.abortOnClose()).isFalse();
        assertThat(plain.toString()).doesNotContain("abortOnClose");
        try (Proxy proxy = Gateway.newProxy(plain)) {
            assertThat(proxy.backends().values()).allSatisfy(b -> assertThat(b.abortOnClose()).isFalse());
        }
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--route", "/api=127.0.0.1:2", "--abort-on-close");
        assertThat(o.abortOnClose()).isTrue();
        assertThat(o.toString()).contains(" abortOnClose");
        assertThat(o.forWarmUp(new HostPort("127.0.0.1", 9)).abortOnClose()).as("the warm-up copy").isTrue();
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends().values()).hasSize(2).allSatisfy(b -> assertThat(b.abortOnClose()).isTrue());
        }
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "tcp", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--abort-on-close")).isInstanceOf(UsageException.class)
                .hasMessage("--abort-on-close: on (only in http mode: add --mode http)");
        assertThatThrownBy(() -> GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--abort-on-close", "--abort-on-close")).isInstanceOf(UsageException.class)
                .hasMessage("--abort-on-close: on (given more than once)");
    }

    @Test
    void acceptProxyGivesBothModesTheirFrontendsOptionButNotTheWarmUpCopy() throws Exception {
        GatewayOptions plain = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1");
        assertThat(plain.acceptProxy()).isFalse();
        assertThat(plain.toString()).doesNotContain("acceptProxy");
        GatewayOptions tcp = GatewayOptions.parse("--mode", "tcp", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--accept-proxy");
        assertThat(tcp.acceptProxy()).isTrue();
        assertThat(tcp.acceptProxyFrom()).isEmpty();
        assertThat(tcp.toString()).contains(" acceptProxy");
        assertThat(tcp.forWarmUp(new HostPort("127.0.0.1", 9)).acceptProxy()).as("the warm-up copy").isFalse();
        try (Proxy proxy = Gateway.newProxy(tcp)) {
            TcpFrontend f = (TcpFrontend) proxy.frontends().get(0);
            assertThat(f.acceptsProxyProtocol()).isTrue();
            assertThat(f.proxyProtocolSources()).isEmpty();
        }
        GatewayOptions http = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--accept-proxy-from", "10.0.0.0/8,192.0.2.7");
        assertThat(http.acceptProxy()).isTrue();
        assertThat(http.acceptProxyFrom()).containsExactly("10.0.0.0/8", "192.0.2.7");
        assertThat(http.toString()).contains(" acceptProxy=[10.0.0.0/8, 192.0.2.7]");
        try (Proxy proxy = Gateway.newProxy(http)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class, f -> {
                assertThat(f.acceptsProxyProtocol()).isTrue();
                assertThat(f.proxyProtocolSources()).containsExactly("10.0.0.0/8", "192.0.2.7");
            });
        }
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--accept-proxy-from", "10.0.0.0/8,10.1.0.0/40"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--accept-proxy-from: 10.0.0.0/8,10.1.0.0/40 (expected: CIDR or a comma-separated list of them,"
                        + " such as 10.0.0.0/8,192.0.2.7; bad entry 10.1.0.0/40)");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--accept-proxy-from", "10.0.0.0/8,"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("empty entry");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", ":1", "--backend", "h:1", "--accept-proxy", "--accept-proxy-from", "10.0.0.0/8"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--accept-proxy-from: 10.0.0.0/8 (expected: either --accept-proxy, for every client, or --accept-proxy-from, not both)");
    }

    @Test
    void cacheTakesASizeInHttpMode() throws Exception {
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1", "--cache", "64m").cacheBytes())
                .isEqualTo(OptionalLong.of(64L << 20));
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1", "--cache=2G").cacheBytes())
                .isEqualTo(OptionalLong.of(2L << 30));
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1", "--cache", "4096").cacheBytes())
                .isEqualTo(OptionalLong.of(4096));
        assertThat(GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1").cacheBytes()).isEmpty();
    }

    @Test
    void poolFlagsTakeACountAndADurationInHttpMode() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1",
                "--pool-max-idle", "0", "--pool-idle-timeout=2m");
        assertThat(o.poolMaxIdle()).isEqualTo(OptionalInt.of(0));
        assertThat(o.poolIdleTimeout()).contains(Duration.ofMinutes(2));
        // the warm-up copy keeps the pool as given
        GatewayOptions copy = o.forWarmUp(new HostPort("127.0.0.1", 9));
        assertThat(copy.poolMaxIdle()).isEqualTo(OptionalInt.of(0));
        assertThat(copy.poolIdleTimeout()).contains(Duration.ofMinutes(2));
        GatewayOptions none = GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1");
        assertThat(none.poolMaxIdle()).isEmpty();
        assertThat(none.poolIdleTimeout()).isEmpty();
    }

    @Test
    void reuseLimitFlagsTakeCountsAndADurationInHttpMode() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1",
                "--pool-max-requests", "100", "--pool-max-lifetime=5m", "--keepalive-requests", "1000");
        assertThat(o.poolMaxRequests()).isEqualTo(OptionalInt.of(100));
        assertThat(o.poolMaxLifetime()).contains(Duration.ofMinutes(5));
        assertThat(o.keepAliveRequests()).isEqualTo(OptionalInt.of(1000));
        assertThat(o.toString()).contains(" poolMaxRequests=100 poolMaxLifetime=PT5M keepAliveRequests=1000");
        // the warm-up copy keeps them as given
        GatewayOptions copy = o.forWarmUp(new HostPort("127.0.0.1", 9));
        assertThat(copy.poolMaxRequests()).isEqualTo(OptionalInt.of(100));
        assertThat(copy.poolMaxLifetime()).contains(Duration.ofMinutes(5));
        assertThat(copy.keepAliveRequests()).isEqualTo(OptionalInt.of(1000));
        GatewayOptions one = GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1",
                "--pool-max-requests=1", "--keepalive-requests=1000000000");
        assertThat(one.poolMaxRequests()).isEqualTo(OptionalInt.of(1));
        assertThat(one.keepAliveRequests()).isEqualTo(OptionalInt.of(GatewayOptions.MAX_REQUESTS_PER_CONNECTION));
        GatewayOptions none = GatewayOptions.parse("--mode", "http", "--listen", ":1", "--backend", "h:1");
        assertThat(none.poolMaxRequests()).isEmpty();
        assertThat(none.poolMaxLifetime()).isEmpty();
        assertThat(none.keepAliveRequests()).isEmpty();
        assertThat(none.toString()).doesNotContain("poolMaxRequests").doesNotContain("poolMaxLifetime").doesNotContain("keepAliveRequests");
    }

    @Test
    void backendTakesACommaSeparatedListAndRepeats() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", ":8080",
                "--backend", "127.0.0.1:1,127.0.0.1:2", "--backend=[::1]:3", "--backend", "db.internal:4, 10.0.0.5:5");
        assertThat(o.backends()).containsExactly(new HostPort("127.0.0.1", 1), new HostPort("127.0.0.1", 2),
                new HostPort("::1", 3), new HostPort("db.internal", 4), new HostPort("10.0.0.5", 5));
        assertThat(o.backends().get(2)).hasToString("[::1]:3");
        assertThat(o.listen().anyHost()).isTrue();
        assertThat(o.listen()).hasToString("*:8080");
    }

    @Test
    void listenTakesEveryInterfaceForms() throws Exception {
        assertThat(GatewayOptions.parse("--listen", "*:81", "--backend", "h:1").listen()).isEqualTo(new HostPort("", 81));
        assertThat(GatewayOptions.parse("--listen", "[::]:82", "--backend", "h:1").listen()).isEqualTo(new HostPort("::", 82));
        assertThat(GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "h:1").listen().port()).isZero();
        // the shorter IPv4 forms the JDK reads (127.1 is 127.0.0.1) stay addresses
        assertThat(GatewayOptions.parse("--listen", "127.1:84", "--backend", "10.0.0:80,10.65535:81,4294967294:82").backends())
                .containsExactly(new HostPort("10.0.0", 80), new HostPort("10.65535", 81), new HostPort("4294967294", 82));
        // the largest one-number form is an address too: 255.255.255.255, the broadcast address, refused as such
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.1:84", "--backend", "4294967295:82"))
                .hasMessageContaining("not the broadcast address 255.255.255.255");
        assertThat(GatewayOptions.parse("--listen", "[::1]:83", "--backend", "[2001:db8::5]:80,[::ffff:10.0.0.1]:81").backends())
                .containsExactly(new HostPort("2001:db8::5", 80), new HostPort("::ffff:10.0.0.1", 81));
    }

    @ParameterizedTest
    @CsvSource({"roundrobin,ROUNDROBIN", "leastconn,LEASTCONN", "source,SOURCE", "random,RANDOM", "p2c,P2C"})
    void everyBalanceName(String flag, Balance expected) throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--balance", flag);
        assertThat(o.balance()).isEqualTo(expected);
        assertThat(o.balance().flagValue()).isEqualTo(flag);
        assertThat(o.balance().strategy().newBalancer()).isNotNull();
    }

    @Test
    void hashKeyFlag() throws Exception {
        String[] base = {"--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--hash-key"};
        assertThat(GatewayOptions.parse(concat(base, "path")).hashKey()).contains(HashKey.path());
        assertThat(GatewayOptions.parse(concat(base, "uri")).hashKey()).contains(HashKey.uri());
        assertThat(GatewayOptions.parse(concat(base, "header:X-Tenant")).hashKey()).contains(HashKey.header("x-tenant"));
        assertThat(GatewayOptions.parse(concat(base, "cookie:sid")).hashKey()).contains(HashKey.cookie("sid"));
        GatewayOptions param = GatewayOptions.parse(concat(base, "param:user"));
        assertThat(param.hashKey()).contains(HashKey.queryParameter("user"));
        assertThat(param.strategy()).isEqualTo(BalancingStrategy.hashOn(HashKey.queryParameter("user")));
        assertThat(param.balanceText()).isEqualTo("hash param:user");
        GatewayOptions none = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--balance", "leastconn");
        assertThat(none.hashKey()).isEmpty();
        assertThat(none.balanceText()).isEqualTo("leastconn");

        assertThatThrownBy(() -> GatewayOptions.parse(concat(base, "host")))
                .hasMessage("--hash-key: host (expected: path, uri, header:NAME, cookie:NAME or param:NAME)");
        assertThatThrownBy(() -> GatewayOptions.parse(concat(base, "header:X Y")))
                .hasMessage("--hash-key: header:X Y (expected: header:NAME, NAME an HTTP token)");
        assertThatThrownBy(() -> GatewayOptions.parse(concat(base, "param:")))
                .hasMessage("--hash-key: param: (expected: param:NAME, NAME a parameter name without &, =, #, spaces or control characters)");
        assertThatThrownBy(() -> GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--hash-key", "path"))
                .hasMessage("--hash-key: path (only in http mode: add --mode http; tcp mode has --balance source)");
        assertThatThrownBy(() -> GatewayOptions.parse(concat(concat(base, "path"), "--balance", "leastconn")))
                .hasMessage("--hash-key: path (expected: not with --balance leastconn; the key's hash picks the server)");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @ParameterizedTest
    @CsvSource({"1ms,PT0.001S", "250ms,PT0.25S", "5s,PT5S", "90s,PT1M30S", "2m,PT2M", "1h,PT1H", "0,PT0S", "0s,PT0S", "50us,PT0.00005S", "1500us,PT0.0015S"})
    void durations(String value, Duration expected) {
        assertThat(GatewayOptions.parseDuration(value)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"''", "5", "5x", "ms", "-5s", "1.5s", "5 s", "5S", "1d", "9999999999s", "s5"})
    void notDurations(String value) {
        assertThat(GatewayOptions.parseDuration(value)).isNull();
    }

    @Test
    void theLongestDurationBuildsAProxyInEitherMode() throws Exception {
        // 400 years used to pass the parser and the builders, and every connection then failed in toNanos
        for (String mode : new String[] {"tcp", "http"}) {
            GatewayOptions o = GatewayOptions.parse("--mode", mode, "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                    "--timeout-connect", "876000h", "--timeout-client", "876000h", "--timeout-server", "876000h");
            assertThat(o.serverTimeout()).contains(Duration.ofHours(876_000));
            try (Proxy proxy = Gateway.newProxy(o)) {
                assertThat(proxy.backends().get(Gateway.BACKEND).serverTimeout()).isEqualTo(Duration.ofHours(876_000));
            }
        }
    }

    @Test
    void clientTimeoutZeroDisablesIt() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1", "--timeout-client", "0");
        assertThat(o.clientTimeout()).contains(Duration.ZERO);
    }

    @Test
    void optionsBuildAProxyWithServersNamedInOrderAndNothingStarted() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001,127.0.0.1:9002",
                "--backend", "127.0.0.1:9003", "--retries", "1", "--timeout-connect", "250ms", "--timeout-server", "3s",
                "--timeout-client", "0", "--io-threads", "1");
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends()).containsOnlyKeys(Gateway.BACKEND);
            var backend = proxy.backends().get(Gateway.BACKEND);
            assertThat(backend.servers()).extracting(s -> s.name() + " " + s.address().getPort())
                    .containsExactly("s1 9001", "s2 9002", "s3 9003");
            assertThat(backend.retries()).isEqualTo(1);
            assertThat(backend.connectTimeout()).isEqualTo(Duration.ofMillis(250));
            assertThat(backend.serverTimeout()).isEqualTo(Duration.ofSeconds(3));
            assertThat(proxy.frontends()).extracting(f -> f.name()).containsExactly(Gateway.FRONTEND);
            assertThat(proxy.control().servers(Gateway.BACKEND)).extracting(ServerControl::load).containsOnly(0);
            assertThatThrownBy(() -> proxy.port()).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void maxconnAndTimeoutQueueLimitEveryServerAndQueueForThem() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001,127.0.0.1:9002",
                "--route", "/api=127.0.0.1:9003", "--maxconn", "20", "--timeout-queue", "2s");
        assertThat(o.maxConnections()).isEqualTo(OptionalInt.of(20));
        assertThat(o.queueTimeout()).contains(Duration.ofSeconds(2));
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends().values()).hasSize(2).allSatisfy(b -> {
                assertThat(b.queueTimeout()).isEqualTo(Duration.ofSeconds(2));
                assertThat(b.servers()).allSatisfy(s -> assertThat(s.maxConnections()).isEqualTo(20));
            });
        }
        GatewayOptions none = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001");
        assertThat(none.maxConnections()).isEmpty();
        try (Proxy proxy = Gateway.newProxy(none)) {
            Backend b = proxy.backends().get(Gateway.BACKEND);
            assertThat(b.queueTimeout()).isEqualTo(Duration.ZERO);
            assertThat(b.servers()).allSatisfy(s -> assertThat(s.maxConnections()).isZero());
        }
    }

    @Test
    void maxQueueBoundsEveryBackendsQueue() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001,127.0.0.1:9002",
                "--route", "/api=127.0.0.1:9003", "--maxconn", "20", "--timeout-queue", "2s", "--max-queue", "50");
        assertThat(o.maxQueued()).isEqualTo(OptionalInt.of(50));
        assertThat(o.toString()).contains(" maxQueued=50");
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.backends().values()).hasSize(2).allSatisfy(b -> assertThat(b.maxQueued()).isEqualTo(50));
        }
        GatewayOptions tcp = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001", "--sni", "a.example=127.0.0.1:9004",
                "--maxconn", "1", "--timeout-queue", "1s", "--max-queue=1");
        try (Proxy proxy = Gateway.newProxy(tcp)) {
            assertThat(proxy.backends().values()).hasSize(2).allSatisfy(b -> assertThat(b.maxQueued()).isEqualTo(1));
        }
        GatewayOptions unbounded = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001", "--max-queue", "0");
        try (Proxy proxy = Gateway.newProxy(unbounded)) {
            assertThat(proxy.backends().get(Gateway.BACKEND).maxQueued()).isZero();
        }
        GatewayOptions none = GatewayOptions.parse("--listen", "127.0.0.1:0", "--backend", "127.0.0.1:9001", "--timeout-queue", "1s");
        assertThat(none.maxQueued()).isEmpty();
        try (Proxy proxy = Gateway.newProxy(none)) {
            assertThat(proxy.backends().get(Gateway.BACKEND).maxQueued()).as("no bound, as before the flag").isZero();
        }
    }

    @Test
    void httpModeBuildsAnHttpFrontend() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1",
                "--timeout-client", "3s");
        try (Proxy proxy = Gateway.newProxy(o)) {
            assertThat(proxy.frontends()).singleElement().isInstanceOfSatisfying(HttpFrontend.class, f -> {
                assertThat(f.name()).isEqualTo(Gateway.FRONTEND);
                assertThat(f.defaultBackend()).isEqualTo(Gateway.BACKEND);
                assertThat(f.clientTimeout()).isEqualTo(Duration.ofSeconds(3));
            });
        }
    }

    @Test
    void healthCheckChecksEveryServerOverHttpEverySecondRiseTwoFallTwo() throws Exception {
        GatewayOptions o = GatewayOptions.parse("--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:1,127.0.0.1:2",
                "--health-check", "/status?full=1");
        assertThat(o.healthCheckPath()).contains("/status?full=1");
        assertThat(o.toString()).contains("healthCheck=/status?full=1");
        try (Proxy proxy = Gateway.newProxy(o)) {
            HealthCheck check = proxy.backends().get(Gateway.BACKEND).healthCheck();
            assertThat(check).isNotNull();
            assertThat(check.path()).isEqualTo("/status?full=1");
            assertThat(check.interval()).isEqualTo(Duration.ofSeconds(1));
            assertThat(check.rise()).isEqualTo(2);
            assertThat(check.fall()).isEqualTo(2);
        }
        GatewayOptions without = GatewayOptions.parse(MINIMAL);
        assertThat(without.healthCheckPath()).isEmpty();
        try (Proxy proxy = Gateway.newProxy(without)) {
            assertThat(proxy.backends().get(Gateway.BACKEND).healthCheck()).isNull();
        }
    }

    static Stream<Arguments> badCommandLines() {
        List<Arguments> cases = new ArrayList<>();
        cases.add(bad("--mode: udp (expected: tcp or http)", "--mode", "udp"));
        cases.add(bad("--mode: TCP (expected: tcp or http)", "--mode=TCP"));
        cases.add(bad("--timeout-connect: 5x (expected: a duration like 500ms, 5s, 2m, 1h)", "--timeout-connect", "5x"));
        cases.add(bad("--timeout-connect: 0s (expected: a duration above zero like 500ms, 5s)", "--timeout-connect=0s"));
        cases.add(bad("--timeout-server: 10 (expected: a duration like 500ms, 5s, 2m, 1h)", "--timeout-server", "10"));
        cases.add(bad("--timeout-server: 0 (expected: a duration above zero like 500ms, 5s)", "--timeout-server", "0"));
        cases.add(bad("--timeout-client: soon (expected: a duration like 500ms, 5s, 2m, 1h; 0 disables it)", "--timeout-client=soon"));
        cases.add(bad("--balance: leastconns (expected: roundrobin, leastconn, source, random or p2c)", "--balance", "leastconns"));
        cases.add(bad("--retries: -1 (expected: an integer in 0..100)", "--retries=-1"));
        cases.add(bad("--retries: 101 (expected: an integer in 0..100)", "--retries", "101"));
        cases.add(bad("--retries: three (expected: an integer in 0..100)", "--retries", "three"));
        cases.add(bad("--maxconn: 0 (expected: an integer in 1..1000000)", "--maxconn", "0"));
        cases.add(bad("--maxconn: 1000001 (expected: an integer in 1..1000000)", "--maxconn=1000001"));
        cases.add(bad("--timeout-queue: later (expected: a duration like 500ms, 5s, 2m, 1h; 0 disables it)", "--timeout-queue", "later"));
        cases.add(bad("--max-queue: -1 (expected: an integer in 0..1000000)", "--max-queue", "-1", "--timeout-queue", "1s"));
        cases.add(bad("--max-queue: 1000001 (expected: an integer in 0..1000000)", "--max-queue=1000001"));
        cases.add(bad("--max-queue: 10 (expected: with --timeout-queue above 0, which gives the backends their queue)", "--max-queue", "10"));
        cases.add(bad("--max-queue: 10 (expected: with --timeout-queue above 0, which gives the backends their queue)",
                "--max-queue", "10", "--timeout-queue", "0"));
        // servers no connection can be made to: the any-local address, a multicast one
        cases.add(bad("--backend: 0.0.0.0:9002 (expected: an address a connection can be made to, not the any-local address 0.0.0.0;"
                + " bad entry 0.0.0.0:9002)", "--backend", "0.0.0.0:9002"));
        cases.add(bad("--backend: 127.0.0.1:9002,[::]:9003 (expected: an address a connection can be made to, not the any-local address ::;"
                + " bad entry [::]:9003)", "--backend=127.0.0.1:9002,[::]:9003"));
        cases.add(bad("--backend: 0:9002 (expected: an address a connection can be made to, not the any-local address 0.0.0.0;"
                + " bad entry 0:9002)", "--backend", "0:9002"));
        cases.add(bad("--backend: 224.0.0.1:9002 (expected: a unicast address, not the multicast address 224.0.0.1; bad entry 224.0.0.1:9002)",
                "--backend", "224.0.0.1:9002"));
        cases.add(bad("--route: /api=[ff02::1]:9003 (expected: a unicast address, not the multicast address ff02::1)",
                "--mode", "http", "--route", "/api=[ff02::1]:9003"));
        cases.add(bad("--sni: a.example=0.0.0.0:443 (expected: an address a connection can be made to, not the any-local address 0.0.0.0)",
                "--sni", "a.example=0.0.0.0:443"));
        // the limited broadcast address, 0.0.0.0/8
        cases.add(bad("--backend: 255.255.255.255:9002 (expected: a unicast address, not the broadcast address 255.255.255.255;"
                + " bad entry 255.255.255.255:9002)", "--backend", "255.255.255.255:9002"));
        cases.add(bad("--backend: 127.0.0.1:9002,0.1:9003 (expected: an address a connection can be made to, not the this-network"
                + " (0.0.0.0/8) address 0.0.0.1; bad entry 0.1:9003)", "--backend=127.0.0.1:9002,0.1:9003"));
        cases.add(bad("--route: /api=0.1.2.3:9003 (expected: an address a connection can be made to, not the this-network (0.0.0.0/8)"
                + " address 0.1.2.3)", "--mode", "http", "--route", "/api=0.1.2.3:9003"));
        cases.add(bad("--sni: a.example=255.255.255.255:443 (expected: a unicast address, not the broadcast address 255.255.255.255)",
                "--sni", "a.example=255.255.255.255:443"));
        cases.add(bad("--io-threads: 0 (expected: an integer in 1..1024)", "--io-threads", "0"));
        cases.add(bad("--io-threads: 4096 (expected: an integer in 1..1024)", "--io-threads=4096"));
        cases.add(bad("--busy-poll: 2s (expected: at most 1s)", "--busy-poll", "2s"));
        cases.add(bad("--busy-poll: 50ns (expected: a duration like 500ms, 5s, 2m, 1h; 0 disables it)", "--busy-poll=50ns"));
        // past the longest duration any flag takes, the message gives the flag's own bound
        cases.add(bad("--busy-poll: 900000h (expected: at most 1s)", "--busy-poll", "900000h"));
        cases.add(bad("--warm-up: 900000h (expected: at most 10m)", "--warm-up", "900000h"));
        cases.add(bad("--timeout-server: 999999999h (expected: at most 876000h)", "--timeout-server", "999999999h"));
        cases.add(bad("--timeout-client: 876001h (expected: at most 876000h)", "--timeout-client=876001h"));
        cases.add(bad("--timeout-connect: 52560001m (expected: at most 876000h)", "--timeout-connect", "52560001m"));
        cases.add(bad("--pool-idle-timeout: 999999999h (expected: at most 876000h)", "--mode", "http", "--pool-idle-timeout", "999999999h"));
        cases.add(bad("--timeout-client-hello: 999999999h (expected: at most 876000h)",
                "--sni", "a.example=h:1", "--timeout-client-hello", "999999999h"));
        cases.add(bad("--retries: missing value", "--retries"));
        cases.add(bad("unknown flag: --colour (see --help)", "--colour", "red"));
        cases.add(bad("unknown flag: --balance-mode (see --help)", "--balance-mode=x"));
        cases.add(bad("unexpected argument: extra (flags start with --; see --help)", "extra"));
        cases.add(bad("--mode: tcp (given more than once)", "--mode", "tcp", "--mode", "tcp"));
        cases.add(bad("--health-check: status (expected: a path starting with '/', visible ASCII characters, no space, e.g. /status)", "--health-check", "status"));
        cases.add(bad("--health-check: /a b (expected: a path starting with '/', visible ASCII characters, no space, e.g. /status)", "--health-check=/a b"));
        cases.add(bad("--health-check: missing value", "--health-check"));
        cases.add(bad("--health-check: /b (given more than once)", "--health-check", "/a", "--health-check", "/b"));
        cases.add(bad("--deny: /admin (only in http mode: add --mode http)", "--deny", "/admin"));
        cases.add(bad("--cache: 64m (only in http mode: add --mode http)", "--cache", "64m"));
        cases.add(bad("--pool-max-idle: 4 (only in http mode: add --mode http)", "--pool-max-idle", "4"));
        cases.add(bad("--pool-idle-timeout: 90s (only in http mode: add --mode http)", "--pool-idle-timeout=90s"));
        cases.add(bad("--pool-max-idle: -1 (expected: an integer in 0..100000)", "--mode", "http", "--pool-max-idle", "-1"));
        cases.add(bad("--pool-max-idle: 100001 (expected: an integer in 0..100000)", "--mode", "http", "--pool-max-idle", "100001"));
        cases.add(bad("--pool-idle-timeout: 0 (expected: a duration above zero like 500ms, 5s)", "--mode", "http", "--pool-idle-timeout", "0"));
        cases.add(bad("--pool-idle-timeout: 2 (expected: a duration like 500ms, 5s, 2m, 1h)", "--mode", "http", "--pool-idle-timeout", "2"));
        cases.add(bad("--pool-max-requests: 3 (only in http mode: add --mode http)", "--pool-max-requests", "3"));
        cases.add(bad("--pool-max-lifetime: 5m (only in http mode: add --mode http)", "--pool-max-lifetime=5m"));
        cases.add(bad("--keepalive-requests: 100 (only in http mode: add --mode http)", "--mode", "tcp", "--keepalive-requests", "100"));
        cases.add(bad("--pool-max-requests: 0 (expected: an integer in 1..1000000000)", "--mode", "http", "--pool-max-requests", "0"));
        cases.add(bad("--pool-max-requests: -1 (expected: an integer in 1..1000000000)", "--mode", "http", "--pool-max-requests", "-1"));
        cases.add(bad("--pool-max-requests: 1000000001 (expected: an integer in 1..1000000000)", "--mode", "http", "--pool-max-requests", "1000000001"));
        cases.add(bad("--keepalive-requests: 0 (expected: an integer in 1..1000000000)", "--mode", "http", "--keepalive-requests=0"));
        cases.add(bad("--keepalive-requests: many (expected: an integer in 1..1000000000)", "--mode", "http", "--keepalive-requests", "many"));
        cases.add(bad("--pool-max-lifetime: 0 (expected: a duration above zero like 500ms, 5s)", "--mode", "http", "--pool-max-lifetime", "0"));
        cases.add(bad("--pool-max-lifetime: 5 (expected: a duration like 500ms, 5s, 2m, 1h)", "--mode", "http", "--pool-max-lifetime", "5"));
        cases.add(bad("--pool-max-lifetime: 999999999h (expected: at most 876000h)", "--mode", "http", "--pool-max-lifetime", "999999999h"));
        cases.add(bad("--cache: 64x (expected: a size like 64m, 512k or 1g (1k..64g))", "--mode", "http", "--cache", "64x"));
        cases.add(bad("--cache: 100 (expected: a size like 64m, 512k or 1g (1k..64g))", "--mode", "http", "--cache=100"));
        cases.add(bad("--cache: m (expected: a size like 64m, 512k or 1g (1k..64g))", "--mode", "http", "--cache", "m"));
        cases.add(bad("--deny: /admin (only in http mode: add --mode http)", "--mode", "tcp", "--deny=/admin"));
        cases.add(bad("--request-id: off (only in http mode: add --mode http)", "--request-id", "off"));
        cases.add(bad("--forwarded-for: off (only in http mode: add --mode http)", "--mode", "tcp", "--forwarded-for=off"));
        cases.add(bad("--request-id: X Id (expected: a header name such as X-Request-ID, or off; not a field that frames, routes"
                + " or controls a message, such as Content-Length or Host, or that the proxy sets)", "--mode", "http", "--request-id=X Id"));
        cases.add(bad("--request-id: a:b (expected: a header name such as X-Request-ID, or off; not a field that frames, routes"
                + " or controls a message, such as Content-Length or Host, or that the proxy sets)", "--mode", "http", "--request-id", "a:b"));
        cases.add(bad("--request-id: Cookie (expected: a header name such as X-Request-ID, or off; not a field that carries"
                + " credentials or cookies, such as Authorization or Cookie, which the id would echo and log)",
                "--mode", "http", "--request-id", "Cookie"));
        cases.add(bad("--request-id: Content-Length (expected: a header name such as X-Request-ID, or off; not a field that frames,"
                + " routes or controls a message, such as Content-Length or Host, or that the proxy sets)",
                "--mode", "http", "--request-id", "Content-Length"));
        cases.add(bad("--request-id: x-forwarded-for (expected: a header name such as X-Request-ID, or off; not a field that frames,"
                + " routes or controls a message, such as Content-Length or Host, or that the proxy sets)",
                "--mode", "http", "--request-id=x-forwarded-for"));
        cases.add(bad("--forwarded-for: no (expected: on or off)", "--mode", "http", "--forwarded-for", "no"));
        cases.add(bad("--headers-with-underscores: drop (only in http mode: add --mode http)", "--headers-with-underscores", "drop"));
        cases.add(bad("--headers-with-underscores: DROP (expected: allow, drop or reject)", "--mode", "http",
                "--headers-with-underscores=DROP"));
        cases.add(bad("--route: /api=127.0.0.1:9003 (only in http mode: add --mode http)", "--route", "/api=127.0.0.1:9003"));
        cases.add(bad("--deny: admin (expected: PATH_PREFIX, e.g. /admin)", "--mode", "http", "--deny", "admin"));
        cases.add(bad("--deny: /a?b (expected: PATH_PREFIX, e.g. /admin)", "--mode", "http", "--deny", "/a?b"));
        // rules read the normalised path: these prefixes begin none, so the rule matched no request (and the
        // start line still said "//admin denied")
        cases.add(bad("--deny: //admin (matches no request: rules read a request's path percent-decoded, without ';' parameters,"
                + " '\\', '//' or dot segments, where //admin reads as /admin)", "--mode", "http", "--deny", "//admin"));
        cases.add(bad("--deny: /%61dmin (matches no request: rules read a request's path percent-decoded, without ';' parameters,"
                + " '\\', '//' or dot segments, where /%61dmin reads as /admin)", "--mode", "http", "--deny=/%61dmin"));
        cases.add(bad("--deny: /admin;x (matches no request: rules read a request's path percent-decoded, without ';' parameters,"
                + " '\\', '//' or dot segments, where /admin;x reads as /admin)", "--mode", "http", "--deny", "/admin;x"));
        cases.add(bad("--deny: /a\\b (matches no request: rules read a request's path percent-decoded, without ';' parameters,"
                + " '\\', '//' or dot segments, where /a\\b reads as /a/b)", "--mode", "http", "--deny", "/a\\b"));
        cases.add(bad("--deny: /a/../admin (matches no request: rules read a request's path percent-decoded, without ';' parameters,"
                + " '\\', '//' or dot segments, where /a/../admin reads as /admin)", "--mode", "http", "--deny", "/a/../admin"));
        cases.add(bad("--route: /api%2Fv2=h:1 (matches no request: rules read a request's path percent-decoded, without ';' parameters,"
                + " '\\', '//' or dot segments, where /api%2Fv2 reads as /api/v2)", "--mode", "http", "--route", "/api%2Fv2=h:1"));
        cases.add(bad("--route: /api (expected: PATH_PREFIX=HOST:PORT, e.g. /api=127.0.0.1:9003)", "--mode", "http", "--route", "/api"));
        cases.add(bad("--route: api=h:1 (expected: PATH_PREFIX=HOST:PORT, e.g. /api=127.0.0.1:9003)", "--mode", "http", "--route", "api=h:1"));
        cases.add(bad("--route: /api=h:0 (expected: PATH_PREFIX=HOST:PORT, e.g. /api=127.0.0.1:9003)", "--mode", "http", "--route=/api=h:0"));
        cases.add(bad("--route: /api=*:80 (expected: PATH_PREFIX=HOST:PORT, e.g. /api=127.0.0.1:9003)", "--mode", "http", "--route", "/api=*:80"));
        cases.add(bad("--route: /api=h:2 (the prefix /api is routed already)", "--mode", "http", "--route", "/api=h:1", "--route", "/api=h:2"));
        cases.add(bad("--tls-key: missing (expected: --tls-key PEM with --tls-cert)", "--tls-cert", "site.crt"));
        cases.add(bad("--tls-cert: missing (expected: --tls-cert PEM with --tls-key)", "--mode", "http", "--tls-key=site.key"));
        cases.add(bad("--tls-cert: missing value", "--tls-cert"));
        cases.add(bad("--tls-cert:  (expected: a PEM file)", "--tls-cert=", "--tls-key", "k"));
        cases.add(bad("--tls-key: b.key (given more than once)", "--tls-cert", "c", "--tls-key", "a.key", "--tls-key", "b.key"));
        cases.add(bad("--sni: a.example=h:1 (only in tcp mode: TLS passthrough routes connections, not requests)",
                "--mode", "http", "--sni", "a.example=h:1"));
        cases.add(bad("--sni: a.example=h:1 (not with --tls-cert: --sni passes TLS through untouched, --tls-cert terminates it)",
                "--sni", "a.example=h:1", "--tls-cert", "c", "--tls-key", "k"));
        cases.add(bad("--sni: a.example (expected: NAME=HOST:PORT, e.g. shop.example.com=127.0.0.1:9443)", "--sni", "a.example"));
        cases.add(bad("--sni: a_b=h:1 (expected: NAME=HOST:PORT, e.g. shop.example.com=127.0.0.1:9443)", "--sni", "a_b=h:1"));
        cases.add(bad("--sni: =h:1 (expected: NAME=HOST:PORT, e.g. shop.example.com=127.0.0.1:9443)", "--sni", "=h:1"));
        cases.add(bad("--sni: a..b=h:1 (expected: NAME=HOST:PORT, e.g. shop.example.com=127.0.0.1:9443)", "--sni", "a..b=h:1"));
        cases.add(bad("--sni: a.example=h:0 (expected: NAME=HOST:PORT, e.g. shop.example.com=127.0.0.1:9443)", "--sni=a.example=h:0"));
        cases.add(bad("--sni: A.example=h:2 (the name a.example is routed already)", "--sni", "a.example=h:1", "--sni", "A.example=h:2"));
        cases.add(bad("--timeout-client-hello: 0 (expected: a duration above zero like 500ms, 5s)",
                "--sni", "a.example=h:1", "--timeout-client-hello", "0"));
        cases.add(bad("--timeout-client-hello: 5 (expected: a duration like 500ms, 5s, 2m, 1h)",
                "--sni", "a.example=h:1", "--timeout-client-hello=5"));
        cases.add(bad("--timeout-client-hello: 5s (only in tcp mode with --sni or --tls-cert: without TLS there is no"
                + " ClientHello to wait for)", "--timeout-client-hello", "5s"));
        cases.add(bad("--timeout-client-hello: 5s (only in tcp mode with --sni or --tls-cert: without TLS there is no"
                + " ClientHello to wait for; http mode bounds it with the TLS handshake timeout)",
                "--mode", "http", "--tls-cert", "c", "--tls-key", "k", "--timeout-client-hello", "5s"));
        return cases.stream();
    }

    private static Arguments bad(String message, String... extra) {
        List<String> args = new ArrayList<>(List.of(MINIMAL));
        args.addAll(List.of(extra));
        return Arguments.of(message, args);
    }

    @ParameterizedTest
    @MethodSource("badCommandLines")
    void badFlagOrValueExits2NamingIt(String message, List<String> args) {
        assertExits2(message, args.toArray(String[]::new));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--listen: missing (expected: --listen HOST:PORT)|--backend 127.0.0.1:1",
        "--backend: missing (expected: at least one --backend HOST:PORT)|--listen 127.0.0.1:1",
        "--listen: missing (expected: --listen HOST:PORT)|''",
        "--listen: 8080 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen 8080 --backend h:1",
        "--listen: host:port (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen host:port --backend h:1",
        "--listen: 127.0.0.1:65536 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen 127.0.0.1:65536 --backend h:1",
        "--listen: 999.0.0.1:80 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen 999.0.0.1:80 --backend h:1",
        "--backend: 127.0.0.1:1,300.1.1.1:80 (expected: HOST:PORT or a comma-separated list of them; bad entry 300.1.1.1:80)|--listen 127.0.0.1:0 --backend 127.0.0.1:1,300.1.1.1:80",
        "--backend: 1.2.3.4.5:80 (expected: HOST:PORT or a comma-separated list of them; bad entry 1.2.3.4.5:80)|--listen 127.0.0.1:0 --backend 1.2.3.4.5:80",
        "--backend: 10.256.1:80 (expected: HOST:PORT or a comma-separated list of them; bad entry 10.256.1:80)|--listen 127.0.0.1:0 --backend 10.256.1:80",
        "--backend: 1..2:80 (expected: HOST:PORT or a comma-separated list of them; bad entry 1..2:80)|--listen 127.0.0.1:0 --backend 1..2:80",
        "--listen: 127.0.0.1:1 (given more than once)|--listen 127.0.0.1:0 --listen 127.0.0.1:1 --backend h:1",
        "--listen: missing value|--listen --backend h:1",
        "--backend: h:1,,h:2 (expected: HOST:PORT or a comma-separated list of them; empty entry)|--listen :1 --backend h:1,,h:2",
        "--backend: h:1, (expected: HOST:PORT or a comma-separated list of them; empty entry)|--listen :1 --backend h:1,",
        "--backend: h:1,nope (expected: HOST:PORT or a comma-separated list of them; bad entry nope)|--listen :1 --backend h:1,nope",
        "--backend: :80 (expected: HOST:PORT or a comma-separated list of them; bad entry :80)|--listen :1 --backend :80",
        "--backend: h:0 (expected: HOST:PORT or a comma-separated list of them; bad entry h:0)|--listen :1 --backend h:0",
        "--backend: bad/host:80 (expected: HOST:PORT or a comma-separated list of them; bad entry bad/host:80)|--listen :1 --backend bad/host:80",
        // IPv6 literals the proxy cannot read were passed on, and its builders' messages named no flag
        "--listen: [:::::]:8080 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen [:::::]:8080 --backend h:1",
        "--listen: [1:2:3]:8080 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen [1:2:3]:8080 --backend h:1",
        "--backend: [1:2:3]:80 (expected: HOST:PORT or a comma-separated list of them; bad entry [1:2:3]:80)|--listen :1 --backend [1:2:3]:80",
        "--admin: [fe80::1::2]:9000 (expected: HOST:PORT, e.g. 127.0.0.1:8080 or *:8080)|--listen :1 --backend h:1 --admin [fe80::1::2]:9000 --admin-token abcdefgh12",
    })
    void missingOrMalformedAddressesExit2NamingTheFlag(String message, String commandLine) {
        assertExits2(message, commandLine.isEmpty() ? new String[0] : commandLine.split(" "));
    }

    @Test
    void combinationsThatCannotBeServedExit2NamingTheFlag() {
        assertExits2("--health-check: /health (not with --sni: the servers of a TLS passthrough speak TLS, the check plain HTTP/1.1)",
                "--listen", ":1", "--backend", "h:1", "--sni", "a.example=h:2", "--health-check", "/health");
        assertExits2("--admin: 127.0.0.1:8080 (the port of --listen 127.0.0.1:8080)",
                "--listen", "127.0.0.1:8080", "--backend", "h:1", "--admin", "127.0.0.1:8080", "--admin-token", "token-of-ours");
        assertExits2("--admin: 127.0.0.1:8080 (the port of --listen *:8080)",
                "--listen", ":8080", "--backend", "h:1", "--admin", "127.0.0.1:8080", "--admin-token", "token-of-ours");
    }

    @Test
    void emptyBackendValueAfterEqualsSign() {
        assertExits2("--backend:  (expected: HOST:PORT or a comma-separated list of them)", "--listen", ":1", "--backend=");
    }

    @Test
    void helpPrintsTheFlagsAndExits0() {
        MainRunner r = MainRunner.complete("gateway", "--help");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).startsWith("usage: gateway --listen HOST:PORT --backend HOST:PORT")
                .contains("--mode tcp|http", "--balance NAME", "--retries N", "--timeout-connect DUR",
                        "--timeout-client DUR", "--timeout-server DUR", "--timeout-client-hello DUR", "--io-threads N", "--busy-poll DUR", "--health-check PATH", "--deny PATH_PREFIX",
                        "--route PREFIX=HOST:PORT", "--tls-cert PEM", "--tls-key PEM", "--sni NAME=HOST:PORT",
                        "--request-id HEADER|off", "--forwarded-for on|off", "--abort-on-close",
                        // what the parser refuses --warm-up with, and what --admin serves
                        "(not with TLS, --sni or --backend-proto h2c;", "/api/servers, /api/frontends, server");
        assertThat(r.err()).isEmpty();
    }

    /** Runs {@code gateway ARGS} and asserts that it exits 2 with {@code message} and the help hint on standard error. */
    static void assertExits2(String message, String... gatewayArgs) {
        String[] args = new String[gatewayArgs.length + 1];
        args[0] = "gateway";
        System.arraycopy(gatewayArgs, 0, args, 1, gatewayArgs.length);
        MainRunner r = MainRunner.complete(args);
        assertThat(r.awaitStatus()).as("exit status of %s", List.of(args)).isEqualTo(2);
        assertThat(r.err()).startsWith("gateway: " + message + "\n").contains("Try 'gateway --help'.");
        assertThat(r.out()).isEmpty();
    }
}
