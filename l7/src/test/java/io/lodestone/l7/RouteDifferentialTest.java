package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.HeaderEdit;
import io.lodestone.core.route.RouteResult;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@code proxy.routeAndPick(TestRequest)} says against what the running proxy does with the same
 * request on the wire: for many requests, awkward ones included, through one broad rule table, the
 * {@link TestRequest} a user would write for a request (its method, its target as sent, its header
 * fields) must be decided as the engine decides the bytes: the same backend and server, the same
 * target and headers at the server, the same status, {@code Location} and body at the client.
 */
class RouteDifferentialTest {

    private final Map<String, RecordingBackend> servers = new LinkedHashMap<>();
    private Proxy proxy;
    private int port;
    private int port6;

    @BeforeEach
    void start() {
        for (String name : new String[] {"a", "b", "c", "d", "e", "spare", "def", "p1", "p2", "k1", "k2"}) {
            servers.put(name, RecordingBackend.start(name));
        }
        Proxy.Builder builder = Proxy.builder()
                .backend(Backend.named("pool").balance(BalancingStrategy.sourceHash())
                        .server("p1", servers.get("p1").address()).server("p2", servers.get("p2").address()))
                .backend(Backend.named("sticky").cookie(StickyCookie.insert("SRV"))
                        .server("k1", servers.get("k1").address()).server("k2", servers.get("k2").address()));
        for (String name : new String[] {"a", "b", "c", "d", "e", "spare", "def"}) {
            builder.backend(Backend.named(name).server(name, servers.get(name).address()));
        }
        proxy = builder.frontend(HttpFrontend.bind("127.0.0.1:0").bind("[::1]:0").name("web").h2c(true)
                .acl("is_admin", Acl.pathBegins("/admin"))
                .rule(Rule.whenNamed("is_admin").name("no-admin").deny(403))
                .rule(Rule.always().setRequestHeader("X-Gw", "1"))
                .rule(Rule.always().setRequestHeader("X-Forwarded-Proto", "https"))
                .rule(Rule.when(Acl.method("DELETE")).deny(405, "no deletes\n"))
                .rule(Rule.when(Acl.header("X-Env", "staging")).use("b"))
                .rule(Rule.when(Acl.hostWildcard("*.api.example.com")).use("c"))
                .rule(Rule.when(Acl.usableServersBelow("d", 1)).name("d-down").setResponseHeader("X-D", "down"))
                .rule(Rule.when(Acl.host("shop.example.com")).use("d", "spare"))
                .rule(Rule.when(Acl.pathBegins("/svc")).stripPrefix("/svc"))
                .rule(Rule.when(Acl.pathBegins("/svc")).use("a"))
                .rule(Rule.when(Acl.pathBegins("/v1")).replacePrefix("/v1", "/api/v1"))
                .rule(Rule.when(Acl.pathBegins("/v1")).use("a"))
                .rule(Rule.when(Acl.pathRegex("^/img/.*\\.png$")).replacePath("^/img/(.*)\\.png$", "/images/$1.webp"))
                .rule(Rule.when(Acl.pathBegins("/img")).use("a"))
                .rule(Rule.when(Acl.queryParam("debug", "1")).addRequestHeader("X-Debug", "on"))
                .rule(Rule.when(Acl.cookie("beta", "yes")).use("e"))
                .rule(Rule.when(Acl.pathBegins("/old")).redirectPrefix(301, "https://new.example.com"))
                .rule(Rule.when(Acl.pathBegins("/http/")).redirectScheme(301, "https"))
                .rule(Rule.when(Acl.pathBegins("/to8443/")).redirectScheme(302, "https", 8443))
                .rule(Rule.when(Acl.pathBegins("/hdr")).removeRequestHeader("X-Remove"))
                .rule(Rule.when(Acl.pathBegins("/hdr")).setHost("internal.example"))
                .rule(Rule.when(Acl.pathBegins("/hdr")).addResponseHeader("X-Resp", "r"))
                .rule(Rule.when(Acl.pathBegins("/hdr")).removeRequestHeader("X-Forwarded-For"))
                .rule(Rule.when(Acl.pathBegins("/hdr")).addRequestHeader("X-Forwarded-Host", "gw.example"))
                .rule(Rule.when(Acl.pathBegins("/hdr")).setResponseHeader("Server", "gw"))
                .rule(Rule.when(Acl.pathBegins("/hdr")).use("b"))
                .rule(Rule.when(Acl.path("/json")).removeResponseHeader("Date"))
                .rule(Rule.when(Acl.path("/json")).addResponseHeader("X-Json", "1"))
                .rule(Rule.when(Acl.pathEndsIgnoreCase("/app1")).use("pool"))
                .rule(Rule.when(Acl.pathBegins("/sticky")).use("sticky"))
                .rule(Rule.when(Acl.and(Acl.source("::1/128", "10.0.0.0/8"), Acl.pathBegins("/net"))).use("c"))
                .rule(Rule.when(Acl.and(Acl.source("127.0.0.0/8"), Acl.pathBegins("/net"))).use("b"))
                .rule(Rule.when(Acl.pathBeginsIgnoreCase("/CASE")).use("c"))
                .rule(Rule.when(Acl.queryParamExists("flag")).use("e"))
                .rule(Rule.when(Acl.path("/")).respond(200, "Welcome\n"))
                .rule(Rule.when(Acl.path("/json")).respond(201, "application/json", "{}"))
                .rule(Rule.when(Acl.path("/moved")).redirect(302, "/elsewhere"))
                .virtualHost("vh.example.com", vh -> vh
                        .rule(Rule.when(Acl.pathBegins("/admin")).use("e"))
                        .rule(Rule.when(Acl.pathBegins("/svc")).replacePrefix("/svc", "/vh"))
                        .defaultBackend("c"))
                .virtualHost("*.vh.example.com", vh -> vh.rule(Rule.when(Acl.pathBegins("/only")).use("e")))
                .defaultBackend("def", "spare"))
                .frontend(underscores("drop", HttpFrontend.HeadersWithUnderscores.DROP_HEADER))
                .frontend(underscores("reject", HttpFrontend.HeadersWithUnderscores.REJECT_REQUEST))
                .frontend(underscores("allow", HttpFrontend.HeadersWithUnderscores.ALLOW))
                .build();
        proxy.start();
        port = proxy.localAddresses("web").get(0).getPort();
        port6 = proxy.localAddresses("web").get(1).getPort();
    }

