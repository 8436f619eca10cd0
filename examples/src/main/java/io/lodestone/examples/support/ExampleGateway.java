package io.lodestone.examples.support;

import io.lodestone.core.Proxy;
import io.lodestone.examples.Running;
import java.io.PrintStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * A running example: its embedded HTTP backends and the Lodestone proxy in front of them, started
 * together and closed together (the proxy gracefully first, then the backends).
 *
 * <pre>{@code
 * ExampleGateway g = ExampleGateway.start("127.0.0.1", List.of("web1", "web2"), "front",
 *         servers -> Proxy.builder()
 *                 .backend(Backend.named("app")
 *                         .server("web1", servers.get("web1").hostPort())
 *                         .server("web2", servers.get("web2").hostPort()))
 *                 .frontend(HttpFrontend.bind("127.0.0.1:0").name("front").defaultBackend("app"))
 *                 .build());
 * }</pre>
 */
public final class ExampleGateway implements Running {

    /** The host the examples listen on: loopback only. */
    public static final String HOST = "127.0.0.1";

    private final Map<String, EmbeddedHttpServer> servers;
    private final Proxy proxy;
    private final String frontend;

    private ExampleGateway(Map<String, EmbeddedHttpServer> servers, Proxy proxy, String frontend) {
        this.servers = servers;
        this.proxy = proxy;
        this.frontend = frontend;
    }

    /**
     * Starts one embedded backend per name (each answering {@link EmbeddedHttpServer#hello}) on
     * {@code host} and an ephemeral port, builds the proxy from them and starts it; returns once all
     * listen. When anything fails, whatever had started is closed.
     *
     * @param frontend the name of the frontend whose port {@link #port()} reports
     * @param proxy builds the (not started) proxy from the servers by name
     */
    public static ExampleGateway start(String host, List<String> serverNames, String frontend,
            Function<Map<String, EmbeddedHttpServer>, Proxy> proxy) {
        Objects.requireNonNull(proxy, "proxy");
        Map<String, EmbeddedHttpServer> servers = new LinkedHashMap<>();
        Proxy built = null;
        try {
            for (String name : serverNames) {
                servers.put(name, EmbeddedHttpServer.start(name, host, 0));
            }
            built = proxy.apply(Collections.unmodifiableMap(servers));
            built.start();
            return new ExampleGateway(Collections.unmodifiableMap(servers), built, frontend);
        } catch (RuntimeException e) {
            if (built != null) {
                built.close();
            }
            servers.values().forEach(EmbeddedHttpServer::close);
            throw e;
        }
    }

    /** The port the gateway listens on. */
    public int port() {
        return proxy.port(frontend);
    }

    /** The gateway's base URL without a trailing slash, e.g. {@code http://127.0.0.1:8080}. */
    public String url() {
        return "http://" + HOST + ":" + port();
    }

    /** The running proxy, for runtime control. */
    public Proxy proxy() {
        return proxy;
    }

    /** The embedded backends, by name, in the order they were started. */
    public Map<String, EmbeddedHttpServer> servers() {
        return servers;
    }

    /**
     * Prints where the gateway and its backends listen, then the lines to try, with {@code {url}}
     * in each replaced by the gateway's {@link #url()}.
     */
    public void printIntro(PrintStream out, String title, List<String> tries) {
        out.println(title + ": a gateway on " + HOST + ":" + port());
        for (EmbeddedHttpServer s : servers.values()) {
            out.println("  " + s.name() + " on " + s.hostPort());
        }
        out.println();
        out.println("Try it:");
        for (String t : tries) {
            out.println("  " + t.replace("{url}", url()));
        }
        out.println();
        out.println("Ctrl-C stops it (graceful close).");
        out.flush();
    }

    /** Closes the gateway gracefully, then the backends. */
    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            servers.values().forEach(EmbeddedHttpServer::close);
        }
    }
}
