package io.lodestone.examples.haproxyseed;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.examples.Example;
import io.lodestone.examples.support.ExampleGateway;
import io.lodestone.l7.HttpFrontend;
import java.util.List;

/**
 * The seed HAProxy configuration's frontend, as Lodestone rules:
 *
 * <pre>
 * frontend http_front
 *     acl is_app1  path_end -i /app1
 *     acl is_app2  path_end -i /app2
 *     acl is_admin path_beg /admin
 *     http-request deny if is_admin
 *     use_backend app1 if is_app1
 *     use_backend app2 if is_app2
 *     default_backend allServers
 * backend app1
 *     balance source
 * </pre>
 *
 * The admin area stays denied under every spelling a backend would read as {@code /admin}
 * ({@code //admin}, {@code /%61dmin}, {@code /admin;x=1}, ...; a path with a dot segment, such as
 * {@code /x/../admin}, gets 400 before any rule), while allowed requests reach their backend with the
 * path exactly as the client sent it.
 *
 * <pre>{@code
 * try (ExampleGateway g = HaproxySeed.start(0)) {
 *     // GET g.url() + "/shop/app1" -> app1 (the same server for every request of this client)
 * }
 * }</pre>
 */
public final class HaproxySeed {

    /** The example's name for {@code run}. */
    public static final String NAME = "haproxy-seed";

    /** The port it listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the frontend, as in the seed. */
    public static final String FRONTEND = "http_front";

    private HaproxySeed() {
    }

    /** The seed's frontend. */
    public static HttpFrontend.Builder frontend(String address) {
        return HttpFrontend.bind(address).name(FRONTEND)
                .acl("is_app1", Acl.pathEndsIgnoreCase("/app1"))
                .acl("is_app2", Acl.pathEndsIgnoreCase("/app2"))
                .acl("is_admin", Acl.pathBegins("/admin"))
                .rule(Rule.whenNamed("is_admin").name("deny admin").deny(403))
                .rule(Rule.whenNamed("is_app1").use("app1"))
                .rule(Rule.whenNamed("is_app2").use("app2"))
                .defaultBackend("allServers");
    }

    /**
     * Starts six embedded servers (two per backend) and the gateway on {@code 127.0.0.1:port} (0:
     * chosen by the OS).
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static ExampleGateway start(int port) {
        return ExampleGateway.start(ExampleGateway.HOST, List.of("app1-a", "app1-b", "app2-a", "app2-b", "web1", "web2"),
                FRONTEND, servers -> Proxy.builder()
                        .backend(Backend.named("app1").balance(BalancingStrategy.sourceHash())
                                .server("app1-a", servers.get("app1-a").hostPort())
                                .server("app1-b", servers.get("app1-b").hostPort()))
                        .backend(Backend.named("app2").balance(BalancingStrategy.roundRobin())
                                .server("app2-a", servers.get("app2-a").hostPort())
                                .server("app2-b", servers.get("app2-b").hostPort()))
                        .backend(Backend.named("allServers").balance(BalancingStrategy.roundRobin())
                                .server("web1", servers.get("web1").hostPort())
                                .server("web2", servers.get("web2").hostPort()))
                        .frontend(frontend(ExampleGateway.HOST + ":" + port))
                        .build());
    }

    /** The example for {@code run haproxy-seed [--port N]}. */
    public static Example example() {
        return Example.withPort(NAME,
                "the seed HAProxy frontend: .../app1 and .../app2 to their backends, /admin denied, the rest to allServers",
                DEFAULT_PORT, (port, out) -> {
                    ExampleGateway g = HaproxySeed.start(port);
                    g.printIntro(out, "haproxy-seed", List.of(
                            "curl {url}/shop/app1          # app1, the same server every time (balance source)",
                            "curl {url}/shop/APP2          # app2, round robin (path_end -i)",
                            "curl {url}/admin              # 403",
                            "curl --path-as-is {url}//%61dmin         # still 403",
                            "curl {url}/anything           # allServers, round robin"));
                    return g;
                });
    }
}
