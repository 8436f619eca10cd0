package io.lodestone.examples.rolling;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.RollingUpdate;
import io.lodestone.core.ServerControl;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A rolling update from v1 to v2 of three servers behind a health-checked gateway: each server in
 * turn is drained, stopped, started again as v2 on the same port, made ready and waited for until
 * its checks pass. The v2 build of {@code web3} is broken (its {@code /status} answers 500), so the
 * update stops there: web1 and web2 serve v2, web3 stays out of rotation, and no client saw an error.
 *
 * <pre>{@code
 * try (RollingUpdateExample example = RollingUpdateExample.start(0, Duration.ofSeconds(1), Duration.ofSeconds(10), Set.of("web3"))) {
 *     RollingUpdate.Result result = example.update().join();   // failed at web3, updated [web1, web2]
 * }
 * }</pre>
 */
public final class RollingUpdateExample implements Running {

    /** The port the gateway listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the backend. */
    public static final String BACKEND = "app";

    private static final List<String> NAMES = List.of("web1", "web2", "web3");

    private final Map<String, EmbeddedHttpServer> servers = new ConcurrentHashMap<>();
    private final Set<String> brokenInV2;
    private final Duration healthyTimeout;
    private final ExecutorService deployer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "deployer");
        t.setDaemon(true);
        return t;
    });
    private Proxy proxy;

    private RollingUpdateExample(Set<String> brokenInV2, Duration healthyTimeout) {
        this.brokenInV2 = Set.copyOf(brokenInV2);
        this.healthyTimeout = healthyTimeout;
    }

    /**
     * Starts web1..web3 at v1 and the gateway on {@code 127.0.0.1:port}, checking the servers every
     * {@code interval} (rise 2, fall 2); {@code brokenInV2} names the servers whose v2 will fail its
     * checks; an update waits at most {@code healthyTimeout} for each server to be healthy.
     */
    public static RollingUpdateExample start(int port, Duration interval, Duration healthyTimeout, Set<String> brokenInV2) {
        RollingUpdateExample example = new RollingUpdateExample(brokenInV2, healthyTimeout);
        try {
            Backend.Builder backend = Backend.named(BACKEND)
                    .healthCheck(HealthCheck.http("/status").interval(interval).rise(2).fall(2));
            for (String name : NAMES) {
                EmbeddedHttpServer server = version(name, "v1", true, 0);
                example.servers.put(name, server);
                backend.server(name, server.hostPort());
            }
            example.proxy = Proxy.builder()
                    .backend(backend)
                    .frontend(HttpFrontend.bind("127.0.0.1:" + port).name("www").defaultBackend(BACKEND))
                    .build();
            example.proxy.start();
            return example;
        } catch (RuntimeException e) {
            example.close();
            throw e;
        }
    }

    private static EmbeddedHttpServer version(String name, String version, boolean healthy, int port) {
        return EmbeddedHttpServer.start(name, "127.0.0.1", port, request -> {
            if (request.uri().equals("/status")) {
                return healthy ? EmbeddedHttpServer.Reply.text("ok\n") : EmbeddedHttpServer.Reply.text(500, "broken build\n");
            }
            return EmbeddedHttpServer.Reply.text("hello from " + name + " " + version + ": " + request.method() + " " + request.uri() + "\n");
        });
    }

    /**
     * Runs the rolling update to v2; the future completes with the result once every server is
     * updated or the update stopped at one.
     */
    public CompletableFuture<RollingUpdate.Result> update() {
        RollingUpdate update = RollingUpdate.builder(BACKEND, this::deploy)
                .drainTimeout(Duration.ofSeconds(10))
                .healthyTimeout(healthyTimeout)
                .build();
        return proxy.control().rollingUpdate(update);
    }

    /** Stops the v1 process and starts v2 on the same port, off the proxy's event loop. */
    private CompletableFuture<Void> deploy(ServerControl server) {
        String name = server.server().name();
        return CompletableFuture.runAsync(() -> {
            EmbeddedHttpServer old = servers.get(name);
            int port = old.port();
            old.close();
            servers.put(name, version(name, "v2", !brokenInV2.contains(name), port));
        }, deployer);
    }

    /** The running proxy. */
    public Proxy proxy() {
        return proxy;
    }

    /** The gateway's base URL. */
    public String url() {
        return "http://127.0.0.1:" + proxy.port() + "/";
    }

    /** Closes the gateway gracefully, then the servers. */
    @Override
    public void close() {
        try {
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            deployer.shutdownNow();
            servers.values().forEach(EmbeddedHttpServer::close);
        }
    }

    /** The example: {@code run rolling [--port N]}; starts the update at once and prints its outcome. */
    public static Example example() {
        return Example.withPort("rolling",
                "a rolling update of web1..web3 to v2 that stops at web3, whose v2 fails its health checks",
                DEFAULT_PORT, (port, out) -> {
                    RollingUpdateExample example = RollingUpdateExample.start(port,
                            Duration.ofSeconds(1), Duration.ofSeconds(15), Set.of("web3"));
                    out.println("Rolling update demo on " + example.url() + ": web1..web3 serve v1; updating to v2 now.");
                    out.println("Try while it runs: curl " + example.url() + "   (no request fails)");
                    out.flush();
                    example.update().thenAccept(result -> {
                        out.println("rolling update: " + result);
                        out.flush();
                    });
                    return example;
                });
    }
}
