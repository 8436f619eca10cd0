package io.lodestone.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.OutlierDetection;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Invalid configuration fails at the setter or at build(), naming the field and the value. */
class ConfigurationValidationTest {

    @Test
    void rejectsAServerWeightOutOfRange() {
        Server.Builder web1 = Server.builder("web1", "10.0.0.1:80");

        assertThatIllegalArgumentException().isThrownBy(() -> web1.weight(257))
                .withMessage("server web1 weight: 257 (expected: 0..256)");
        assertThatIllegalArgumentException().isThrownBy(() -> web1.weight(-1))
                .withMessage("server web1 weight: -1 (expected: 0..256)");
        assertThat(web1.weight(0).build().weight()).isZero();
        assertThat(web1.weight(256).build().weight()).isEqualTo(256);
    }

    @Test
    void rejectsASameSiteNoneStickyCookieWithoutSecure() {
        Backend.Builder app = Backend.named("app").server("web1", "10.0.0.1:80");
        assertThatIllegalArgumentException().isThrownBy(() -> app.cookie(StickyCookie.insert("SRV").sameSite("None")).build())
                .withMessage("backend app cookie sameSite: None without secure() (expected: secure(), which browsers require of a SameSite=None cookie)");
        assertThat(app.cookie(StickyCookie.insert("SRV").sameSite("None").secure()).build().cookie().setCookie("x"))
                .isEqualTo("SRV=x; Path=/; Secure; SameSite=None");
        assertThat(app.cookie(StickyCookie.insert("SRV").sameSite("Lax")).build().cookie().isSecure()).isFalse();
    }

