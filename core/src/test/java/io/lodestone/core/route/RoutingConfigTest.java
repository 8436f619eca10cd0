package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RoutingConfigTest {

    @Test
    void unknownNamedAclNamesTheRule() {
        Routing.Builder b = Routing.builder()
                .acl("is_admin", Acl.pathBegins("/admin"))
                .rule(Rule.when(Acl.path("/")).use("app"))
                .rule(Rule.whenNamed("is_admn").name("deny-admin").deny());
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frontend rule #1 'deny-admin' acl: is_admn (no such named ACL; known: [is_admin])");
    }

    @Test
    void unknownNameInsideAVirtualHostOrANamedAcl() {
        assertThatThrownBy(() -> Routing.builder()
                .virtualHost("example.com", vh -> vh.rule(Rule.when(Acl.or(Acl.path("/"), Acl.named("nope"))).use("a")))
                .build()).hasMessage("host example.com rule #0 acl: nope (no such named ACL; known: [])");
        assertThatThrownBy(() -> Routing.builder().acl("a", Acl.not(Acl.named("b"))).build())
                .hasMessage("acl a acl: b (no such named ACL; known: [a])");
    }

    @Test
    void aNullRuleListNamesItsParameter() {
        assertThatThrownBy(() -> Routing.builder().rules((Rule[]) null)).isInstanceOf(NullPointerException.class).hasMessage("rules");
        assertThatThrownBy(() -> Routing.builder().rules(Rule.always().use("a"), null)).isInstanceOf(NullPointerException.class)
                .hasMessage("rule");
    }

    @Test
    void namedAclCyclesAreRejected() {
        assertThatThrownBy(() -> Routing.builder()
                .acl("a", Acl.named("b"))
                .acl("b", Acl.and(Acl.path("/"), Acl.named("a")))
                .build()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cycle");
    }

    @Test
    void badStatusesAndValues() {
        assertThatThrownBy(() -> Rule.always().deny(200)).hasMessage("deny status: 200 (expected: 400..599)");
        assertThatThrownBy(() -> Rule.always().redirect(200, "/x")).hasMessage("redirect status: 200 (expected: 301, 302, 303, 307 or 308)");
        assertThatThrownBy(() -> Rule.always().redirectScheme(304, "https")).hasMessageStartingWith("redirect status: 304");
        assertThatThrownBy(() -> Rule.always().redirectScheme(301, "ht tp")).hasMessage("redirect scheme: ht tp (expected: a URI scheme such as https)");
        assertThatThrownBy(() -> Rule.always().respond(99, "x")).hasMessage("respond status: 99 (expected: 200..599)");
        assertThatThrownBy(() -> Rule.always().respond(600, "x")).hasMessage("respond status: 600 (expected: 200..599)");
        assertThatThrownBy(() -> Rule.always().setRequestHeader("Bad Name", "v")).hasMessage("set header name: Bad Name (expected: an HTTP token)");
        assertThatThrownBy(() -> Rule.always().addResponseHeader("X-A", "a\r\nb")).hasMessageStartingWith("add header X-A value:");
        assertThatThrownBy(() -> Rule.always().stripPrefix("svc")).hasMessage("stripPrefix: svc (expected: a path starting with /)");
        assertThatThrownBy(() -> Rule.always().stripPrefix("/")).hasMessage("stripPrefix: / (expected: a prefix longer than /)");
        assertThatThrownBy(() -> Rule.always().replacePath("(", "/x")).hasMessageStartingWith("replacePath regex: ( (invalid regular expression");
        assertThatThrownBy(() -> Rule.always().replacePath("^/(a)", "/$2")).hasMessageStartingWith("replacePath replacement: /$2");
        assertThatThrownBy(() -> Rule.always().use("")).hasMessage("use: \"\" (expected: a backend name)");
        assertThatThrownBy(() -> Rule.always().name(" ")).hasMessageStartingWith("rule name:");
        assertThatThrownBy(() -> Routing.builder().virtualHost("exa mple.com", vh -> { })).hasMessage("virtualHost: exa mple.com (expected: a host name or *.domain)");
        assertThatThrownBy(() -> Routing.builder().acl("a", Acl.always()).acl("a", Acl.never())).hasMessage("acl name: a (expected: unique within the routing)");
    }

    @Test
    void headerValuesThatCannotBeSentAsTheyAreAreRefused() {
        // Netty refuses a control character or a leading space when the message is written: every
        // request the rule matched was a 500 (a request edit, respond, redirect) or a connection
        // closed without a response (a response edit); an end space or tab makes an HTTP/2 field
        // malformed, and a character past U+00FF went as '?'
        String expected = " (expected: a header field value: no control character but a tab, no space or tab at either end,"
                + " no character past U+00FF)";
        assertThatThrownBy(() -> Rule.always().setRequestHeader("X-A", " lead"))
                .hasMessage("set header X-A value: \" lead\"" + expected);
        assertThatThrownBy(() -> Rule.always().addRequestHeader("X-A", "a\u0001b"))
                .hasMessage("add header X-A value: \"a\\u0001b\"" + expected);
        assertThatThrownBy(() -> Rule.always().setResponseHeader("X-A", "a\u007fb"))
                .hasMessage("set header X-A value: \"a\\u007fb\"" + expected);
        assertThatThrownBy(() -> Rule.always().addResponseHeader("X-A", "end\t"))
                .hasMessage("add header X-A value: \"end\\u0009\"" + expected);
        assertThatThrownBy(() -> Rule.always().setResponseHeader("X-A", "a\r\nX-B: b"))
                .hasMessage("set header X-A value: \"a\\u000d\\u000aX-B: b\"" + expected);
        assertThatThrownBy(() -> Rule.always().setResponseHeader("X-A", "\u2192"))
                .hasMessage("set header X-A value: \"\\u2192\"" + expected);
        assertThatThrownBy(() -> Rule.always().setRequestHeader("X-A", null))
                .hasMessage("set header X-A value: null (expected: a header field value)");
        assertThatThrownBy(() -> Rule.always().respond(200, "text/plain\r\nX-B: b", "hi"))
                .hasMessageStartingWith("respond contentType: \"text/plain\\u000d\\u000aX-B: b\" (expected: a header field value");
        assertThatThrownBy(() -> Rule.always().redirect(302, "/x\r\nX-B: b"))
                .hasMessageStartingWith("redirect location: \"/x\\u000d\\u000aX-B: b\" (expected: a header field value");
        assertThatThrownBy(() -> Rule.always().redirectPrefix(302, " https://a.example"))
                .hasMessageStartingWith("redirect prefix: \" https://a.example\" (expected: a header field value");
        assertThatThrownBy(() -> Rule.always().setHost("api\u0001.internal"))
                .hasMessage("setHost: api\u0001.internal (expected: host or host:port)");
        assertThatThrownBy(() -> Rule.always().setHost("api\t.internal"))
                .hasMessage("setHost: api\t.internal (expected: host or host:port)");
        // a tab or a space inside, Latin-1 and an empty value are sent as they are
        Rule.always().setRequestHeader("X-A", "a\tb c");
        Rule.always().setResponseHeader("X-A", "caf\u00e9");
        Rule.always().setResponseHeader("X-A", "");
        Rule.always().respond(200, "text/plain; charset=utf-8", "hi");
    }

    @Test
    void connectionOnlyRoutingRejectsHttpAclsAndActions() {
        assertThatThrownBy(() -> Routing.builder().connectionOnly()
                .rule(Rule.when(Acl.pathBegins("/x")).use("a")).build())
                .hasMessageStartingWith("frontend rule #0 acl: path_beg /x (expected: connection ACLs only");
        assertThatThrownBy(() -> Routing.builder().connectionOnly()
                .acl("web", Acl.or(Acl.sni("a.example"), Acl.hostBegins("api.")))
                .rule(Rule.whenNamed("web").name("r").use("a")).build())
                .hasMessageStartingWith("frontend rule #0 'r' acl: web (expected: connection ACLs only");
        assertThatThrownBy(() -> Routing.builder().connectionOnly()
                .rule(Rule.when(Acl.sni("a.example")).redirect(302, "/")).build())
                .hasMessage("frontend rule #0 action: redirect location / code 302 (expected: use or reject on a connection-only routing)");
        assertThatThrownBy(() -> Routing.builder().connectionOnly().virtualHost("a.example", vh -> vh.defaultBackend("a")).build())
                .hasMessageStartingWith("virtualHost: a.example");
    }

    @Test
    void checkBackendsNamesTheRuleAndTheBackend() {
        Routing routing = Routing.builder()
                .rule(Rule.when(Acl.pathBegins("/a")).use("a"))
                .rule(Rule.when(Acl.usableServersBelow("c", 1)).deny(503))
                .rule(Rule.when(Acl.pathBegins("/b")).name("to-b").use("b", "b-spare"))
                .defaultBackend("a")
                .build();
        assertThat(routing.backendNames()).containsExactlyInAnyOrder("a", "b", "b-spare", "c");
        routing.checkBackends("web", java.util.Set.of("a", "b", "b-spare", "c"));
        assertThatThrownBy(() -> routing.checkBackends("web", java.util.Set.of("a", "b", "c")))
                .hasMessage("frontend web rule #2 'to-b' use backup: b-spare (no such backend; known: [a, b, c])");
        assertThatThrownBy(() -> routing.checkBackends("web", java.util.Set.of("a", "b", "b-spare")))
                .hasMessage("frontend web rule #1 acl nbsrv: c (no such backend; known: [a, b, b-spare])");
    }

    @Test
    void aBackupBackendCannotBeTheBackendItBacksUp() {
        // a backend that backs itself up takes over when it has no usable server itself: never
        assertThatThrownBy(() -> Rule.always().use("app", "app"))
                .hasMessage("use backup: app (expected: a backend other than app, which it backs up)");
        assertThatThrownBy(() -> Routing.builder().defaultBackend("app", "app"))
                .hasMessage("defaultBackend backup: app (expected: a backend other than app, which it backs up)");
        assertThatThrownBy(() -> Routing.builder().virtualHost("example.com", vh -> vh.defaultBackend("app", "app")))
                .hasMessage("defaultBackend backup: app (expected: a backend other than app, which it backs up)");
        assertThat(Routing.builder().rule(Rule.always().use("app", "spare")).defaultBackend("app", "spare").build()
                .backendNames()).containsExactlyInAnyOrder("app", "spare");
    }

    @Test
    void theBuilderStaysUsable() {
        Routing.Builder b = Routing.builder().rule(Rule.always().use("a"));
        Routing first = b.build();
        b.rule(Rule.always().use("b"));
        Routing second = b.build();
        assertThat(first.rules()).hasSize(1);
        assertThat(second.rules()).hasSize(2);
    }
}
