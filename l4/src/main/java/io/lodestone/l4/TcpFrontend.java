package io.lodestone.l4;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.Names;
import io.lodestone.l4.internal.TcpListener;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A TCP frontend (HAProxy's {@code mode tcp}): accepts connections on one or more addresses, picks a
 * server of its backend for each, connects (trying other servers when a connection fails, up to the
 * backend's {@code retries}) and relays bytes both ways with backpressure and half-close.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder()
 *     .backend(Backend.named("db")
 *         .server("pg1", "10.0.0.1:5432")
 *         .server("pg2", "10.0.0.2:5432", s -> s.backup()))
 *     .frontend(TcpFrontend.bind(5432)
 *         .name("postgres")
 *         .defaultBackend("db")
 *         .clientTimeout(Duration.ofMinutes(30))
 *         .maxConnections(1000))
 *     .build();
 * }</pre>
 *
 * <p>Timeouts: the client timeout closes both sides when the client side has been idle that long;
 * the backend's {@link io.lodestone.core.Backend#serverTimeout() server timeout} does the same for the
 * server side; the backend's connect timeout bounds each connection attempt.
 */
public final class TcpFrontend implements Frontend {

    private final String name;
    private final List<InetSocketAddress> bindAddresses;
    private final String defaultBackend;
    private final Duration clientTimeout;
    private final int maxConnections;

    private TcpFrontend(Builder b) {
        this.name = b.name != null ? b.name : "tcp-" + b.bindAddresses.get(0).getPort();
        this.bindAddresses = List.copyOf(b.bindAddresses);
        this.defaultBackend = b.defaultBackend;
        this.clientTimeout = b.clientTimeout;
        this.maxConnections = b.maxConnections;
    }

    /** Returns a builder for a frontend listening on this port on every interface. */
    public static Builder bind(int port) {
        return new Builder(port("bind", port));
    }

    /** Returns a builder for a frontend listening on {@code host:port} ({@code *:port} for every interface). */
    public static Builder bind(String address) {
        return new Builder(Addresses.parse("bind", address));
    }

    /** Returns a builder for a frontend listening on this address. */
    public static Builder bind(InetSocketAddress address) {
        return new Builder(Objects.requireNonNull(address, "bind"));
    }

    private static InetSocketAddress port(String field, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(field + ": " + port + " (expected: a port in 0..65535)");
        }
        return new InetSocketAddress(port);
    }

    @Override
    public String name() {
        return name;
    }

    /** The addresses to listen on, as configured (port 0: chosen by the OS at start). */
    public List<InetSocketAddress> bindAddresses() {
        return bindAddresses;
    }

    /** The backend every connection goes to. */
    public String defaultBackend() {
        return defaultBackend;
    }

    /** How long the client side may be idle before both sides are closed; {@link Duration#ZERO} for never. */
    public Duration clientTimeout() {
        return clientTimeout;
    }

    /** The most connections open at once; further ones wait in the accept backlog. 0 means no limit. */
    public int maxConnections() {
        return maxConnections;
    }

    @Override
    public Set<String> backendNames() {
        return Set.of(defaultBackend);
    }

    @Override
    public Listener start(EngineContext context) {
        return TcpListener.start(this, context);
    }

    @Override
    public String toString() {
        return "TcpFrontend{" + name + " " + bindAddresses + " -> " + defaultBackend + "}";
    }

    /** Builds a {@link TcpFrontend}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder implements Frontend.Builder {
        private final List<InetSocketAddress> bindAddresses = new ArrayList<>();
        private String name;
        private String defaultBackend;
        private Duration clientTimeout = Duration.ofMinutes(5);
        private int maxConnections;

        Builder(InetSocketAddress first) {
            bindAddresses.add(first);
        }

        /** Adds another address to listen on ({@code host:port}). */
        public Builder bind(String address) {
            bindAddresses.add(Addresses.parse("bind", address));
            return this;
        }

        /** Adds another port to listen on, on every interface. */
        public Builder bind(int port) {
            bindAddresses.add(port("bind", port));
            return this;
        }

        /** Names the frontend (default {@code tcp-PORT}). */
        public Builder name(String name) {
            this.name = Names.check("frontend name", name);
            return this;
        }

        /** Sets the backend connections go to (required). */
        public Builder defaultBackend(String backend) {
            this.defaultBackend = Names.check("frontend defaultBackend", backend);
            return this;
        }

        /** Sets the client idle timeout (default 5 minutes); {@link Duration#ZERO} disables it. */
        public Builder clientTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException("frontend clientTimeout: " + timeout + " (expected: >= 0)");
            }
            this.clientTimeout = timeout;
            return this;
        }

        /** Sets the most connections open at once (default 0: no limit). */
        public Builder maxConnections(int maxConnections) {
            if (maxConnections < 0) {
                throw new IllegalArgumentException("frontend maxConnections: " + maxConnections + " (expected: >= 0)");
            }
            this.maxConnections = maxConnections;
            return this;
        }

        /**
         * Returns the immutable frontend.
         *
         * @throws IllegalArgumentException when no default backend is set
         */
        @Override
        public TcpFrontend build() {
            if (defaultBackend == null) {
                throw new IllegalArgumentException("frontend " + (name != null ? name : "tcp-" + bindAddresses.get(0).getPort())
                        + " defaultBackend: null (expected: the name of a backend)");
            }
            return new TcpFrontend(this);
        }
    }
}