    /** A frontend whose rules read fields with an underscore in their name, under {@code rule}. */
    private static HttpFrontend.Builder underscores(String name, HttpFrontend.HeadersWithUnderscores rule) {
        return HttpFrontend.bind("127.0.0.1:0").name(name).h2c(true).headersWithUnderscores(rule)
                .rule(Rule.when(Acl.header("X_Env", "staging")).use("b"))
                .rule(Rule.when(Acl.headerExists("x_real_ip")).setRequestHeader("X-Seen", "x_real_ip"))
                .rule(Rule.when(Acl.headerExists("x_real_ip")).use("c"))
                .rule(Rule.when(Acl.cookie("beta", "yes")).use("e"))
                .defaultBackend("def");
    }

    @AfterEach
    void stop() {
        proxy.close();
        servers.values().forEach(RecordingBackend::close);
    }

    private static final String[] REQUESTS = {
        "GET / HTTP/1.1\r\nHost: example.com\r\n",
        "GET /json HTTP/1.1\r\nHost: example.com\r\n",
        "GET /moved?x=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /admin HTTP/1.1\r\nHost: example.com\r\n",
        "GET //admin/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /%61dmin HTTP/1.1\r\nHost: example.com\r\n",
        "GET /admin;jsessionid=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x/../admin HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x/../home HTTP/1.1\r\nHost: example.com\r\n",
        "GET /%2e%2e/home HTTP/1.1\r\nHost: example.com\r\n",
        "GET /home/. HTTP/1.1\r\nHost: example.com\r\n",
        "GET /a%2e%2e/b HTTP/1.1\r\nHost: example.com\r\n",
        "GET /home HTTP/1.1\r\nHost: example.com\r\n",
        "GET /home?q=a%20b&x HTTP/1.1\r\nHost: example.com\r\n",
        "DELETE /home HTTP/1.1\r\nHost: example.com\r\n",
        "delete /home HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc/page;jsessionid=ABC?x=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc/a%2Fb HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc/a%252Fb HTTP/1.1\r\nHost: example.com\r\n",
        "GET /%73vc/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET //svc//x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc;v=2/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc?x=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc%2Fa HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svcx HTTP/1.1\r\nHost: example.com\r\n",
        "GET /v1/users?id=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /v1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /img/cat.png HTTP/1.1\r\nHost: example.com\r\n",
        "GET /img/a%20b.png?s=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /img/x;v=1/cat.png HTTP/1.1\r\nHost: example.com\r\n",
        "GET /img/cat.gif HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: v2.api.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: V2.API.Example.COM:8080\r\n",
        "GET /x HTTP/1.1\r\nHost: v2.api.example.com.\r\n",
        "GET /x HTTP/1.1\r\nHost: api.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: shop.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: shop.example.com.\r\n",
        "GET /x HTTP/1.1\r\nHost: SHOP.EXAMPLE.COM:443\r\n",
        "GET /x HTTP/1.1\r\nHost: shop.example.com:\r\n",
        "GET /x HTTP/1.1\r\nHost: user@shop.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n",
        "GET /x HTTP/1.1\r\nHost:\r\n",
        "GET /x HTTP/1.1\r\nHost: a.example\r\nHost: shop.example.com\r\n",
        "GET http://shop.example.com/x?y=1 HTTP/1.1\r\nHost: other.example\r\n",
        "GET http://SHOP.example.com:8080 HTTP/1.1\r\nHost: other.example\r\n",
        "GET http://other.example/x HTTP/1.1\r\nHost: shop.example.com\r\n",
        "GET http://v2.api.example.com/svc/x HTTP/1.1\r\nHost: v2.api.example.com\r\n",
        "GET https://example.com/http/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET http://example.com?debug=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x HTTP/1.0\r\n",
        "GET /http/x HTTP/1.0\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Env: staging\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Env: prod\r\nX-Env: staging\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Env: prod, staging\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nx-env: staging \r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nCookie: beta=yes\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nCookie: a=1; beta=yes\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nCookie: a=1\r\nCookie: beta=yes\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nCookie: beta=\"yes\"\r\n",
        "GET /x?debug=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x?debug=%31 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x?a=1&debug=2&debug=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x?flag HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x?fl%61g=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x?a=1#frag HTTP/1.1\r\nHost: example.com\r\n",
        "GET /old/page?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /old/a%20b;x=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET //old/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /http/x?y=1 HTTP/1.1\r\nHost: example.com:80\r\n",
        "GET /http/x?y=1 HTTP/1.1\r\nHost: example.com:0080\r\n",
        "GET /http/x HTTP/1.1\r\nHost: example.com:\r\n",
        "GET /http/x HTTP/1.1\r\nHost: Example.COM.\r\n",
        "GET /http/x HTTP/1.1\r\nHost: [::1]:8080\r\n",
        "GET /to8443/x?y HTTP/1.1\r\nHost: example.com:8080\r\n",
        "GET /to8443/x HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n",
        "GET /to8443/x HTTP/1.1\r\nHost: [2001:db8::1]\r\n",
        "GET /hdr/x HTTP/1.1\r\nHost: example.com\r\nX-Remove: 1\r\nX-Remove: 2\r\n",
        "GET /hdr HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x/app1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /X/APP1?id=7 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x/app1/ HTTP/1.1\r\nHost: example.com\r\n",
        "GET /net/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /case/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /%43ASE/x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /shop;v=1/cart HTTP/1.1\r\nHost: example.com\r\n",
        "GET /a\\b HTTP/1.1\r\nHost: example.com\r\n",
        "GET \\admin HTTP/1.1\r\nHost: example.com\r\n",
        "GET /admin%00 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /%C3%A9t%C3%A9 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /%zz HTTP/1.1\r\nHost: example.com\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n",
        "OPTIONS http://example.com HTTP/1.1\r\nHost: example.com\r\n",
        "OPTIONS http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n",
        "OPTIONS http://example.com/svc HTTP/1.1\r\nHost: example.com\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: vh.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Request-ID: abc\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Env: staging\r\nX-Request-ID: \r\nX-Request-ID: b\r\n",
        "HEAD /svc/x HTTP/1.1\r\nHost: example.com\r\n",
        "POST /svc/x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc",
        "GET x HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc/x? HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc? HTTP/1.1\r\nHost: example.com\r\n",
        "GET /svc/x?a=1&&b=%2F+c HTTP/1.1\r\nHost: example.com\r\n",
        "GET /?debug=1 HTTP/1.1\r\nHost: example.com\r\n",
        "GET /x?debug=1+ HTTP/1.1\r\nHost: example.com\r\n",
        "GET http://shop.example.com/x HTTP/1.0\r\n",
        "GET /x HTTP/1.1\r\nhost: SHOP.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: sh%6Fp.example.com\r\n",
        "GET /x HTTP/1.1\r\nHost: example.com\r\nCookie: beta=no; beta=yes\r\n",
        "GET /admin/x HTTP/1.1\r\nHost: vh.example.com\r\n",
        "GET /svc/y?z HTTP/1.1\r\nHost: VH.example.com:8080\r\n",
        "GET /other HTTP/1.1\r\nHost: vh.example.com.\r\n",
        "GET /only/x HTTP/1.1\r\nHost: a.vh.example.com\r\n",
        "GET /admin HTTP/1.1\r\nHost: a.vh.example.com\r\n",
        "GET /svc/x HTTP/1.1\r\nHost: a.vh.example.com\r\n",
        "GET http://vh.example.com/admin HTTP/1.1\r\nHost: example.com\r\n",
        "GET /hdr/x HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 203.0.113.9\r\n",
        "GET http://user@shop.example.com/x HTTP/1.1\r\nHost: shop.example.com\r\n",
        "GET http:///x HTTP/1.1\r\nHost: shop.example.com\r\n",
        "GET /x%20y HTTP/1.1\r\nHost: example.com\r\n",
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n",
        "G@T /x HTTP/1.1\r\nHost: example.com\r\n",
    };

