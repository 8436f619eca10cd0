package io.lodestone.examples.staticcache;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.ExampleGateway;
import io.lodestone.l7.Compression;
import io.lodestone.l7.HttpFrontend;
import io.lodestone.l7.ResponseCache;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A static-content gateway: a response cache and compression in front of an origin that takes
 * {@value #ORIGIN_DELAY_MILLIS} ms for every answer. The origin serves a few files with
 * {@code Cache-Control: public, max-age=60} and an {@code ETag}; the first request for a file waits
 * for the origin, the next ones for a minute are answered from the gateway's memory
 * ({@code X-Cache: HIT}), and after that the gateway revalidates with the origin, which answers
 * {@code 304} for an unchanged file. Text of 1 KiB or more is compressed for clients that accept it
 * (the cache keeps one uncompressed copy). While it runs it prints its hit ratio every few seconds.
 *
 * <pre>{@code
 * try (StaticCache g = StaticCache.start(0, null)) {
 *     // GET g.url() + "/index.html" twice: X-Cache MISS (slow), then HIT (fast)
 *     double ratio = g.hitRatio();
 * }
 * }</pre>
 */
public final class StaticCache implements Running {

    /** The example's name for {@code run}. */
    public static final String NAME = "static-cache";

    /** The port it listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The name of the frontend. */
    public static final String FRONTEND = "static";

    /** The name of the backend. */
    public static final String BACKEND = "origin";

    /** How long the origin takes for every answer. */
    public static final long ORIGIN_DELAY_MILLIS = 200;

    /** The files the origin serves, by path. */
    public static final Map<String, String> FILES = Map.of(
            "/index.html", "<!doctype html><title>Lodestone</title><link rel=stylesheet href=/site.css><h1>Cached</h1>\n"
                    + "<p>This page came from a slow origin once; since then the gateway answers it from memory.</p>\n".repeat(16),
            "/site.css", "h1 { font-family: sans-serif; color: #333; }\n",
            "/app.js", "console.log('served from the gateway cache');\n");

    /** The gateway's cache: 16 MiB, entries up to 1 MiB, with an {@code X-Cache} header. */
    public static final ResponseCache CACHE = ResponseCache.builder()
            .maxBytes(16L << 20)
            .maxEntryBytes(1L << 20)
            .statusHeader("X-Cache")
            .build();

    private final EmbeddedHttpServer origin;
    private final Proxy proxy;
    private final ScheduledExecutorService printer;

    private StaticCache(EmbeddedHttpServer origin, Proxy proxy, ScheduledExecutorService printer) {
        this.origin = origin;
        this.proxy = proxy;
        this.printer = printer;
    }

    /** What the origin answers: the file with its validators, 304 when the client's ETag matches, else 404. */
    static EmbeddedHttpServer.Reply serve(EmbeddedHttpServer.Request request) {
        Duration slow = Duration.ofMillis(ORIGIN_DELAY_MILLIS);
        String file = FILES.get(request.uri());
        if (file == null) {
            return EmbeddedHttpServer.Reply.text(404, "no such file\n").withHeader("Cache-Control", "max-age=10").after(slow);
        }
        String etag = "\"" + Integer.toHexString(file.hashCode()) + "\"";
        if (etag.equals(request.header("If-None-Match"))) {
            return EmbeddedHttpServer.Reply.text(304, "").withHeader("ETag", etag)
                    .withHeader("Cache-Control", "public, max-age=60").after(slow);
        }
        String type = request.uri().endsWith(".html") ? "text/html; charset=utf-8"
                : request.uri().endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
        return new EmbeddedHttpServer.Reply(200, type, file).withHeader("ETag", etag)
                .withHeader("Cache-Control", "public, max-age=60").after(slow);
    }

    /**
     * The frontend: everything to the origin, its responses cached (uncompressed, once) and compressed
     * for each client that accepts it on the way out.
     */
    public static HttpFrontend.Builder frontend(String address) {
        return HttpFrontend.bind(address).name(FRONTEND)
                .defaultBackend(BACKEND)
                .cache(BACKEND, CACHE)
                .compression(Compression.defaults());
    }

    /**
     * Starts the origin and the gateway on {@code 127.0.0.1:port} (0: chosen by the OS); with
     * {@code out}, prints the hit ratio every five seconds while requests come in.
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static StaticCache start(int port, PrintStream out) {
        EmbeddedHttpServer origin = EmbeddedHttpServer.start(BACKEND, ExampleGateway.HOST, 0, StaticCache::serve);
        Proxy proxy = null;
        try {
            proxy = Proxy.builder()
                    .backend(Backend.named(BACKEND).server("origin1", origin.hostPort()))
                    .frontend(frontend(ExampleGateway.HOST + ":" + port))
                    .build();
            proxy.start();
        } catch (RuntimeException e) {
            if (proxy != null) {
                proxy.close();
            }
            origin.close();
            throw e;
        }
        ScheduledExecutorService printer = null;
        if (out != null) {
            printer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "static-cache-stats");
                t.setDaemon(true);
                return t;
            });
        }
        StaticCache g = new StaticCache(origin, proxy, printer);
        if (printer != null) {
            long[] last = {0};
            printer.scheduleAtFixedRate(() -> {
                CacheSnapshot s = g.stats();
                long total = s.hits() + s.misses();
                if (total != last[0]) {
                    last[0] = total;
                    out.println(g.summary());
                    out.flush();
                }
            }, 5, 5, TimeUnit.SECONDS);
        }
        return g;
    }

    /** The port the gateway listens on. */
    public int port() {
        return proxy.port(FRONTEND);
    }

    /** The gateway's base URL, e.g. {@code http://127.0.0.1:8080}. */
    public String url() {
        return "http://" + ExampleGateway.HOST + ":" + port();
    }

    /** The running proxy. */
    public Proxy proxy() {
        return proxy;
    }

    /** The origin server. */
    public EmbeddedHttpServer origin() {
        return origin;
    }

    /** The cache's figures now. */
    public CacheSnapshot stats() {
        return proxy.metrics().cache(FRONTEND, BACKEND);
    }

    /** Hits over hits and misses so far, 0 before any request. */
    public double hitRatio() {
        CacheSnapshot s = stats();
        long total = s.hits() + s.misses();
        return total == 0 ? 0 : (double) s.hits() / total;
    }

    /** One line: hits, misses, revalidations, origin requests and the hit ratio. */
    public String summary() {
        CacheSnapshot s = stats();
        return String.format("static-cache: %d hits, %d misses, %d revalidated, %d origin requests, hit ratio %.1f%%",
                s.hits(), s.misses(), s.revalidations(), origin.requests(), 100 * hitRatio());
    }

    @Override
    public void close() {
        if (printer != null) {
            printer.shutdownNow();
        }
        try {
            proxy.close();
        } finally {
            origin.close();
        }
    }

    /** The example for {@code run static-cache [--port N]}. */
    public static Example example() {
        return Example.withPort(NAME,
                "a static-content gateway caching a slow origin's files, printing its hit ratio",
                DEFAULT_PORT, (port, out) -> {
                    StaticCache g = start(port, out);
                    out.println("static-cache: a gateway on " + ExampleGateway.HOST + ":" + g.port());
                    out.println("  origin on " + g.origin.hostPort() + " (" + ORIGIN_DELAY_MILLIS + " ms per answer)");
                    out.println();
                    out.println("Try it:");
                    out.println("  curl -i " + g.url() + "/index.html     # X-Cache: MISS, slow; again: HIT, fast");
                    out.println("  curl -i " + g.url() + "/site.css");
                    out.println();
                    out.println("The hit ratio is printed every 5 s while requests come in. Ctrl-C stops it (graceful close).");
                    out.flush();
                    return g;
                });
    }
}
