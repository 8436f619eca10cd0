package io.lodestone.examples.vhosts;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.examples.Example;
import io.lodestone.examples.support.ExampleGateway;
import io.lodestone.l7.HttpFrontend;
import java.util.List;

/**
 * Host-based virtual hosting and the seed's backup fail-over:
 *
 * <pre>
 * use_backend www    if { hdr(host) -i www.example.com }
 * use_backend api    if { hdr_end(host) -i .api.example.com }   # also api.example.com itself
 * use_backend backup if { nbsrv(allServers) lt 1 }
 * default_backend allServers
 * </pre>
 *
 * Each host has its own rule table ({@code api.example.com} strips {@code /v1} and tells the API
 * servers who asked); requests for any other host go to {@code allServers}, or to {@code backup}
 * once every server of {@code allServers} is down, drained or in maintenance, and back when one
 * returns.
 *
 * <pre>{@code
 * try (ExampleGateway g = VirtualHosts.start(0)) {
 *     g.proxy().control().server("allServers", "web1").maintenance();
 *     g.proxy().control().server("allServers", "web2").maintenance();
 *     // any other host is now served by "spare", the backup backend's server
 * }
 * }</pre>
 */
public final class VirtualHosts {

    /** The example's name for {@code run}. */
    public static final String NAME = "vhosts";

    /** The port it listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the frontend. */
    public static final String FRONTEND = "vhosts";

    private VirtualHosts() {
    }

    /** The frontend: one table per host, then the backup rule and the default backend. */
    public static HttpFrontend.Builder frontend(String address) {
        return HttpFrontend.bind(address).name(FRONTEND)
                .virtualHost("www.example.com", vh -> vh.defaultBackend("www"))
                .virtualHost("api.example.com", vh -> vh
                        .rule(Rule.when(Acl.pathBegins("/v1/")).stripPrefix("/v1"))
                        .rule(Rule.always().setRequestHeader("X-Api-Host", "api.example.com"))
                        .defaultBackend("api"))
                .virtualHost("*.api.example.com", vh -> vh.defaultBackend("api"))
                .rule(Rule.when(Acl.usableServersBelow("allServers", 1)).name("backup if nbsrv(allServers) lt 1").use("backup"))
                .defaultBackend("allServers");
    }

    /**
     * Starts six embedded servers and the gateway on {@code 127.0.0.1:port} (0: chosen by the OS).
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static ExampleGateway start(int port) {
        return ExampleGateway.start(ExampleGateway.HOST, List.of("www1", "api1", "api2", "web1", "web2", "spare"),
                FRONTEND, servers -> Proxy.builder()
                        .backend(Backend.named("www").server("www1", servers.get("www1").hostPort()))
                        .backend(Backend.named("api")
                                .server("api1", servers.get("api1").hostPort())
                                .server("api2", servers.get("api2").hostPort()))
                        .backend(Backend.named("allServers")
                                .server("web1", servers.get("web1").hostPort())
                                .server("web2", servers.get("web2").hostPort()))
                        .backend(Backend.named("backup").server("spare", servers.get("spare").hostPort()))
                        .frontend(frontend(ExampleGateway.HOST + ":" + port))
                        .build());
    }

    /** The example for {@code run vhosts [--port N]}. */
    public static Example example() {
        return Example.withPort(NAME,
                "host-based virtual hosting, and a backup backend when allServers has no usable server",
                DEFAULT_PORT, (port, out) -> {
                    ExampleGateway g = VirtualHosts.start(port);
                    g.printIntro(out, "vhosts", List.of(
                            "curl -H 'Host: www.example.com' {url}/        # www",
                            "curl -H 'Host: api.example.com' {url}/v1/x    # api, as /x",
                            "curl -H 'Host: eu.api.example.com' {url}/     # api",
                            "curl -H 'Host: other.org' {url}/              # allServers (backup when none is usable)"));
                    return g;
                });
    }
}
