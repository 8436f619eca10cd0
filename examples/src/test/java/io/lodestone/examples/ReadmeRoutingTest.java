package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.HeaderEdit;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.l7.HttpFrontend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's routing section: its snippets build as written, and its test class is the one the build runs. */
class ReadmeRoutingTest {

    @Test
    void theReadmesRoutingTestIsTheClassTheBuildRuns() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("```java\n(import static[^`]*?class GatewayRulesTest.*?)```", Pattern.DOTALL).matcher(readme);
        assertThat(m.find()).as("the README has the GatewayRulesTest block").isTrue();
        String source = Files.readString(Path.of("src/test/java/io/lodestone/examples/GatewayRulesTest.java"), StandardCharsets.UTF_8);
        assertThat(source).isEqualTo("package io.lodestone.examples;\n\n" + m.group(1));
    }

    @Test
    void theFrontendSnippetBuildsAndRoutes() {
        HttpFrontend.Builder frontend = HttpFrontend.bind(8080)
                .acl("is_admin", Acl.pathBegins("/admin"))
                .acl("office", Acl.source("10.0.0.0/8", "2001:db8::/32"))
                .rule(Rule.when(Acl.and(Acl.named("is_admin"), Acl.not(Acl.named("office")))).name("no-admin").deny(403))
                .rule(Rule.always().setRequestHeader("X-Forwarded-Proto", "https"))
                .rule(Rule.when(Acl.pathBegins("/service1")).stripPrefix("/service1"))
                .rule(Rule.when(Acl.pathBegins("/service1")).use("service1"))
                .rule(Rule.when(Acl.path("/")).respond(200, "Welcome to the reverse proxy!"))
                .rule(Rule.when(Acl.hostBegins("www.")).redirectPrefix(301, "https://example.com"))
                .virtualHost("static.example.com", vh -> vh.defaultBackend("static"))
                .defaultBackend("allServers", "backupServers");
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("service1").server("s", "10.0.1.1:80"))
                .backend(Backend.named("static").server("s", "10.0.1.2:80"))
                .backend(Backend.named("allServers").server("s", "10.0.1.3:80"))
                .backend(Backend.named("backupServers").server("s", "10.0.1.4:80"))
                .frontend(frontend)
                .build()) {
            assertThat(proxy.route(TestRequest.get("/admin").source("192.0.2.1"))).isInstanceOf(Decision.Deny.class);
            Decision.Forward office = (Decision.Forward) proxy.route(TestRequest.get("/admin").source("10.1.2.3"));
            assertThat(office.backend()).isEqualTo("allServers");
            assertThat(office.requestHeaders()).containsExactly(new HeaderEdit(HeaderEdit.Op.SET, "X-Forwarded-Proto", "https"));
            Decision.Forward service = (Decision.Forward) proxy.route(TestRequest.get("/service1/a?b=1"));
            assertThat(service.backend()).isEqualTo("service1");
            assertThat(service.path()).isEqualTo("/a");
            assertThat(proxy.route(TestRequest.get("/"))).isInstanceOf(Decision.Respond.class);
            assertThat(((Decision.Redirect) proxy.route(TestRequest.get("/x").host("www.example.org"))).location())
                    .isEqualTo("https://example.com/x");
            assertThat(((Decision.Forward) proxy.route(TestRequest.get("/x").host("static.example.com"))).backend()).isEqualTo("static");
        }
    }

    @Test
    void theTcpSnippetBuildsAndRoutes() {
        TcpFrontend.Builder frontend = TcpFrontend.bind(5432)
                .rule(Rule.when(Acl.source("10.0.0.0/8")).use("db-internal"))
                .rule(Rule.when(Acl.not(Acl.source("192.0.2.0/24"))).reject())
                .defaultBackend("db", "db-replica");
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("db-internal").server("s", "10.0.1.1:5432"))
                .backend(Backend.named("db").server("s", "10.0.1.2:5432"))
                .backend(Backend.named("db-replica").server("s", "10.0.1.3:5432"))
                .frontend(frontend)
                .build()) {
            assertThat(((Decision.Forward) proxy.route(TestRequest.connection().source("10.9.9.9"))).backend()).isEqualTo("db-internal");
            assertThat(((Decision.Forward) proxy.route(TestRequest.connection().source("192.0.2.5"))).backend()).isEqualTo("db");
            assertThat(proxy.route(TestRequest.connection().source("198.51.100.1"))).isInstanceOf(Decision.Deny.class);
        }
    }
}
