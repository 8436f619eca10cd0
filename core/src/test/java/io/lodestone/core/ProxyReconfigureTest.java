package io.lodestone.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.route.RoutedFrontend;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.TestRequest;
import java.util.HashMap;
import java.util.Map;
import io.lodestone.core.internal.ServerRuntime;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Reconfiguration of a proxy that is not started: validation, and what runtime state survives. */
class ProxyReconfigureTest {

    @Test
    void anInvalidConfigurationIsRefusedWithItsReasonAndNothingChanges() {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80"))
                .frontend(new TestFrontend("www", "app"))
                .build();
        proxy.control().server("app", "web1").drain();

        assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80"))
                .frontend(new TestFrontend("www", "api"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend www backend: api (no such backend");
        assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder().backend(Backend.named("app").server("web1", "10.0.0.1:80"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontends: []");

        assertThat(proxy.backends()).containsOnlyKeys("app");
        assertThat(proxy.frontends()).extracting(Frontend::name).containsExactly("www");
        assertThat(proxy.control().server("app", "web1").state()).isEqualTo(ServerState.DRAIN);
    }

    @Test
    void serversThatPersistKeepTheirRuntimeStateOthersComeAndGo() {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("app")
                        .server("web1", "10.0.0.1:80")
                        .server("web2", "10.0.0.2:80")
                        .server("web3", "10.0.0.3:80"))
                .frontend(new TestFrontend("www", "app"))
                .build();
        ServerControl web1 = proxy.control().server("app", "web1");
        ServerControl web2 = proxy.control().server("app", "web2");
        web1.maintenance();
        web2.weight(7);
        // a request in flight on web2
        var held = proxy.control().server("app", "web2");
        assertThat(((ServerRuntime) held).tryAcquire()).isTrue();
        ServerControl web3 = proxy.control().server("app", "web3");

        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app")
                        .balance(BalancingStrategy.leastConnections())
                        .server("web1", "10.0.0.1:80")
                        .server("web2", "10.0.0.2:80")
                        .server("web3", "10.0.0.33:80")
                        .server("web4", "10.0.0.4:80", s -> s.weight(3)))
                .backend(Backend.named("api").server("api1", "10.0.1.1:80"))
                .frontend(new TestFrontend("www", "app", "api")));

        assertThat(proxy.control().server("app", "web1")).isSameAs(web1);
        assertThat(web1.state()).isEqualTo(ServerState.MAINT);
        assertThat(proxy.control().server("app", "web2")).isSameAs(web2);
        assertThat(web2.weight()).as("the weight set at run time stays").isEqualTo(7);
        assertThat(web2.load()).isEqualTo(1);
        // same name, new address: a new server; the old one is removed
        assertThat(proxy.control().server("app", "web3")).isNotSameAs(web3);
        assertThat(proxy.control().server("app", "web3").server().address().getHostString()).isEqualTo("10.0.0.33");
        assertThat(web3.state()).isEqualTo(ServerState.MAINT);
        assertThat(proxy.control().server("app", "web4").weight()).isEqualTo(3);
        assertThat(proxy.control().servers("api")).hasSize(1);
        assertThat(proxy.backends().get("app").balancingStrategy()).isNotNull();
        assertThat(proxy.metrics().backends()).extracting(b -> b.name()).containsExactly("app", "api");

        // the persisting server's drain future still sees its in-flight request
        CompletableFuture<Void> drained = web2.drain();
        assertThat(drained).isNotDone();
        ((ServerRuntime) held).release();
        assertThat(drained).isDone();
    }

    @Test
    void aConfiguredWeightThatChangesReplacesTheRunTimeOne() {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80", s -> s.weight(10)))
                .frontend(new TestFrontend("www", "app"))
                .build();
        proxy.control().server("app", "web1").weight(5);
        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80", s -> s.weight(20)))
                .frontend(new TestFrontend("www", "app")));
        assertThat(proxy.control().server("app", "web1").weight()).isEqualTo(20);
        assertThat(proxy.control().server("app", "web1").server().weight()).isEqualTo(20);
    }

    @Test
    void removedBackendsAndServersLeaveTheControlView() {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80").server("web2", "10.0.0.2:80"))
                .backend(Backend.named("old").server("o1", "10.0.2.1:80"))
                .frontend(new TestFrontend("www", "app", "old"))
                .build();
        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app").server("web2", "10.0.0.2:80"))
                .frontend(new TestFrontend("www", "app")));
        assertThat(proxy.backends()).containsOnlyKeys("app");
        assertThat(proxy.control().servers("app")).extracting(s -> s.server().name()).containsExactly("web2");
        assertThatThrownBy(() -> proxy.control().servers("old")).isInstanceOf(IllegalArgumentException.class);
        assertThat(proxy.control().status()).extracting(ServerStatus::serverName).containsExactly("web2");
    }

