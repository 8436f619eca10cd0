package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.route.internal.ConnectionView;
import io.lodestone.core.route.internal.HttpParts;
import io.lodestone.core.route.internal.HttpRequestView;
import io.lodestone.core.route.internal.RequestPickContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The views the engines build: what an L7 engine derives from a request line and headers, and an L4 connection. */
class EngineViewTest {

    /** An engine-style view over a map of lower-case header names, counting header lookups. */
    static final class MapView extends HttpRequestView {
        final Map<String, List<String>> headers = new HashMap<>();
        int lookups;

        MapView(String method, String target) {
            super(new InetSocketAddress("192.0.2.10", 50123), 8080, "Shop.Example.com", "h2", method, target);
        }

        MapView with(String name, String... values) {
            headers.put(HttpParts.toLowerAscii(name), List.of(values));
            return this;
        }

        @Override
        public String header(String name) {
            lookups++;
            List<String> v = headers.get(HttpParts.toLowerAscii(name));
            return v == null ? null : v.get(0);
        }

        @Override
        public List<String> headers(String name) {
            lookups++;
            List<String> v = headers.get(HttpParts.toLowerAscii(name));
            return v == null ? List.of() : v;
        }
    }

    @Test
    void anHttpViewDerivesPathHostCookiesAndQueryOnce() {
        MapView v = new MapView("GET", "/a/../admin;x=1?user=bob&debug").with("Host", "Shop.Example.COM:8080")
                .with("Cookie", "a=1; session=xyz");
        assertThat(v.isHttp()).isTrue();
        assertThat(v.rawPath()).isEqualTo("/a/../admin;x=1");
        assertThat(v.path()).isEqualTo("/admin").isSameAs(v.path());
        assertThat(v.query()).isEqualTo("user=bob&debug");
        assertThat(v.queryParam("user")).isEqualTo("bob");
        assertThat(v.queryParam("debug")).isEqualTo("");
        assertThat(v.host()).isEqualTo("shop.example.com");
        int after = v.lookups;
        assertThat(v.host()).isEqualTo("shop.example.com");
        assertThat(v.lookups).as("host parsed once").isEqualTo(after);
        assertThat(v.cookie("session")).isEqualTo("xyz");
        assertThat(v.sni()).isEqualTo("shop.example.com");
        assertThat(v.alpn()).isEqualTo("h2");
        assertThat(v.localPort()).isEqualTo(8080);
        assertThat(v.sourcePort()).isEqualTo(50123);
        assertThat(v.sourceAddress().getHostAddress()).isEqualTo("192.0.2.10");
    }

    @Test
    void absoluteFormTargetsAreSplit() {
        MapView v = new MapView("GET", "http://example.com/x//y?z=1");
        assertThat(v.rawPath()).isEqualTo("/x//y");
        assertThat(v.path()).isEqualTo("/x/y");
        assertThat(v.query()).isEqualTo("z=1");
        assertThat(v.host()).isNull();
    }

    @Test
    void aRouterDecidesOnAnEngineViewAsOnATestRequest() {
        Router r = Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/admin")).deny())
                .rule(Rule.when(Acl.and(Acl.host("shop.example.com"), Acl.header("X-Tenant", "acme"))).use("acme"))
                .defaultBackend("app")
                .build().router(BackendStates.allUp());
        assertThat(r.route(new MapView("GET", "/%61dmin"))).isInstanceOf(Decision.Deny.class);
        Decision d = r.route(new MapView("GET", "/x").with("host", "shop.example.com").with("x-tenant", "acme"));
        assertThat(((Decision.Forward) d).backend()).isEqualTo("acme");
        Decision same = r.route(TestRequest.get("/x").host("shop.example.com").header("X-Tenant", "acme"));
        assertThat(same).isEqualTo(d);
    }

    @Test
    void aConnectionViewHasNoHttp() {
        ConnectionView c = new ConnectionView(new InetSocketAddress("10.1.2.3", 40000), 5432, "DB.example.com", null);
        assertThat(c.isHttp()).isFalse();
        assertThat(c.path()).isNull();
        assertThat(c.headers("x")).isEmpty();
        assertThat(c.sni()).isEqualTo("db.example.com");
        Router r = Routing.builder().connectionOnly()
                .rule(Rule.when(Acl.and(Acl.source("10.0.0.0/8"), Acl.sni("*.example.com"))).use("db"))
                .build().router(BackendStates.allUp());
        assertThat(((Decision.Forward) r.route(c)).backend()).isEqualTo("db");
        assertThat(r.route(new ConnectionView(null, 5432, null, null))).isInstanceOf(Decision.Deny.class);
    }

    @Test
    void affinityHashDependsOnlyOnTheAddress() throws Exception {
        long a = RequestPickContext.affinityHash(InetAddress.getByName("198.51.100.7"));
        assertThat(RequestPickContext.affinityHash(InetAddress.getByName("198.51.100.7"))).isEqualTo(a);
        assertThat(RequestPickContext.affinityHash(InetAddress.getByName("198.51.100.8"))).isNotEqualTo(a);
        assertThat(new RequestPickContext(TestRequest.get("/").source("198.51.100.7", 1)).affinityHash())
                .isEqualTo(new RequestPickContext(TestRequest.get("/").source("198.51.100.7", 2)).affinityHash());
        assertThat(RequestPickContext.affinityHash(null)).isZero();
    }
}
