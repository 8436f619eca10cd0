package io.lodestone.examples.nginxpaths;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.examples.Example;
import io.lodestone.examples.support.ExampleGateway;
import io.lodestone.l7.HttpFrontend;
import java.util.List;

/**
 * The path router of the seed nginx tutorial, as Lodestone rules:
 *
 * <pre>
 * location /service1/ { proxy_pass http://service1/; }     # the prefix is stripped
 * location /service2/ { proxy_pass http://service2/; }
 * location /          { return 200 'Welcome to the reverse proxy!'; }
 * </pre>
 *
 * A request for {@code /service1/} reaches service1 as {@code /}, {@code /service1/a?b=1} as
 * {@code /a?b=1}; {@code /service1} without the slash is routed too. Every other path, as nginx's
 * {@code location /} does, is answered by the proxy itself.
 *
 * <pre>{@code
 * try (ExampleGateway g = NginxPaths.start(0)) {
 *     // GET g.url() + "/service1/hello" -> "hello from service1: GET /hello"
 * }
 * }</pre>
 */
public final class NginxPaths {

    /** The example's name for {@code run}. */
    public static final String NAME = "nginx-paths";

    /** The port it listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the frontend. */
    public static final String FRONTEND = "nginx";

    /** What the proxy answers for every path that is not a service's. */
    public static final String WELCOME = "Welcome to the reverse proxy!";

    private NginxPaths() {
    }

    /**
     * The frontend: for each service, strip its prefix, then use its backend; everything else gets
     * the welcome text.
     */
    public static HttpFrontend.Builder frontend(String address) {
        return HttpFrontend.bind(address).name(FRONTEND)
                .acl("service1", under("/service1"))
                .acl("service2", under("/service2"))
                .rule(Rule.whenNamed("service1").stripPrefix("/service1"))
                .rule(Rule.whenNamed("service1").use("service1"))
                .rule(Rule.whenNamed("service2").stripPrefix("/service2"))
                .rule(Rule.whenNamed("service2").use("service2"))
                .rule(Rule.always().name("location /").respond(200, WELCOME));
    }

    /** The path itself or anything below it: {@code /service1} and {@code /service1/...}, not {@code /service10}. */
    private static Acl under(String prefix) {
        return Acl.or(Acl.path(prefix), Acl.pathBegins(prefix + "/"));
    }

    /**
     * Starts the two services and the gateway on {@code 127.0.0.1:port} (0: chosen by the OS).
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static ExampleGateway start(int port) {
        return ExampleGateway.start(ExampleGateway.HOST, List.of("service1", "service2"), FRONTEND,
                servers -> Proxy.builder()
                        .backend(Backend.named("service1").server("service1", servers.get("service1").hostPort()))
                        .backend(Backend.named("service2").server("service2", servers.get("service2").hostPort()))
                        .frontend(frontend(ExampleGateway.HOST + ":" + port))
                        .build());
    }

    /** The example for {@code run nginx-paths [--port N]}. */
    public static Example example() {
        return Example.withPort(NAME,
                "the nginx tutorial's path router: /service1 and /service2 (prefix stripped), a welcome page for the rest",
                DEFAULT_PORT, (port, out) -> {
                    ExampleGateway g = NginxPaths.start(port);
                    g.printIntro(out, "nginx-paths", List.of(
                            "curl {url}/service1/          # service1 sees GET /",
                            "curl {url}/service2/a?b=1     # service2 sees GET /a?b=1",
                            "curl {url}/                   # " + WELCOME));
                    return g;
                });
    }
}
