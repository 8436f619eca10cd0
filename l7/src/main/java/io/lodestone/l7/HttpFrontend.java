package io.lodestone.l7;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.Names;
import io.lodestone.l7.internal.HttpListener;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An HTTP/1.1 frontend (HAProxy's {@code mode http}): a streaming reverse proxy. Each request is sent
 * to a server of the frontend's backend over a pooled keep-alive connection; bodies stream both ways
 * with backpressure and are never buffered whole; WebSocket upgrades become raw tunnels.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder()
 *     .backend(Backend.named("app")
 *         .server("web1", "10.0.0.1:8080")
 *         .server("web2", "10.0.0.2:8080")
 *         .serverTimeout(Duration.ofSeconds(30)))
 *     .frontend(HttpFrontend.bind(8080)
 *         .name("www")
 *         .defaultBackend("app")
 *         .clientTimeout(Duration.ofSeconds(5))
 *         .via("lodestone"))
 *     .build();
 * }</pre>
 *
 * <p>Failure answers: no usable server 503; connection refused after the retries 502; connect
 * timeout 504; no response within the backend's {@link io.lodestone.core.Backend#serverTimeout()
 * server timeout} 504; request head not complete within {@link #clientTimeout()} 408. A backend that
 * dies mid-response closes the client connection.
 */
public final class HttpFrontend implements Frontend {

    private final String name;
    private final List<InetSocketAddress> bindAddresses;
    private final String defaultBackend;
    private final Duration clientTimeout;
    private final Duration keepAliveTimeout;
    private final Duration tunnelTimeout;
    private final int maxConnections;
    private final int maxInitialLineLength;
    private final int maxHeaderSize;
    private final int maxHeaderCount;
    private final long maxBodySize;
    private final String requestIdHeader;
    private final boolean forwardedFor;
    private final boolean forwarded;
    private final String via;
    private final double retryBudgetRatio;
    private final int minRetryConcurrency;
    private final int maxIdlePerServer;
    private final Duration poolIdleTimeout;

    private HttpFrontend(Builder b) {
        this.name = b.name != null ? b.name : "http-" + b.bindAddresses.get(0).getPort();
        this.bindAddresses = List.copyOf(b.bindAddresses);
        this.defaultBackend = b.defaultBackend;
        this.clientTimeout = b.clientTimeout;
        this.keepAliveTimeout = b.keepAliveTimeout;
        this.tunnelTimeout = b.tunnelTimeout;
        this.maxConnections = b.maxConnections;
        this.maxInitialLineLength = b.maxInitialLineLength;
        this.maxHeaderSize = b.maxHeaderSize;
        this.maxHeaderCount = b.maxHeaderCount;
        this.maxBodySize = b.maxBodySize;
        this.requestIdHeader = b.requestIdHeader;
        this.forwardedFor = b.forwardedFor;
        this.forwarded = b.forwarded;
        this.via = b.via;
        this.retryBudgetRatio = b.retryBudgetRatio;
        this.minRetryConcurrency = b.minRetryConcurrency;
        this.maxIdlePerServer = b.maxIdlePerServer;
        this.poolIdleTimeout = b.poolIdleTimeout;
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

    /** The backend requests go to when no rule picks another. */
    public String defaultBackend() {
        return defaultBackend;
    }

    /** How long a client may take to send a complete request head before it is answered 408. */
    public Duration clientTimeout() {
        return clientTimeout;
    }

    /** How long a keep-alive client connection may stay idle between requests before it is closed. */
    public Duration keepAliveTimeout() {
        return keepAliveTimeout;
    }

    /** How long a WebSocket tunnel may stay idle (no byte either way) before both sides are closed. */
    public Duration tunnelTimeout() {
        return tunnelTimeout;
    }

    /** The most client connections open at once; further ones wait in the accept backlog. 0 means no limit. */
    public int maxConnections() {
        return maxConnections;
    }

    /** The longest request line accepted; a longer one is answered 414. */
    public int maxInitialLineLength() {
        return maxInitialLineLength;
    }

    /** The largest request header block accepted, in bytes; a larger one is answered 431. */
    public int maxHeaderSize() {
        return maxHeaderSize;
    }

    /** The most request header fields accepted; more are answered 431. */
    public int maxHeaderCount() {
        return maxHeaderCount;
    }

    /** The largest request body accepted, in bytes; a larger one is answered 413. 0 means no limit. */
    public long maxBodySize() {
        return maxBodySize;
    }

    /** The request id header: generated when absent, passed to the server and returned to the client. */
    public String requestIdHeader() {
        return requestIdHeader;
    }

    /** Whether {@code X-Forwarded-For/-Proto/-Host/-Port} and {@code X-Real-IP} are sent to servers. */
    public boolean forwardedFor() {
        return forwardedFor;
    }

    /** Whether an RFC 7239 {@code Forwarded} element is appended to requests. */
    public boolean forwarded() {
        return forwarded;
    }

    /** The pseudonym of the {@code Via} header added to requests and responses, or {@code null} for none. */
    public String via() {
        return via;
    }

    /** The share of in-flight requests that may be retries at once (Envoy's retry budget). */
    public double retryBudgetRatio() {
        return retryBudgetRatio;
    }

    /** The number of concurrent retries always allowed, whatever the budget's ratio. */
    public int minRetryConcurrency() {
        return minRetryConcurrency;
    }

    /** The most idle keep-alive connections kept per event loop and per server. */
    public int maxIdlePerServer() {
        return maxIdlePerServer;
    }

    /** How long an idle pooled server connection is kept before it is closed. */
    public Duration poolIdleTimeout() {
        return poolIdleTimeout;
    }

    @Override
    public Set<String> backendNames() {
        return Set.of(defaultBackend);
    }

    @Override
    public Listener start(EngineContext context) {
        return HttpListener.start(this, context);
    }

    @Override
    public String toString() {
        return "HttpFrontend{" + name + " " + bindAddresses + " -> " + defaultBackend + "}";
    }

    /** Builds an {@link HttpFrontend}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder implements Frontend.Builder {
        private final List<InetSocketAddress> bindAddresses = new ArrayList<>();
        private String name;
        private String defaultBackend;
        private Duration clientTimeout = Duration.ofSeconds(10);
        private Duration keepAliveTimeout = Duration.ofSeconds(60);
        private Duration tunnelTimeout = Duration.ofHours(1);
        private int maxConnections;
        private int maxInitialLineLength = 8192;
        private int maxHeaderSize = 16384;
        private int maxHeaderCount = 100;
        private long maxBodySize;
        private String requestIdHeader = "X-Request-ID";
        private boolean forwardedFor = true;
        private boolean forwarded;
        private String via;
        private double retryBudgetRatio = 0.2;
        private int minRetryConcurrency = 3;
        private int maxIdlePerServer = 64;
        private Duration poolIdleTimeout = Duration.ofSeconds(60);

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

        /** Names the frontend (default {@code http-PORT}). */
        public Builder name(String name) {
            this.name = Names.check("frontend name", name);
            return this;
        }

        /** Sets the backend requests go to (required). */
        public Builder defaultBackend(String backend) {
            this.defaultBackend = Names.check("frontend defaultBackend", backend);
            return this;
        }

        /** Sets how long a request head may take to arrive before a 408 (default 10 s). */
        public Builder clientTimeout(Duration timeout) {
            this.clientTimeout = positive("clientTimeout", timeout);
            return this;
        }

        /** Sets how long a client connection may idle between requests (default 60 s). */
        public Builder keepAliveTimeout(Duration timeout) {
            this.keepAliveTimeout = positive("keepAliveTimeout", timeout);
            return this;
        }

        /** Sets how long a WebSocket tunnel may idle (default 1 h). */
        public Builder tunnelTimeout(Duration timeout) {
            this.tunnelTimeout = positive("tunnelTimeout", timeout);
            return this;
        }

        /** Sets the most client connections open at once (default 0: no limit). */
        public Builder maxConnections(int maxConnections) {
            if (maxConnections < 0) {
                throw new IllegalArgumentException("frontend maxConnections: " + maxConnections + " (expected: >= 0)");
            }
            this.maxConnections = maxConnections;
            return this;
        }

        /** Sets the longest request line (default 8192); longer ones get 414. */
        public Builder maxInitialLineLength(int length) {
            this.maxInitialLineLength = atLeast("maxInitialLineLength", length, 64);
            return this;
        }

        /** Sets the largest header block in bytes (default 16384); larger ones get 431. */
        public Builder maxHeaderSize(int size) {
            this.maxHeaderSize = atLeast("maxHeaderSize", size, 256);
            return this;
        }

        /** Sets the most header fields (default 100); more get 431. */
        public Builder maxHeaderCount(int count) {
            this.maxHeaderCount = atLeast("maxHeaderCount", count, 1);
            return this;
        }

        /** Sets the largest request body in bytes (default 0: no limit); larger ones get 413. */
        public Builder maxBodySize(long size) {
            if (size < 0) {
                throw new IllegalArgumentException("frontend maxBodySize: " + size + " (expected: >= 0)");
            }
            this.maxBodySize = size;
            return this;
        }

        /** Sets the request id header (default {@code X-Request-ID}). */
        public Builder requestIdHeader(String header) {
            if (header == null || header.isEmpty() || !isToken(header)) {
                throw new IllegalArgumentException("frontend requestIdHeader: " + header + " (expected: a header name)");
            }
            this.requestIdHeader = header;
            return this;
        }

        /** Turns the {@code X-Forwarded-*} and {@code X-Real-IP} headers on or off (default on). */
        public Builder forwardedFor(boolean on) {
            this.forwardedFor = on;
            return this;
        }

        /** Turns the RFC 7239 {@code Forwarded} header on or off (default off). */
        public Builder forwarded(boolean on) {
            this.forwarded = on;
            return this;
        }

        /** Adds a {@code Via} header naming the proxy by this pseudonym to requests and responses (default: none). */
        public Builder via(String pseudonym) {
            if (pseudonym == null || pseudonym.isEmpty() || !isToken(pseudonym)) {
                throw new IllegalArgumentException("frontend via: " + pseudonym + " (expected: a token such as lodestone)");
            }
            this.via = pseudonym;
            return this;
        }

        /**
         * Sets the retry budget (default 0.2 and 3): a retry is made only while the retries in flight
         * are fewer than {@code max(minRetryConcurrency, ratio * requests in flight)} for the backend.
         */
        public Builder retryBudget(double ratio, int minRetryConcurrency) {
            if (!(ratio >= 0 && ratio <= 1)) {
                throw new IllegalArgumentException("frontend retryBudget ratio: " + ratio + " (expected: 0..1)");
            }
            if (minRetryConcurrency < 0) {
                throw new IllegalArgumentException("frontend retryBudget minRetryConcurrency: " + minRetryConcurrency + " (expected: >= 0)");
            }
            this.retryBudgetRatio = ratio;
            this.minRetryConcurrency = minRetryConcurrency;
            return this;
        }

        /** Sets the server connection pool: idle connections kept per event loop and server, and their idle timeout (default 64, 60 s). */
        public Builder backendPool(int maxIdlePerServer, Duration idleTimeout) {
            if (maxIdlePerServer < 0) {
                throw new IllegalArgumentException("frontend backendPool maxIdlePerServer: " + maxIdlePerServer + " (expected: >= 0)");
            }
            this.poolIdleTimeout = positive("backendPool idleTimeout", idleTimeout);
            this.maxIdlePerServer = maxIdlePerServer;
            return this;
        }

        private static Duration positive(String field, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("frontend " + field + ": " + d + " (expected: > 0)");
            }
            return d;
        }

        private static int atLeast(String field, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException("frontend " + field + ": " + value + " (expected: >= " + min + ")");
            }
            return value;
        }

        private static boolean isToken(String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                    return false;
                }
            }
            return true;
        }

        /**
         * Returns the immutable frontend.
         *
         * @throws IllegalArgumentException when no default backend is set
         */
        @Override
        public HttpFrontend build() {
            if (defaultBackend == null) {
                throw new IllegalArgumentException("frontend " + (name != null ? name : "http-" + bindAddresses.get(0).getPort())
                        + " defaultBackend: null (expected: the name of a backend)");
            }
            return new HttpFrontend(this);
        }
    }
}
