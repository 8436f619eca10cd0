package io.lodestone.examples.gateway;

import io.lodestone.core.Backend;
import io.lodestone.core.Server;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.log.AccessLog;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.l7.AdminFrontend;
import io.lodestone.l7.HttpFrontend;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.route.Acl;
import io.lodestone.examples.UsageException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The gateway launcher's command line, parsed and checked: immutable, and made without starting
 * anything. {@link Gateway#newProxy(GatewayOptions)} turns it into a proxy.
 *
 * <pre>{@code
 * GatewayOptions o = GatewayOptions.parse(List.of(
 *         "--mode", "tcp", "--listen", "127.0.0.1:8080",
 *         "--backend", "127.0.0.1:9001,127.0.0.1:9002", "--balance=leastconn"));
 * }</pre>
 *
 * <p>In {@code http} mode, {@code --deny /admin} answers 403 to every request whose path begins
 * with {@code /admin} (under every spelling a backend would read as {@code /admin}), and
 * {@code --route /api=127.0.0.1:9003} sends requests whose path begins with {@code /api} to that
 * server, their path unchanged; both repeat, and requests no route takes go to the
 * {@code --backend} servers. {@code --hash-key header:X-Tenant} (or {@code path}, {@code uri},
 * {@code cookie:NAME}, {@code param:NAME}) balances those servers on a hash of that part of the
 * request ({@link BalancingStrategy#hashOn(HashKey)}) instead of {@code --balance}.
 *
 * <p>{@code --tls-cert PEM --tls-key PEM} terminate TLS in either mode (http mode offers ALPN
 * {@code h2,http/1.1}). In {@code tcp} mode without them, {@code --sni shop.example=127.0.0.1:9443}
 * passes TLS through untouched and routes connections whose SNI name is {@code shop.example} to
 * that server; it repeats, and connections no {@code --sni} takes go to the {@code --backend} servers.
 * With either, in tcp mode, {@code --timeout-client-hello 3s} bounds the wait for each client's
 * ClientHello ({@link io.lodestone.l4.TcpFrontend.Builder#clientHelloTimeout}; 5 s by default).
 *
 * <p>{@code --compress} (http mode) compresses responses for clients that accept it, with
 * {@link io.lodestone.l7.Compression#defaults()}. {@code --h2c} (http mode, without TLS) also accepts
 * HTTP/2 with prior knowledge on the plain-text port: connections that begin with the HTTP/2
 * preface speak HTTP/2, the others HTTP/1.1. {@code --websocket-over-h2} (http mode, with {@code --h2c}
 * or {@code --tls-cert}) lets HTTP/2 clients open WebSockets (RFC 8441), forwarded to the servers as
 * HTTP/1.1 upgrades ({@link HttpFrontend.Builder#websocketOverHttp2}). {@code --defer-accept} (http mode) has the kernel hand a
 * new connection over only once its client has sent data. {@code --abort-on-close} (http mode) drops
 * a request whose client ends its side before the response head, or aborts its HTTP/1 response
 * ({@link Backend.Builder#abortOnClose}).
 *
 * <p>{@code --accept-proxy} (either mode) has every client connection start with a PROXY protocol
 * header (version 1 or 2), whose addresses stand for the client's ({@code acceptProxyProtocol()} on
 * {@link io.lodestone.l4.TcpFrontend.Builder#acceptProxyProtocol() TcpFrontend} and
 * {@link HttpFrontend.Builder#acceptProxyProtocol() HttpFrontend}); {@code --accept-proxy-from
 * 10.0.0.0/8,192.0.2.7} does so for connections from those networks only, serving the others with
 * their own addresses.
 *
 * <p>{@code --rate-limit 100/s} (or {@code 6000/m}) limits each client address: in http mode to so
 * many requests (beyond them the answer is 429 with {@code Retry-After}), in tcp mode to so many new
 * connections (beyond them a connection is closed), with a burst of the same number.
 *
 * <p>{@code --backend-tls verify} (or {@code insecure}) speaks TLS to the servers, verifying their
 * certificates against {@code --backend-ca PEM} (else the JDK's trust store) and host names; in
 * {@code http} mode {@code --backend-proto h2c} (or {@code h2}, over {@code --backend-tls}) speaks
 * HTTP/2 to them, many requests sharing each connection; {@code --backend-h2-keepalive 30s,10s} then
 * PINGs a server connection that received nothing for 30 s, and closes it when nothing comes back
 * within 10 s ({@link Backend.Builder#http2KeepAlive}).
 *
 * <p>In http mode every request gets an id in {@code X-Request-ID} ({@code --request-id HEADER}
 * names another header) and {@code X-Forwarded-*} and {@code X-Real-IP} headers; {@code --request-id off}
 * and {@code --forwarded-for off} leave them out, as HAProxy and nginx do unless told to add them.
 * {@code --headers-with-underscores drop|reject} removes or refuses request header fields whose names
 * have an underscore ({@code HttpFrontend.HeadersWithUnderscores}). {@code --error-page 503=sorry.html}
 * (repeatable) answers the gateway's own 503s with that file, its content type from its extension
 * ({@link ErrorPageFile}).
 *
 * <p>Flags take their value as the next argument or after {@code =}; switches such as
 * {@code --compress} take none. Durations are a whole number with a unit: {@code us}, {@code ms},
 * {@code s}, {@code m} or {@code h}, at most {@link #MAX_DURATION}.
 */
public final class GatewayOptions {

    /** How the gateway proxies. */
    public enum Mode {
        /** Relays TCP connections (the L4 engine). */
        TCP,
        /** Proxies HTTP requests (the L7 engine). */
        HTTP;

        /** The flag value, {@code tcp} or {@code http}. */
        public String flagValue() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The {@code --backend-proto} choices: the HTTP version spoken to the servers in http mode. */
    public enum BackendProto {
        /** HTTP/1.1 (the default). */
        HTTP1("http1"),
        /** HTTP/2 over cleartext TCP with prior knowledge. */
        H2C("h2c"),
        /** HTTP/2 over TLS (ALPN h2); needs {@code --backend-tls}. */
        H2("h2");

        private final String flagValue;

        BackendProto(String flagValue) {
            this.flagValue = flagValue;
        }

        /** The flag value, e.g. {@code h2c}. */
        public String flagValue() {
            return flagValue;
        }
    }

    /** The {@code --backend-tls} choices: how the servers' certificates are checked. */
    public enum BackendTlsMode {
        /** Verify the certificate chain (against {@code --backend-ca}, else the JDK's trust store) and host name. */
        VERIFY("verify"),
        /** Encrypt without verifying anything (HAProxy's {@code verify none}). */
        INSECURE("insecure");

        private final String flagValue;

        BackendTlsMode(String flagValue) {
            this.flagValue = flagValue;
        }

        /** The flag value, e.g. {@code verify}. */
        public String flagValue() {
            return flagValue;
        }
    }

    /** The {@code --balance} choices, named as in HAProxy. */
    public enum Balance {
        /** Smooth weighted round robin. */
        ROUNDROBIN("roundrobin"),
        /** Least connections. */
        LEASTCONN("leastconn"),
        /** Consistent hash of the client's address. */
        SOURCE("source"),
        /** Random. */
        RANDOM("random"),
        /** Power of two random choices. */
        P2C("p2c");

        private final String flagValue;

        Balance(String flagValue) {
            this.flagValue = flagValue;
        }

        /** The flag value, e.g. {@code leastconn}. */
        public String flagValue() {
            return flagValue;
        }

        /** The balancing strategy this choice stands for. */
        public BalancingStrategy strategy() {
            switch (this) {
                case LEASTCONN:
                    return BalancingStrategy.leastConnections();
                case SOURCE:
                    return BalancingStrategy.sourceHash();
                case RANDOM:
                    return BalancingStrategy.random();
                case P2C:
                    return BalancingStrategy.powerOfTwoChoices();
                default:
                    return BalancingStrategy.roundRobin();
            }
        }

        static Balance of(String value) {
            for (Balance b : values()) {
                if (b.flagValue.equals(value)) {
                    return b;
                }
            }
            return null;
        }
    }

    /** The most I/O threads {@code --io-threads} accepts. */
    public static final int MAX_IO_THREADS = 1024;

    /** The most idle server connections per I/O thread and server {@code --pool-max-idle} accepts. */
    public static final int MAX_POOL_MAX_IDLE = 100_000;

    /** The most requests per connection {@code --pool-max-requests} and {@code --keepalive-requests} accept. */
    public static final int MAX_REQUESTS_PER_CONNECTION = 1_000_000_000;

    /** The highest {@code --maxconn}: a million connections or requests per server. */
    static final int MAX_CONNECTIONS = 1_000_000;

    /** The highest {@code --max-queue}: a million connections or requests waiting per backend. */
    static final int MAX_QUEUED = 1_000_000;

    /** The most retries {@code --retries} accepts (as {@code Backend.Builder.retries}). */
    public static final int MAX_RETRIES = 100;

    /** The interval of the {@code --health-check} probes, in seconds. */
    public static final int HEALTH_CHECK_INTERVAL_SECONDS = 1;

    /** Passing {@code --health-check} probes in a row that bring a server up. */
    public static final int HEALTH_CHECK_RISE = 2;

    /** Failing {@code --health-check} probes in a row that take a server down. */
    public static final int HEALTH_CHECK_FALL = 2;

    /** The longest {@code --busy-poll}. */
    public static final Duration MAX_BUSY_POLL = Duration.ofSeconds(1);

    /** The request id header unless {@code --request-id} names another. */
    public static final String DEFAULT_REQUEST_ID_HEADER = "X-Request-ID";

    /**
     * The longest duration any flag takes, 876000h (36,500 days), the longest the builders take: the
     * engines count a timeout in nanoseconds from a clock reading.
     */
    public static final Duration MAX_DURATION = Duration.ofDays(36_500);

    /**
     * How long a server has to answer a keep-alive PING when {@code --backend-h2-keepalive} gives no
     * timeout: gRPC's default keepalive timeout.
     */
    public static final Duration DEFAULT_H2_KEEPALIVE_TIMEOUT = Duration.ofSeconds(20);

    /** The longest {@code --warm-up}. */
    public static final Duration MAX_WARM_UP = Duration.ofMinutes(10);

    private static final String DURATION = "a duration like 500ms, 5s, 2m, 1h";

    private final Mode mode;
    private final HostPort listen;
    private final List<HostPort> backends;
    private final BackendProto backendProto;
    private final Duration backendH2KeepAlive;
    private final Duration backendH2KeepAliveTimeout;
    private final BackendTlsMode backendTls;
    private final Path backendCa;
    private final Balance balance;
    private final HashKey hashKey;
    private final String hashKeyValue;
    private final Integer retries;
    private final Integer maxConnections;
    private final Duration queueTimeout;
    private final Integer maxQueued;
    private final Duration connectTimeout;
    private final Duration clientTimeout;
    private final Duration serverTimeout;
    private final Duration clientHelloTimeout;
    private final int ioThreads;
    private final Duration busyPoll;
    private final HostPort admin;
    private final String adminToken;
    private final AccessLog.Format accessLog;
    private final String healthCheckPath;
    private final List<String> denies;
    private final List<Route> routes;
    private final Path tlsCert;
    private final Path tlsKey;
    private final List<Sni> snis;
    private final boolean compress;
    private final boolean h2c;
    private final boolean websocketOverH2;
    private final boolean deferAccept;
    private final boolean abortOnClose;
    private final boolean acceptProxy;
    private final List<String> acceptProxyFrom;
    private final RateLimit rateLimit;
    private final long cacheBytes;
    private final Duration warmUp;
    private final Integer poolMaxIdle;
    private final Duration poolIdleTimeout;
    private final Integer poolMaxRequests;
    private final Duration poolMaxLifetime;
    private final Integer keepAliveRequests;
    private final String requestIdHeader;
    private final boolean requestIds;
    private final boolean forwardedFor;
    private final HttpFrontend.HeadersWithUnderscores headersWithUnderscores;
    private final List<ErrorPageFile> errorPages;

    /**
     * A {@code --route PATH_PREFIX=HOST:PORT}: requests whose normalised path begins with
     * {@code prefix} go to {@code server}, their path unchanged.
     *
     * @param prefix the path prefix, starting with {@code /}
     * @param server the one server of the route's backend
     */
    public record Route(String prefix, HostPort server) {

        /** Checks the fields. */
        public Route {
            Objects.requireNonNull(prefix, "prefix");
            Objects.requireNonNull(server, "server");
        }

        @Override
        public String toString() {
            return prefix + "=" + server;
        }
    }

    /**
     * A {@code --sni NAME=HOST:PORT}: TLS connections whose SNI name is {@code name} (case-insensitive;
     * {@code *.example.com} matches any subdomain) are passed through to {@code server}.
     *
     * @param name the server name, lower case
     * @param server the one server of the name's backend
     */
    public record Sni(String name, HostPort server) {

        /** Checks the fields. */
        public Sni {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(server, "server");
        }

        @Override
        public String toString() {
            return name + "=" + server;
        }
    }

    private GatewayOptions(Parser p) {
        this.mode = p.mode != null ? p.mode : Mode.TCP;
        this.listen = p.listen;
        this.backends = List.copyOf(p.backends);
        this.balance = p.balance != null ? p.balance : Balance.ROUNDROBIN;
        this.hashKey = p.hashKey;
        this.hashKeyValue = p.hashKeyValue;
        this.retries = p.retries;
        this.maxConnections = p.maxConnections;
        this.queueTimeout = p.queueTimeout;
        this.maxQueued = p.maxQueued;
        this.connectTimeout = p.connectTimeout;
        this.clientTimeout = p.clientTimeout;
        this.serverTimeout = p.serverTimeout;
        this.clientHelloTimeout = p.clientHelloTimeout;
        this.ioThreads = p.ioThreads;
        this.busyPoll = p.busyPoll;
        this.admin = p.admin;
        this.adminToken = p.adminToken;
        this.accessLog = p.accessLog != null ? p.accessLog : AccessLog.Format.OFF;
        this.healthCheckPath = p.healthCheckPath;
        this.denies = List.copyOf(p.denies);
        this.routes = List.copyOf(p.routes);
        this.tlsCert = p.tlsCert;
        this.tlsKey = p.tlsKey;
        this.snis = List.copyOf(p.snis);
        this.compress = p.compress;
        this.h2c = p.h2c;
        this.websocketOverH2 = p.websocketOverH2;
        this.deferAccept = p.deferAccept;
        this.abortOnClose = p.abortOnClose;
        this.acceptProxy = p.acceptProxy || !p.acceptProxyFrom.isEmpty();
        this.acceptProxyFrom = List.copyOf(p.acceptProxyFrom);
        this.rateLimit = p.rateLimit;
        this.backendProto = p.backendProto != null ? p.backendProto : BackendProto.HTTP1;
        this.backendH2KeepAlive = p.backendH2KeepAlive;
        this.backendH2KeepAliveTimeout = p.backendH2KeepAliveTimeout;
        this.backendTls = p.backendTls;
        this.backendCa = p.backendCa;
        this.cacheBytes = p.cacheBytes;
        this.warmUp = p.warmUp;
        this.poolMaxIdle = p.poolMaxIdle;
        this.poolIdleTimeout = p.poolIdleTimeout;
        this.poolMaxRequests = p.poolMaxRequests;
        this.poolMaxLifetime = p.poolMaxLifetime;
        this.keepAliveRequests = p.keepAliveRequests;
        this.requestIdHeader = p.requestIdHeader != null ? p.requestIdHeader : DEFAULT_REQUEST_ID_HEADER;
        this.requestIds = p.requestIds;
        this.forwardedFor = p.forwardedFor;
        this.headersWithUnderscores = p.headersWithUnderscores;
        this.errorPages = List.copyOf(p.errorPages);
    }

    /** A copy of {@code o} for its warm-up: see {@link #forWarmUp(HostPort)}. */
    private GatewayOptions(GatewayOptions o, HostPort origin) {
        this.mode = o.mode;
        this.listen = new HostPort("127.0.0.1", 0);
        this.backends = Collections.nCopies(o.backends.size(), origin);
        this.balance = o.balance;
        this.hashKey = o.hashKey;
        this.hashKeyValue = o.hashKeyValue;
        this.retries = o.retries;
        // the warm-up's copy has no connection limit: its bursts would wait in a queue or get 503s
        this.maxConnections = null;
        this.queueTimeout = null;
        this.maxQueued = null;
        this.connectTimeout = o.connectTimeout;
        this.clientTimeout = o.clientTimeout;
        this.serverTimeout = o.serverTimeout;
        // the warm-up speaks plain TCP or HTTP: no ClientHello to wait for
        this.clientHelloTimeout = null;
        this.ioThreads = o.ioThreads;
        this.busyPoll = o.busyPoll;
        this.admin = null;
        this.adminToken = null;
        this.accessLog = AccessLog.Format.OFF;
        this.healthCheckPath = null;
        this.denies = o.denies;
        List<Route> toOrigin = new ArrayList<>(o.routes.size());
        for (Route r : o.routes) {
            toOrigin.add(new Route(r.prefix(), origin));
        }
        this.routes = List.copyOf(toOrigin);
        this.tlsCert = null;
        this.tlsKey = null;
        this.snis = List.of();
        this.compress = o.compress;
        this.h2c = o.h2c;
        this.websocketOverH2 = o.websocketOverH2;
        this.deferAccept = o.deferAccept;
        this.abortOnClose = o.abortOnClose;
        // the warm-up's traffic comes from inside the JVM, without a PROXY header
        this.acceptProxy = false;
        this.acceptProxyFrom = List.of();
        this.rateLimit = null;
        this.backendProto = o.backendProto;
        this.backendH2KeepAlive = o.backendH2KeepAlive;
        this.backendH2KeepAliveTimeout = o.backendH2KeepAliveTimeout;
        this.backendTls = null;
        this.backendCa = null;
        this.cacheBytes = o.cacheBytes;
        this.warmUp = null;
        this.poolMaxIdle = o.poolMaxIdle;
        this.poolIdleTimeout = o.poolIdleTimeout;
        this.poolMaxRequests = o.poolMaxRequests;
        this.poolMaxLifetime = o.poolMaxLifetime;
        this.keepAliveRequests = o.keepAliveRequests;
        this.requestIdHeader = o.requestIdHeader;
        this.requestIds = o.requestIds;
        this.forwardedFor = o.forwardedFor;
        this.headersWithUnderscores = o.headersWithUnderscores;
        this.errorPages = o.errorPages;
    }

    /** Parses the arguments that follow {@code gateway}; see {@link #parse(List)}. */
    public static GatewayOptions parse(String... args) throws UsageException {
        return parse(Arrays.asList(args));
    }

    /**
     * Parses the arguments that follow {@code gateway}.
     *
     * @throws UsageException naming the flag and the value when a flag is unknown, given twice or
     *     without a value, a value does not parse, {@code --listen} or {@code --backend} is missing, or
     *     {@code --deny} or {@code --route} is given in {@code tcp} mode or with a prefix that no normalised path
     *     begins with ({@code //admin}, {@code /%61dmin}, a {@code ;}, a backslash or a dot segment), or one of {@code --admin} and
     *     {@code --admin-token} is given without the other, or one of {@code --tls-cert} and
     *     {@code --tls-key} without the other, or {@code --sni} in {@code http} mode or with
     *     {@code --tls-cert}, or a switch ({@code --compress}) is given a value or, in {@code tcp} mode, at all,
     *     or {@code --cache}, {@code --pool-max-idle}, {@code --pool-idle-timeout}, {@code --pool-max-requests},
     *     {@code --pool-max-lifetime}, {@code --keepalive-requests}, {@code --request-id} or
     *     {@code --forwarded-for} or {@code --headers-with-underscores} is given in {@code tcp} mode,
     *     or {@code --warm-up} is longer than {@link #MAX_WARM_UP} or given with TLS on either side,
     *     or {@code --timeout-client-hello} is given but for tcp mode with {@code --sni} or {@code --tls-cert},
     *     or {@code --accept-proxy-from} names a network that does not parse or is given with {@code --accept-proxy},
     *     or {@code --backend-h2-keepalive} is given without {@code --backend-proto h2c} or {@code h2}
     */
    public static GatewayOptions parse(List<String> args) throws UsageException {
        Objects.requireNonNull(args, "args");
        Parser p = new Parser();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UsageException("unexpected argument: " + arg + " (flags start with --; see --help)");
            }
            int eq = arg.indexOf('=');
            String flag = eq < 0 ? arg : arg.substring(0, eq);
            if (!Parser.FLAGS.contains(flag)) {
                throw new UsageException("unknown flag: " + flag + " (see --help)");
            }
            if (Parser.SWITCHES.contains(flag)) {
                if (eq >= 0) {
                    throw new UsageException(flag + ": " + arg.substring(eq + 1) + " (expected: no value; " + flag + " is a switch)");
                }
                p.acceptSwitch(flag);
                continue;
            }
            String value;
            if (eq >= 0) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                value = args.get(++i);
            } else {
                throw new UsageException(flag + ": missing value");
            }
            p.accept(flag, value);
        }
        if (p.listen == null) {
            throw new UsageException("--listen: missing (expected: --listen HOST:PORT)");
        }
        if (p.backends.isEmpty()) {
            throw new UsageException("--backend: missing (expected: at least one --backend HOST:PORT)");
        }
        if (p.mode != Mode.HTTP) {
            if (!p.denies.isEmpty()) {
                throw new UsageException("--deny: " + p.denies.get(0) + " (only in http mode: add --mode http)");
            }
            if (!p.routes.isEmpty()) {
                throw new UsageException("--route: " + p.routes.get(0) + " (only in http mode: add --mode http)");
            }
            if (p.compress) {
                throw new UsageException("--compress: on (only in http mode: add --mode http)");
            }
            if (p.h2c) {
                throw new UsageException("--h2c: on (only in http mode: add --mode http)");
            }
            if (p.deferAccept) {
                throw new UsageException("--defer-accept: on (only in http mode: add --mode http)");
            }
            if (p.websocketOverH2) {
                throw new UsageException("--websocket-over-h2: on (only in http mode: add --mode http)");
            }
            if (p.abortOnClose) {
                throw new UsageException("--abort-on-close: on (only in http mode: add --mode http)");
            }
        }
        if (p.maxQueued != null && p.maxQueued > 0 && (p.queueTimeout == null || p.queueTimeout.isZero())) {
            // Backend.Builder.build() refuses a bound without a queue: say which flag gives the queue
            throw new UsageException("--max-queue: " + p.maxQueued
                    + " (expected: with --timeout-queue above 0, which gives the backends their queue)");
        }
        if (p.acceptProxy && !p.acceptProxyFrom.isEmpty()) {
            throw new UsageException("--accept-proxy-from: " + String.join(",", p.acceptProxyFrom)
                    + " (expected: either --accept-proxy, for every client, or --accept-proxy-from, not both)");
        }
        if (p.cacheBytes > 0 && p.mode != Mode.HTTP) {
            throw new UsageException("--cache: " + p.cacheValue + " (only in http mode: add --mode http)");
        }
        if (p.poolMaxIdle != null && p.mode != Mode.HTTP) {
            throw new UsageException("--pool-max-idle: " + p.poolMaxIdle + " (only in http mode: add --mode http)");
        }
        if (p.poolIdleTimeout != null && p.mode != Mode.HTTP) {
            throw new UsageException("--pool-idle-timeout: " + p.poolIdleTimeoutValue + " (only in http mode: add --mode http)");
        }
        if (p.poolMaxRequests != null && p.mode != Mode.HTTP) {
            throw new UsageException("--pool-max-requests: " + p.poolMaxRequests + " (only in http mode: add --mode http)");
        }
        if (p.poolMaxLifetime != null && p.mode != Mode.HTTP) {
            throw new UsageException("--pool-max-lifetime: " + p.poolMaxLifetimeValue + " (only in http mode: add --mode http)");
        }
        if (p.keepAliveRequests != null && p.mode != Mode.HTTP) {
            throw new UsageException("--keepalive-requests: " + p.keepAliveRequests + " (only in http mode: add --mode http)");
        }
        if (p.hashKey != null && p.mode != Mode.HTTP) {
            throw new UsageException("--hash-key: " + p.hashKeyValue + " (only in http mode: add --mode http; tcp mode has --balance source)");
        }
        if (p.hashKey != null && p.balance != null) {
            throw new UsageException("--hash-key: " + p.hashKeyValue + " (expected: not with --balance " + p.balance.flagValue()
                    + "; the key's hash picks the server)");
        }
        if (p.seen.contains("--request-id") && p.mode != Mode.HTTP) {
            throw new UsageException("--request-id: " + (p.requestIds ? p.requestIdHeader : "off") + " (only in http mode: add --mode http)");
        }
        if (p.seen.contains("--forwarded-for") && p.mode != Mode.HTTP) {
            throw new UsageException("--forwarded-for: " + (p.forwardedFor ? "on" : "off") + " (only in http mode: add --mode http)");
        }
        if (!p.errorPages.isEmpty() && p.mode != Mode.HTTP) {
            throw new UsageException("--error-page: " + p.errorPages.get(0) + " (only in http mode: add --mode http)");
        }
        if (p.seen.contains("--headers-with-underscores") && p.mode != Mode.HTTP) {
            throw new UsageException("--headers-with-underscores: " + p.headersWithUnderscoresValue + " (only in http mode: add --mode http)");
        }
        if (p.tlsCert != null && p.tlsKey == null) {
            throw new UsageException("--tls-key: missing (expected: --tls-key PEM with --tls-cert)");
        }
        if (p.tlsCert == null && p.tlsKey != null) {
            throw new UsageException("--tls-cert: missing (expected: --tls-cert PEM with --tls-key)");
        }
        if (p.h2c && p.tlsCert != null) {
            throw new UsageException("--h2c: on (not with --tls-cert: over TLS, clients choose HTTP/2 through ALPN)");
        }
        if (p.websocketOverH2 && p.mode == Mode.HTTP && !p.h2c && p.tlsCert == null) {
            throw new UsageException("--websocket-over-h2: on (needs HTTP/2 from clients: add --h2c, or --tls-cert for h2 through ALPN)");
        }
        if (!p.snis.isEmpty()) {
            if (p.mode == Mode.HTTP) {
                throw new UsageException("--sni: " + p.snis.get(0) + " (only in tcp mode: TLS passthrough routes"
                        + " connections, not requests)");
            }
            if (p.tlsCert != null) {
                throw new UsageException("--sni: " + p.snis.get(0) + " (not with --tls-cert: --sni passes TLS through"
                        + " untouched, --tls-cert terminates it)");
            }
        }
        if (p.clientHelloTimeout != null && (p.mode == Mode.HTTP || p.snis.isEmpty() && p.tlsCert == null)) {
            throw new UsageException("--timeout-client-hello: " + p.clientHelloTimeoutValue + " (only in tcp mode with --sni"
                    + " or --tls-cert: without TLS there is no ClientHello to wait for"
                    + (p.mode == Mode.HTTP ? "; http mode bounds it with the TLS handshake timeout" : "") + ")");
        }
        if (p.backendProto != null && p.mode != Mode.HTTP) {
            throw new UsageException("--backend-proto: " + p.backendProto.flagValue() + " (only in http mode: add --mode http)");
        }
        if (p.backendProto == BackendProto.H2 && p.backendTls == null) {
            throw new UsageException("--backend-proto: h2 (needs --backend-tls verify|insecure; h2c is HTTP/2 without TLS)");
        }
        if (p.backendProto == BackendProto.H2C && p.backendTls != null) {
            throw new UsageException("--backend-proto: h2c (not with --backend-tls: use --backend-proto h2 for HTTP/2 over TLS)");
        }
        if (p.backendH2KeepAlive != null && p.mode != Mode.HTTP) {
            throw new UsageException("--backend-h2-keepalive: " + p.backendH2KeepAliveValue + " (only in http mode: add --mode http)");
        }
        if (p.backendH2KeepAlive != null && (p.backendProto == null || p.backendProto == BackendProto.HTTP1)) {
            // Backend.Builder.build() refuses it too: HTTP/1.1 has no PING
            throw new UsageException("--backend-h2-keepalive: " + p.backendH2KeepAliveValue
                    + " (needs --backend-proto h2c or h2: HTTP/1.1 connections to the servers have no PING)");
        }
        if (p.healthCheckPath != null && !p.snis.isEmpty()) {
            throw new UsageException("--health-check: " + p.healthCheckPath + " (not with --sni: the servers of a TLS"
                    + " passthrough speak TLS, the check plain HTTP/1.1)");
        }
        if (p.backendCa != null && p.backendTls != BackendTlsMode.VERIFY) {
            throw new UsageException("--backend-ca: " + p.backendCa + " (only with --backend-tls verify)");
        }
        if (p.backendTls != null && !p.snis.isEmpty()) {
            throw new UsageException("--backend-tls: " + p.backendTls.flagValue() + " (not with --sni: passthrough relays the"
                    + " client's own TLS)");
        }
        if (p.admin != null && p.adminToken == null) {
            throw new UsageException("--admin-token: missing (expected: --admin-token TOKEN with --admin; the admin endpoint"
                    + " never runs without a token)");
        }
        if (p.warmUp != null) {
            String notWith = p.tlsCert != null ? "--tls-cert" : !p.snis.isEmpty() ? "--sni"
                    : p.backendTls != null ? "--backend-tls" : p.backendProto == BackendProto.H2C ? "--backend-proto h2c" : null;
            if (notWith != null) {
                throw new UsageException("--warm-up: " + p.warmUpValue + " (not with " + notWith
                        + ": the warm-up speaks plain HTTP/1.1 on both sides)");
            }
        }
        if (p.admin == null && p.adminToken != null) {
            throw new UsageException("--admin: missing (expected: --admin HOST:PORT with --admin-token)");
        }
        if (p.admin != null && p.admin.port() != 0 && p.admin.port() == p.listen.port()
                && (p.admin.anyHost() || p.listen.anyHost() || p.admin.host().equalsIgnoreCase(p.listen.host()))) {
            throw new UsageException("--admin: " + p.admin + " (the port of --listen " + p.listen + ")");
        }
        return new GatewayOptions(p);
    }

    /** The proxy mode (default {@link Mode#TCP}). */
    public Mode mode() {
        return mode;
    }

    /** The address to listen on. */
    public HostPort listen() {
        return listen;
    }

    /** The servers, in order; they are named {@code s1}, {@code s2}, ... */
    public List<HostPort> backends() {
        return backends;
    }

    /** The balancing strategy (default {@link Balance#ROUNDROBIN}); {@link #hashKey()} replaces it when given. */
    public Balance balance() {
        return balance;
    }

    /** The request key the servers are balanced on ({@code --hash-key}, http mode), if given. */
    public Optional<HashKey> hashKey() {
        return Optional.ofNullable(hashKey);
    }

    /** The strategy of the {@code --backend} servers: {@code hashOn} the {@link #hashKey()} when given, else {@link #balance()}'s. */
    public BalancingStrategy strategy() {
        return hashKey != null ? BalancingStrategy.hashOn(hashKey) : balance.strategy();
    }

    /** How the gateway's start line names the balancing: {@code leastconn}, or {@code hash header:x-tenant}. */
    public String balanceText() {
        return hashKey != null ? "hash " + hashKeyValue : balance.flagValue();
    }

    /** The retry count, when given; otherwise the backend's default applies. */
    public OptionalInt retries() {
        return retries != null ? OptionalInt.of(retries) : OptionalInt.empty();
    }

    /** Each server's connection (tcp) or request (http) limit, {@code --maxconn}, when given. */
    public OptionalInt maxConnections() {
        return maxConnections != null ? OptionalInt.of(maxConnections) : OptionalInt.empty();
    }

    /** How long a connection or request waits for a server below its limit, {@code --timeout-queue}, when given. */
    public Optional<Duration> queueTimeout() {
        return Optional.ofNullable(queueTimeout);
    }

    /**
     * The most connections (tcp) or requests (http) that wait in each backend's queue at once,
     * {@code --max-queue}, when given (0: no bound).
     */
    public OptionalInt maxQueued() {
        return maxQueued != null ? OptionalInt.of(maxQueued) : OptionalInt.empty();
    }

    /** The connect timeout, when given. */
    public Optional<Duration> connectTimeout() {
        return Optional.ofNullable(connectTimeout);
    }

    /** The client idle timeout, when given; {@link Duration#ZERO} disables it. */
    public Optional<Duration> clientTimeout() {
        return Optional.ofNullable(clientTimeout);
    }

    /** The server timeout, when given. */
    public Optional<Duration> serverTimeout() {
        return Optional.ofNullable(serverTimeout);
    }

    /**
     * How long a TLS frontend (tcp mode, {@code --sni} or {@code --tls-cert}) waits for each client's
     * whole ClientHello ({@code --timeout-client-hello}), when given; else the frontend's default, 5 s.
     */
    public Optional<Duration> clientHelloTimeout() {
        return Optional.ofNullable(clientHelloTimeout);
    }

    /** The number of I/O threads, or 0 for the default. */
    public int ioThreads() {
        return ioThreads;
    }

    /** The admin endpoint's address, when {@code --admin} is given. */
    public Optional<HostPort> admin() {
        return Optional.ofNullable(admin);
    }

    /** The admin endpoint's bearer token; present exactly when {@link #admin()} is. */
    public Optional<String> adminToken() {
        return Optional.ofNullable(adminToken);
    }

    /** The access log format ({@link AccessLog.Format#OFF} unless {@code --access-log} is given). */
    public AccessLog.Format accessLog() {
        return accessLog;
    }

    /**
     * The path of the HTTP health check run on every server ({@code --health-check}), when given:
     * {@code GET PATH} every {@value #HEALTH_CHECK_INTERVAL_SECONDS} s, up after
     * {@value #HEALTH_CHECK_RISE} passing checks, down after {@value #HEALTH_CHECK_FALL} failing ones.
     */
    public Optional<String> healthCheckPath() {
        return Optional.ofNullable(healthCheckPath);
    }

    /** The {@code --deny} path prefixes, in order; empty when none. */
    public List<String> denies() {
        return denies;
    }

    /** The {@code --route} entries, in order; empty when none. */
    public List<Route> routes() {
        return routes;
    }

    /** The PEM certificate chain ({@code --tls-cert}); present exactly when {@link #tlsKey()} is. */
    public Optional<Path> tlsCert() {
        return Optional.ofNullable(tlsCert);
    }

    /** The PEM private key ({@code --tls-key}); present exactly when {@link #tlsCert()} is. */
    public Optional<Path> tlsKey() {
        return Optional.ofNullable(tlsKey);
    }

    /** The {@code --sni} entries, in order; empty when none (tcp mode only, never with TLS termination). */
    public List<Sni> snis() {
        return snis;
    }

    /** Whether responses are compressed for clients that accept it ({@code --compress}, http mode only). */
    public boolean compress() {
        return compress;
    }

    /**
     * Whether plain-text connections that begin with the HTTP/2 preface speak HTTP/2 ({@code --h2c},
     * http mode without TLS only).
     */
    public boolean h2c() {
        return h2c;
    }

    /**
     * Whether HTTP/2 clients may open WebSockets, RFC 8441's extended CONNECT forwarded to the servers
     * as HTTP/1.1 upgrades ({@code --websocket-over-h2}, http mode with {@code --h2c} or TLS):
     * {@link HttpFrontend.Builder#websocketOverHttp2}.
     */
    public boolean websocketOverH2() {
        return websocketOverH2;
    }

    /**
     * Whether the kernel hands the gateway a new connection only once its client has sent data
     * ({@code --defer-accept}, http mode only): {@link HttpFrontend.Builder#deferAccept}.
     */
    public boolean deferAccept() {
        return deferAccept;
    }

    /**
     * Whether a request whose client ends its side (a FIN) while it waits for a server or its
     * response head is dropped ({@code --abort-on-close}, http mode only): {@link Backend.Builder#abortOnClose},
     * on every backend of the gateway.
     */
    public boolean abortOnClose() {
        return abortOnClose;
    }

    /**
     * Whether client connections start with a PROXY protocol header ({@code --accept-proxy}, or
     * {@code --accept-proxy-from} for some sources): {@code acceptProxyProtocol()} on the frontend.
     */
    public boolean acceptProxy() {
        return acceptProxy;
    }

    /**
     * The networks of {@code --accept-proxy-from}, whose connections alone must start with a PROXY
     * header; empty when every connection must ({@code --accept-proxy}) or none does.
     */
    public List<String> acceptProxyFrom() {
        return acceptProxyFrom;
    }

    /**
     * The per-client-address limit of {@code --rate-limit N/s} (or {@code N/m}), when given: N per
     * second (minute), burst N, keyed by the client's address.
     */
    public Optional<RateLimit> rateLimit() {
        return Optional.ofNullable(rateLimit);
    }

    /** The HTTP version spoken to the servers ({@code --backend-proto}; default {@link BackendProto#HTTP1}). */
    public BackendProto backendProto() {
        return backendProto;
    }

    /**
     * The interval of the keep-alive PINGs on HTTP/2 connections to the servers
     * ({@code --backend-h2-keepalive INTERVAL[,TIMEOUT]}); empty when none are sent (the default).
     */
    public Optional<Duration> backendH2KeepAlive() {
        return Optional.ofNullable(backendH2KeepAlive);
    }

    /**
     * How long a server has to answer a keep-alive PING: the {@code TIMEOUT} of
     * {@code --backend-h2-keepalive}, {@link #DEFAULT_H2_KEEPALIVE_TIMEOUT} when it gives none;
     * {@code null} when no PINGs are sent.
     */
    public Duration backendH2KeepAliveTimeout() {
        return backendH2KeepAliveTimeout;
    }

    /** How TLS to the servers is checked ({@code --backend-tls}); empty when the servers are spoken to in plain TCP. */
    public Optional<BackendTlsMode> backendTls() {
        return Optional.ofNullable(backendTls);
    }

    /** The CA certificates the servers' certificates are verified against ({@code --backend-ca}); else the JDK's. */
    public Optional<Path> backendCa() {
        return Optional.ofNullable(backendCa);
    }

    /**
     * The size of the response cache ({@code --cache SIZE}) in bytes, when given: the frontend caches
     * the backends' cacheable responses in memory and adds {@code X-Cache} (http mode only).
     */
    public OptionalLong cacheBytes() {
        return cacheBytes > 0 ? OptionalLong.of(cacheBytes) : OptionalLong.empty();
    }

    /**
     * The idle server connections the pool keeps per I/O thread and server ({@code --pool-max-idle},
     * http mode only), when given; 0 opens a new server connection for every request.
     */
    public OptionalInt poolMaxIdle() {
        return poolMaxIdle != null ? OptionalInt.of(poolMaxIdle) : OptionalInt.empty();
    }

    /** How long the pool keeps an idle server connection ({@code --pool-idle-timeout}, http mode only), when given. */
    public Optional<Duration> poolIdleTimeout() {
        return Optional.ofNullable(poolIdleTimeout);
    }

    /**
     * The most requests one server connection carries before it is closed ({@code --pool-max-requests},
     * http mode only; nginx's upstream {@code keepalive_requests}), when given.
     */
    public OptionalInt poolMaxRequests() {
        return poolMaxRequests != null ? OptionalInt.of(poolMaxRequests) : OptionalInt.empty();
    }

    /**
     * How long after it was opened a server connection may be reused ({@code --pool-max-lifetime},
     * http mode only; nginx's {@code keepalive_time}), when given.
     */
    public Optional<Duration> poolMaxLifetime() {
        return Optional.ofNullable(poolMaxLifetime);
    }

    /**
     * The most requests one HTTP/1.x client connection is served before the gateway closes it
     * ({@code --keepalive-requests}, http mode only; nginx's {@code keepalive_requests}), when given.
     */
    public OptionalInt keepAliveRequests() {
        return keepAliveRequests != null ? OptionalInt.of(keepAliveRequests) : OptionalInt.empty();
    }

    /**
     * Whether requests get an id (http mode; on unless {@code --request-id off}): the client's
     * {@link #requestIdHeader()} kept or one generated, passed to the servers and returned to the client.
     */
    public boolean requestIds() {
        return requestIds;
    }

    /** The request id header ({@code --request-id HEADER}; default {@value #DEFAULT_REQUEST_ID_HEADER}). */
    public String requestIdHeader() {
        return requestIdHeader;
    }

    /**
     * Whether requests to the servers get {@code X-Forwarded-For/-Proto/-Host/-Port} and
     * {@code X-Real-IP} (http mode; on unless {@code --forwarded-for off}).
     */
    public boolean forwardedFor() {
        return forwardedFor;
    }

    /**
     * What the http frontend does with request header fields whose names have an underscore
     * ({@code --headers-with-underscores allow|drop|reject}; default allow).
     */
    public HttpFrontend.HeadersWithUnderscores headersWithUnderscores() {
        return headersWithUnderscores;
    }

    /** The {@code --error-page} pages, in the order given; empty when none. */
    public List<ErrorPageFile> errorPages() {
        return errorPages;
    }

    /**
     * One {@code --error-page STATUS=FILE}: the gateway's own answers of {@code status} get the file's
     * content (read when the proxy is built), with a content type from its extension:
     * {@code .html} and {@code .htm} {@code text/html; charset=utf-8}, {@code .json}
     * {@code application/json}, {@code .txt} {@code text/plain; charset=utf-8}, anything else
     * {@code application/octet-stream}.
     *
     * @param status 400..599
     * @param file the page's file
     */
    public record ErrorPageFile(int status, Path file) {

        /** The content type the file's extension gives. */
        public String contentType() {
            String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".html") || name.endsWith(".htm")) {
                return "text/html; charset=utf-8";
            }
            if (name.endsWith(".json")) {
                return "application/json";
            }
            if (name.endsWith(".txt")) {
                return "text/plain; charset=utf-8";
            }
            return "application/octet-stream";
        }

        @Override
        public String toString() {
            return status + "=" + file;
        }
    }

    /**
     * How long each I/O thread busy-polls after it last handled I/O ({@code --busy-poll}); empty: it
     * does not. See {@code Proxy.Builder.busyPolling}.
     */
    public Optional<Duration> busyPoll() {
        return Optional.ofNullable(busyPoll);
    }

    /**
     * How long to warm the gateway up before it listens ({@code --warm-up}); empty: not at all. See
     * {@link #forWarmUp(HostPort)}.
     */
    public Optional<Duration> warmUp() {
        return Optional.ofNullable(warmUp);
    }

    /**
     * These options for a warm-up copy of the gateway: listening on an ephemeral port of 127.0.0.1,
     * every server (of the backend and of each route) replaced by {@code origin}, and without the admin
     * endpoint, access log, health checks and rate limit. Everything else, the mode, balancing,
     * timeouts, rules, compression, cache and server connection pool, is as given.
     */
    public GatewayOptions forWarmUp(HostPort origin) {
        Objects.requireNonNull(origin, "origin");
        return new GatewayOptions(this, origin);
    }

    /** Whether the gateway passes TLS through and routes on SNI (tcp mode with {@code --sni}). */
    public boolean tlsPassthrough() {
        return !snis.isEmpty();
    }

    @Override
    public String toString() {
        return "GatewayOptions{mode=" + mode.flagValue() + " listen=" + listen + " backends=" + backends
                + " balance=" + balance.flagValue() + (hashKey != null ? " hashKey=" + hashKeyValue : "") + (retries != null ? " retries=" + retries : "")
                + (maxConnections != null ? " maxConnections=" + maxConnections : "")
                + (queueTimeout != null ? " queueTimeout=" + queueTimeout : "")
                + (maxQueued != null ? " maxQueued=" + maxQueued : "")
                + (connectTimeout != null ? " connectTimeout=" + connectTimeout : "")
                + (clientTimeout != null ? " clientTimeout=" + clientTimeout : "")
                + (serverTimeout != null ? " serverTimeout=" + serverTimeout : "")
                + (clientHelloTimeout != null ? " clientHelloTimeout=" + clientHelloTimeout : "")
                + (ioThreads > 0 ? " ioThreads=" + ioThreads : "")
                + (busyPoll != null ? " busyPoll=" + busyPoll : "")
                + (admin != null ? " admin=" + admin : "")
                + (accessLog != AccessLog.Format.OFF ? " accessLog=" + accessLog.name().toLowerCase(Locale.ROOT) : "")
                + (healthCheckPath != null ? " healthCheck=" + healthCheckPath : "")
                + (denies.isEmpty() ? "" : " deny=" + denies) + (routes.isEmpty() ? "" : " routes=" + routes)
                + (tlsCert != null ? " tlsCert=" + tlsCert + " tlsKey=" + tlsKey : "")
                + (snis.isEmpty() ? "" : " sni=" + snis) + (compress ? " compress" : "") + (h2c ? " h2c" : "") + (websocketOverH2 ? " websocketOverH2" : "") + (deferAccept ? " deferAccept" : "")
                + (abortOnClose ? " abortOnClose" : "")
                + (acceptProxy ? " acceptProxy" + (acceptProxyFrom.isEmpty() ? "" : "=" + acceptProxyFrom) : "")
                + (rateLimit != null ? " rateLimit=" + rateLimit.permits() + (rateLimit.period().getSeconds() == 60 ? "/m" : "/s") : "")
                + (backendProto != BackendProto.HTTP1 ? " backendProto=" + backendProto.flagValue() : "")
                + (backendH2KeepAlive != null ? " backendH2KeepAlive=" + backendH2KeepAlive + "," + backendH2KeepAliveTimeout : "")
                + (backendTls != null ? " backendTls=" + backendTls.flagValue() : "")
                + (backendCa != null ? " backendCa=" + backendCa : "")
                + (cacheBytes > 0 ? " cache=" + cacheBytes : "")
                + (warmUp != null ? " warmUp=" + warmUp : "")
                + (poolMaxIdle != null ? " poolMaxIdle=" + poolMaxIdle : "")
                + (poolIdleTimeout != null ? " poolIdleTimeout=" + poolIdleTimeout : "")
                + (poolMaxRequests != null ? " poolMaxRequests=" + poolMaxRequests : "")
                + (poolMaxLifetime != null ? " poolMaxLifetime=" + poolMaxLifetime : "")
                + (keepAliveRequests != null ? " keepAliveRequests=" + keepAliveRequests : "")
                + (!requestIds ? " requestIds=off" : requestIdHeader.equals(DEFAULT_REQUEST_ID_HEADER) ? "" : " requestId=" + requestIdHeader)
                + (forwardedFor ? "" : " forwardedFor=off")
                + (headersWithUnderscores == HttpFrontend.HeadersWithUnderscores.ALLOW ? "" : " headersWithUnderscores=" + headersWithUnderscores)
                + (errorPages.isEmpty() ? "" : " errorPages=" + errorPages)
                + "}";
    }

    /** Every flag the parser knows, switches included ({@code --help} aside), for the tests that hold the help and README to it. */
    static Set<String> flags() {
        return Parser.FLAGS;
    }

    /**
     * Parses a duration: a whole number and a unit ({@code us}, {@code ms}, {@code s}, {@code m}, {@code h});
     * returns {@code null} when {@code value} is not one. A bare {@code 0} is zero.
     */
    static Duration parseDuration(String value) {
        if (value.equals("0")) {
            return Duration.ZERO;
        }
        int digits = 0;
        while (digits < value.length() && value.charAt(digits) >= '0' && value.charAt(digits) <= '9') {
            digits++;
        }
        if (digits == 0 || digits > 9) {
            return null;
        }
        long n = Long.parseLong(value.substring(0, digits));
        switch (value.substring(digits)) {
            case "us":
                return Duration.ofNanos(n * 1000);
            case "ms":
                return Duration.ofMillis(n);
            case "s":
                return Duration.ofSeconds(n);
            case "m":
                return Duration.ofMinutes(n);
            case "h":
                return Duration.ofHours(n);
            default:
                return null;
        }
    }

    /**
     * Parses a size: a whole number of bytes, or with {@code k}, {@code m} or {@code g} (binary
     * multiples, either case); returns -1 when {@code value} is not one or is outside 1 KiB..64 GiB.
     */
    static long parseSize(String value) {
        int digits = 0;
        while (digits < value.length() && value.charAt(digits) >= '0' && value.charAt(digits) <= '9') {
            digits++;
        }
        if (digits == 0 || digits > 12 || value.length() - digits > 1) {
            return -1;
        }
        long n = Long.parseLong(value.substring(0, digits));
        if (digits < value.length()) {
            switch (Character.toLowerCase(value.charAt(digits))) {
                case 'k':
                    n <<= 10;
                    break;
                case 'm':
                    n <<= 20;
                    break;
                case 'g':
                    n <<= 30;
                    break;
                default:
                    return -1;
            }
        }
        return n < 1024 || n > (64L << 30) ? -1 : n;
    }

    /** The mutable state of one parse. */
    private static final class Parser {
        static final Set<String> FLAGS = Set.of("--mode", "--listen", "--backend", "--balance", "--hash-key", "--retries", "--maxconn", "--timeout-queue", "--max-queue",
                "--timeout-connect", "--timeout-client", "--timeout-server", "--timeout-client-hello", "--io-threads", "--health-check", "--deny", "--route",
                "--admin", "--admin-token", "--access-log", "--tls-cert", "--tls-key", "--sni", "--compress", "--h2c", "--websocket-over-h2", "--defer-accept",
                "--rate-limit", "--backend-proto", "--backend-h2-keepalive", "--backend-tls", "--backend-ca", "--cache", "--warm-up",
                "--pool-max-idle", "--pool-idle-timeout", "--pool-max-requests", "--pool-max-lifetime", "--keepalive-requests", "--busy-poll", "--request-id", "--forwarded-for",
                "--headers-with-underscores", "--abort-on-close", "--error-page", "--accept-proxy", "--accept-proxy-from");
        /** The flags that take no value (switches): given or not. */
        static final Set<String> SWITCHES = Set.of("--compress", "--h2c", "--websocket-over-h2", "--defer-accept", "--abort-on-close", "--accept-proxy");
        /** The flags that may be given more than once. */
        static final Set<String> REPEATABLE = Set.of("--backend", "--deny", "--route", "--sni", "--error-page");

        private final Set<String> seen = new HashSet<>();
        Mode mode;
        HostPort listen;
        final List<HostPort> backends = new ArrayList<>();
        Balance balance;
        HashKey hashKey;
        String hashKeyValue;
        Integer retries;
        Integer maxConnections;
        Duration queueTimeout;
        Integer maxQueued;
        Duration connectTimeout;
        Duration clientTimeout;
        Duration serverTimeout;
        Duration clientHelloTimeout;
        String clientHelloTimeoutValue;
        int ioThreads;
        Duration busyPoll;
        HostPort admin;
        String adminToken;
        AccessLog.Format accessLog;

        String healthCheckPath;
        final List<String> denies = new ArrayList<>();
        final List<Route> routes = new ArrayList<>();
        Path tlsCert;
        Path tlsKey;
        final List<Sni> snis = new ArrayList<>();
        long cacheBytes;
        String cacheValue;
        Duration warmUp;
        String warmUpValue;
        Integer poolMaxIdle;
        Duration poolIdleTimeout;
        String poolIdleTimeoutValue;
        Integer poolMaxRequests;
        Duration poolMaxLifetime;
        String poolMaxLifetimeValue;
        Integer keepAliveRequests;
        Duration backendH2KeepAlive;
        Duration backendH2KeepAliveTimeout;
        String backendH2KeepAliveValue;
        boolean compress;
        boolean h2c;
        boolean websocketOverH2;
        boolean deferAccept;
        boolean abortOnClose;
        boolean acceptProxy;
        final List<String> acceptProxyFrom = new ArrayList<>();
        RateLimit rateLimit;
        BackendProto backendProto;
        BackendTlsMode backendTls;
        Path backendCa;
        String requestIdHeader;
        boolean requestIds = true;
        boolean forwardedFor = true;
        HttpFrontend.HeadersWithUnderscores headersWithUnderscores = HttpFrontend.HeadersWithUnderscores.ALLOW;
        String headersWithUnderscoresValue;
        final List<ErrorPageFile> errorPages = new ArrayList<>();

        void acceptSwitch(String flag) throws UsageException {
            if (!seen.add(flag)) {
                throw new UsageException(flag + ": on (given more than once)");
            }
            if (flag.equals("--compress")) {
                compress = true;
            } else if (flag.equals("--h2c")) {
                h2c = true;
            } else if (flag.equals("--websocket-over-h2")) {
                websocketOverH2 = true;
            } else if (flag.equals("--defer-accept")) {
                deferAccept = true;
            } else if (flag.equals("--abort-on-close")) {
                abortOnClose = true;
            } else if (flag.equals("--accept-proxy")) {
                acceptProxy = true;
            }
        }

        void accept(String flag, String value) throws UsageException {
            if (!REPEATABLE.contains(flag) && !seen.add(flag)) {
                throw new UsageException(flag + ": " + (flag.equals("--admin-token") ? "(hidden)" : value)
                        + " (given more than once)");
            }
            switch (flag) {
                case "--mode":
                    mode = value.equals("tcp") ? Mode.TCP : value.equals("http") ? Mode.HTTP : null;
                    if (mode == null) {
                        throw bad(flag, value, "tcp or http");
                    }
                    break;
                case "--listen":
                    listen = listenAddress(flag, value);
                    break;
                case "--backend":
                    backends(flag, value);
                    break;
                case "--balance":
                    balance = Balance.of(value);
                    if (balance == null) {
                        throw bad(flag, value, "roundrobin, leastconn, source, random or p2c");
                    }
                    break;
                case "--hash-key":
                    hashKey = hashKey(flag, value);
                    hashKeyValue = value;
                    break;
                case "--retries":
                    retries = integer(flag, value, 0, MAX_RETRIES);
                    break;
                case "--maxconn":
                    maxConnections = integer(flag, value, 1, MAX_CONNECTIONS);
                    break;
                case "--timeout-queue":
                    queueTimeout = duration(flag, value, true);
                    break;
                case "--max-queue":
                    maxQueued = integer(flag, value, 0, MAX_QUEUED);
                    break;
                case "--timeout-connect":
                    connectTimeout = duration(flag, value, false);
                    break;
                case "--timeout-client":
                    clientTimeout = duration(flag, value, true);
                    break;
                case "--timeout-server":
                    serverTimeout = duration(flag, value, false);
                    break;
                case "--timeout-client-hello":
                    clientHelloTimeout = duration(flag, value, false);
                    clientHelloTimeoutValue = value;
                    break;
                case "--io-threads":
                    ioThreads = integer(flag, value, 1, MAX_IO_THREADS);
                    break;
                case "--admin":
                    admin = listenAddress(flag, value);
                    break;
                case "--admin-token":
                    try {
                        AdminFrontend.bind(0).token(value);
                    } catch (IllegalArgumentException e) {
                        // the message names the problem, never the token
                        throw new UsageException(flag + ": " + e.getMessage());
                    }
                    adminToken = value;
                    break;
                case "--access-log":
                    accessLog = value.equals("text") ? AccessLog.Format.TEXT : value.equals("json") ? AccessLog.Format.JSON : null;
                    if (accessLog == null) {
                        throw bad(flag, value, "text or json");
                    }
                    break;
                case "--health-check":
                    healthCheckPath = path(flag, value);
                    break;
                case "--deny":
                    denies.add(pathPrefix(flag, value, value, "PATH_PREFIX, e.g. /admin"));
                    break;
                case "--route":
                    routes.add(route(flag, value));
                    break;
                case "--tls-cert":
                    tlsCert = file(flag, value);
                    break;
                case "--tls-key":
                    tlsKey = file(flag, value);
                    break;
                case "--sni":
                    snis.add(sni(flag, value));
                    break;
                case "--rate-limit":
                    rateLimit = rateLimit(flag, value);
                    break;
                case "--accept-proxy-from":
                    acceptProxyFrom(flag, value);
                    break;
                case "--backend-proto":
                    backendProto = backendProto(flag, value);
                    break;
                case "--backend-h2-keepalive":
                    h2KeepAlive(flag, value);
                    break;
                case "--backend-tls":
                    backendTls = backendTlsMode(flag, value);
                    break;
                case "--backend-ca":
                    backendCa = file(flag, value);
                    break;
                case "--cache":
                    cacheBytes = parseSize(value);
                    if (cacheBytes <= 0) {
                        throw bad(flag, value, "a size like 64m, 512k or 1g (1k..64g)");
                    }
                    cacheValue = value;
                    break;
                case "--warm-up":
                    Duration d = duration(flag, value, true, MAX_WARM_UP, MAX_WARM_UP.toMinutes() + "m");
                    warmUp = d.isZero() ? null : d;
                    warmUpValue = value;
                    break;
                case "--busy-poll":
                    Duration window = duration(flag, value, true, MAX_BUSY_POLL, MAX_BUSY_POLL.toSeconds() + "s");
                    busyPoll = window.isZero() ? null : window;
                    break;
                case "--pool-max-idle":
                    poolMaxIdle = integer(flag, value, 0, MAX_POOL_MAX_IDLE);
                    break;
                case "--pool-idle-timeout":
                    poolIdleTimeout = duration(flag, value, false);
                    poolIdleTimeoutValue = value;
                    break;
                case "--pool-max-requests":
                    poolMaxRequests = integer(flag, value, 1, MAX_REQUESTS_PER_CONNECTION);
                    break;
                case "--pool-max-lifetime":
                    poolMaxLifetime = duration(flag, value, false);
                    poolMaxLifetimeValue = value;
                    break;
                case "--keepalive-requests":
                    keepAliveRequests = integer(flag, value, 1, MAX_REQUESTS_PER_CONNECTION);
                    break;
                case "--request-id":
                    if (value.equals("off")) {
                        requestIds = false;
                    } else {
                        try {
                            HttpFrontend.bind(0).requestIdHeader(value);
                        } catch (IllegalArgumentException e) {
                            if (e.getMessage().contains("credentials")) {
                                throw bad(flag, value, "a header name such as X-Request-ID, or off; not a field that carries"
                                        + " credentials or cookies, such as Authorization or Cookie, which the id would echo and log");
                            }
                            throw bad(flag, value, "a header name such as X-Request-ID, or off; not a field that frames, routes"
                                    + " or controls a message, such as Content-Length or Host, or that the proxy sets");
                        }
                        requestIdHeader = value;
                    }
                    break;
                case "--forwarded-for":
                    forwardedFor = value.equals("on");
                    if (!forwardedFor && !value.equals("off")) {
                        throw bad(flag, value, "on or off");
                    }
                    break;
                case "--headers-with-underscores":
                    headersWithUnderscoresValue = value;
                    headersWithUnderscores = switch (value) {
                        case "allow" -> HttpFrontend.HeadersWithUnderscores.ALLOW;
                        case "drop" -> HttpFrontend.HeadersWithUnderscores.DROP_HEADER;
                        case "reject" -> HttpFrontend.HeadersWithUnderscores.REJECT_REQUEST;
                        default -> throw bad(flag, value, "allow, drop or reject");
                    };
                    break;
                case "--error-page":
                    errorPages.add(errorPage(flag, value));
                    break;
                default:
                    throw new UsageException("unknown flag: " + flag + " (see --help)");
            }
        }

        private static BackendProto backendProto(String flag, String value) throws UsageException {
            for (BackendProto p : BackendProto.values()) {
                if (p.flagValue().equals(value)) {
                    return p;
                }
            }
            throw bad(flag, value, "http1, h2c or h2");
        }

        /** Reads {@code --backend-h2-keepalive INTERVAL[,TIMEOUT]}: two durations above zero, the timeout 20s unless given. */
        private void h2KeepAlive(String flag, String value) throws UsageException {
            int comma = value.indexOf(',');
            Duration interval = parseDuration(comma < 0 ? value : value.substring(0, comma));
            Duration timeout = comma < 0 ? DEFAULT_H2_KEEPALIVE_TIMEOUT : parseDuration(value.substring(comma + 1));
            String expected = "INTERVAL[,TIMEOUT], durations above zero like 30s or 30s,10s (TIMEOUT 20s unless given)";
            if (interval == null || timeout == null || interval.isZero() || timeout.isZero()) {
                throw bad(flag, value, expected);
            }
            if (interval.compareTo(MAX_DURATION) > 0 || timeout.compareTo(MAX_DURATION) > 0) {
                throw bad(flag, value, "durations of at most " + MAX_DURATION.toHours() + "h");
            }
            backendH2KeepAlive = interval;
            backendH2KeepAliveTimeout = timeout;
            backendH2KeepAliveValue = value;
        }

        private static BackendTlsMode backendTlsMode(String flag, String value) throws UsageException {
            for (BackendTlsMode m : BackendTlsMode.values()) {
                if (m.flagValue().equals(value)) {
                    return m;
                }
            }
            throw bad(flag, value, "verify or insecure");
        }

        private static HostPort listenAddress(String flag, String value) throws UsageException {
            HostPort hp = HostPort.parse(value);
            if (hp == null) {
                throw bad(flag, value, "HOST:PORT, e.g. 127.0.0.1:8080 or *:8080");
            }
            return hp;
        }

        /** Reads {@code --accept-proxy-from}: networks, comma-separated, each checked as the frontend's build checks it. */
        private void acceptProxyFrom(String flag, String value) throws UsageException {
            String expected = "CIDR or a comma-separated list of them, such as 10.0.0.0/8,192.0.2.7";
            for (String one : value.split(",", -1)) {
                String cidr = one.trim();
                if (cidr.isEmpty()) {
                    throw bad(flag, value, expected + "; empty entry");
                }
                try {
                    TcpFrontend.bind(0).defaultBackend("b").acceptProxyProtocolFrom(cidr).build();
                } catch (IllegalArgumentException e) {
                    throw bad(flag, value, expected + "; bad entry " + cidr);
                }
                acceptProxyFrom.add(cidr);
            }
        }

        private void backends(String flag, String value) throws UsageException {
            String expected = "HOST:PORT or a comma-separated list of them";
            if (value.isEmpty()) {
                throw bad(flag, value, expected);
            }
            int start = 0;
            while (start <= value.length()) {
                int comma = value.indexOf(',', start);
                int end = comma < 0 ? value.length() : comma;
                String one = value.substring(start, end).trim();
                HostPort hp = one.isEmpty() ? null : HostPort.parse(one);
                if (hp == null || hp.anyHost() || hp.port() == 0) {
                    throw new UsageException(flag + ": " + value + " (expected: " + expected
                            + "; " + (one.isEmpty() ? "empty entry" : "bad entry " + one) + ")");
                }
                connectable(flag, value, hp, "; bad entry " + one);
                backends.add(hp);
                start = end + 1;
            }
        }

        /**
         * Refuses a server address no connection can be made to (the any-local address {@code 0.0.0.0}
         * or {@code ::}, a multicast address, the broadcast address, the rest of {@code 0.0.0.0/8}) as
         * {@link Server#builder(String, String)} does, naming the flag rather than the server the
         * gateway would make of it; a host name is not looked up.
         */
        private static void connectable(String flag, String value, HostPort server, String entry) throws UsageException {
            try {
                Server.builder("s", server.toString());
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                String reason = m.substring(m.indexOf(" (expected: ") + " (expected: ".length(), m.length() - 1);
                throw new UsageException(flag + ": " + value + " (expected: " + reason + entry + ")");
            }
        }

        private static String path(String flag, String value) throws UsageException {
            try {
                HealthCheck.http(value);
            } catch (IllegalArgumentException e) {
                throw bad(flag, value, "a path starting with '/', visible ASCII characters, no space, e.g. /status");
            }
            return value;
        }

        private static String pathPrefix(String flag, String value, String prefix, String expected) throws UsageException {
            if (!prefix.startsWith("/") || prefix.length() > 1024) {
                throw bad(flag, value, expected);
            }
            for (int i = 0; i < prefix.length(); i++) {
                char c = prefix.charAt(i);
                if (c <= ' ' || c >= 0x7f || c == '?' || c == '#') {
                    throw bad(flag, value, expected);
                }
            }
            // rules match the normalised path (RequestView.path()): Acl.pathBegins refuses a prefix that
            // no normalised path begins with, naming what it reads as
            try {
                Acl.pathBegins(prefix);
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                throw new UsageException(flag + ": " + value + m.substring(m.indexOf(" (")));
            }
            return prefix;
        }

        private Route route(String flag, String value) throws UsageException {
            String expected = "PATH_PREFIX=HOST:PORT, e.g. /api=127.0.0.1:9003";
            int eq = value.indexOf('=');
            if (eq < 0) {
                throw bad(flag, value, expected);
            }
            String prefix = pathPrefix(flag, value, value.substring(0, eq), expected);
            HostPort server = HostPort.parse(value.substring(eq + 1));
            if (server == null || server.anyHost() || server.port() == 0) {
                throw bad(flag, value, expected);
            }
            connectable(flag, value, server, "");
            for (Route r : routes) {
                if (r.prefix().equals(prefix)) {
                    throw new UsageException(flag + ": " + value + " (the prefix " + prefix + " is routed already)");
                }
            }
            return new Route(prefix, server);
        }

        private static Path file(String flag, String value) throws UsageException {
            if (value.isEmpty() || value.indexOf('\0') >= 0) {
                throw bad(flag, value, "a PEM file");
            }
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                throw bad(flag, value, "a PEM file");
            }
        }

        private ErrorPageFile errorPage(String flag, String value) throws UsageException {
            String expected = "STATUS=FILE with STATUS 400..599, e.g. 503=sorry.html";
            int eq = value.indexOf('=');
            if (eq < 0 || eq == value.length() - 1 || value.indexOf('\0') >= 0) {
                throw bad(flag, value, expected);
            }
            int status;
            try {
                status = Integer.parseInt(value.substring(0, eq));
            } catch (NumberFormatException e) {
                throw bad(flag, value, expected);
            }
            if (status < 400 || status > 599) {
                throw bad(flag, value, expected);
            }
            for (ErrorPageFile p : errorPages) {
                if (p.status() == status) {
                    throw new UsageException(flag + ": " + value + " (a page for " + status + " is given already: " + p + ")");
                }
            }
            try {
                return new ErrorPageFile(status, Path.of(value.substring(eq + 1)));
            } catch (InvalidPathException e) {
                throw bad(flag, value, expected);
            }
        }

        private Sni sni(String flag, String value) throws UsageException {
            String expected = "NAME=HOST:PORT, e.g. shop.example.com=127.0.0.1:9443";
            int eq = value.indexOf('=');
            if (eq < 0) {
                throw bad(flag, value, expected);
            }
            String name = value.substring(0, eq).toLowerCase(Locale.ROOT);
            if (!isServerName(name)) {
                throw bad(flag, value, expected);
            }
            HostPort server = HostPort.parse(value.substring(eq + 1));
            if (server == null || server.anyHost() || server.port() == 0) {
                throw bad(flag, value, expected);
            }
            connectable(flag, value, server, "");
            for (Sni s : snis) {
                if (s.name().equals(name)) {
                    throw new UsageException(flag + ": " + value + " (the name " + name + " is routed already)");
                }
            }
            return new Sni(name, server);
        }

        /** {@code N/s} or {@code N/m}, N in 1..1000000000: N per second or minute per client address, burst N. */
        private static RateLimit rateLimit(String flag, String value) throws UsageException {
            String expected = "N/s or N/m with N in 1..1000000000, e.g. 100/s";
            int slash = value.indexOf('/');
            if (slash < 1) {
                throw bad(flag, value, expected);
            }
            String unit = value.substring(slash + 1);
            if (!unit.equals("s") && !unit.equals("m")) {
                throw bad(flag, value, expected);
            }
            int n;
            try {
                n = integer(flag, value.substring(0, slash), 1, 1_000_000_000);
            } catch (UsageException e) {
                throw bad(flag, value, expected);
            }
            return unit.equals("s") ? RateLimit.perSecond(n) : RateLimit.perMinute(n);
        }

        /** A DNS name of letters, digits, '-' and '.', optionally starting with {@code *.}. */
        private static boolean isServerName(String name) {
            String rest = name.startsWith("*.") ? name.substring(2) : name;
            if (rest.isEmpty() || rest.length() > 253 || rest.startsWith(".") || rest.endsWith(".") || rest.contains("..")) {
                return false;
            }
            for (int i = 0; i < rest.length(); i++) {
                char c = rest.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.')) {
                    return false;
                }
            }
            return true;
        }

        private static int integer(String flag, String value, int min, int max) throws UsageException {
            String expected = "an integer in " + min + ".." + max;
            // ten digits hold any int bound (1000000000 for --rate-limit) without overflowing a long
            if (value.isEmpty() || value.length() > 10) {
                throw bad(flag, value, expected);
            }
            long n = 0;
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c < '0' || c > '9') {
                    throw bad(flag, value, expected);
                }
                n = n * 10 + (c - '0');
            }
            if (n < min || n > max) {
                throw bad(flag, value, expected);
            }
            return (int) n;
        }

        private static Duration duration(String flag, String value, boolean zeroAllowed) throws UsageException {
            return duration(flag, value, zeroAllowed, MAX_DURATION, MAX_DURATION.toHours() + "h");
        }

        /** A duration of at most {@code max} ({@code maxText} in the message): a flag's own bound, below {@link #MAX_DURATION}. */
        private static Duration duration(String flag, String value, boolean zeroAllowed, Duration max, String maxText)
                throws UsageException {
            Duration d = parseDuration(value);
            if (d == null) {
                throw bad(flag, value, DURATION + (zeroAllowed ? "; 0 disables it" : ""));
            }
            if (d.isZero() && !zeroAllowed) {
                throw bad(flag, value, "a duration above zero like 500ms, 5s");
            }
            if (d.compareTo(max) > 0) {
                throw bad(flag, value, "at most " + maxText);
            }
            return d;
        }

        /** {@code path}, {@code uri}, {@code header:NAME}, {@code cookie:NAME} or {@code param:NAME}. */
        private static HashKey hashKey(String flag, String value) throws UsageException {
            if (value.equals("path")) {
                return HashKey.path();
            }
            if (value.equals("uri")) {
                return HashKey.uri();
            }
            int colon = value.indexOf(':');
            String kind = colon < 0 ? value : value.substring(0, colon);
            String name = colon < 0 ? "" : value.substring(colon + 1);
            try {
                switch (kind) {
                    case "header":
                        return HashKey.header(name);
                    case "cookie":
                        return HashKey.cookie(name);
                    case "param":
                        return HashKey.queryParameter(name);
                    default:
                        break;
                }
            } catch (IllegalArgumentException e) {
                throw bad(flag, value, kind + ":NAME, NAME " + (kind.equals("param")
                        ? "a parameter name without &, =, #, spaces or control characters" : "an HTTP token"));
            }
            throw bad(flag, value, "path, uri, header:NAME, cookie:NAME or param:NAME");
        }

        private static UsageException bad(String flag, String value, String expected) {
            return new UsageException(flag + ": " + value + " (expected: " + expected + ")");
        }
    }
}
