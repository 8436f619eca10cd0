package io.lodestone.core;

import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.internal.Durations;
import io.lodestone.core.internal.Names;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A named pool of servers with a balancing strategy, timeouts, a retry count and a PROXY protocol
 * setting. Immutable: built once by {@link #named(String)}; runtime state (server states, weights
 * changed at run time, counters) lives behind {@link Proxy#control()}.
 *
 * <pre>{@code
 * Backend app = Backend.named("app")
 *     .balance(BalancingStrategy.leastConnections())
 *     .server("web1", "10.0.0.1:8080", s -> s.weight(80))
 *     .server("web2", "10.0.0.2:8080", s -> s.weight(20))
 *     .server("spare", "10.0.0.3:8080", s -> s.backup())
 *     .connectTimeout(Duration.ofSeconds(2))
 *     .retries(2)
 *     .build();
 * }</pre>
 */
public final class Backend {

    private final String name;
    private final List<Server> servers;
    private final BalancingStrategy balancingStrategy;
    private final Duration connectTimeout;
    private final Duration serverTimeout;
    private final int retries;
    private final ProxyProtocol proxyProtocol;
    private final HealthCheck healthCheck;
    private final OutlierDetection outlierDetection;
    private final Duration slowStart;
    private final Duration stickExpiry;
    private final int stickMaxEntries;
    private final Duration queueTimeout;
    private final int maxQueued;
    private final StickyCookie cookie;
    private final BackendTls tls;
    private final BackendProtocol protocol;
    private final boolean abortOnClose;
    private final Duration http2KeepAliveInterval;
    private final Duration http2KeepAliveTimeout;

    private Backend(Builder b) {
        this.name = b.name;
        this.servers = List.copyOf(b.servers);
        this.balancingStrategy = b.balancingStrategy;
        this.connectTimeout = b.connectTimeout;
        this.serverTimeout = b.serverTimeout;
        this.retries = b.retries;
        this.proxyProtocol = b.proxyProtocol;
        this.healthCheck = b.healthCheck;
        this.outlierDetection = b.outlierDetection;
        this.slowStart = b.slowStart;
        this.stickExpiry = b.stickExpiry;
        this.stickMaxEntries = b.stickMaxEntries;
        this.queueTimeout = b.queueTimeout;
        this.maxQueued = b.maxQueued;
        this.cookie = b.cookie;
        this.tls = b.tls;
        this.protocol = b.protocol;
        this.abortOnClose = b.abortOnClose;
        this.http2KeepAliveInterval = b.http2KeepAliveInterval;
        this.http2KeepAliveTimeout = b.http2KeepAliveTimeout;
    }

    /**
     * Returns a builder for a backend with this name.
     *
     * @param name the backend's name: letters, digits, {@code -}, {@code _} or {@code .}, unique within a
     *     proxy
     * @return a builder for a backend with this name
     */
    public static Builder named(String name) {
        return new Builder(name);
    }

    /** {@return the backend's name, unique within a proxy} */
    public String name() {
        return name;
    }

    /** {@return the servers, in configuration order} */
    public List<Server> servers() {
        return servers;
    }

    /** {@return how connections or requests are spread over the servers} */
    public BalancingStrategy balancingStrategy() {
        return balancingStrategy;
    }

    /**
     * {@return how long a connection to a server (its TLS handshake included) may take before the next server
     * is tried}
     */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * How long a server may stay silent: at L4, the idle time after which both sides are closed; at
     * L7, how long the proxy waits for a response (then 504).
     *
     * @return how long a server may stay silent: at L4, the idle time after which both sides are closed; at
     *     L7, how long the proxy waits for a response (then 504)
     */
    public Duration serverTimeout() {
        return serverTimeout;
    }

    /** {@return how many other servers are tried after a failed connection attempt} */
    public int retries() {
        return retries;
    }

    /** {@return the PROXY protocol header sent to servers that do not set their own} */
    public ProxyProtocol proxyProtocol() {
        return proxyProtocol;
    }

    /** {@return the active health check of the servers, or {@code null} when they are not checked} */
    public HealthCheck healthCheck() {
        return healthCheck;
    }

    /** {@return the passive outlier detection, or {@code null} when servers are never ejected} */
    public OutlierDetection outlierDetection() {
        return outlierDetection;
    }

    /**
     * How long a server that comes back (from down, maintenance, an ejection, or added at run time)
     * takes to reach its full weight; {@link Duration#ZERO} means at once.
     *
     * @return how long a server that comes back (from down, maintenance, an ejection, or added at run time)
     *     takes to reach its full weight; {@link Duration#ZERO} means at once
     */
    public Duration slowStart() {
        return slowStart;
    }

    /**
     * How long a client's source address stays stuck to its server after its last connection or
     * request, or {@code null} when the backend does not stick clients by source address.
     *
     * @return how long a client's source address stays stuck to its server after its last connection or
     *     request, or {@code null} when the backend does not stick clients by source address
     */
    public Duration stickOnSourceExpiry() {
        return stickExpiry;
    }

    /**
     * How long an HTTP request or TCP connection that finds every usable server at its connection
     * limit waits for a free slot before it is answered 503 (a TCP connection: closed);
     * {@link Duration#ZERO} (the default): it is answered, or closed, at once.
     *
     * @return how long an HTTP request or TCP connection that finds every usable server at its connection
     *     limit waits for a free slot before it is answered 503 (a TCP connection: closed); {@link
     *     Duration#ZERO} (the default): it is answered, or closed, at once
     */
    public Duration queueTimeout() {
        return queueTimeout;
    }

    /**
     * The most HTTP requests and TCP connections that wait in the backend's queue at once, beyond
     * which one that finds every usable server full is answered 503 (a TCP connection: closed) at
     * once; 0 (the default): no bound. See {@link Builder#maxQueued(int)}.
     *
     * @return the most HTTP requests and TCP connections that wait in the backend's queue at once, beyond
     *     which one that finds every usable server full is answered 503 (a TCP connection: closed) at once; 0
     *     (the default): no bound
     */
    public int maxQueued() {
        return maxQueued;
    }

    /** {@return the cookie HTTP clients are kept on their server with, or {@code null}} */
    public StickyCookie cookie() {
        return cookie;
    }

    /** {@return the TLS spoken to the servers (re-encryption), or {@code null} for plain TCP} */
    public BackendTls tls() {
        return tls;
    }

    /** {@return the HTTP version the L7 engine speaks to the servers; {@link BackendProtocol#HTTP_1_1} by default} */
    public BackendProtocol protocol() {
        return protocol;
    }

    /**
     * Whether an HTTP request whose client closes its side (a FIN) is dropped while it waits in the
     * queue, for a connection, or for the response head, or aborted while its HTTP/1 response streams
     * (a TCP connection: while it waits in the queue); {@code false} by default. See
     * {@link Builder#abortOnClose(boolean)}.
     *
     * @return whether an HTTP request whose client closes its side (a FIN) is dropped while it waits in the
     *     queue, for a connection, or for the response head, or aborted while its HTTP/1 response streams (a
     *     TCP connection: while it waits in the queue); {@code false} by default
     */
    public boolean abortOnClose() {
        return abortOnClose;
    }

    /**
     * {@return how long an HTTP/2 connection to a server may receive nothing before the proxy sends it a
     * keep-alive PING, or {@code null} (the default) when it sends none} See {@link Builder#http2KeepAlive}.
     */
    public Duration http2KeepAliveInterval() {
        return http2KeepAliveInterval;
    }

    /**
     * {@return how long after a keep-alive PING the server has to send something (the acknowledgement,
     * or any frame) before its connection is closed, or {@code null} when keep-alive PINGs are off} See
     * {@link Builder#http2KeepAlive}.
     */
    public Duration http2KeepAliveTimeout() {
        return http2KeepAliveTimeout;
    }

    /** {@return the most source addresses the stick table remembers (0 when there is no stick table)} */
    public int stickOnSourceMaxEntries() {
        return stickMaxEntries;
    }

    /**
     * Returns the server with this name, or {@code null}.
     *
     * @param serverName the server's name, unique within the backend
     * @return the server with this name, or {@code null}
     */
    public Server server(String serverName) {
        for (Server s : servers) {
            if (s.name().equals(serverName)) {
                return s;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "Backend{" + name + " " + servers + "}";
    }

    /** Builds a {@link Backend}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder {
        private final String name;
        private final List<Server> servers = new ArrayList<>();
        private BalancingStrategy balancingStrategy = BalancingStrategy.roundRobin();
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration serverTimeout = Duration.ofSeconds(60);
        private int retries = 3;
        private ProxyProtocol proxyProtocol = ProxyProtocol.NONE;
        private HealthCheck healthCheck;
        private OutlierDetection outlierDetection;
        private Duration slowStart = Duration.ZERO;
        private Duration stickExpiry;
        private Duration queueTimeout = Duration.ZERO;
        private int maxQueued;
        private StickyCookie cookie;
        private int stickMaxEntries;
        private BackendTls tls;
        private BackendProtocol protocol = BackendProtocol.HTTP_1_1;
        private boolean abortOnClose;
        private Duration http2KeepAliveInterval;
        private Duration http2KeepAliveTimeout;

        Builder(String name) {
            this.name = Names.check("backend name", name);
        }

        /**
         * Adds a server with the default settings (weight 1).
         *
         * @param serverName the server's name, unique within the backend
         * @param address the server's {@code host:port}
         * @return this builder
         */
        public Builder server(String serverName, String address) {
            return server(Server.builder(serverName, address).build());
        }

        /**
         * Adds a server, letting {@code settings} adjust its weight, backup flag and limits.
         *
         * @param serverName the server's name, unique within the backend
         * @param address the server's {@code host:port}
         * @param settings sets the server's options on its builder
         * @return this builder
         */
        public Builder server(String serverName, String address, Consumer<Server.Builder> settings) {
            Server.Builder b = Server.builder(serverName, address);
            settings.accept(b);
            return server(b.build());
        }

        /**
         * Adds a server built elsewhere.
         *
         * @param server a server built elsewhere
         * @return this builder
         */
        public Builder server(Server server) {
            servers.add(Objects.requireNonNull(server, "server"));
            return this;
        }

        /**
         * Sets the balancing strategy (default {@link BalancingStrategy#roundRobin()}).
         *
         * @param strategy the balancing strategy
         * @return this builder
         */
        public Builder balance(BalancingStrategy strategy) {
            this.balancingStrategy = Objects.requireNonNull(strategy, "backend " + name + " balance");
            return this;
        }

        /**
         * Sets the connect timeout (default 5 s): how long a server has to take a connection and, with
         * {@link #tls(BackendTls)}, to finish its TLS handshake, and, over HTTP/2
         * ({@link #protocol(BackendProtocol)}), to send its first SETTINGS, all counted from the connect.
         *
         * @param timeout the connect timeout
         * @return this builder
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive("connectTimeout", timeout);
            return this;
        }

        /**
         * Sets the server timeout (default 60 s).
         *
         * @param timeout the server timeout
         * @return this builder
         */
        public Builder serverTimeout(Duration timeout) {
            this.serverTimeout = positive("serverTimeout", timeout);
            return this;
        }

        /**
         * Sets how many other servers are tried after a failed connection (default 3).
         *
         * @param retries how many other servers to try, 0..100
         * @return this builder
         */
        public Builder retries(int retries) {
            if (retries < 0 || retries > 100) {
                throw new IllegalArgumentException("backend " + name + " retries: " + retries + " (expected: 0..100)");
            }
            this.retries = retries;
            return this;
        }

        /**
         * Sends a PROXY protocol header to every server of this backend that does not set its own. Only the
         * TCP engine sends one: {@link Proxy.Builder#build()} refuses V1 or V2 on a backend of an HTTP frontend.
         *
         * @param proxyProtocol a PROXY protocol header to every server of this backend that does not set its
         *     own
         * @return this builder
         */
        public Builder proxyProtocol(ProxyProtocol proxyProtocol) {
            this.proxyProtocol = Objects.requireNonNull(proxyProtocol, "backend " + name + " proxyProtocol");
            return this;
        }

        /**
         * Checks the servers actively with {@code check}; by default servers are not checked.
         *
         * @param check the health check
         * @return this builder
         */
        public Builder healthCheck(HealthCheck check) {
            this.healthCheck = Objects.requireNonNull(check, "backend " + name + " healthCheck");
            return this;
        }

        /**
         * Builds and sets the health check.
         *
         * @param check the health check
         * @return this builder
         */
        public Builder healthCheck(HealthCheck.Builder check) {
            return healthCheck(check.build());
        }

        /**
         * Ejects servers that fail live traffic; by default servers are never ejected.
         *
         * @param detection the outlier detection
         * @return this builder
         */
        public Builder outlierDetection(OutlierDetection detection) {
            this.outlierDetection = Objects.requireNonNull(detection, "backend " + name + " outlierDetection");
            return this;
        }

        /**
         * Builds and sets the outlier detection.
         *
         * @param detection the outlier detection
         * @return this builder
         */
        public Builder outlierDetection(OutlierDetection.Builder detection) {
            return outlierDetection(detection.build());
        }

        /**
         * Ramps the weight of a server that comes back into rotation linearly from a tenth to its full
         * weight over {@code duration}, in ten steps (HAProxy's {@code slowstart}); default 0: at once.
         * Step {@code k} of 1..10 gives the weight {@code ceil(weight * k / 10)}, at least 1: weights are
         * whole numbers, so a server of weight 1 (the default) has no ramp at all, and one of weight 5
         * ramps 1, 1, 2, 2, 3, ...; give servers weights of 10 or more (100 each rather than 1) to
         * slow-start them in ten even steps.
         *
         * @param duration how long the ramp takes; {@link Duration#ZERO} turns slow start off
         * @return this builder
         */
        public Builder slowStart(Duration duration) {
            if (duration == null || duration.isNegative()) {
                throw new IllegalArgumentException("backend " + name + " slowStart: " + duration + " (expected: >= 0)");
            }
            this.slowStart = Durations.atMostMax("backend " + name + " slowStart", duration);
            return this;
        }

        /**
         * Sticks each client, by source address, to the server it was first given, while that server
         * is up (HAProxy's {@code stick on src} with a {@code stick-table}): a server that is draining
         * or of weight 0 gets no new clients but keeps those stuck to it. The balancing strategy picks
         * only for clients the table does not know, or whose server is down (failed its checks or
         * ejected), in maintenance, removed or being updated by a rolling update; such a client is
         * then stuck to its new server. An
         * entry expires {@code expiry} after the client's last connection or request (read on the
         * proxy's clock); the table holds at most {@code maxEntries} addresses, forgetting the least
         * recently used first. A client whose server is at its connection limit is served by another
         * server for that connection, and stays stuck to its own; when every server is full and the
         * request waits in the {@linkplain #queueTimeout queue}, a slot its own server frees goes to it,
         * draining or not.
         *
         * <pre>{@code
         * Backend.named("app").stickOnSource(Duration.ofMinutes(30), 100_000)
         * }</pre>
         *
         * @param expiry how long a source address stays stuck after its last connection or request
         * @param maxEntries the most source addresses the stick table remembers
         * @return this builder
         */
        public Builder stickOnSource(Duration expiry, int maxEntries) {
            this.stickExpiry = positive("stickOnSource expiry", expiry);
            if (maxEntries < 1) {
                throw new IllegalArgumentException("backend " + name + " stickOnSource maxEntries: " + maxEntries + " (expected: >= 1)");
            }
            this.stickMaxEntries = maxEntries;
            return this;
        }

        /**
         * Lets an HTTP request or TCP connection that finds every usable server at its
         * {@link Server.Builder#maxConnections connection limit} wait up to {@code timeout} for a free
         * slot, in arrival order, before it is answered 503 or, at L4, closed (HAProxy's {@code maxconn}
         * with {@code timeout queue}, in {@code mode http} and {@code mode tcp}): a server of the backend
         * that finishes a request or connection hands its slot to the one that has waited longest,
         * before any that comes later. HTTP requests and TCP connections of one backend share its
         * queue. Default {@link Duration#ZERO}: no queue, 503 (or the close) at once. The number
         * waiting is {@link ProxyControl#queuedRequests(String)}; {@link #maxQueued(int)} bounds it.
         *
         * <pre>{@code
         * Backend.named("app")
         *     .server("web1", "10.0.0.1:8080", s -> s.maxConnections(100))
         *     .queueTimeout(Duration.ofSeconds(5))
         * }</pre>
         *
         * @param timeout the longest wait in the queue; {@link Duration#ZERO} for none
         * @return this builder
         */
        public Builder queueTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException("backend " + name + " queueTimeout: " + timeout + " (expected: >= 0)");
            }
            this.queueTimeout = Durations.atMostMax("backend " + name + " queueTimeout", timeout);
            return this;
        }

        /**
         * Bounds the {@linkplain #queueTimeout queue}: at most {@code max} HTTP requests and TCP
         * connections wait in it at once (HAProxy's {@code maxqueue}, nginx's upstream {@code queue}).
         * One that finds every usable server at its connection limit while {@code max} wait already is
         * answered 503 at once (a TCP connection is closed), logged {@code SQ} with a {@code connect}
         * error on the backend; it takes no slot and no place ahead of those waiting. Default 0: no
         * bound, every such request waits. Needs a queue timeout above zero, which gives the backend its
         * queue ({@link #build()} checks). A reconfiguration that lowers it leaves the requests already
         * waiting in the queue; new ones are refused until fewer than the new bound wait.
         *
         * <pre>{@code
         * Backend.named("app")
         *     .server("web1", "10.0.0.1:8080", s -> s.maxConnections(100))
         *     .queueTimeout(Duration.ofSeconds(5))
         *     .maxQueued(500)
         * }</pre>
         *
         * @param max the most waiting at once; 0 for no bound
         * @return this builder
         * @throws IllegalArgumentException when {@code max} is negative
         */
        public Builder maxQueued(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("backend " + name + " maxQueued: " + max + " (expected: >= 0, 0 for no bound)");
            }
            this.maxQueued = max;
            return this;
        }

        /**
         * Keeps HTTP clients on their server with a cookie (HAProxy's {@code cookie NAME insert},
         * {@code rewrite} or {@code prefix}); see {@link StickyCookie}, and
         * {@link Server.Builder#cookie(String)} for a server's explicit value. TCP frontends ignore it.
         *
         * <pre>{@code
         * Backend.named("app").cookie(StickyCookie.insert("SERVERID").indirect().nocache().httpOnly())
         * }</pre>
         *
         * @param cookie the sticky cookie
         * @return this builder
         */
        public Builder cookie(StickyCookie cookie) {
            this.cookie = Objects.requireNonNull(cookie, "backend " + name + " cookie");
            return this;
        }

        /**
         * Speaks TLS to the servers (re-encryption, HAProxy's {@code server ... ssl verify required
         * ca-file ...}): each new server connection, at L4 and L7 and for the TCP and HTTP health checks,
         * starts with a handshake that verifies the server's certificate and host name; a failed
         * handshake counts as a failed connection (the next server is tried, then 502 at L7).
         *
         * <pre>{@code
         * Backend.named("api").server("a1", "api-1.internal:8443")
         *     .tls(ClientTls.builder().trust(Path.of("internal-ca.pem")).build())
         * }</pre>
         *
         * @param tls the TLS spoken to the servers
         * @return this builder
         */
        public Builder tls(BackendTls tls) {
            this.tls = Objects.requireNonNull(tls, "backend " + name + " tls");
            return this;
        }

        /**
         * The HTTP version spoken to the servers (default {@link BackendProtocol#HTTP_1_1}).
         * {@link BackendProtocol#H2} needs {@link #tls(BackendTls)} offering ALPN {@code h2};
         * {@link BackendProtocol#H2C} is cleartext HTTP/2 with prior knowledge. With HTTP/2, the
         * requests of many clients share few server connections (per event loop and server), within
         * the server's limit of concurrent streams, and trailers pass both ways (gRPC).
         * An {@link HealthCheck#http(String) HTTP health check} speaks the same protocol to the servers'
         * own address (HAProxy's checks of a server with {@code proto h2}), and HTTP/1.1 in plain text on
         * a {@linkplain HealthCheck.Builder#port(int) port} or
         * {@linkplain HealthCheck.Builder#address(String, String) address} of its own.
         *
         * <pre>{@code
         * Backend.named("grpc").server("g1", "10.0.0.5:50051").protocol(BackendProtocol.H2C)
         * }</pre>
         *
         * @param protocol the HTTP version spoken to the servers
         * @return this builder
         */
        public Builder protocol(BackendProtocol protocol) {
            this.protocol = Objects.requireNonNull(protocol, "backend " + name + " protocol");
            return this;
        }

        /**
         * Drops an HTTP request whose client closes its side of the connection (a FIN, or over TLS a
         * {@code close_notify}, whether a FIN follows it or not) after sending
         * it whole, while the request still waits for a free server slot in the queue, for its server
         * connection, or for the server's response head (HAProxy's {@code option abortonclose}): the
         * queue slot is given up, a connect under way is cancelled (a stream to an HTTP/2 server still
         * being opened is given up), a server connection that has the request is closed (never pooled),
         * the client connection is closed (over HTTP/2, every stream of the connection aborts so and the
         * connection ends once its streams are done), and the access log has a
         * client abort, {@code CQ}, {@code CC} or {@code CH}, with no status. An HTTP/1 client that
         * closes its side once its response has begun, with no request pipelined behind it, aborts the
         * response in the same way ({@code CD}): the server connection closes, never pooled, as soon as
         * the FIN is read, where without the option the response goes on (as HAProxy's does) until it
         * ends, the client's reset shows at a write, or the server timeout fires; this is what frees a
         * server that stalls mid-body once its client has left. (An HTTP/2 stream's response goes on.)
         *
         * <p>Off by default, as in HAProxy: a client may end its side after its request and still read
         * the answer (HTTP/1.0-style clients, {@code nc -N}, some scripts), and such a request is then
         * served. Turn it on where a closed side means a client that gave up (a user who pressed stop),
         * so that saturated servers are not handed work nobody waits for. (A FIN cannot tell a client
         * that closed its socket from one that only ended its output.) A client that resets its
         * connection aborts its request whatever this says. On a TCP frontend it applies in the queue
         * only, as HAProxy's does in {@code mode tcp}: a connection whose client ends its side while it
         * waits there is closed and logged {@code CQ}; without it the connection keeps its place and
         * is served with its bytes and its FIN.
         *
         * <pre>{@code
         * Backend.named("app").server("web1", "10.0.0.1:8080", s -> s.maxConnections(100))
         *     .queueTimeout(Duration.ofSeconds(30))
         *     .abortOnClose(true)
         * }</pre>
         *
         * @param abortOnClose {@code true} to drop such requests
         * @return this builder
         */
        public Builder abortOnClose(boolean abortOnClose) {
            this.abortOnClose = abortOnClose;
            return this;
        }

        /**
         * Sends keep-alive PINGs on the HTTP/2 connections to the servers (Envoy's
         * {@code connection_keepalive}, gRPC's client keepalive): a connection that has received
         * nothing from its server for {@code interval} gets a PING, and when nothing at all comes back
         * within {@code timeout} after it (neither the acknowledgement nor any other frame), the
         * connection is closed: it takes no more requests, and the next request opens a new one. So a
         * pooled connection whose server vanished without a FIN or reset (a host powered off, a NAT or
         * firewall that dropped the flow) is found while it idles, not by the next request sent on it,
         * which would wait out its server timeout. Anything received counts, so a busy connection sends
         * no PING. PINGs do not keep a connection in use: one no request has used for the pool's idle
         * timeout still closes then. A request still on the connection when it closes so ends as a server timeout does:
         * {@code 504} before its response began (else the client's connection or stream is closed),
         * {@code sH} or {@code sD} in the access log, and a {@code timeout} error on the server; a
         * connection that carried no request when it closed counts one {@code timeout} error on the
         * server itself. Needs {@link #protocol(BackendProtocol)} {@code H2} or {@code H2C}
         * ({@link #build()} checks).
         *
         * <p>Off by default, as in Envoy: each PING wakes the server once an interval on every
         * connection (one per event loop of each proxy and server), and servers bound how often they
         * accept them: a gRPC server by default takes a PING at most every 5 minutes, and none while the
         * connection carries no call, and answers more with {@code GOAWAY} ({@code ENHANCE_YOUR_CALM},
         * "too_many_pings"), after which the connection takes no new requests. Choose an interval the
         * servers allow. Without it, an idle connection to a vanished server is still closed after the
         * pool's idle timeout, and a request sent on it meanwhile waits out its server timeout (504),
         * which then PINGs the connection (closed without the acknowledgement within the connect
         * timeout). A {@link Proxy#reconfigure reconfiguration} applies new settings to the connections
         * already open as well, from their last received frame; a PING already out keeps the timeout it
         * was sent with. The timers read the proxy's {@link Clock}.
         *
         * <pre>{@code
         * Backend.named("grpc").server("g1", "10.0.0.5:50051").protocol(BackendProtocol.H2C)
         *     .http2KeepAlive(Duration.ofSeconds(30), Duration.ofSeconds(10))
         * }</pre>
         *
         * @param interval how long a connection may receive nothing before it is sent a PING
         * @param timeout how long after a PING the server has to send something before its connection is closed
         * @return this builder
         * @throws IllegalArgumentException when either duration is not above zero or longer than
         *     36,500 days
         */
        public Builder http2KeepAlive(Duration interval, Duration timeout) {
            Duration i = positive("http2KeepAlive interval", interval);
            this.http2KeepAliveTimeout = positive("http2KeepAlive timeout", timeout);
            this.http2KeepAliveInterval = i;
            return this;
        }

        private Duration positive(String field, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("backend " + name + " " + field + ": " + d + " (expected: > 0)");
            }
            return Durations.atMostMax("backend " + name + " " + field, d);
        }

        /**
         * Returns the immutable backend.
         *
         * @return the immutable backend
         * @throws IllegalArgumentException when the backend has no server, two servers share a name
         *     or a sticky-cookie value,
         *     the health check names a server the backend does not have, the protocol does not
         *     fit the TLS setting, {@code maxQueued} is set without a queue timeout, or HTTP/2
         *     keep-alive PINGs are set for servers spoken to in HTTP/1.1
         */
        public Backend build() {
            if (servers.isEmpty()) {
                throw new IllegalArgumentException("backend " + name + " servers: [] (expected: at least one server)");
            }
            Set<String> seen = new HashSet<>();
            for (Server s : servers) {
                if (!seen.add(s.name())) {
                    throw new IllegalArgumentException("backend " + name + " server name: " + s.name() + " (expected: unique within the backend)");
                }
            }
            if (healthCheck != null) {
                for (String server : healthCheck.addresses().keySet()) {
                    if (!seen.contains(server)) {
                        throw new IllegalArgumentException("backend " + name + " health check address server: " + server + " (no such server)");
                    }
                }
            }
            if (maxQueued > 0 && queueTimeout.isZero()) {
                throw new IllegalArgumentException("backend " + name + " maxQueued: " + maxQueued
                        + " without a queueTimeout (expected: a queueTimeout above zero, which gives the backend a queue, or maxQueued 0)");
            }
            if (protocol == BackendProtocol.H2 && (tls == null || !tls.applicationProtocols().contains("h2"))) {
                throw new IllegalArgumentException("backend " + name + " protocol: H2 with tls ALPN "
                        + (tls == null ? "none (no tls)" : tls.applicationProtocols().toString())
                        + " (expected: tls offering ALPN h2, or protocol H2C)");
            }
            if (protocol == BackendProtocol.H2C && tls != null) {
                throw new IllegalArgumentException("backend " + name + " protocol: H2C with tls (expected: H2 over tls, or H2C without tls)");
            }
            if (http2KeepAliveInterval != null && protocol == BackendProtocol.HTTP_1_1) {
                // HTTP/1.1 has no PING: the setting would silently do nothing
                throw new IllegalArgumentException("backend " + name + " http2KeepAlive: interval " + http2KeepAliveInterval
                        + ", timeout " + http2KeepAliveTimeout + " with protocol HTTP_1_1 (expected: protocol H2 or H2C, whose connections PINGs can keep)");
            }
            Map<String, String> ids = new HashMap<>();
            for (Server s : servers) {
                String id = s.cookie() != null ? s.cookie() : cookie != null ? cookie.valueFor(name, s.name()) : null;
                String other = id == null ? null : ids.putIfAbsent(id, s.name());
                if (other != null) {
                    throw new IllegalArgumentException("backend " + name + " server " + s.name() + " cookie: " + id
                            + " (expected: unique within the backend; server " + other + " has it)");
                }
            }
            if (cookie != null && "None".equals(cookie.sameSite()) && !cookie.isSecure()) {
                // browsers drop a SameSite=None cookie without Secure: stickiness would silently never hold
                throw new IllegalArgumentException("backend " + name + " cookie sameSite: None without secure()"
                        + " (expected: secure(), which browsers require of a SameSite=None cookie)");
            }
            return new Backend(this);
        }
    }
}
