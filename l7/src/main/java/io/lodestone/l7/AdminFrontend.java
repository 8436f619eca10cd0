package io.lodestone.l7;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.Names;
import io.lodestone.l7.internal.AdminListener;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The admin endpoint: a small HTTP server, off unless added to a proxy, that shows and changes the
 * proxy's runtime state. It listens on 127.0.0.1 unless given another address, and every request
 * must carry the bearer token ({@code Authorization: Bearer TOKEN}; a browser may send it as the
 * password of HTTP Basic authentication, with any user name).
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder()
 *     .backend(app)
 *     .frontend(HttpFrontend.bind(8080).defaultBackend("app"))
 *     .frontend(AdminFrontend.bind("127.0.0.1:9000").token(System.getenv("LODESTONE_ADMIN_TOKEN")))
 *     .build();
 * }</pre>
 *
 * <table>
 * <caption>Endpoints</caption>
 * <tr><td>{@code GET /metrics}</td><td>every metric in Prometheus text format</td></tr>
 * <tr><td>{@code GET /stats}</td><td>an HTML page in the spirit of HAProxy's stats page, refreshing itself</td></tr>
 * <tr><td>{@code GET /api/servers}</td><td>every backend's servers with state, weights and counters, as JSON</td></tr>
 * <tr><td>{@code POST /api/servers/{backend}/{server}/drain}</td><td>stops new traffic to the server</td></tr>
 * <tr><td>{@code POST /api/servers/{backend}/{server}/ready}</td><td>ends a drain or a maintenance</td></tr>
 * <tr><td>{@code POST /api/servers/{backend}/{server}/maintain}</td><td>puts the server in maintenance</td></tr>
 * <tr><td>{@code POST /api/servers/{backend}/{server}/weight?value=N}</td><td>sets the weight (0..256; also
 * {@code ?weight=N} or the number as the body)</td></tr>
 * </table>
 *
 * <p>A POST answers with the server's new state as JSON. A missing or wrong token gets 401 with
 * {@code WWW-Authenticate: Bearer} and changes nothing; an unknown backend or server 404; a bad
 * weight 400. The token is compared in constant time. A POST (any method but GET, HEAD and OPTIONS)
 * from another site's page, told by its {@code Sec-Fetch-Site} or an {@code Origin} other than the
 * request's {@code Host}, gets 403 and changes nothing; a client that sends neither header is not affected.
 */
public final class AdminFrontend implements Frontend {

    /** The name an admin frontend has unless given another. */
    public static final String DEFAULT_NAME = "admin";

    private final String name;
    private final List<InetSocketAddress> bindAddresses;
    private final byte[] token;
    private final Duration refresh;

    private AdminFrontend(Builder b) {
        this.name = b.name;
        this.bindAddresses = List.of(b.address);
        this.token = b.token.getBytes(StandardCharsets.UTF_8);
        this.refresh = b.refresh;
    }

    /**
     * Starts an admin endpoint on 127.0.0.1 and this port (0: any free port).
     *
     * @param port the port on 127.0.0.1; 0 lets the OS choose
     * @return the admin frontend's builder, which needs a token
     */
    public static Builder bind(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("bind port: " + port + " (expected: 0..65535)");
        }
        return new Builder(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }

    /**
     * Starts an admin endpoint on {@code HOST:PORT}, such as {@code 127.0.0.1:9000}.
     *
     * @param address the {@code HOST:PORT}
     * @return the admin frontend's builder, which needs a token
     */
    public static Builder bind(String address) {
        return new Builder(Addresses.parse("bind", address));
    }

    @Override
    public String name() {
        return name;
    }

    /** The address the endpoint listens on. */
    public List<InetSocketAddress> bindAddresses() {
        return bindAddresses;
    }

    /** {@return how often the stats page reloads itself} */
    public Duration refresh() {
        return refresh;
    }

    /** The admin endpoint sends no traffic to any backend. */
    @Override
    public Set<String> backendNames() {
        return Set.of();
    }

    /** Binds the endpoint; for {@link io.lodestone.core.Proxy#start()}. */
    @Override
    public Listener start(EngineContext context) {
        return AdminListener.start(context, name, bindAddresses.get(0), token.clone(), refresh);
    }

    /**
     * Takes over the endpoint's running listener in a reconfiguration: same socket (and port, even
     * one the OS chose for port 0), open connections kept; the name, token and refresh apply to the
     * requests from now on.
     */
    @Override
    public boolean reconfigure(Listener running, EngineContext context) {
        return running instanceof AdminListener admin && admin.update(context, name, token.clone(), refresh);
    }

    @Override
    public String toString() {
        return "AdminFrontend{" + name + " " + bindAddresses + "}";
    }

    /** Builds an {@link AdminFrontend}; {@link #token(String)} is required. */
    public static final class Builder implements Frontend.Builder {
        private final InetSocketAddress address;
        private String name = DEFAULT_NAME;
        /** {@link #name(String)} was called: setters' messages name the frontend by it. */
        private boolean named;
        private String token;
        private Duration refresh = Duration.ofSeconds(5);

        Builder(InetSocketAddress address) {
            this.address = address;
        }

        /**
         * Names the frontend (default {@value AdminFrontend#DEFAULT_NAME}).
         *
         * @param name the frontend's name
         * @return this builder
         */
        public Builder name(String name) {
            this.name = Names.check("frontend name", name);
            this.named = true;
            return this;
        }

        /**
         * Sets the bearer token every request must carry: at least 8 visible ASCII characters, no
         * spaces. Keep it out of source code (an environment variable, a secret store).
         *
         * @param token the bearer token every request must carry
         * @return this builder
         */
        public Builder token(String token) {
            Objects.requireNonNull(token, "token");
            if (token.length() < 8) {
                throw new IllegalArgumentException("token: " + token.length() + " characters (expected: at least 8)");
            }
            for (int i = 0; i < token.length(); i++) {
                char c = token.charAt(i);
                if (c <= ' ' || c > '~') {
                    throw new IllegalArgumentException("token: character " + i + " (expected: visible ASCII, no spaces)");
                }
            }
            this.token = token;
            return this;
        }

        /**
         * Sets how often the stats page reloads itself (default 5 seconds; whole seconds, 1..3600).
         *
         * @param refresh the reload interval, in whole seconds, 1..3600
         * @return this builder
         */
        public Builder refresh(Duration refresh) {
            Objects.requireNonNull(refresh, "refresh");
            if (refresh.getSeconds() < 1 || refresh.getSeconds() > 3600) {
                throw new IllegalArgumentException(label() + " refresh: " + refresh + " (expected: 1..3600 seconds)");
            }
            this.refresh = refresh;
            return this;
        }

        /**
         * The frontend as a setter's message names it, as {@link HttpFrontend.Builder}'s do: by the name
         * given to {@link #name(String)} before the setter, else by its address.
         */
        private String label() {
            if (named) {
                return "frontend " + name;
            }
            if (address.isUnresolved()) {
                return "frontend at " + Addresses.format(address);
            }
            // the IP, not the loopback's host name (localhost) that bind(int) gives
            String ip = Addresses.toText(address.getAddress());
            return "frontend at " + (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + address.getPort();
        }

        /**
         * Returns the immutable frontend.
         *
         * @throws IllegalArgumentException when no token was set
         */
        @Override
        public AdminFrontend build() {
            if (token == null) {
                throw new IllegalArgumentException("token: null (expected: a bearer token; the admin endpoint never runs without one)");
            }
            return new AdminFrontend(this);
        }
    }
}
