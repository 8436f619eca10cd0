package io.lodestone.examples.ha;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.l7.HttpFrontend;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The seed's high-availability setup, as HAProxy writes it:
 *
 * <pre>
 * backend app
 *     balance leastconn
 *     cookie SERVERID insert indirect nocache httponly
 *     server web1 ... check cookie
 *     server web2 ... check cookie
 * backend sorry
 *     server spare ... check
 * frontend www
 *     use_backend sorry if { nbsrv(app) lt 1 }
 *     default_backend app
 * </pre>
 *
 * Requests go to the primary server with the fewest requests in flight; the proxy inserts a cookie
 * that keeps each client on its server (its value is an opaque id, not the server's address); a
 * client whose server fails its health checks moves to the other one and gets a new cookie; when no
 * primary server is left, the backup backend answers.
 *
 * <pre>{@code
 * try (HighAvailability ha = HighAvailability.start(0, Duration.ofSeconds(1))) {
 *     System.out.println(ha.url());
 * }
 * }</pre>
 */
public final class HighAvailability implements Running {

    /** The port the gateway listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;
    /** The primary backend. */
    public static final String PRIMARY = "app";
    /** The backup backend, used when the primary has no server left. */
    public static final String BACKUP = "sorry";
    /** The sticky cookie's name. */
    public static final String COOKIE = "SERVERID";

    private final Map<String, EmbeddedHttpServer> servers;
    private final Proxy proxy;

    private HighAvailability(Map<String, EmbeddedHttpServer> servers, Proxy proxy) {
        this.servers = servers;
        this.proxy = proxy;
    }

    /**
     * Starts web1, web2 and spare, and the gateway on {@code 127.0.0.1:port}, checking each server's
     * {@code /status} every {@code checkInterval} (rise 2, fall 2); returns once all listen.
     */
    public static HighAvailability start(int port, Duration checkInterval) {
        Map<String, EmbeddedHttpServer> servers = new LinkedHashMap<>();
        try {
            for (String name : new String[] {"web1", "web2", "spare"}) {
                servers.put(name, EmbeddedHttpServer.start(name, "127.0.0.1", 0));
            }
            HealthCheck check = HealthCheck.http("/status").interval(checkInterval).rise(2).fall(2).build();
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named(PRIMARY)
                            .balance(BalancingStrategy.leastConnections())
                            .cookie(StickyCookie.insert(COOKIE).indirect().nocache().httpOnly())
                            .server("web1", servers.get("web1").hostPort())
                            .server("web2", servers.get("web2").hostPort())
                            .healthCheck(check))
                    .backend(Backend.named(BACKUP)
                            .server("spare", servers.get("spare").hostPort())
                            .healthCheck(check))
                    .frontend(HttpFrontend.bind("127.0.0.1:" + port).name("www").defaultBackend(PRIMARY, BACKUP))
                    .build();
            proxy.start();
            return new HighAvailability(servers, proxy);
        } catch (RuntimeException e) {
            servers.values().forEach(EmbeddedHttpServer::close);
            throw e;
        }
    }

    /** The running proxy. */
    public Proxy proxy() {
        return proxy;
    }

    /** One of the servers: {@code web1}, {@code web2} or {@code spare}. */
    public EmbeddedHttpServer server(String name) {
        EmbeddedHttpServer s = servers.get(name);
        if (s == null) {
            throw new IllegalArgumentException("server: " + name + " (expected: one of " + servers.keySet() + ")");
        }
        return s;
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
            servers.values().forEach(EmbeddedHttpServer::close);
        }
    }

    /** The example: {@code run ha [--port N]}. */
    public static Example example() {
        return Example.withPort("ha",
                "least connections, a sticky cookie, health checks and a backup backend used when no primary server is left",
                DEFAULT_PORT, (port, out) -> {
                    HighAvailability ha = HighAvailability.start(port, Duration.ofSeconds(1));
                    out.println("HA gateway on " + ha.url() + ": web1 and web2 (least connections, cookie " + COOKIE
                            + "), spare when both are down.");
                    out.println("Try: curl -si -c jar -b jar " + ha.url());
                    out.flush();
                    return ha;
                });
    }
}