    @Test
    void rejectsANegativeConnectionLimit() {
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "10.0.0.1:80").maxConnections(-1))
                .withMessage("server web1 maxConnections: -1 (expected: >= 0)");
        assertThat(Server.builder("web1", "10.0.0.1:80").maxConnections(0).build().maxConnections()).isZero();
    }

    @Test
    void rejectsBadNames() {
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("", "10.0.0.1:80"))
                .withMessage("server name: \"\" (expected: a non-empty name)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder(null, "10.0.0.1:80"))
                .withMessage("server name: null (expected: a non-empty name)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web 1", "10.0.0.1:80"))
                .withMessage("server name: web 1 (expected: letters, digits, '-', '_' or '.')");
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app/1"))
                .withMessage("backend name: app/1 (expected: letters, digits, '-', '_' or '.')");
        assertThat(Server.builder("web-1_a.b", "10.0.0.1:80").build().name()).isEqualTo("web-1_a.b");
    }

    @Test
    void rejectsBadServerAddresses() {
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "10.0.0.1"))
                .withMessage("server web1 address: 10.0.0.1 (expected: host:port)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "10.0.0.1:"))
                .withMessage("server web1 address: 10.0.0.1: (expected: host:port)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "10.0.0.1:70000"))
                .withMessage("server web1 address: 10.0.0.1:70000 (expected: a port in 0..65535)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "10.0.0.1:http"))
                .withMessage("server web1 address: 10.0.0.1:http (expected: host:port with a numeric port)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "10.0.0.1:0"))
                .withMessage("server web1 address: 10.0.0.1:0 (expected: a port in 1..65535)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "::1:80"))
                .withMessage("server web1 address: ::1:80 (expected: [ipv6]:port)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "bad host:80"))
                .withMessage("server web1 address: bad host:80 (expected: a host name or IP address)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", (String) null))
                .withMessage("server web1 address: null (expected: host:port)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", (InetSocketAddress) null))
                .withMessage("server web1 address: null (expected: host:port)");
    }

    /**
     * The any-local address means every interface to a listener and no host to a client (Linux
     * connects to the local host instead, other systems fail), and TCP cannot connect to a multicast
     * address: a server at either is a mistake, refused where it is configured rather than found at
     * the first request.
     */
    @Test
    void refusesServerAddressesNoConnectionCanBeMadeTo() {
        String anyLocal = "(expected: an address a connection can be made to, not the any-local address ";
        String multicast = "(expected: a unicast address, not the multicast address ";
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "0.0.0.0:8080"))
                .withMessage("server web1 address: 0.0.0.0:8080 " + anyLocal + "0.0.0.0)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "[::]:8080"))
                .withMessage("server web1 address: [::]:8080 " + anyLocal + "::)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "[0:0:0:0:0:0:0:0]:8080"))
                .withMessage("server web1 address: [0:0:0:0:0:0:0:0]:8080 " + anyLocal + "::)");
        // every interface: the JDK's wildcard, :: where it has IPv6
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", ":8080"))
                .withMessageStartingWith("server web1 address: :8080 " + anyLocal);
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "*:8080"))
                .withMessageStartingWith("server web1 address: *:8080 " + anyLocal);
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "[::ffff:0.0.0.0]:8080"))
                .withMessage("server web1 address: [::ffff:0.0.0.0]:8080 " + anyLocal + "0.0.0.0)");
        // digits and dots the JDK reads as an IPv4 address without a lookup: 0 is 0.0.0.0, 224.1 224.0.0.1
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "0:8080"))
                .withMessage("server web1 address: 0:8080 " + anyLocal + "0.0.0.0)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "224.1:8080"))
                .withMessage("server web1 address: 224.1:8080 " + multicast + "224.0.0.1)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "224.0.0.1:8080"))
                .withMessage("server web1 address: 224.0.0.1:8080 " + multicast + "224.0.0.1)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "239.255.255.250:1900"))
                .withMessage("server web1 address: 239.255.255.250:1900 " + multicast + "239.255.255.250)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "[ff02::1]:8080"))
                .withMessage("server web1 address: [ff02::1]:8080 " + multicast + "ff02::1)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", new InetSocketAddress(8080)))
                .withMessageStartingWith("server web1 address: ").withMessageContaining(":8080 " + anyLocal);
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", new InetSocketAddress("224.0.0.251", 5353)))
                .withMessage("server web1 address: 224.0.0.251:5353 " + multicast + "224.0.0.251)");
        // the backend's server(...) and a server for addServer or a reconfiguration are built here too
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app").server("web2", "0.0.0.0:80"))
                .withMessage("server web2 address: 0.0.0.0:80 " + anyLocal + "0.0.0.0)");
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app").server("web2", "[ff05::2]:80", s -> s.weight(2)))
                .withMessage("server web2 address: [ff05::2]:80 " + multicast + "ff05::2)");
        assertThatIllegalArgumentException().isThrownBy(() -> HealthCheck.http("/status").address("web1", "0.0.0.0:9000"))
                .withMessage("health check address of web1: 0.0.0.0:9000 " + anyLocal + "0.0.0.0)");

        // the limited broadcast address, which TCP cannot connect to, and 0.0.0.0/8, "this network",
        // a source address only (RFC 1122 3.2.1.3), in every spelling the JDK reads without a lookup
        String broadcast = "(expected: a unicast address, not the broadcast address ";
        String thisNetwork = "(expected: an address a connection can be made to, not the this-network (0.0.0.0/8) address ";
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "255.255.255.255:8080"))
                .withMessage("server web1 address: 255.255.255.255:8080 " + broadcast + "255.255.255.255)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "[::ffff:255.255.255.255]:8080"))
                .withMessage("server web1 address: [::ffff:255.255.255.255]:8080 " + broadcast + "255.255.255.255)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "4294967295:8080"))
                .withMessage("server web1 address: 4294967295:8080 " + broadcast + "255.255.255.255)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", new InetSocketAddress("255.255.255.255", 80)))
                .withMessage("server web1 address: 255.255.255.255:80 " + broadcast + "255.255.255.255)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "0.0.0.1:8080"))
                .withMessage("server web1 address: 0.0.0.1:8080 " + thisNetwork + "0.0.0.1)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "0.255.255.255:8080"))
                .withMessage("server web1 address: 0.255.255.255:8080 " + thisNetwork + "0.255.255.255)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "0.1:8080"))
                .withMessage("server web1 address: 0.1:8080 " + thisNetwork + "0.0.0.1)");
        assertThatIllegalArgumentException().isThrownBy(() -> Server.builder("web1", "[::ffff:0.1.2.3]:8080"))
                .withMessage("server web1 address: [::ffff:0.1.2.3]:8080 " + thisNetwork + "0.1.2.3)");
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app").server("web2", "255.255.255.255:80"))
                .withMessage("server web2 address: 255.255.255.255:80 " + broadcast + "255.255.255.255)");
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app").server("web2", "0.10.0.1:80", s -> s.weight(2)))
                .withMessage("server web2 address: 0.10.0.1:80 " + thisNetwork + "0.10.0.1)");
        assertThatIllegalArgumentException().isThrownBy(() -> HealthCheck.http("/status").address("web1", "255.255.255.255:9000"))
                .withMessage("health check address of web1: 255.255.255.255:9000 " + broadcast + "255.255.255.255)");

        // unicast literals, the loopback, and names (not looked up) are servers as before
        for (String ok : List.of("127.0.0.1:80", "[::1]:80", "10.0.0.1:80", "1.0.0.0:80", "223.255.255.255:80", "240.0.0.1:80",
                "255.255.255.254:80", "10.255.255.255:80", "127.1:80", "localhost:80", "zero.example:80", "0x0:80")) {
            assertThat(Server.builder("web1", ok).build().address().getPort()).as(ok).isEqualTo(80);
        }
        assertThat(HealthCheck.http("/status").address("web1", "127.0.0.1:9000").build()).isNotNull();
    }

    @Test
    void acceptsLiteralsResolvedAndHostNamesUnresolved() {
        InetSocketAddress v6 = Server.builder("web1", "[::1]:80").build().address();
        assertThat(v6.isUnresolved()).isFalse();
        assertThat(v6.getAddress().isLoopbackAddress()).isTrue();
        assertThat(v6.getPort()).isEqualTo(80);

        InetSocketAddress v4 = Server.builder("web1", "192.0.2.10:8080").build().address();
        assertThat(v4.isUnresolved()).isFalse();
        assertThat(v4.getAddress().getHostAddress()).isEqualTo("192.0.2.10");

        InetSocketAddress named = Server.builder("web1", "localhost:80").build().address();
        assertThat(named.isUnresolved()).as("resolved when connecting, not when configuring").isTrue();
        assertThat(named.getHostString()).isEqualTo("localhost");
        assertThat(named.getPort()).isEqualTo(80);
    }

    @Test
    void rejectsABackendWithoutServersOrWithDuplicateServerNames() {
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app").build())
                .withMessage("backend app servers: [] (expected: at least one server)");
        assertThatIllegalArgumentException().isThrownBy(() -> Backend.named("app")
                        .server("web1", "10.0.0.1:80")
                        .server("web1", "10.0.0.2:80")
                        .build())
                .withMessage("backend app server name: web1 (expected: unique within the backend)");
    }

    @Test
    void rejectsBadBackendSettings() {
        Backend.Builder app = Backend.named("app");
        assertThatIllegalArgumentException().isThrownBy(() -> app.retries(-1))
                .withMessage("backend app retries: -1 (expected: 0..100)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.connectTimeout(Duration.ZERO))
                .withMessage("backend app connectTimeout: PT0S (expected: > 0)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.serverTimeout(Duration.ofSeconds(-1)))
                .withMessage("backend app serverTimeout: PT-1S (expected: > 0)");
    }

    @Test
    void rejectsDurationsTooLongForTheEnginesTimers() {
        // the engines count timeouts in nanoseconds from a clock reading: 400 years overflowed a long
        // there, and every connection then failed with an ArithmeticException
        Duration tooLong = Duration.ofDays(36_501);
        Backend.Builder app = Backend.named("app");
        assertThatIllegalArgumentException().isThrownBy(() -> app.connectTimeout(tooLong))
                .withMessage("backend app connectTimeout: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.serverTimeout(Duration.ofDays(365L * 400)))
                .withMessage("backend app serverTimeout: PT3504000H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.queueTimeout(tooLong))
                .withMessage("backend app queueTimeout: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.slowStart(tooLong))
                .withMessage("backend app slowStart: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.stickOnSource(tooLong, 10))
                .withMessage("backend app stickOnSource expiry: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> HealthCheck.http("/status").interval(tooLong))
                .withMessage("health check interval: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> HealthCheck.tcp().timeout(tooLong))
                .withMessage("health check timeout: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> HealthCheck.tcp().fastInterval(tooLong))
                .withMessage("health check fastInterval: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> HealthCheck.tcp().jitter(tooLong))
                .withMessage("health check jitter: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> OutlierDetection.consecutiveFailures(5).baseEjectionTime(tooLong))
                .withMessage("outlier detection baseEjectionTime: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> OutlierDetection.consecutiveFailures(5).maxEjectionTime(tooLong))
                .withMessage("outlier detection maxEjectionTime: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().drainTimeout(tooLong))
                .withMessage("drainTimeout: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> RollingUpdate.builder("app", s -> null).drainTimeout(tooLong))
                .withMessage("rolling update drainTimeout: PT876024H (expected: at most 36500 days)");
        assertThatIllegalArgumentException().isThrownBy(() -> RollingUpdate.builder("app", s -> null).healthyTimeout(tooLong))
                .withMessage("rolling update healthyTimeout: PT876024H (expected: at most 36500 days)");

        Duration longest = Duration.ofDays(36_500);
        Backend b = app.server("web1", "10.0.0.1:80").connectTimeout(longest).serverTimeout(longest).queueTimeout(longest)
                .slowStart(longest).stickOnSource(longest, 10).build();
        assertThat(b.serverTimeout()).isEqualTo(longest);
        assertThat(Proxy.builder().drainTimeout(longest)).isNotNull();
    }

    @Test
    void maxQueuedIsABoundOfTheQueueThatNeedsAQueueTimeout() {
        Backend.Builder app = Backend.named("app").server("web1", "10.0.0.1:80");
        assertThatIllegalArgumentException().isThrownBy(() -> app.maxQueued(-1))
                .withMessage("backend app maxQueued: -1 (expected: >= 0, 0 for no bound)");
        app.maxQueued(10);
        assertThatIllegalArgumentException().isThrownBy(app::build)
                .withMessage("backend app maxQueued: 10 without a queueTimeout"
                        + " (expected: a queueTimeout above zero, which gives the backend a queue, or maxQueued 0)");
        assertThat(app.queueTimeout(Duration.ofSeconds(1)).build().maxQueued()).isEqualTo(10);
        assertThat(app.maxQueued(0).queueTimeout(Duration.ZERO).build().maxQueued()).as("0: no bound, the default").isZero();
        assertThat(backend("other").maxQueued()).isZero();
    }

    @Test
    void http2KeepAliveTakesPositiveBoundedDurationsForHttp2ServersOnly() {
        Backend.Builder app = Backend.named("app").server("web1", "10.0.0.1:80");
        assertThat(backend("plain").http2KeepAliveInterval()).as("off by default").isNull();
        assertThat(backend("plain").http2KeepAliveTimeout()).isNull();
        assertThatIllegalArgumentException().isThrownBy(() -> app.http2KeepAlive(Duration.ZERO, Duration.ofSeconds(5)))
                .withMessage("backend app http2KeepAlive interval: PT0S (expected: > 0)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.http2KeepAlive(Duration.ofSeconds(30), Duration.ofSeconds(-1)))
                .withMessage("backend app http2KeepAlive timeout: PT-1S (expected: > 0)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.http2KeepAlive(null, Duration.ofSeconds(5)))
                .withMessage("backend app http2KeepAlive interval: null (expected: > 0)");
        assertThatIllegalArgumentException().isThrownBy(() -> app.http2KeepAlive(Duration.ofSeconds(30), Duration.ofDays(36_501)))
                .withMessage("backend app http2KeepAlive timeout: PT876024H (expected: at most 36500 days)");
        // a refused call leaves the builder as it was
        assertThat(app.build().http2KeepAliveInterval()).isNull();
        app.http2KeepAlive(Duration.ofSeconds(30), Duration.ofSeconds(5));
        assertThatIllegalArgumentException().isThrownBy(app::build)
                .withMessage("backend app http2KeepAlive: interval PT30S, timeout PT5S with protocol HTTP_1_1"
                        + " (expected: protocol H2 or H2C, whose connections PINGs can keep)");
        Backend h2c = app.protocol(BackendProtocol.H2C).build();
        assertThat(h2c.http2KeepAliveInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(h2c.http2KeepAliveTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(app.http2KeepAlive(Duration.ofDays(36_500), Duration.ofDays(36_500)).build().http2KeepAliveInterval())
                .as("the longest duration the builders take").isEqualTo(Duration.ofDays(36_500));
    }

    private static Backend backend(String name) {
        return Backend.named(name).server("web1", "10.0.0.1:80").build();
    }

    @Test
    void rejectsAProxyWithoutFrontends() {
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().backend(backend("app")).build())
                .withMessage("frontends: [] (expected: at least one frontend)");
    }

    @Test
    void rejectsDuplicateBackendNames() {
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                        .backend(backend("app"))
                        .backend(backend("app"))
                        .frontend(new TestFrontend("web", "app"))
                        .build())
                .withMessage("backend name: app (expected: unique within the proxy)");
    }

    @Test
    void rejectsAFrontendReferringToAnUnknownBackend() {
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                        .backend(backend("app"))
                        .frontend(new TestFrontend("web", "app", "api"))
                        .build())
                .withMessage("frontend web backend: api (no such backend; known: [app])");
    }

    @Test
    void rejectsARequestHashKeyOnABackendOfAConnectionFrontend() {
        // TestFrontend is not an HTTP frontend: it forwards connections, which have no header to hash
        Backend tenants = Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.header("X-Tenant")))
                .server("web1", "10.0.0.1:80").build();
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                        .backend(tenants)
                        .frontend(new TestFrontend("db", "app"))
                        .build())
                .withMessage("backend app balance: hashOn(header x-tenant) (expected: a strategy that reads no HTTP request,"
                        + " e.g. sourceHash(), since frontend db forwards connections, not HTTP requests)");
        // the source address is known to a connection
        Backend bySource = Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.source()))
                .server("web1", "10.0.0.1:80").build();
        Proxy.builder().backend(bySource).frontend(new TestFrontend("db", "app")).build().close();
    }

    @Test
    void rejectsDuplicateFrontendNames() {
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                        .backend(backend("app"))
                        .frontend(new TestFrontend("web", "app"))
                        .frontend(new TestFrontend("web", "app"))
                        .build())
                .withMessageStartingWith("frontend name: web (expected: unique within the proxy");
    }

    @Test
    void rejectsBadProxySettings() {
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().ioThreads(-2))
                .withMessage("ioThreads: -2 (expected: >= 0)");
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().drainTimeout(Duration.ofMillis(-1)))
                .withMessage("drainTimeout: PT-0.001S (expected: >= 0)");
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().busyPolling(Duration.ofNanos(-1)))
                .withMessage("busyPolling: PT-0.000000001S (expected: between 0 and PT1S)");
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().busyPolling(Duration.ofMillis(1001)))
                .withMessage("busyPolling: PT1.001S (expected: between 0 and PT1S)");
        assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder().busyPolling(null))
                .withMessage("busyPolling: null (expected: between 0 and PT1S)");
    }

    @Test
    void rejectsSettingsOfLodestonesOwnEventLoopsWithTheApplicationsLoops() {
        EventLoopGroup group = new DefaultEventLoopGroup(1);
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                            .backend(backend("app")).frontend(new TestFrontend("web", "app"))
                            .eventLoopGroups(group, group).ioThreads(2)
                            .build())
                    .withMessage("ioThreads: 2 (expected: 0 with eventLoopGroups; the application's event loops are used as they are)");
            assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                            .backend(backend("app")).frontend(new TestFrontend("web", "app"))
                            .eventLoopGroups(group, group).busyPolling(Duration.ofNanos(50_000))
                            .build())
                    .withMessage("busyPolling: PT0.00005S (expected: 0 with eventLoopGroups; the application's event loops are used as they are)");
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void rejectsAMisspeltTransportPropertyAtBuild() {
        String before = System.getProperty("lodestone.transport");
        System.setProperty("lodestone.transport", "iouring");
        try {
            assertThatIllegalArgumentException().isThrownBy(() -> Proxy.builder()
                            .backend(backend("app")).frontend(new TestFrontend("web", "app"))
                            .build())
                    .withMessage("lodestone.transport: iouring (expected: io_uring, epoll or nio)");
            System.setProperty("lodestone.transport", "EPOLL");
            assertThat(Proxy.builder().backend(backend("app")).frontend(new TestFrontend("web", "app")).build())
                    .isNotNull();
        } finally {
            if (before == null) {
                System.clearProperty("lodestone.transport");
            } else {
                System.setProperty("lodestone.transport", before);
            }
        }
    }

    @Test
    void leavesBuildersReusable() {
        Backend.Builder app = Backend.named("app").server("web1", "10.0.0.1:80");
        Backend first = app.build();
        Backend second = app.server("web2", "10.0.0.2:80").build();

        assertThat(first.servers()).extracting(Server::name).containsExactly("web1");
        assertThat(second.servers()).extracting(Server::name).containsExactly("web1", "web2");
    }
}
