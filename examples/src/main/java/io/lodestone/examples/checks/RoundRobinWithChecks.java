package io.lodestone.examples.checks;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerListener;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Round robin over three web servers, each checked on {@code GET /status} (HAProxy's
 * {@code balance roundrobin} with {@code option httpchk GET /status} and {@code server web1 ... check}):
 * a server that fails {@code fall} checks in a row leaves the rotation, and comes back after
 * {@code rise} passing checks.
 *
 * <pre>{@code
 * try (RoundRobinWithChecks example = RoundRobinWithChecks.start(0, Duration.ofSeconds(2))) {
 *     example.setHealthy("web2", false);   // its /status answers 503: out after 3 checks
 * }
 * }</pre>
 */
public final class RoundRobinWithChecks implements Running {

    /** The port the gateway listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the backend. */
    public static final String BACKEND = "web";

    /** Passing checks in a row that bring a server back. */
    public static final int RISE = 2;

    /** Failing checks in a row that take a server out. */
    public static final int FALL = 3;

    private final List<EmbeddedHttpServer> servers;
    private final Map<String, Boolean> healthy;
    private final Proxy proxy;

    private RoundRobinWithChecks(List<EmbeddedHttpServer> servers, Map<String, Boolean> healthy, Proxy proxy) {
        this.servers = servers;
        this.healthy = healthy;
        this.proxy = proxy;
    }

    /**
     * Starts web1, web2 and web3 and the gateway on {@code 127.0.0.1:port}, checking every server each
     * {@code interval}; returns once all listen.
     */
    public static RoundRobinWithChecks start(int port, Duration interval) {
        Map<String, Boolean> healthy = new ConcurrentHashMap<>();
        List<EmbeddedHttpServer> servers = new ArrayList<>();
        try {
            Backend.Builder backend = Backend.named(BACKEND)
                    .balance(BalancingStrategy.roundRobin())
                    .healthCheck(HealthCheck.http("/status").interval(interval).rise(RISE).fall(FALL));
            for (String name : List.of("web1", "web2", "web3")) {
                healthy.put(name, true);
                EmbeddedHttpServer server = EmbeddedHttpServer.start(name, "127.0.0.1", 0, request -> {
                    if (request.uri().equals("/status")) {
                        return healthy.get(name)
                                ? EmbeddedHttpServer.Reply.text("ok\n")
                                : EmbeddedHttpServer.Reply.text(503, "failing\n");
                    }
                    return EmbeddedHttpServer.hello(request);
                });
                servers.add(server);
                backend.server(name, server.hostPort());
            }
            Proxy proxy = Proxy.builder()
                    .backend(backend)
                    .frontend(HttpFrontend.bind("127.0.0.1:" + port).name("www").defaultBackend(BACKEND))
                    .build();
            proxy.start();
            return new RoundRobinWithChecks(List.copyOf(servers), healthy, proxy);
        } catch (RuntimeException e) {
            servers.forEach(EmbeddedHttpServer::close);
            throw e;
        }
    }

    /** Makes a server's {@code /status} answer 200 ({@code true}) or 503 ({@code false}); its other answers do not change. */
    public void setHealthy(String server, boolean up) {
        if (!healthy.containsKey(server)) {
            throw new IllegalArgumentException("server: " + server + " (expected: one of " + healthy.keySet() + ")");
        }
        healthy.put(server, up);
    }

    /** The state the health checks gave a server. */
    public ServerState state(String server) {
        return proxy.control().server(BACKEND, server).state();
    }

    /** The running proxy. */
    public Proxy proxy() {
        return proxy;
    }

    /** The gateway's base URL. */
    public String url() {
        return "http://127.0.0.1:" + proxy.port() + "/";
    }

    /** The web servers. */
    public List<EmbeddedHttpServer> servers() {
        return servers;
    }

    /** Closes the gateway gracefully, then the servers. */
    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            servers.forEach(EmbeddedHttpServer::close);
        }
    }

    /** The example: {@code run checks [--port N]}, checking every 2 seconds. */
    public static Example example() {
        return Example.withPort("checks",
                "round robin over web1..web3 with HTTP health checks on /status (rise " + RISE + ", fall " + FALL + ")",
                DEFAULT_PORT, (port, out) -> {
                    RoundRobinWithChecks example = RoundRobinWithChecks.start(port, Duration.ofSeconds(2));
                    example.proxy().control().addListener(new ServerListener() {
                        @Override
                        public void stateChanged(ServerControl server, ServerState previous, ServerState current, String reason) {
                            out.println("checks: " + server.server().name() + " is " + current + " (was " + previous + "): " + reason);
                            out.flush();
                        }
                    });
                    out.println("Round robin with health checks on " + example.url() + " over:");
                    for (EmbeddedHttpServer s : example.servers()) {
                        out.println("  " + s.name() + " on " + s.hostPort() + " (checked: GET http://" + s.hostPort() + "/status every 2 s)");
                    }
                    out.println("Try: curl " + example.url() + "   (state changes are printed here; Ctrl-C stops)");
                    out.flush();
                    return example;
                });
    }
}
