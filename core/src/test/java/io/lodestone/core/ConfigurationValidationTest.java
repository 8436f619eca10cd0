package io.lodestone.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
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
    void leavesBuildersReusable() {
        Backend.Builder app = Backend.named("app").server("web1", "10.0.0.1:80");
        Backend first = app.build();
        Backend second = app.server("web2", "10.0.0.2:80").build();

        assertThat(first.servers()).extracting(Server::name).containsExactly("web1");
        assertThat(second.servers()).extracting(Server::name).containsExactly("web1", "web2");
    }
}
