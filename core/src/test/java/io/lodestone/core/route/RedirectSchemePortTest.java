package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link Rule.Builder#redirectScheme}: which port the location keeps, drops or gets. */
class RedirectSchemePortTest {

    private static String location(Rule rule, String host) {
        Router r = Routing.builder().rule(rule).defaultBackend("app").build().router(BackendStates.allUp());
        TestRequest req = TestRequest.get("/a/b?x=1");
        if (host != null) {
            req.host(host);
        }
        return ((Decision.Redirect) r.route(req)).location();
    }

    @Test
    void withoutAPortTheDefaultPortsAreDroppedAndOthersKept() {
        Rule https = Rule.always().redirectScheme(301, "https");
        assertThat(location(https, "www.example")).isEqualTo("https://www.example/a/b?x=1");
        assertThat(location(https, "www.example:80")).isEqualTo("https://www.example/a/b?x=1");
        assertThat(location(https, "[2001:db8::1]:80")).isEqualTo("https://[2001:db8::1]/a/b?x=1");
        assertThat(location(https, "[2001:db8::1]")).isEqualTo("https://[2001:db8::1]/a/b?x=1");
        assertThat(location(https, "www.example:8080")).isEqualTo("https://www.example:8080/a/b?x=1");
        assertThat(location(Rule.always().redirectScheme(301, "http"), "www.example:443")).isEqualTo("http://www.example/a/b?x=1");
    }

    @Test
    void aDefaultPortIsReadAsANumberAndAnEmptyOneIsDropped() {
        // RFC 3986's port is digits, leading zeros allowed, and an empty one is the default (3.2.3):
        // :080 is port 80, which a location under https would name as its port
        Rule https = Rule.always().redirectScheme(301, "https");
        assertThat(location(https, "www.example:080")).isEqualTo("https://www.example/a/b?x=1");
        assertThat(location(https, "www.example:00443")).isEqualTo("https://www.example/a/b?x=1");
        assertThat(location(https, "[2001:db8::1]:0080")).isEqualTo("https://[2001:db8::1]/a/b?x=1");
        assertThat(location(https, "www.example:")).isEqualTo("https://www.example/a/b?x=1");
        assertThat(location(https, "www.example:0")).isEqualTo("https://www.example:0/a/b?x=1");
        assertThat(location(https, "www.example:8443")).isEqualTo("https://www.example:8443/a/b?x=1");
        assertThat(location(https, "www.example:800")).isEqualTo("https://www.example:800/a/b?x=1");
        assertThat(location(https, "www.example:4430")).isEqualTo("https://www.example:4430/a/b?x=1");
    }

    @Test
    void aTargetPortReplacesTheHostsPortAndIsLeftOutWhenItIsTheSchemesDefault() {
        Rule to8443 = Rule.always().redirectScheme(301, "https", 8443);
        assertThat(location(to8443, "www.example:8080")).isEqualTo("https://www.example:8443/a/b?x=1");
        assertThat(location(to8443, "www.example")).isEqualTo("https://www.example:8443/a/b?x=1");
        assertThat(location(to8443, "[::1]:8080")).isEqualTo("https://[::1]:8443/a/b?x=1");
        assertThat(location(to8443, "[::1]")).isEqualTo("https://[::1]:8443/a/b?x=1");
        Rule to443 = Rule.always().redirectScheme(308, "https", 443);
        assertThat(location(to443, "www.example:8080")).isEqualTo("https://www.example/a/b?x=1");
        assertThat(to8443.toString()).contains("redirect scheme https port 8443 code 301");
        assertThatThrownBy(() -> Rule.always().redirectScheme(301, "https", 0)).hasMessage("redirect port: 0 (expected: 1..65535)");
    }
}
