package io.lodestone.core;

import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.Names;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The configuration of one upstream server of a {@link Backend}: its name, address, weight, whether
 * it is a backup, its connection limit and its PROXY protocol setting. Immutable; the server's
 * state and current weight at run time live apart, behind {@link Proxy#control()}.
 *
 * <pre>{@code
 * Backend.named("app")
 *     .server("web1", "10.0.0.1:8080", s -> s.weight(80).maxConnections(500))
 *     .server("spare", "10.0.0.3:8080", s -> s.backup())
 * }</pre>
 */
public final class Server {

    /** The largest weight a server may have, as in HAProxy. */
    public static final int MAX_WEIGHT = 256;

    private final String name;
    private final InetSocketAddress address;
    private final int weight;
    private final boolean backup;
    private final int maxConnections;
    private final ProxyProtocol proxyProtocol;
    private final String cookie;

    private Server(Builder b) {
        this.name = b.name;
        this.address = b.address;
        this.weight = b.weight;
        this.backup = b.backup;
        this.maxConnections = b.maxConnections;
        this.proxyProtocol = b.proxyProtocol;
        this.cookie = b.cookie;
    }

    /**
     * Returns a builder for a server with this name and {@code host:port} address: an IPv4 literal
     * ({@code 10.0.0.1:8080}), a bracketed IPv6 literal ({@code [::1]:8080}) or a host name, which
     * stays unresolved until a connection is made. An address no connection can be made to is
     * refused: the any-local address ({@code 0.0.0.0:8080}, {@code [::]:8080}, {@code :8080}), a
     * multicast one ({@code 224.0.0.1:8080}, {@code [ff02::1]:8080}), the broadcast address
     * ({@code 255.255.255.255:8080}) and the rest of {@code 0.0.0.0/8} ({@code 0.1.2.3:8080}); a host
     * name that resolves to one later is not (it is not looked up here).
     *
     * @param name the server's name
     * @param address the server's address
     * @return a builder for a server with this name and {@code host:port} address: an IPv4 literal ({@code
     *     10.0.0.1:8080}), a bracketed IPv6 literal ({@code [::1]:8080}) or a host name, which stays
     *     unresolved until a connection is made
     * @throws IllegalArgumentException naming the field and value when the name or the address is
     *     invalid, e.g. {@code server web1 address: 10.0.0.1 (expected: host:port)} or
     *     {@code server web1 address: 0.0.0.0:8080 (expected: an address a connection can be made to,
     *     not the any-local address 0.0.0.0)}
     */
    public static Builder builder(String name, String address) {
        String field = "server " + name + " address";
        return new Builder(name, connectable(field, address, Addresses.parse(field, address)));
    }

    /**
     * Returns a builder for a server with this name and address.
     *
     * @param name the server's name
     * @param address the server's address
     * @return a builder for a server with this name and address
     * @throws IllegalArgumentException when the name is invalid, the address is null, its port is 0,
     *     or its IP is the any-local address, a multicast address, the broadcast address or another
     *     address of {@code 0.0.0.0/8}, as for {@link #builder(String, String)}
     */
    public static Builder builder(String name, InetSocketAddress address) {
        String field = "server " + name + " address";
        if (address == null) {
            throw new IllegalArgumentException(field + ": null (expected: host:port)");
        }
        return new Builder(name, connectable(field, address, address));
    }

    private static InetSocketAddress connectable(String field, Object value, InetSocketAddress address) {
        if (address.getPort() == 0) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: a port in 1..65535)");
        }
        String unconnectable = Addresses.unconnectable(address);
        if (unconnectable != null) {
            String text = value instanceof InetSocketAddress a ? Addresses.format(a) : String.valueOf(value);
            throw new IllegalArgumentException(field + ": " + text + " (expected: " + unconnectable + ")");
        }
        return address;
    }

    /** {@return the server's name, unique within its backend} */
    public String name() {
        return name;
    }

    /** {@return the address connections are made to; unresolved when configured with a host name} */
    public InetSocketAddress address() {
        return address;
    }

    /** {@return the configured weight, 0..256; 0 means no new traffic unless the weight is raised at run time} */
    public int weight() {
        return weight;
    }

    /** {@return whether the server only gets traffic when no primary server of its backend is usable} */
    public boolean isBackup() {
        return backup;
    }

    /** {@return the most concurrent connections (L4) or requests (L7) the server takes; 0 means no limit} */
    public int maxConnections() {
        return maxConnections;
    }

    /** {@return the PROXY protocol setting for this server, or {@code null} to follow its backend's} */
    public ProxyProtocol proxyProtocol() {
        return proxyProtocol;
    }

    /**
     * The explicit value of the backend's sticky cookie that leads to this server, or {@code null}
     * when the server has the default id (see {@link StickyCookie#valueFor}).
     *
     * @return the explicit value of the backend's sticky cookie that leads to this server, or {@code null}
     *     when the server has the default id (see {@link StickyCookie#valueFor})
     */
    public String cookie() {
        return cookie;
    }

    @Override
    public String toString() {
        return "Server{" + name + " " + Addresses.format(address) + " weight=" + weight
                + (backup ? " backup" : "") + (maxConnections > 0 ? " maxconn=" + maxConnections : "") + (cookie != null ? " cookie=" + cookie : "") + "}";
    }

    /** Builds a {@link Server}; each setter checks its argument at once. */
    public static final class Builder {
        private final String name;
        private final InetSocketAddress address;
        private int weight = 1;
        private boolean backup;
        private int maxConnections;
        private ProxyProtocol proxyProtocol;
        private String cookie;

        Builder(String name, InetSocketAddress address) {
            this.name = Names.check("server name", name);
            this.address = address;
        }

        /**
         * Sets the weight, 0..256 (default 1).
         *
         * @param weight the weight, 0..256
         * @return this builder
         */
        public Builder weight(int weight) {
            if (weight < 0 || weight > MAX_WEIGHT) {
                throw new IllegalArgumentException("server " + name + " weight: " + weight + " (expected: 0.." + MAX_WEIGHT + ")");
            }
            this.weight = weight;
            return this;
        }

        /**
         * Marks the server as a backup: used only when no primary server can take the connection or
         * request (down, draining, in maintenance, of weight 0, or at its connection limit). As with
         * nginx's {@code backup}, every usable backup takes a share, and backups take the overflow of
         * primaries at their limit; HAProxy uses only the first backup (unless {@code allbackups}) and
         * queues for full primaries instead.
         *
         * @return this builder
         */
        public Builder backup() {
            this.backup = true;
            return this;
        }

        /**
         * Sets the connection (L4) or request (L7) limit; 0 (the default) means none.
         *
         * @param maxConnections the most connections (L4) or requests (L7) at once; 0 for no limit
         * @return this builder
         */
        public Builder maxConnections(int maxConnections) {
            if (maxConnections < 0) {
                throw new IllegalArgumentException("server " + name + " maxConnections: " + maxConnections + " (expected: >= 0)");
            }
            this.maxConnections = maxConnections;
            return this;
        }

        /**
         * Sends a PROXY protocol header of this version to this server, overriding its backend. Only the TCP
         * engine sends one: {@link Proxy.Builder#build()} refuses V1 or V2 on a server of an HTTP frontend,
         * and so does {@link ProxyControl#addServer}.
         *
         * @param proxyProtocol a PROXY protocol header of this version to this server
         * @return this builder
         */
        public Builder proxyProtocol(ProxyProtocol proxyProtocol) {
            this.proxyProtocol = Objects.requireNonNull(proxyProtocol, "proxyProtocol");
            return this;
        }

        /**
         * Sets the value of the backend's {@link StickyCookie} that leads to this server, as HAProxy's
         * {@code server web1 10.0.0.1:8080 cookie s1}, in place of the default keyed hash. Use it to
         * move a backend from HAProxy without breaking its clients' sessions: give each server its
         * HAProxy cookie value. Unlike HAProxy, two servers of a backend cannot share a value (the
         * backend fails to build, naming both): HAProxy uses a shared value to hand a primary's
         * clients to a backup, and here a backup's persistent clients go back to the primaries
         * whenever one is usable, so sharing would give no such takeover.
         *
         * <pre>{@code
         * Backend.named("app")
         *     .server("web1", "10.0.0.1:8080", s -> s.cookie("s1"))
         *     .server("web2", "10.0.0.2:8080", s -> s.cookie("s2"))
         *     .cookie(StickyCookie.insert("SERVERID").indirect().nocache())
         * }</pre>
         *
         * @param value the value of the backend's {@link StickyCookie} that leads to this server
         * @return this builder
         * @throws IllegalArgumentException unless 1 to 64 characters allowed in a cookie value
         *     (RFC 6265: visible ASCII but {@code " , ; \}), none of them {@code |} or {@code ~},
         *     which separate the dates (insert mode) and the prefix (prefix mode)
         */
        public Builder cookie(String value) {
            Objects.requireNonNull(value, "server " + name + " cookie");
            boolean ok = !value.isEmpty() && value.length() <= 64;
            for (int i = 0; ok && i < value.length(); i++) {
                char c = value.charAt(i);
                ok = c > ' ' && c < 127 && c != '"' && c != ',' && c != ';' && c != '\\' && c != '|' && c != '~';
            }
            if (!ok) {
                throw new IllegalArgumentException("server " + name + " cookie: " + value
                        + " (expected: 1 to 64 cookie-value characters, none of '|' and '~')");
            }
            this.cookie = value;
            return this;
        }

        /** {@return the immutable server} */
        public Server build() {
            return new Server(this);
        }
    }
}