    /** A proxy reconfigured before it starts closes (and starts) as one never reconfigured; until 2026-12-07 its close threw a NullPointerException. */
    @Test
    void aProxyReconfiguredBeforeItStartsCloses() {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80"))
                .frontend(new TestFrontend("www", "app"))
                .build();
        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80"))
                .frontend(new TestFrontend("www", "app")));
        proxy.close();
        assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app").server("web1", "10.0.0.1:80"))
                .frontend(new TestFrontend("www", "app"))))
                .isInstanceOf(IllegalStateException.class).hasMessage("proxy is closed");
    }

    private static Backend.Builder tenants() {
        return Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.header("X-Tenant")))
                .server("a", "10.0.0.1:80").server("b", "10.0.0.2:80").server("c", "10.0.0.3:80");
    }

    private static String pick(Proxy proxy, String tenant) {
        TestRequest r = TestRequest.get("/");
        return proxy.routeAndPick(tenant == null ? r : r.header("X-Tenant", tenant)).serverName();
    }

    @Test
    void aReconfigurationToTheSameKeyKeepsTheKeysServersAndTheRotationOfRequestsWithoutOne() {
        Proxy proxy = Proxy.builder()
                .backend(tenants())
                .frontend(new RoutedFrontend("www", Routing.builder().defaultBackend("app").build()))
                .build();
        Map<String, String> owner = new HashMap<>();
        for (int t = 0; t < 30; t++) {
            owner.put("t" + t, pick(proxy, "t" + t));
        }
        assertThat(pick(proxy, null)).isEqualTo("a");
        assertThat(pick(proxy, null)).isEqualTo("b");

        // the same configuration built anew: hashOn(header("X-Tenant")) equals the one in place
        proxy.reconfigure(Proxy.builder()
                .backend(tenants())
                .frontend(new RoutedFrontend("www", Routing.builder().defaultBackend("app").build())));

        assertThat(pick(proxy, null)).as("the rotation goes on").isEqualTo("c");
        owner.forEach((tenant, server) -> assertThat(pick(proxy, tenant)).as(tenant).isEqualTo(server));
        proxy.close();
    }

    @Test
    void aReconfigurationToAnotherKeyHashesTheNewKey() {
        Proxy proxy = Proxy.builder()
                .backend(tenants())
                .frontend(new RoutedFrontend("www", Routing.builder().defaultBackend("app").build()))
                .build();
        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.header("X-User")))
                        .server("a", "10.0.0.1:80").server("b", "10.0.0.2:80").server("c", "10.0.0.3:80"))
                .frontend(new RoutedFrontend("www", Routing.builder().defaultBackend("app").build())));
        // X-Tenant is no key any more: requests that carry only it rotate; X-User keeps its server
        assertThat(pick(proxy, "t1")).isEqualTo("a");
        assertThat(pick(proxy, "t1")).isEqualTo("b");
        assertThat(pick(proxy, "t1")).isEqualTo("c");
        String user = proxy.routeAndPick(TestRequest.get("/").header("X-User", "u1")).serverName();
        for (int i = 0; i < 5; i++) {
            assertThat(proxy.routeAndPick(TestRequest.get("/").header("X-User", "u1")).serverName()).isEqualTo(user);
        }
        proxy.close();
    }

    @Test
    void aReconfigurationThatPutsAHashedBackendBehindAConnectionFrontendIsRefused() {
        Proxy proxy = Proxy.builder()
                .backend(tenants())
                .frontend(new RoutedFrontend("www", Routing.builder().defaultBackend("app").build()))
                .build();
        String before = pick(proxy, "t1");
        assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder()
                .backend(tenants())
                .frontend(new RoutedFrontend("www", Routing.builder().defaultBackend("app").build()))
                .frontend(new TestFrontend("db", "app"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("backend app balance: hashOn(header x-tenant) (expected: a strategy that reads no HTTP request,"
                        + " e.g. sourceHash(), since frontend db forwards connections, not HTTP requests)");
        // the proxy runs on as it was
        assertThat(proxy.frontends()).extracting(Frontend::name).containsExactly("www");
        assertThat(pick(proxy, "t1")).isEqualTo(before);
        proxy.close();
    }
}