    @Test
    void routeSaysWhatTheProxyDoes() throws Exception {
        List<String> mismatches = new ArrayList<>();
        for (String raw : REQUESTS) {
            compare(raw, port, "127.0.0.1", mismatches);
        }
        String k2 = StickyCookie.insert("SRV").valueFor("sticky", "k2");
        for (int i = 0; i < 2; i++) {
            compare("GET /sticky/x HTTP/1.1\r\nHost: example.com\r\nCookie: a=1; SRV=" + k2 + "\r\n", port, "127.0.0.1", mismatches);
        }
        for (String raw : new String[] {"GET /net/x HTTP/1.1\r\nHost: example.com\r\n", "GET /X/APP1 HTTP/1.1\r\nHost: example.com\r\n"}) {
            compare(raw, port6, "::1", mismatches);
        }
        for (String[] fields : H2_REQUESTS) {
            compareH2(fields, mismatches);
        }
        proxy.control().server("d", "d").state(ServerState.DOWN);
        for (String raw : new String[] {"GET /x HTTP/1.1\r\nHost: shop.example.com\r\n", "GET /x HTTP/1.1\r\nHost: example.com\r\n"}) {
            compare(raw, port, "127.0.0.1", mismatches);
        }
        proxy.control().server("def", "def").maintenance();
        compare("GET /x HTTP/1.1\r\nHost: example.com\r\n", port, "127.0.0.1", mismatches);
        mismatches.forEach(System.out::println);
        assertThat(mismatches).isEmpty();
    }

