package io.lodestone.core.health;

import io.lodestone.core.ServerState;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.Durations;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The active health check of a backend: what to probe (a TCP connect, an HTTP request, or a custom
 * {@link HealthChecker}), how often, and how many results in a row change a server's state (HAProxy's
 * {@code rise} and {@code fall}). Immutable; built from one of the static factories.
 *
 * <pre>{@code
 * Backend.named("app")
 *     .server("web1", "10.0.0.1:8080")
 *     .healthCheck(HealthCheck.http("/status")
 *         .interval(Duration.ofSeconds(2))
 *         .fastInterval(Duration.ofMillis(500))   // while a server is changing state
 *         .rise(2)
 *         .fall(3)
 *         .expectStatus(200, 299)
 *         .expectBody("OK"))
 *     .build();
 * }</pre>
 *
 * <p>A server whose checks fail {@code fall} times in a row goes {@link ServerState#DOWN DOWN}; a down
 * server that passes {@code rise} checks in a row comes back {@link ServerState#UP UP}. Checks go on
 * while a server is draining or in maintenance, so its health is known when it returns; passing them
 * does not end the drain or the maintenance.
 */
public final class HealthCheck {

    /** What a health check probes. */
    public enum Type {
        /** A TCP connection that opens counts as healthy. */
        TCP,
        /**
         * An HTTP request whose response status (and optionally body) is as expected: HTTP/1.1, or
         * HTTP/2 to servers that speak it ({@code Backend.Builder.protocol}).
         */
        HTTP,
        /** An application-supplied {@link HealthChecker}. */
        CUSTOM
    }

    private final Type type;
    private final HealthChecker checker;
    private final Duration interval;
    private final Duration fastInterval;
    private final Duration timeout;
    private final Duration jitter;
    private final int rise;
    private final int fall;
    private final int port;
    private final Map<String, InetSocketAddress> addresses;
    private final ServerState initialState;
    private final String method;
    private final String path;
    private final String host;
    private final int minStatus;
    private final int maxStatus;
    private final String expectedBody;

    private HealthCheck(Builder b) {
        this.type = b.type;
        this.checker = b.checker;
        this.interval = b.interval;
        this.fastInterval = b.fastInterval != null ? b.fastInterval : b.interval;
        this.timeout = b.timeout;
        this.jitter = b.jitter;
        this.rise = b.rise;
        this.fall = b.fall;
        this.port = b.port;
        this.addresses = Collections.unmodifiableMap(new LinkedHashMap<>(b.addresses));
        this.initialState = b.initialState;
        this.method = b.method;
        this.path = b.path;
        this.host = b.host;
        this.minStatus = b.minStatus;
        this.maxStatus = b.maxStatus;
        this.expectedBody = b.expectedBody;
    }

    /**
     * Returns a builder for a check that opens a TCP connection to the server and closes it; for a
     * backend with {@link io.lodestone.core.Backend.Builder#tls TLS}, the TLS handshake must complete
     * too, within the check's timeout, unless the check goes to a {@link Builder#port port} or
     * {@link Builder#address address} of its own. That is the proxy's side of the handshake: a TLS 1.3
     * server's refusal of the proxy's client certificate comes later, and only an {@link #http HTTP}
     * check sees it.
     *
     * @return a builder for a check that opens a TCP connection to the server and closes it; for a backend
     *     with {@link io.lodestone.core.Backend.Builder#tls TLS}, the TLS handshake must complete too, within
     *     the check's timeout, unless the check goes to a {@link Builder#port port} or {@link Builder#address
     *     address} of its own
     */
    public static Builder tcp() {
        return new Builder(Type.TCP, null, null);
    }

    /**
     * Returns a builder for a check that sends {@code GET path HTTP/1.1} with {@code Connection: close}
     * and expects a status of 200..399; for a backend with {@link io.lodestone.core.Backend.Builder#tls
     * TLS}, over TLS, unless the check goes to a {@link Builder#port port} or {@link Builder#address
     * address} of its own, where it speaks plain HTTP (HAProxy's rule for checks of an {@code ssl} server).
     * The request is HTTP/1.1, but for a backend whose servers speak HTTP/2
     * ({@code BackendProtocol.H2}, over TLS choosing {@code h2} by ALPN, or {@code H2C}) and a proxy with
     * an HTTP frontend: to the servers' own address it is then an HTTP/2 stream (HAProxy checks a server
     * of {@code proto h2} so), and the HTTP/1.1 request goes to a port or address of the check's own.
     *
     * @param path the request path
     * @return a builder for a check that sends {@code GET path HTTP/1.1} with {@code Connection: close} and
     *     expects a status of 200..399; for a backend with {@link io.lodestone.core.Backend.Builder#tls TLS},
     *     over TLS, unless the check goes to a {@link Builder#port port} or {@link Builder#address address}
     *     of its own, where it speaks plain HTTP (HAProxy's rule for checks of an {@code ssl} server)
     * @throws IllegalArgumentException when the path does not start with {@code /} or holds a space or
     *     control character
     */
    public static Builder http(String path) {
        return new Builder(Type.HTTP, null, checkPath(path));
    }

    /**
     * Returns a builder for a check made by the application's own {@code checker}.
     *
     * @param checker the application's checker
     * @return a builder for a check made by the application's own {@code checker}
     */
    public static Builder custom(HealthChecker checker) {
        return new Builder(Type.CUSTOM, Objects.requireNonNull(checker, "checker"), null);
    }

    /** {@return what the check probes} */
    public Type type() {
        return type;
    }

    /** {@return the application's checker for a {@link Type#CUSTOM} check; {@code null} otherwise} */
    public HealthChecker checker() {
        return checker;
    }

    /** {@return the time between two checks of a server whose state is settled} */
    public Duration interval() {
        return interval;
    }

    /** {@return the time between two checks of a server changing state (HAProxy's {@code fastinter})} */
    public Duration fastInterval() {
        return fastInterval;
    }

    /** {@return how long one probe may take before it counts as failed} */
    public Duration timeout() {
        return timeout;
    }

    /** {@return the most random time added to each interval, so that checks of many servers spread out} */
    public Duration jitter() {
        return jitter;
    }

    /** {@return how many checks in a row a down server must pass to come back up} */
    public int rise() {
        return rise;
    }

    /** {@return how many checks in a row an up server must fail to go down} */
    public int fall() {
        return fall;
    }

    /** {@return the port probed instead of each server's own; 0 when the server's port is used} */
    public int port() {
        return port;
    }

    /**
     * Check addresses that replace the address of the named servers.
     *
     * @return check addresses that replace the address of the named servers
     */
    public Map<String, InetSocketAddress> addresses() {
        return addresses;
    }

    /** {@return the health state servers start in: {@link ServerState#UP} or {@link ServerState#DOWN}} */
    public ServerState initialState() {
        return initialState;
    }

    /** {@return the HTTP method of an HTTP check; {@code null} for other checks} */
    public String method() {
        return method;
    }

    /** {@return the request path of an HTTP check; {@code null} for other checks} */
    public String path() {
        return path;
    }

    /** {@return the Host header of an HTTP check; {@code null} to send the probed address} */
    public String host() {
        return host;
    }

    /** {@return the lowest status an HTTP check accepts} */
    public int minStatus() {
        return minStatus;
    }

    /** {@return the highest status an HTTP check accepts} */
    public int maxStatus() {
        return maxStatus;
    }

    /** {@return a string the response body must contain, or {@code null} when the body is not read} */
    public String expectedBody() {
        return expectedBody;
    }

    /**
     * Returns the address probed for a server at {@code serverAddress} named {@code serverName}.
     *
     * @param serverName the server's name
     * @param serverAddress the server's own address
     * @return the address probed for a server at {@code serverAddress} named {@code serverName}
     */
    public InetSocketAddress addressFor(String serverName, InetSocketAddress serverAddress) {
        InetSocketAddress own = addresses.get(serverName);
        if (own != null) {
            return own;
        }
        if (port == 0) {
            return serverAddress;
        }
        return serverAddress.isUnresolved()
                ? InetSocketAddress.createUnresolved(serverAddress.getHostString(), port)
                : new InetSocketAddress(serverAddress.getAddress(), port);
    }

    /**
     * Whether {@code o} is a check with the same settings: the same type, intervals, timeout, jitter,
     * rise and fall, port and check addresses, initial state and HTTP settings, and for a custom check
     * the same checker. A reconfiguration of the proxy that gives a backend an equal check keeps its
     * running checks and their counts.
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof HealthCheck c)) {
            return false;
        }
        return type == c.type && Objects.equals(checker, c.checker) && interval.equals(c.interval)
                && fastInterval.equals(c.fastInterval) && timeout.equals(c.timeout) && jitter.equals(c.jitter)
                && rise == c.rise && fall == c.fall && port == c.port && addresses.equals(c.addresses)
                && initialState == c.initialState && Objects.equals(method, c.method) && Objects.equals(path, c.path)
                && Objects.equals(host, c.host) && minStatus == c.minStatus && maxStatus == c.maxStatus
                && Objects.equals(expectedBody, c.expectedBody);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, checker, interval, fastInterval, timeout, rise, fall, port, path);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("HealthCheck{").append(type);
        if (type == Type.HTTP) {
            sb.append(' ').append(method).append(' ').append(path).append(" expect ").append(minStatus).append("..").append(maxStatus);
        }
        return sb.append(" interval=").append(interval).append(" rise=").append(rise).append(" fall=").append(fall).append('}').toString();
    }

    static String checkPath(String path) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/') {
            throw new IllegalArgumentException("health check path: " + path + " (expected: a path starting with '/')");
        }
        checkVisible("health check path", path);
        return path;
    }

    private static void checkVisible(String field, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: visible ASCII characters, no space)");
            }
        }
    }

    /**
     * Builds a {@link HealthCheck}. Setters check their argument; {@link #build()} checks the whole.
     * The HTTP settings ({@link #method}, {@link #host}, {@link #expectStatus}, {@link #expectBody})
     * apply to HTTP checks only.
     */
    public static final class Builder {
        private final Type type;
        private final HealthChecker checker;
        private final String path;
        private Duration interval = Duration.ofSeconds(2);
        private Duration fastInterval;
        private Duration timeout = Duration.ofSeconds(1);
        private Duration jitter = Duration.ZERO;
        private int rise = 2;
        private int fall = 3;
        private int port;
        private final Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
        private ServerState initialState = ServerState.UP;
        private String method;
        private String host;
        private int minStatus = 200;
        private int maxStatus = 399;
        private String expectedBody;

        Builder(Type type, HealthChecker checker, String path) {
            this.type = type;
            this.checker = checker;
            this.path = path;
            this.method = type == Type.HTTP ? "GET" : null;
        }

        /**
         * Sets the time between checks of a settled server (default 2 s).
         *
         * @param interval the time between checks of a settled server
         * @return this builder
         */
        public Builder interval(Duration interval) {
            this.interval = positive("interval", interval);
            return this;
        }

        /**
         * Sets the time between checks while a server changes state (default: the interval).
         *
         * @param fastInterval the time between checks while a server changes state
         * @return this builder
         */
        public Builder fastInterval(Duration fastInterval) {
            this.fastInterval = positive("fastInterval", fastInterval);
            return this;
        }

        /**
         * Sets how long a probe may take (default 1 s), connect included. The built-in TCP and HTTP
         * probes close their connection when it runs out, as the probe is counted failed.
         *
         * @param timeout how long one probe may take
         * @return this builder
         */
        public Builder timeout(Duration timeout) {
            this.timeout = positive("timeout", timeout);
            return this;
        }

        /**
         * Sets the most random time added to each interval (default 0); must be below the interval.
         *
         * @param jitter the most random time added to each interval
         * @return this builder
         */
        public Builder jitter(Duration jitter) {
            if (jitter == null || jitter.isNegative()) {
                throw new IllegalArgumentException("health check jitter: " + jitter + " (expected: >= 0)");
            }
            this.jitter = Durations.atMostMax("health check jitter", jitter);
            return this;
        }

        /**
         * Sets how many passed checks in a row bring a down server up (default 2).
         *
         * @param rise passed checks in a row
         * @return this builder
         */
        public Builder rise(int rise) {
            this.rise = count("rise", rise);
            return this;
        }

        /**
         * Sets how many failed checks in a row take an up server down (default 3).
         *
         * @param fall failed checks in a row
         * @return this builder
         */
        public Builder fall(int fall) {
            this.fall = count("fall", fall);
            return this;
        }

        /**
         * Probes this port of each server instead of the port traffic goes to; there a TCP or HTTP
         * check of a backend with TLS speaks no TLS (a plain management port, as HAProxy checks it).
         *
         * @param port the port to probe; 0 for each server's own
         * @return this builder
         */
        public Builder port(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("health check port: " + port + " (expected: 1..65535)");
            }
            this.port = port;
            return this;
        }

        /**
         * Probes {@code hostPort} instead of the address of the server named {@code serverName}
         * (HAProxy's {@code addr}); the backend checks that the server exists. The any-local address,
         * multicast addresses, the broadcast address and the rest of {@code 0.0.0.0/8} are refused, as
         * for a server's address.
         *
         * @param serverName the server's name
         * @param hostPort the {@code host:port} to probe
         * @return this builder
         */
        public Builder address(String serverName, String hostPort) {
            Objects.requireNonNull(serverName, "serverName");
            InetSocketAddress a = Addresses.parse("health check address of " + serverName, hostPort);
            if (a.getPort() == 0) {
                throw new IllegalArgumentException("health check address of " + serverName + ": " + hostPort + " (expected: a port in 1..65535)");
            }
            String unconnectable = Addresses.unconnectable(a);
            if (unconnectable != null) {
                throw new IllegalArgumentException("health check address of " + serverName + ": " + hostPort + " (expected: " + unconnectable + ")");
            }
            addresses.put(serverName, a);
            return this;
        }

        /**
         * Sets the state servers start in before their first check: {@link ServerState#UP} (the
         * default) or {@link ServerState#DOWN}, in which case each needs {@code rise} passed checks
         * before it gets traffic.
         *
         * @param state the state servers start in before their first check
         * @return this builder
         */
        public Builder initialState(ServerState state) {
            if (state != ServerState.UP && state != ServerState.DOWN) {
                throw new IllegalArgumentException("health check initialState: " + state + " (expected: UP or DOWN)");
            }
            this.initialState = state;
            return this;
        }

        /**
         * Sets the HTTP method (default {@code GET}); HTTP checks only.
         *
         * @param method the HTTP method
         * @return this builder
         */
        public Builder method(String method) {
            httpOnly("method", method);
            if (method == null || method.isEmpty()) {
                throw new IllegalArgumentException("health check method: " + method + " (expected: an HTTP method such as GET)");
            }
            for (int i = 0; i < method.length(); i++) {
                char c = method.charAt(i);
                if (c < 'A' || c > 'Z') {
                    throw new IllegalArgumentException("health check method: " + method + " (expected: upper-case letters, such as GET)");
                }
            }
            this.method = method;
            return this;
        }

        /**
         * Sets the Host header (default: the probed address as {@code host:port}); HTTP checks only.
         *
         * @param host the Host header
         * @return this builder
         */
        public Builder host(String host) {
            httpOnly("host", host);
            if (host == null || host.isEmpty()) {
                throw new IllegalArgumentException("health check host: " + host + " (expected: a host name)");
            }
            checkVisible("health check host", host);
            this.host = host;
            return this;
        }

        /**
         * Sets the accepted status range, inclusive (default 200..399); HTTP checks only.
         *
         * @param min the lowest accepted status
         * @param max the highest accepted status
         * @return this builder
         */
        public Builder expectStatus(int min, int max) {
            httpOnly("expectStatus", min + ".." + max);
            if (min < 100 || min > 599) {
                throw new IllegalArgumentException("health check expectStatus min: " + min + " (expected: 100..599)");
            }
            if (max < min || max > 599) {
                throw new IllegalArgumentException("health check expectStatus max: " + max + " (expected: " + min + "..599)");
            }
            this.minStatus = min;
            this.maxStatus = max;
            return this;
        }

        /**
         * Accepts one status only; HTTP checks only.
         *
         * @param status the one accepted status
         * @return this builder
         */
        public Builder expectStatus(int status) {
            return expectStatus(status, status);
        }

        /**
         * Requires the response body to contain {@code substring} (ASCII or UTF-8); the checker then
         * reads up to 64 KiB of the body. HTTP checks only.
         *
         * @param substring the text the body must contain
         * @return this builder
         */
        public Builder expectBody(String substring) {
            httpOnly("expectBody", substring);
            if (substring == null || substring.isEmpty()) {
                throw new IllegalArgumentException("health check expectBody: " + (substring == null ? "null" : "\"\"") + " (expected: a non-empty string)");
            }
            this.expectedBody = substring;
            return this;
        }

        private void httpOnly(String field, Object value) {
            if (type != Type.HTTP) {
                throw new IllegalArgumentException("health check " + field + ": " + value + " (expected: an HTTP check; this is a " + type + " check)");
            }
        }

        private static Duration positive(String field, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("health check " + field + ": " + d + " (expected: > 0)");
            }
            return Durations.atMostMax("health check " + field, d);
        }

        private static int count(String field, int n) {
            if (n < 1 || n > 1000) {
                throw new IllegalArgumentException("health check " + field + ": " + n + " (expected: 1..1000)");
            }
            return n;
        }

        /**
         * Returns the immutable check. The builder stays usable.
         *
         * @return the immutable check
         * @throws IllegalArgumentException when the jitter is not below the interval and fast interval
         */
        public HealthCheck build() {
            Duration fast = fastInterval != null ? fastInterval : interval;
            Duration shortest = fast.compareTo(interval) < 0 ? fast : interval;
            if (jitter.compareTo(shortest) >= 0) {
                throw new IllegalArgumentException("health check jitter: " + jitter + " (expected: < " + shortest + ", the shortest interval)");
            }
            return new HealthCheck(this);
        }
    }
}
