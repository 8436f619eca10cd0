package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.testing.RefusingPort;
import io.lodestone.tls.ServerTls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.pkitesting.X509Bundle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code BalancingStrategy.hashOn(HashKey)} over real sockets: four origin servers that answer with
 * their name, keys sent over HTTP/1.1 and HTTP/2, compared with {@code proxy.routeAndPick}.
 */
class HttpHashKeyBalancingTest {

    private static final int SERVERS = 4;
    /** Enough keys that every server gets some: the hash is fixed, so the spread is too. */
    private static final int KEYS = 40;

    private static final List<RecordingBackend> ORIGINS = new ArrayList<>();

    private Proxy proxy;

    @BeforeAll
    static void startOrigins() {
        for (int i = 0; i < SERVERS; i++) {
            ORIGINS.add(RecordingBackend.start("b" + i));
        }
    }

    @AfterAll
    static void stopOrigins() {
        ORIGINS.forEach(RecordingBackend::close);
    }

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    /** Servers s0..s3 on origins b0..b3, hashing on {@code key}. */
    /** Starts the proxy with one HTTP/1.1 frontend on backend "app", balanced on {@code key}. */
    private void start(HashKey key) {
        proxy = Proxy.builder()
                .backend(backend("app", key))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
    }

    private static Backend.Builder backend(String name, HashKey key) {
        Backend.Builder b = Backend.named(name).balance(BalancingStrategy.hashOn(key));
        for (int i = 0; i < SERVERS; i++) {
            b.server("s" + i, ORIGINS.get(i).address());
        }
        return b;
    }

    /** The origin's name (b2) of the server a routeAndPick names (s2). */
    private static String origin(String serverName) {
        return "b" + serverName.substring(1);
    }

    /** The origin that answered: the body is {@code name:target}. */
    private static String answeredBy(RawHttp.Response r) {
        assertThat(r.status()).isEqualTo(200);
        return r.body().substring(0, r.body().indexOf(':'));
    }

    private static String get(String target, String header) {
        return "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + (header == null ? "" : header + "\r\n") + "\r\n";
    }

    /** Sends each tenant's request over HTTP/1.1 three times; returns tenant -> origin, asserting each is stable. */
    private Map<String, String> tenantsOverHttp1(int port) throws Exception {
        Map<String, String> owner = new LinkedHashMap<>();
        try (RawHttp c = new RawHttp(port)) {
            for (int round = 0; round < 3; round++) {
                for (int t = 0; t < KEYS; t++) {
                    String tenant = "tenant-" + t;
                    String by = answeredBy(c.send(get("/api/" + round, "X-Tenant: " + tenant)).read());
                    String before = owner.putIfAbsent(tenant, by);
                    assertThat(before == null ? by : before).as("tenant %s in round %s", tenant, round).isEqualTo(by);
                }
            }
        }
        return owner;
    }

    @Test
    void aHeaderKeepsItsServerSpreadsOverAllAndAgreesWithRouteAndPick() throws Exception {
        proxy = Proxy.builder()
                .backend(backend("app", HashKey.header("X-Tenant")))
                // the key is the header as sent: a rule that rewrites it does not move the tenant
                .frontend(HttpFrontend.bind("127.0.0.1:0").rule(Rule.always().setRequestHeader("X-Tenant", "same"))
                        .defaultBackend("app"))
                .build();
        proxy.start();
        Map<String, String> owner = tenantsOverHttp1(proxy.port());

        assertThat(new HashSet<>(owner.values())).containsExactlyInAnyOrder("b0", "b1", "b2", "b3");
        owner.forEach((tenant, by) -> assertThat(origin(proxy.routeAndPick(TestRequest.get("/api/x")
                .header("X-Tenant", tenant)).serverName())).as(tenant).isEqualTo(by));
        // and the rule did rewrite it on the way to the server
        assertThat(ORIGINS.get(0).last().header("x-tenant")).isEqualTo("same");
    }