    /**
     * A frontend's rule for field names with an underscore ({@code headersWithUnderscores}) applies
     * before its rules on the wire, and so in {@code route}: a dropped field is one the rules do not
     * see, a refused request is the engine's 400; over HTTP/1.1 and HTTP/2.
     */
    @Test
    void routeDropsAndRefusesUnderscoreFieldsAsTheFrontendDoes() throws Exception {
        String[] requests = {
            "GET /x HTTP/1.1\r\nHost: example.com\r\nX_Env: staging\r\n",
            "GET /x HTTP/1.1\r\nHost: example.com\r\nx_real_ip: 203.0.113.9\r\n",
            "GET /x HTTP/1.1\r\nHost: example.com\r\nX_Real_IP: 203.0.113.9\r\nX_Env: staging\r\n",
            "GET /x HTTP/1.1\r\nHost: example.com\r\nX_Other: 1\r\nCookie: beta=yes\r\n",
            "GET /x HTTP/1.1\r\nHost: example.com\r\nX-Env: staging\r\nCookie: beta=yes\r\n",
            "GET /x/../y HTTP/1.1\r\nHost: example.com\r\nX_Env: staging\r\n",
        };
        String[][] h2 = {
            {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "x_env", "staging"},
            {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "x_real_ip", "203.0.113.9"},
            {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "x_other", "1", "cookie", "beta=yes"},
            {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "x-env", "staging"},
        };
        List<String> mismatches = new ArrayList<>();
        int decisions = 0;
        for (String frontend : new String[] {"drop", "reject", "allow"}) {
            int p = proxy.localAddresses(frontend).get(0).getPort();
            for (String raw : requests) {
                compare(frontend, raw, p, mismatches);
                decisions++;
            }
            for (String[] fields : h2) {
                compareH2(frontend, p, fields, mismatches);
                decisions++;
            }
        }
        mismatches.forEach(System.out::println);
        assertThat(mismatches).isEmpty();
        assertThat(decisions).isEqualTo(30);
        // what route says, beside the wire's agreement above
        TestRequest staging = TestRequest.get("/x").header("X_Env", "staging");
        assertThat(((Decision.Forward) proxy.route("allow", staging)).backend()).isEqualTo("b");
        assertThat(((Decision.Forward) proxy.route("drop", staging)).backend()).isEqualTo("def");
        Decision.Deny refused = (Decision.Deny) proxy.route("reject", staging);
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.matched().index()).isEqualTo(-1);
        assertThat(refused.matched().condition()).contains("x_env");
        assertThat(proxy.routeAndPick("drop", staging).serverName()).isEqualTo("def");
        // a request without such a field is the rules' on every frontend
        assertThat(((Decision.Forward) proxy.route("reject", TestRequest.get("/x").header("X-Env", "staging"))).backend()).isEqualTo("def");
    }

    private static final int RESET = -1;

    /**
     * HTTP/2 (h2c, prior knowledge) requests as field lists, pseudo-header fields first; the
     * TestRequest a user writes for one: {@code :method}, {@code :path}, {@code host(:authority)},
     * the other fields as headers.
     */
    private static final String[][] H2_REQUESTS = {
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "shop.example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "SHOP.example.com.:8080"},
        {":method", "GET", ":scheme", "http", ":path", "/x", "host", "shop.example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "shop.example.com", "host", "shop.example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "a.example", "host", "shop.example.com"},
        {":method", "GET", ":scheme", "https", ":path", "/http/x?y=1", ":authority", "example.com:80"},
        {":method", "GET", ":scheme", "http", ":path", "/svc/a%2Fb;p=1?q", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x/../admin", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "//admin", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "cookie", "a=1", "cookie", "beta=yes"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "x-env", "prod", "x-env", "staging"},
        {":method", "GET", ":scheme", "http", ":path", "/hdr/x", ":authority", "example.com", "x-remove", "1"},
        {":method", "DELETE", ":scheme", "http", ":path", "/x", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/old/a?b", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x#f", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "x", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "u@shop.example.com"},
        {":method", "OPTIONS", ":scheme", "http", ":path", "*", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", "x-request-id", "abc", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "vh.example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/svc/y?z", ":authority", "a.vh.example.com:443"},
        {":method", "GET", ":scheme", "http", ":path", "/X/APP1", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/to8443/x?q", ":authority", "[2001:db8::1]:80"},
        {":method", "GET", ":scheme", "http", ":path", "/x?flag", ":authority", "example.com"},
        {":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.com", "cookie", "beta=no", "cookie", "beta=yes"},
        {":method", "POST", ":scheme", "http", ":path", "/svc/x", ":authority", "example.com"},
    };

    private void compareH2(String[] fields, List<String> mismatches) {
        compareH2(null, port, fields, mismatches);
    }

    /** Compares an h2c request to {@code frontend} (the first with rules when null) on {@code proxyPort}. */
    private void compareH2(String frontend, int proxyPort, String[] fields, List<String> mismatches) {
        String label = (frontend == null ? "" : frontend + ": ") + "h2c " + String.join(" ", fields);
        compare(frontend, label, () -> {
            TestRequest r = null;
            String method = null;
            String path = null;
            List<String[]> rest = new ArrayList<>();
            for (int i = 0; i < fields.length; i += 2) {
                switch (fields[i]) {
                    case ":method" -> method = fields[i + 1];
                    case ":path" -> path = fields[i + 1];
                    case ":scheme" -> { }
                    default -> rest.add(new String[] {fields[i], fields[i + 1]});
                }
            }
            r = TestRequest.request(method, path);
            for (String[] f : rest) {
                if (f[0].equals(":authority")) {
                    r.host(f[1]);
                } else if (f[0].equals("host") && f[1].equals(r.header("host"))) {
                    continue;   // a host equal to :authority says nothing more (RFC 9113 8.3.1)
                } else {
                    r.header(f[0], f[1]);
                }
            }
            return r;
        }, () -> h2c(proxyPort, fields), mismatches);
    }

    /** Sends one request on a new h2c connection; its response, with {@link #RESET} as status when the stream was reset. */
    private RawHttp.Response h2c(int proxyPort, String[] fields) throws Exception {
        Http2Headers headers = new DefaultHttp2Headers(false);
        for (int i = 0; i < fields.length; i += 2) {
            headers.add(fields[i], fields[i + 1]);
        }
        ByteBuf block = Unpooled.buffer();
        new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, true).encodeHeaders(1, headers, block);
        byte[] bytes = new byte[block.readableBytes()];
        block.readBytes(bytes);
        block.release();
        try (java.net.Socket s = Http2Test.h2c(proxyPort)) {
            s.getOutputStream().write(Http2Test.frame(1, 1, 0x4 | 0x1, bytes));
            s.getOutputStream().flush();
            DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder(false);
            Map<String, List<String>> response = new LinkedHashMap<>();
            int status = RESET;
            StringBuilder body = new StringBuilder();
            for (int n = 0; n < 100; n++) {
                Http2Test.Frame f = Http2Test.Frame.read(s.getInputStream());
                if (f == null || f.type() == 7 || f.type() == 3 && f.stream() == 1) {
                    return new RawHttp.Response(RESET, response, "");
                }
                if (f.stream() != 1) {
                    continue;
                }
                if (f.type() == 1) {
                    ByteBuf in = Unpooled.wrappedBuffer(f.payload());
                    Http2Headers h = hpack.decodeHeaders(1, in);
                    in.release();
                    for (Map.Entry<CharSequence, CharSequence> e : h) {
                        if (e.getKey().toString().equals(":status")) {
                            status = Integer.parseInt(e.getValue().toString());
                        } else {
                            response.computeIfAbsent(e.getKey().toString(), k -> new ArrayList<>()).add(e.getValue().toString());
                        }
                    }
                } else if (f.type() == 0) {
                    body.append(new String(f.payload(), java.nio.charset.StandardCharsets.UTF_8));
                }
                if (f.endsStream()) {
                    return new RawHttp.Response(status, response, body.toString());
                }
            }
            throw new IOException("no end of stream 1");
        }
    }

    /** The TestRequest a user writes for these bytes: the method, the target as sent, each header field. */
    static TestRequest testRequest(String raw, String source) {
        String head = raw.contains("\r\n\r\n") ? raw.substring(0, raw.indexOf("\r\n\r\n") + 2) : raw;
        String[] lines = head.split("\r\n");
        String[] line = lines[0].split(" ");
        TestRequest r = TestRequest.request(line[0], line[1]).source(source);
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            r.header(lines[i].substring(0, colon), lines[i].substring(colon + 1).trim());
        }
        return r;
    }

    private void compare(String raw, int proxyPort, String source, List<String> mismatches) throws IOException {
        compare(null, raw, proxyPort, source, mismatches);
    }

    private void compare(String frontend, String raw, int proxyPort, List<String> mismatches) throws IOException {
        compare(frontend, raw, proxyPort, "127.0.0.1", mismatches);
    }

    /** Compares an HTTP/1.1 request to {@code frontend} (the first with rules when null) on {@code proxyPort}. */
    private void compare(String frontend, String raw, int proxyPort, String source, List<String> mismatches) throws IOException {
        String label = (frontend == null ? "" : frontend + ": ") + raw.split("\r\n")[0] + " [" + raw.replace("\r\n", " | ") + "] from " + source;
        String bytes = raw.contains("\r\n\r\n") ? raw : raw + "\r\n";
        compare(frontend, label, () -> testRequest(raw, source), () -> {
            try (RawHttp c = new RawHttp(source, proxyPort)) {
                c.send(bytes);
                return c.read(raw.startsWith("HEAD"));
            }
        }, mismatches);
    }

    /** What the proxy answered, by whatever client. */
    @FunctionalInterface
    interface Wire {
        RawHttp.Response send() throws Exception;
    }

    private void compare(String frontend, String label, java.util.function.Supplier<TestRequest> made, Wire wire, List<String> mismatches) {
        servers.values().forEach(s -> s.requests.clear());
        TestRequest request;
        RouteResult routed;
        try {
            request = made.get();
            routed = frontend == null ? proxy.routeAndPick(request) : proxy.routeAndPick(frontend, request);
        } catch (IllegalArgumentException e) {
            // a request the engine refuses whatever the rules cannot be made: it must be a 400 there
            routed = null;
            request = null;
        }
        RawHttp.Response response;
        try {
            response = wire.send();
        } catch (Exception e) {
            mismatches.add(label + ": wire " + e + (routed == null ? "" : "; route " + routed.decision()));
            return;
        }
        RecordingBackend.Recorded seen = null;
        String server = null;
        for (RecordingBackend b : servers.values()) {
            if (!b.requests.isEmpty()) {
                seen = b.requests.get(0);
                server = b.name;
            }
        }
        if (routed == null) {
            if (response.status() != 400 && response.status() != RESET || seen != null) {
                mismatches.add(label + ": TestRequest refused it, wire " + response.status() + " at " + server);
            }
            return;
        }
        Decision d = routed.decision();
        List<String> diffs = new ArrayList<>();
        if (d instanceof Decision.Forward f) {
            String expectedServer = routed.serverName();
            if (seen == null) {
                diffs.add("route forwards to " + f.backend() + "/" + expectedServer + ", wire " + response.status() + " "
                        + response.body().trim());
            } else {
                if (!server.equals(expectedServer)) {
                    diffs.add("server: route " + expectedServer + ", wire " + server);
                }
                if (!seen.uri().equals(f.target(request))) {
                    diffs.add("target: route " + f.target(request) + ", wire " + seen.uri());
                }
                String host = f.host() != null ? f.host() : request.header("host");
                if (!String.valueOf(host).equals(String.valueOf(seen.header("host")))) {
                    diffs.add("Host: route " + host + ", wire " + seen.header("host"));
                }
                for (HeaderEdit e : f.requestHeaders()) {
                    List<String> values = seen.headers().getAll(e.name());
                    boolean ok = switch (e.op()) {
                        case SET -> values.equals(List.of(e.value()));
                        case ADD -> values.contains(e.value());
                        case REMOVE -> values.isEmpty();
                    };
                    if (!ok) {
                        diffs.add("request edit " + e + ": wire " + values);
                    }
                }
                checkResponseEdits(f.responseHeaders(), response, diffs);
            }
        } else {
            if (seen != null) {
                diffs.add("route " + d + ", wire forwarded to " + server + " as " + seen.uri());
            }
            if (d instanceof Decision.Deny deny) {
                expect(diffs, "status", deny.status(), response.status());
                expect(diffs, "body", deny.body(), response.body());
            } else if (d instanceof Decision.Redirect r) {
                expect(diffs, "status", r.status(), response.status());
                expect(diffs, "Location", r.location(), response.header("location"));
            } else if (d instanceof Decision.Respond r) {
                expect(diffs, "status", r.status(), response.status());
                expect(diffs, "body", r.body(), response.body());
                expect(diffs, "Content-Type", r.contentType(), response.header("content-type"));
            }
            checkResponseEdits(d.responseHeaders(), response, diffs);
        }
        if (!diffs.isEmpty()) {
            mismatches.add(label + ": " + diffs + " (route: " + d + ")");
        }
    }

    private static void checkResponseEdits(List<HeaderEdit> edits, RawHttp.Response response, List<String> diffs) {
        for (HeaderEdit e : edits) {
            List<String> values = response.headers().getOrDefault(e.name().toLowerCase(java.util.Locale.ROOT), List.of());
            boolean ok = switch (e.op()) {
                case SET -> values.equals(List.of(e.value()));
                case ADD -> values.contains(e.value());
                case REMOVE -> values.isEmpty();
            };
            if (!ok) {
                diffs.add("response edit " + e + ": wire " + values);
            }
        }
    }

    private static void expect(List<String> diffs, String what, Object route, Object wire) {
        if (!String.valueOf(route).equals(String.valueOf(wire))) {
            diffs.add(what + ": route " + route + ", wire " + wire);
        }
    }
}
