package io.lodestone.examples.canary;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import java.io.PrintStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A canary release: requests are split by weight between the stable version and the canary, and the
 * split is changed at run time with {@code proxy.control()}, without a restart and without dropping a
 * connection. The split starts at 80/20; {@link #split(int, int)} moves it, e.g. to 50/50, then to
 * 0/100 to promote the canary or 100/0 to roll it back.
 *
 * <pre>{@code
 * try (Canary canary = Canary.start(0)) {
 *     canary.split(50, 50);
 *     canary.split(0, 100);    // promoted
 * }
 * }</pre>
 */
public final class Canary implements Running {

    /** The port the gateway listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the backend. */
    public static final String BACKEND = "app";

    private final EmbeddedHttpServer stable;
    private final EmbeddedHttpServer canary;
    private final Proxy proxy;

    private Canary(EmbeddedHttpServer stable, EmbeddedHttpServer canary, Proxy proxy) {
        this.stable = stable;
        this.canary = canary;
        this.proxy = proxy;
    }

    /** Starts the stable and canary servers and the gateway on {@code 127.0.0.1:port}, split 80/20. */
    public static Canary start(int port) {
        EmbeddedHttpServer stable = EmbeddedHttpServer.start("stable", "127.0.0.1", 0);
        EmbeddedHttpServer canary = null;
        try {
            canary = EmbeddedHttpServer.start("canary", "127.0.0.1", 0);
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named(BACKEND)
                            .server("stable", stable.hostPort(), s -> s.weight(80))
                            .server("canary", canary.hostPort(), s -> s.weight(20)))
                    .frontend(HttpFrontend.bind("127.0.0.1:" + port).name("www").defaultBackend(BACKEND))
                    .build();
            proxy.start();
            return new Canary(stable, canary, proxy);
        } catch (RuntimeException e) {
            stable.close();
            if (canary != null) {
                canary.close();
            }
            throw e;
        }
    }

    /**
     * Sets the split: the stable and canary weights (each 0..256, not both 0); e.g. 80/20 sends
     * four requests in five to stable. Takes effect from the next request.
     */
    public void split(int stableWeight, int canaryWeight) {
        if (stableWeight == 0 && canaryWeight == 0) {
            throw new IllegalArgumentException("split: 0/0 (expected: at least one positive weight)");
        }
        proxy.control().server(BACKEND, "stable").weight(stableWeight);
        proxy.control().server(BACKEND, "canary").weight(canaryWeight);
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
            proxy.close();
        } finally {
            stable.close();
            canary.close();
        }
    }

    /** The example: {@code run canary [--port N]}; moves 80/20 to 50/50 after 20 s, then to 0/100 after 20 s more. */
    public static Example example() {
        return Example.withPort("canary",
                "a canary split 80/20 between stable and canary, moved at run time to 50/50, then 0/100",
                DEFAULT_PORT, (port, out) -> {
                    Canary canary = Canary.start(port);
                    ScheduledExecutorService steps = Executors.newSingleThreadScheduledExecutor(r -> {
                        Thread t = new Thread(r, "canary-steps");
                        t.setDaemon(true);
                        return t;
                    });
                    out.println("Canary on " + canary.url() + ": stable/canary 80/20; 50/50 in 20 s; 0/100 in 40 s.");
                    out.println("Try: for i in $(seq 10); do curl -s " + canary.url() + "; done");
                    out.flush();
                    steps.schedule(() -> step(canary, out, 50, 50), 20, TimeUnit.SECONDS);
                    steps.schedule(() -> step(canary, out, 0, 100), 40, TimeUnit.SECONDS);
                    return () -> {
                        steps.shutdownNow();
                        canary.close();
                    };
                });
    }

    private static void step(Canary canary, PrintStream out, int stable, int next) {
        canary.split(stable, next);
        out.println("canary: split is now stable/canary " + stable + "/" + next);
        out.flush();
    }
}