    @Test
    void requestsWithoutTheKeyAreBalancedRoundRobin() throws Exception {
        start(HashKey.header("X-Tenant"));
        List<String> by = new ArrayList<>();
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (int i = 0; i < 8; i++) {
                // absent, then empty: both are no key
                by.add(answeredBy(c.send(get("/x", i % 2 == 0 ? null : "X-Tenant:")).read()));
            }
        }
        assertThat(by).containsExactly("b0", "b1", "b2", "b3", "b0", "b1", "b2", "b3");
    }

    @Test
    void takingAServerOutMovesOnlyItsKeys() throws Exception {
        start(HashKey.header("X-Tenant"));
        Map<String, String> before = tenantsOverHttp1(proxy.port());

        proxy.control().server("app", "s2").maintenance();
        Map<String, String> after = tenantsOverHttp1(proxy.port());

        int moved = 0;
        for (String tenant : before.keySet()) {
            if (before.get(tenant).equals("b2")) {
                assertThat(after.get(tenant)).as(tenant).isNotEqualTo("b2");
                moved++;
            } else {
                assertThat(after.get(tenant)).as("%s stays", tenant).isEqualTo(before.get(tenant));
            }
        }
        assertThat(moved).isPositive();
        // back in rotation, every key is back where it was
        proxy.control().server("app", "s2").ready();
        assertThat(tenantsOverHttp1(proxy.port())).isEqualTo(before);
    }

    @Test
    void aStickyCookieDecidesBeforeTheKey() throws Exception {
        StickyCookie cookie = StickyCookie.insert("SRV");
        proxy = Proxy.builder()
                .backend(backend("app", HashKey.header("X-Tenant")).cookie(cookie))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
        String hashed = proxy.routeAndPick(TestRequest.get("/").header("X-Tenant", "tenant-0")).serverName();
        String other = hashed.equals("s0") ? "s1" : "s0";
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (int i = 0; i < 3; i++) {
                assertThat(answeredBy(c.send(get("/", "X-Tenant: tenant-0\r\nCookie: SRV=" + cookie.valueFor("app", other))).read()))
                        .isEqualTo(origin(other));
                assertThat(answeredBy(c.send(get("/", "X-Tenant: tenant-0")).read())).isEqualTo(origin(hashed));
            }
        }
    }

    @Test
    void eachKindOfKeyIsReadAsRouteAndPickReadsIt() throws Exception {
        proxy = Proxy.builder()
                .backend(backend("byPath", HashKey.path()))
                .backend(backend("byUri", HashKey.uri()))
                .backend(backend("byParam", HashKey.queryParameter("user")))
                .backend(backend("byCookie", HashKey.cookie("sid")))
                .backend(backend("byHost", HashKey.of(r -> r.host())))
                .frontend(HttpFrontend.bind("127.0.0.1:0")
                        .rule(Rule.when(Acl.pathBegins("/path")).use("byPath"))
                        .rule(Rule.when(Acl.pathBegins("/uri")).use("byUri"))
                        .rule(Rule.when(Acl.pathBegins("/param")).use("byParam"))
                        .rule(Rule.when(Acl.pathBegins("/cookie")).use("byCookie"))
                        .defaultBackend("byHost"))
                .build();
        proxy.start();
        Map<String, Set<String>> seen = new LinkedHashMap<>();
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (int k = 0; k < KEYS; k++) {
                String path = "/path/" + k + "?v=" + (k * 7);
                String uri = "/uri/a?k=" + k;
                String param = "/param?x=1&user=u%40" + k + "&user=ignored";
                String cookie = "a=1; sid=\"s" + k + "\"";
                String host = "h" + k + ".example";
                check(seen, "path", answeredBy(c.send(get(path, null)).read()), TestRequest.get(path));
                check(seen, "uri", answeredBy(c.send(get(uri, null)).read()), TestRequest.get(uri));
                check(seen, "param", answeredBy(c.send(get(param, null)).read()), TestRequest.get(param));
                check(seen, "cookie", answeredBy(c.send(get("/cookie", "Cookie: " + cookie)).read()),
                        TestRequest.get("/cookie").header("Cookie", cookie));
                check(seen, "host", answeredBy(c.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read()),
                        TestRequest.get("/").host(host));
            }
        }
        seen.forEach((kind, servers) -> assertThat(servers).as(kind).containsExactlyInAnyOrder("b0", "b1", "b2", "b3"));
    }

    private void check(Map<String, Set<String>> seen, String kind, String by, TestRequest request) {
        assertThat(origin(proxy.routeAndPick(request).serverName())).as("%s %s", kind, request).isEqualTo(by);
        seen.computeIfAbsent(kind, x -> new HashSet<>()).add(by);
    }

    @Test
    void http2StreamsPickAsHttp11Requests() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"))) {
            proxy = Proxy.builder()
                    .backend(backend("app", HashKey.header("X-Tenant")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("plain").defaultBackend("app"))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("h2").tls(tls).defaultBackend("app"))
                    .build();
            proxy.start();
            Map<String, String> overHttp1 = tenantsOverHttp1(proxy.port("plain"));
            HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            for (Map.Entry<String, String> e : overHttp1.entrySet()) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port("h2") + "/api"))
                        .header("X-Tenant", e.getKey()).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(r.body()).as(e.getKey()).startsWith(e.getValue() + ":");
            }
        }
    }

    @Test
    void aRetryGoesToTheNextServerOnTheRing() throws Exception {
        // "dead" refuses connections; its keys are retried on the server that has them when it is gone
        Backend.Builder withDead = backend("app", HashKey.header("X-Tenant")).server("dead", RefusingPort.address()).retries(2);
        proxy = Proxy.builder()
                .backend(withDead)
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
        try (Proxy withoutDead = Proxy.builder()
                .backend(backend("app", HashKey.header("X-Tenant")))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build()) {
            int retried = 0;
            try (RawHttp c = new RawHttp(proxy.port())) {
                for (int t = 0; t < KEYS; t++) {
                    String tenant = "tenant-" + t;
                    if ("dead".equals(proxy.routeAndPick(TestRequest.get("/").header("X-Tenant", tenant)).serverName())) {
                        retried++;
                    }
                    String expected = origin(withoutDead.routeAndPick(TestRequest.get("/").header("X-Tenant", tenant)).serverName());
                    assertThat(answeredBy(c.send(get("/r", "X-Tenant: " + tenant)).read())).as(tenant).isEqualTo(expected);
                }
            }
            assertThat(retried).as("keys of the dead server").isPositive();
        }
    }

    @Test
    void pipelinedRequestsWithDifferentKeysEachHashTheirOwn() throws Exception {
        start(HashKey.header("X-Tenant"));
        try (RawHttp c = new RawHttp(proxy.port())) {
            StringBuilder all = new StringBuilder();
            for (int t = 0; t < KEYS; t++) {
                all.append(get("/p", "X-Tenant: tenant-" + t));
            }
            // one write: every request after the first waits on the connection while the one before it is served
            c.send(all.toString());
            Set<String> seen = new HashSet<>();
            for (int t = 0; t < KEYS; t++) {
                String by = answeredBy(c.read());
                assertThat(by).as("tenant-%s", t)
                        .isEqualTo(origin(proxy.routeAndPick(TestRequest.get("/p").header("X-Tenant", "tenant-" + t)).serverName()));
                seen.add(by);
            }
            assertThat(seen).containsExactlyInAnyOrder("b0", "b1", "b2", "b3");
        }
    }

    @Test
    void concurrentHttp2StreamsOfOneConnectionEachHashTheirOwnKey() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2"), TlsPki.server(ca, "www.example"))) {
            proxy = Proxy.builder()
                    .backend(backend("app", HashKey.queryParameter("user")))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).defaultBackend("app"))
                    .build();
            proxy.start();
            HttpClient client = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
            for (int k = 0; k < KEYS; k++) {
                sent.add(client.sendAsync(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/s?user=u" + k))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            Set<String> seen = new HashSet<>();
            for (int k = 0; k < KEYS; k++) {
                HttpResponse<String> r = sent.get(k).get(15, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                String expected = origin(proxy.routeAndPick(TestRequest.get("/s?user=u" + k)).serverName());
                assertThat(r.body()).as("u%s", k).startsWith(expected + ":");
                seen.add(expected);
            }
            assertThat(seen).containsExactlyInAnyOrder("b0", "b1", "b2", "b3");
        }
    }

    @Test
    void aHeaderListHashesItsFirstElementOverTheWire() throws Exception {
        start(HashKey.header("X-Tenant"));
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (int t = 0; t < KEYS; t++) {
                String tenant = "tenant-" + t;
                String alone = answeredBy(c.send(get("/", "X-Tenant: " + tenant)).read());
                assertThat(answeredBy(c.send(get("/", "X-Tenant: " + tenant + ", proxy-added")).read())).as(tenant).isEqualTo(alone);
                assertThat(answeredBy(c.send(get("/", "X-Tenant: " + tenant + "\r\nX-Tenant: proxy-added")).read())).as(tenant)
                        .isEqualTo(alone);
                assertThat(origin(proxy.routeAndPick(TestRequest.get("/").header("X-Tenant", tenant + ", other")).serverName()))
                        .as(tenant).isEqualTo(alone);
            }
        }
    }

    @Test
    void aKeyFunctionThatThrowsAnswers500AndOneThatReturnsNullBalancesRoundRobin() throws Exception {
        proxy = Proxy.builder()
                .backend(backend("throws", HashKey.of(r -> {
                    throw new IllegalStateException("key function failed");
                })))
                .backend(backend("none", HashKey.of(r -> null)))
                .frontend(HttpFrontend.bind("127.0.0.1:0")
                        .rule(Rule.when(Acl.pathBegins("/throws")).use("throws"))
                        .defaultBackend("none"))
                .build();
        proxy.start();
        try (RawHttp c = new RawHttp(proxy.port())) {
            List<String> by = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                by.add(answeredBy(c.send(get("/none", null)).read()));
            }
            assertThat(by).containsExactly("b0", "b1", "b2", "b3");
            RawHttp.Response r = c.send(get("/throws", null)).read();
            assertThat(r.status()).isEqualTo(500);
            assertThat(c.closedByPeer()).isTrue();
        }
        // the failure was this request's: the next connection is served
        try (RawHttp c = new RawHttp(proxy.port())) {
            assertThat(answeredBy(c.send(get("/none", null)).read())).isEqualTo("b0");
        }
        assertThatThrownBy(() -> proxy.routeAndPick(TestRequest.get("/throws"))).isInstanceOf(IllegalStateException.class)
                .hasMessage("key function failed");
    }

    @Test
    void aCookieInTheSplitCookieFieldsOfHttp2IsFoundAsInOneHeader() throws Exception {
        proxy = Proxy.builder()
                .backend(backend("app", HashKey.cookie("sid")))
                .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("app"))
                .build();
        proxy.start();
        DefaultHttp2HeadersEncoder hpack = new DefaultHttp2HeadersEncoder();
        Set<String> seen = new HashSet<>();
        try (java.net.Socket s = Http2Test.h2c(proxy.port())) {
            for (int k = 0; k < KEYS; k++) {
                int stream = 2 * k + 1;
                // HTTP/2 lets a client send each cookie as a field of its own (RFC 9113, 8.2.3);
                // "sidx" comes first and must not be taken for "sid"
                Http2Headers h = new DefaultHttp2Headers().method("GET").scheme("http").path("/c").authority("h")
                        .add("cookie", "sidx=other").add("cookie", "a=1").add("cookie", "sid=s" + k).add("cookie", "b=2");
                ByteBuf block = Unpooled.buffer();
                try {
                    hpack.encodeHeaders(stream, h, block);
                    s.getOutputStream().write(Http2Test.frame(stream, 1, 0x5, ByteBufUtil.getBytes(block)));
                } finally {
                    block.release();
                }
                s.getOutputStream().flush();
                String body = null;
                while (body == null) {
                    Http2Test.Frame f = Http2Test.Frame.read(s.getInputStream());
                    assertThat(f).as("stream %s", stream).isNotNull();
                    if (f.type() == 0 && f.stream() == stream && f.payload().length > 0) {
                        body = new String(f.payload(), java.nio.charset.StandardCharsets.UTF_8);
                    }
                }
                String expected = origin(proxy.routeAndPick(TestRequest.get("/c").cookie("a", "1").cookie("sid", "s" + k)).serverName());
                assertThat(body).as("s%s", k).startsWith(expected + ":");
                seen.add(expected);
            }
        }
        assertThat(seen).containsExactlyInAnyOrder("b0", "b1", "b2", "b3");
    }
}
