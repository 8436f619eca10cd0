package io.lodestone.l4;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.Durations;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.Names;
import io.lodestone.core.internal.ProxyHeaderReader;
import io.lodestone.core.internal.SourceLimits;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.internal.FrontendRouting;
import io.lodestone.l4.internal.TcpListener;
import io.lodestone.tls.ServerTls;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A TCP frontend (HAProxy's {@code mode tcp}): accepts connections on one or more addresses, picks a
 * server of its backend for each, connects, and relays bytes both ways until either side is done.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder()
 *     .backend(Backend.named("db")
 *         .server("pg1", "10.0.0.1:5432")
 *         .server("pg2", "10.0.0.2:5432", s -> s.backup())
 *         .connectTimeout(Duration.ofSeconds(2))
 *         .serverTimeout(Duration.ofMinutes(30))
 *         .retries(1)
 *         .proxyProtocol(ProxyProtocol.V2))
 *     .frontend(TcpFrontend.bind(5432)
 *         .name("postgres")
 *         .defaultBackend("db")
 *         .clientTimeout(Duration.ofMinutes(30))
 *         .maxConnections(1000))
 *     .build();
 * proxy.start();
 * }</pre>
 *
 * <h2>Routing</h2>
 * A frontend may route connections with rules over the connection ({@link Builder#rule},
 * {@link Builder#acl}, or a whole {@link Builder#routing(Routing) connection-only table}): the
 * source address ({@link Acl#source(String...)}), the local port, backend states and random
 * fractions, and with TLS the SNI name and ALPN protocol (below). Each connection is decided once:
 * when it is accepted, before anything is read (with TLS: once the ClientHello is read or the
 * handshake is done); it goes to the backend of the first {@code use} rule
 * that matches (to its backup when that backend has no usable server), is closed by a
 * {@code reject}, or goes to the default backend. Without a default backend an undecided connection
 * is closed.
 *
 * <pre>{@code
 * TcpFrontend.bind(5432)
 *     .rule(Rule.when(Acl.source("10.0.0.0/8")).use("db-internal"))
 *     .rule(Rule.when(Acl.not(Acl.source("192.0.2.0/24"))).reject())
 *     .defaultBackend("db", "db-replica");   // the replica takes over when db has no usable server
 * }</pre>
 *
 * <h2>TLS</h2>
 * <ul>
 * <li><b>Passthrough</b> ({@link Builder#tlsPassthrough()}): the frontend reads the client's
 *     ClientHello without terminating TLS, routes on its SNI name and ALPN protocol
 *     ({@link Acl#sni(String...)}, {@link Acl#alpn(String...)}; the ALPN value is the first protocol
 *     the client offered), then relays every byte, the ClientHello included, untouched to the chosen
 *     backend, whose servers terminate TLS with their own keys. A connection whose first bytes are not
 *     a TLS ClientHello, or whose ClientHello is over 32 KiB, is closed before any server is contacted
 *     (access log {@code PR}, a {@code denied} error on the frontend); so is one that sends no whole
 *     ClientHello within the {@link Builder#clientHelloTimeout(Duration) ClientHello timeout}, 5 seconds
 *     by default ({@code cR}, a {@code timeout} error on the frontend).
 * <pre>{@code
 * TcpFrontend.bind(443)
 *     .tlsPassthrough()
 *     .rule(Rule.when(Acl.sni("shop.example.com")).use("shop"))
 *     .rule(Rule.when(Acl.sni("*.api.example.com")).use("api"))
 *     .defaultBackend("www");
 * }</pre></li>
 * <li><b>Termination</b> ({@link Builder#tls(ServerTls)}): the frontend completes the TLS handshake
 *     with the certificate chosen by SNI, routes on the negotiated SNI name and ALPN protocol, and
 *     relays the plaintext to the backend. A failed handshake closes the connection before any
 *     backend is contacted ({@code PR}, a {@code denied} error), as does a ClientHello not whole within
 *     the {@link Builder#clientHelloTimeout(Duration) ClientHello timeout} or a handshake not done
 *     within the client timeout or the {@link ServerTls} handshake timeout ({@code cR}, a
 *     {@code timeout} error).</li>
 * </ul>
 *
 * <h2>Behaviour</h2>
 * <ul>
 * <li><b>Picking and connecting.</b> Each accepted connection gets a server from the backend's
 *     balancing strategy among the servers that are {@link io.lodestone.core.ServerState#UP UP}, of
 *     positive weight and below their {@link io.lodestone.core.Server#maxConnections() maxconn}
 *     (backup servers only when no primary is usable; source hashing hashes the client's IP address,
 *     not its port). The connection to the server is made on the client connection's own event
 *     loop and bounded by the backend's {@link io.lodestone.core.Backend#connectTimeout() connect
 *     timeout}. When no server is usable the client connection is closed.</li>
 * <li><b>Retries.</b> When a connection attempt is refused, times out or fails otherwise, another
 *     server not tried yet for this client is picked, up to the backend's
 *     {@link io.lodestone.core.Backend#retries() retries}; when they are used up, or no other
 *     server is usable, the client connection is closed. A client that goes away (reset) while an
 *     attempt is in progress aborts it. Bytes the client sends before the server connection is up
 *     are kept and forwarded in order.</li>
 * <li><b>Relaying and backpressure.</b> Bytes are copied as they arrive, flushed once per read
 *     burst. A side stops reading while the other side has more than a small bounded amount
 *     (256 KiB) waiting to be written, so a slow reader slows the writer down instead of filling
 *     memory.</li>
 * <li><b>Half-close.</b> When one side shuts down its output (sends a FIN), the other side's output
 *     is shut down after the pending bytes are written; the other direction goes on until it ends
 *     too. Then both connections are closed. On a frontend that terminates TLS, a client's
 *     {@code close_notify} is such an end too, when the TLS stack can still send after it (TLS 1.3
 *     on the JDK provider); otherwise both connections are closed at once (see the README). The
 *     other way round, a server's FIN reaches such a client as the proxy's {@code close_notify},
 *     then a FIN, and what the client still sends (TLS 1.3) is relayed until it closes.</li>
 * <li><b>Resets.</b> When one side resets the connection (or fails otherwise), the bytes already read
 *     from it are written to the other side, which is then reset too (closed with
 *     {@code SO_LINGER} 0): its peer never takes the end for a complete transfer, and loses what the
 *     kernel still held for it (the last bytes, for a peer that reads slowly). The access log
 *     says {@code SD} for a server, {@code CD} for a client, and the reset counts as a
 *     {@link io.lodestone.core.metrics.ErrorKind#RESET reset} error on the server or on the
 *     frontend.</li>
 * <li><b>Timeouts.</b> {@link #clientTimeout() clientTimeout}: when nothing has been read from or
 *     written to the client for that long, both sides are closed. The backend's
 *     {@link io.lodestone.core.Backend#serverTimeout() server timeout} does the same for the server
 *     side. A write counts as activity when the peer accepted it, so a client that stops reading
 *     is timed out too. One timer serves both, with the shorter timeout while both sides may still
 *     send; once one side has half-closed (a FIN), only the other side's timeout applies: after the
 *     client's FIN the proxy waits on the server alone, up to the server timeout, as HAProxy does.
 *     While the proxy holds more than its bound for a side that does not take it (and so stopped
 *     reading the other side), it waits on that side alone, with that side's timeout: a client that
 *     pauses reading is bounded by the client timeout, not by the server timeout.
 *     The access log says {@code cD} when it was the client timeout (or both are equal) and
 *     {@code sD} when it was the server timeout, and it counts as a
 *     {@link io.lodestone.core.metrics.ErrorKind#TIMEOUT timeout} error on the frontend or on the
 *     server.</li>
 * <li><b>Connection limit.</b> {@link #maxConnections() maxConnections} counts client connections
 *     from accept (including while the server connection is being made) to close. At the limit the
 *     frontend stops accepting: further connections wait in the kernel's listen backlog and are
 *     served, in order, as open ones close.</li>
 * <li><b>Per-source limits.</b> {@link #maxConnectionsPerSource()} and
 *     {@link #maxConnectionRatePerSource()} refuse a client address's connections beyond so many
 *     open at once or so many new ones per second: the connection is closed as soon as it is
 *     accepted, before any byte is read (once its PROXY header is read, on a frontend that accepts
 *     the PROXY protocol), and counted in the frontend's
 *     {@link io.lodestone.core.metrics.FrontendSnapshot#refusedConnections() refusedConnections}.
 *     Rules can also limit connections with {@link io.lodestone.core.route.Rule.Builder#rateLimit}
 *     (an over-limit connection is closed).</li>
 * <li><b>Server states.</b> A server in {@code DRAIN}, {@code MAINT} or {@code DOWN} gets no new
 *     connections; its open connections go on until they end. Each open connection counts in its
 *     server's {@link io.lodestone.core.ServerControl#load() load} (which least-connections
 *     balancing and server maxconn read) until the server connection closes.</li>
 * <li><b>PROXY protocol.</b> With {@link io.lodestone.core.ProxyProtocol#V1 V1} or
 *     {@link io.lodestone.core.ProxyProtocol#V2 V2} set on the backend or (overriding it) on a
 *     server, the server connection starts with a PROXY header carrying the client's address and
 *     port and the frontend address and port the client connected to.</li>
 * <li><b>PROXY protocol from clients.</b> With {@link Builder#acceptProxyProtocol()} (or
 *     {@link Builder#acceptProxyProtocolFrom(String...)} for trusted sources only) every connection
 *     starts with a PROXY header, whose addresses then stand for the connection's everywhere: rules,
 *     source hashing and stickiness, per-source limits, the access log, the PROXY header sent to
 *     servers.</li>
 * <li><b>Closing.</b> {@link io.lodestone.core.Proxy#close()} stops accepting at once (new
 *     connections are refused), lets open connections go on until they end or the proxy's drain
 *     timeout passes, then closes what is left.</li>
 * </ul>
 *
 * <p>Immutable; built by {@link #bind(int)}, {@link #bind(String)} or
 * {@link #bind(InetSocketAddress)}.
 */
public final class TcpFrontend implements Frontend {

    /** How long a TLS frontend waits for a client's whole ClientHello unless told otherwise: 5 seconds. */
    public static final Duration DEFAULT_CLIENT_HELLO_TIMEOUT = Duration.ofSeconds(5);

    private final String name;
    private final List<InetSocketAddress> bindAddresses;
    private final Routing table;
    private final boolean hasRules;
    private final Duration clientTimeout;
    private final Duration clientHelloTimeout;
    private final int maxConnections;
    private final int maxConnectionsPerSource;
    private final int maxConnectionRatePerSource;
    private final boolean tlsPassthrough;
    private final ServerTls tls;
    private final boolean acceptProxyProtocol;
    private final List<String> proxyProtocolSources;

    private TcpFrontend(Builder b, Routing table, List<String> proxyProtocolSources) {
        this.name = b.name != null ? b.name : "tcp-" + b.bindAddresses.get(0).getPort();
        this.bindAddresses = List.copyOf(b.bindAddresses);
        this.table = table;
        this.hasRules = Builder.hasRules(table);
        this.clientTimeout = b.clientTimeout;
        this.clientHelloTimeout = b.clientHelloTimeout != null ? b.clientHelloTimeout : DEFAULT_CLIENT_HELLO_TIMEOUT;
        this.maxConnections = b.maxConnections;
        this.maxConnectionsPerSource = b.maxConnectionsPerSource;
        this.maxConnectionRatePerSource = b.maxConnectionRatePerSource;
        this.tlsPassthrough = b.tlsPassthrough;
        this.tls = b.tls;
        this.acceptProxyProtocol = b.acceptProxyProtocol;
        this.proxyProtocolSources = proxyProtocolSources;
    }

    /**
     * Returns a builder for a frontend listening on this port on every interface.
     *
     * @param port the port, 0..65535; 0 lets the OS choose
     * @return a builder for a frontend listening on this port on every interface
     * @throws IllegalArgumentException when the port is not in 0..65535 (0: chosen by the OS at start)
     */
    public static Builder bind(int port) {
        return new Builder(port("bind", port));
    }

    /**
     * Returns a builder for a frontend listening on {@code host:port}, {@code [ipv6]:port}, or
     * {@code *:port} / {@code :port} for every interface. A host name is resolved at start.
     *
     * @param address the address
     * @return a builder for a frontend listening on {@code host:port}, {@code [ipv6]:port}, or {@code *:port}
     *     / {@code :port} for every interface
     * @throws IllegalArgumentException naming the value when it does not parse
     */
    public static Builder bind(String address) {
        return new Builder(Addresses.parse("bind", address));
    }

    /**
     * Returns a builder for a frontend listening on this address.
     *
     * @param address the address
     * @return a builder for a frontend listening on this address
     */
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

    /**
     * {@return the backend connections go to when no rule decides, or {@code null} when the rules decide
     * everything}
     */
    public String defaultBackend() {
        return table.defaultBackend();
    }

    /**
     * The frontend's connection-only routing; {@code null} when it has no rules and no backup, only
     * a default backend.
     */
    @Override
    public Routing routing() {
        return hasRules ? table : null;
    }

    /** {@return how long the client side may be idle before both sides are closed; {@link Duration#ZERO} for never} */
    public Duration clientTimeout() {
        return clientTimeout;
    }

    /**
     * How long a TLS frontend ({@link #tlsPassthrough()} or {@link #tls()}) waits, from accept, for
     * the client's whole ClientHello; see {@link Builder#clientHelloTimeout(Duration)}. Unused without
     * TLS.
     *
     * @return how long a TLS frontend ({@link #tlsPassthrough()} or {@link #tls()}) waits, from accept, for
     *     the client's whole ClientHello; see {@link Builder#clientHelloTimeout(Duration)}
     */
    public Duration clientHelloTimeout() {
        return clientHelloTimeout;
    }

    /** {@return the most connections open at once; further ones wait in the accept backlog. 0 means no limit} */
    public int maxConnections() {
        return maxConnections;
    }

    /**
     * The most client connections open at once from one source address; a connection beyond it is
     * closed as soon as it is accepted and counted in
     * {@link io.lodestone.core.metrics.FrontendSnapshot#refusedConnections()}. 0 means no limit.
     *
     * @return the most client connections open at once from one source address; a connection beyond it is
     *     closed as soon as it is accepted and counted in {@link
     *     io.lodestone.core.metrics.FrontendSnapshot#refusedConnections()}. 0 means no limit
     */
    public int maxConnectionsPerSource() {
        return maxConnectionsPerSource;
    }

    /**
     * The most new client connections per second from one source address (a bucket of that many,
     * refilled over a second); a connection beyond it is closed as soon as it is accepted and
     * counted in {@link io.lodestone.core.metrics.FrontendSnapshot#refusedConnections()}. 0 means
     * no limit.
     *
     * @return the most new client connections per second from one source address (a bucket of that many,
     *     refilled over a second); a connection beyond it is closed as soon as it is accepted and counted in
     *     {@link io.lodestone.core.metrics.FrontendSnapshot#refusedConnections()}. 0 means no limit
     */
    public int maxConnectionRatePerSource() {
        return maxConnectionRatePerSource;
    }

    /** {@return whether connections are TLS passed through, routed on their ClientHello's SNI and ALPN} */
    public boolean tlsPassthrough() {
        return tlsPassthrough;
    }

    /** {@return the TLS this frontend terminates, or {@code null} when it relays bytes as they come} */
    public ServerTls tls() {
        return tls;
    }

    /**
     * Whether connections start with a PROXY protocol header (every connection, or those from
     * {@link #proxyProtocolSources()} when it is not empty); see {@link Builder#acceptProxyProtocol()}.
     *
     * @return whether connections start with a PROXY protocol header (every connection, or those from {@link
     *     #proxyProtocolSources()} when it is not empty); see {@link Builder#acceptProxyProtocol()}
     */
    public boolean acceptsProxyProtocol() {
        return acceptProxyProtocol;
    }

    /**
     * The networks whose connections must start with a PROXY header; empty when every connection
     * must (or when the frontend does not accept the PROXY protocol).
     *
     * @return the networks whose connections must start with a PROXY header; empty when every connection must
     *     (or when the frontend does not accept the PROXY protocol)
     */
    public List<String> proxyProtocolSources() {
        return proxyProtocolSources;
    }

    @Override
    public Set<String> backendNames() {
        return table.backendNames();
    }

    @Override
    public Listener start(EngineContext context) {
        return TcpListener.start(this, table, context);
    }

    @Override
    public String toString() {
        return "TcpFrontend{" + name + " " + bindAddresses + " -> " + (hasRules ? table : table.defaultBackend()) + "}";
    }

    /** Builds a {@link TcpFrontend}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder implements Frontend.Builder {
        private final List<InetSocketAddress> bindAddresses = new ArrayList<>();
        private String name;
        private final Routing.Builder routing = Routing.builder().connectionOnly();
        private boolean routingTouched;
        private Routing wholeTable;
        private Duration clientTimeout = Duration.ofMinutes(5);
        /** {@code null}: not set, {@link #DEFAULT_CLIENT_HELLO_TIMEOUT}. */
        private Duration clientHelloTimeout;
        private int maxConnections;
        private int maxConnectionsPerSource;
        private int maxConnectionRatePerSource;
        private boolean tlsPassthrough;
        private ServerTls tls;
        private boolean acceptProxyProtocol;
        private List<String> proxyProtocolSources = List.of();
        /** {@link #acceptProxyProtocolFrom} was the last of the two called: its list may not be empty. */
        private boolean proxyProtocolSourcesGiven;

        Builder(InetSocketAddress first) {
            bindAddresses.add(first);
        }

        /**
         * Adds another address to listen on ({@code host:port}, as {@link TcpFrontend#bind(String)}).
         *
         * @param address another address to listen on
         * @return this builder
         * @throws IllegalArgumentException naming the value when it does not parse
         */
        public Builder bind(String address) {
            bindAddresses.add(Addresses.parse("bind", address));
            return this;
        }

        /**
         * Adds another port to listen on, on every interface.
         *
         * @param port another port to listen on
         * @return this builder
         * @throws IllegalArgumentException when the port is not in 0..65535
         */
        public Builder bind(int port) {
            bindAddresses.add(port("bind", port));
            return this;
        }

        /**
         * Names the frontend (default {@code tcp-PORT} after the first bind port); the name must be
         * unique within a proxy.
         *
         * @param name the frontend's name, unique within a proxy
         * @return this builder
         * @throws IllegalArgumentException when empty or not made of letters, digits, '-', '_' or '.'
         */
        public Builder name(String name) {
            this.name = Names.check(label() + " name", name);
            return this;
        }

        /**
         * Sets the backend connections go to (required); {@link io.lodestone.core.Proxy.Builder#build()}
         * checks that it exists.
         *
         * @param backend the backend connections go to
         * @return this builder
         * @throws IllegalArgumentException when empty or not a valid name
         */
        public Builder defaultBackend(String backend) {
            Names.check(label() + " defaultBackend", backend);
            routing.defaultBackend(backend);
            routingTouched = true;
            return this;
        }

        /**
         * Sets the default backend and a backup backend that takes over when the default has no
         * usable server (HAProxy's {@code use_backend backup if nbsrv(primary) lt 1}).
         *
         * @param backend the backend's name
         * @param backup the backend used when {@code backend} has no usable server
         * @return this builder
         * @throws IllegalArgumentException when a name is empty or not valid, or {@code backup} is
         *     {@code backend} itself, which would never take over
         */
        public Builder defaultBackend(String backend, String backup) {
            Names.check(label() + " defaultBackend", backend);
            Names.check(label() + " defaultBackend backup", backup);
            if (backup.equals(backend)) {
                throw new IllegalArgumentException(label() + " defaultBackend backup: " + backup
                        + " (expected: a backend other than " + backend + ", which it backs up)");
            }
            routing.defaultBackend(backend, backup);
            routingTouched = true;
            return this;
        }

        /**
         * Adds a connection rule, evaluated after the ones added before: a condition over the
         * connection (source, local port, backend states, random) and {@code use} or {@code reject}.
         *
         * <pre>{@code
         * .rule(Rule.when(Acl.source("10.0.0.0/8", "fd00::/8")).use("internal"))
         * .rule(Rule.always().reject())
         * }</pre>
         *
         * <p>An HTTP condition or action fails at {@link #build()}, naming the rule.
         *
         * @param rule a connection rule
         * @return this builder
         */
        public Builder rule(Rule rule) {
            routing.rule(rule);
            routingTouched = true;
            return this;
        }

        /**
         * Declares a named connection ACL that rules refer to with {@link Acl#named(String)} or
         * {@link Rule#whenNamed(String)}.
         *
         * @param name the ACL's name
         * @param acl the condition it names
         * @return this builder
         * @throws IllegalArgumentException when the name is blank or already declared
         */
        public Builder acl(String name, Acl acl) {
            routing.acl(name, acl);
            routingTouched = true;
            return this;
        }

        /**
         * Uses a whole connection-only routing table ({@code Routing.builder().connectionOnly()}),
         * instead of {@link #rule}, {@link #acl} and {@link #defaultBackend} on this builder.
         *
         * @param routing a whole connection-only routing table
         * @return this builder
         * @throws IllegalArgumentException when the table is not connection-only
         */
        public Builder routing(Routing routing) {
            Objects.requireNonNull(routing, "routing");
            if (!routing.isConnectionOnly()) {
                throw new IllegalArgumentException(label() + " routing: " + routing
                        + " (expected: a connection-only routing, Routing.builder().connectionOnly())");
            }
            this.wholeTable = routing;
            return this;
        }

        /**
         * Builds and uses a whole routing table; see {@link #routing(Routing)}.
         *
         * @param routing the routing table's builder, built now
         * @return this builder
         */
        public Builder routing(Routing.Builder routing) {
            return routing(Objects.requireNonNull(routing, "routing").build());
        }

        /** Whether a table does more than send everything to one default backend. */
        static boolean hasRules(Routing table) {
            return !table.rules().isEmpty() || table.backendNames().size() > (table.defaultBackend() == null ? 0 : 1);
        }

        /**
         * Sets the client idle timeout (default 5 minutes): when nothing has been read from or
         * written to the client for that long, both sides are closed. {@link Duration#ZERO} disables
         * it.
         *
         * @param timeout the client idle timeout
         * @return this builder
         * @throws IllegalArgumentException when null or negative
         */
        public Builder clientTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException(label() + " clientTimeout: " + timeout + " (expected: >= 0)");
            }
            this.clientTimeout = Durations.atMostMax(label() + " clientTimeout", timeout);
            return this;
        }

        /**
         * Sets how long a TLS frontend ({@link #tlsPassthrough()} or {@link #tls(ServerTls)}) waits for
         * each client's whole ClientHello, from the moment the connection is accepted (default
         * {@link TcpFrontend#DEFAULT_CLIENT_HELLO_TIMEOUT 5 seconds}); HAProxy's
         * {@code tcp-request inspect-delay}, nginx's {@code preread_timeout}. A client that connects and
         * sends nothing, or only part of a ClientHello, is closed when it expires, before any server is
         * contacted: the access log says {@code cR}, and it counts as a
         * {@link io.lodestone.core.metrics.ErrorKind#TIMEOUT timeout} error on the frontend. Without it
         * such a client would hold its connection, and a slot of {@link #maxConnections(int)}, for the
         * whole client timeout.
         *
         * <p>Once the ClientHello is whole it no longer applies: a passthrough connection is routed and
         * relayed under the client and server idle timeouts; a terminated one goes on with its handshake,
         * bounded by the client timeout and by the {@link ServerTls} handshake timeout. A client timeout
         * shorter than the ClientHello timeout still bounds the wait, and on a terminating frontend so
         * does the {@code ServerTls} handshake timeout (10 seconds by default) when it is shorter.
         *
         * <pre>{@code
         * TcpFrontend.bind(443).tlsPassthrough()
         *     .clientHelloTimeout(Duration.ofSeconds(3))
         *     .defaultBackend("www");
         * }</pre>
         *
         * @param timeout how long to wait for the whole ClientHello, above zero
         * @return this builder
         * @throws IllegalArgumentException when null, zero or negative; {@link #build()} fails when the
         *     frontend has no TLS, which reads no ClientHello
         */
        public Builder clientHelloTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException(label() + " clientHelloTimeout: " + timeout + " (expected: > 0)");
            }
            this.clientHelloTimeout = Durations.atMostMax(label() + " clientHelloTimeout", timeout);
            return this;
        }

        /**
         * The frontend as a setter's message names it, as a backend's name its backend: by the name
         * given to {@link #name(String)} before the setter, else by its first address, all that is known
         * of it then ({@code frontend at 127.0.0.1:0 clientTimeout: PT-1S (expected: >= 0)}); the
         * default name is not settled until {@link #build()}.
         */
        private String label() {
            return name != null ? "frontend " + name : "frontend at " + Addresses.format(bindAddresses.get(0));
        }

        /**
         * Sets the most client connections open at once (default 0: no limit); further ones wait in
         * the listen backlog until one closes.
         *
         * @param maxConnections the most client connections open at once
         * @return this builder
         * @throws IllegalArgumentException when negative
         */
        public Builder maxConnections(int maxConnections) {
            if (maxConnections < 0) {
                throw new IllegalArgumentException(label() + " maxConnections: " + maxConnections + " (expected: >= 0)");
            }
            this.maxConnections = maxConnections;
            return this;
        }

        /**
         * Sets the most client connections open at once from one source address (default 0: no
         * limit), HAProxy's {@code src_conn_cur} check: a connection beyond it is closed as soon as it
         * is accepted and counted as refused. The address is the TCP peer's, or on a frontend that
         * {@link #acceptProxyProtocol() accepts the PROXY protocol} the header's source, checked once the
         * header is read. A reconfiguration that
         * keeps the frontend's sockets keeps the per-source limits it was bound with.
         *
         * @param maxConnections the most client connections open at once from one source address
         * @return this builder
         * @throws IllegalArgumentException when negative
         */
        public Builder maxConnectionsPerSource(int maxConnections) {
            this.maxConnectionsPerSource = SourceLimits.checkMaxConnections(label(), maxConnections);
            return this;
        }

        /**
         * Sets the most new client connections per second from one source address (default 0: no
         * limit), HAProxy's {@code src_conn_rate} check: a token bucket of {@code perSecond} refilled
         * over a second, so a burst of {@code perSecond} is allowed at once. A connection beyond it is
         * closed as soon as it is accepted and counted as refused.
         *
         * @param perSecond the most new client connections per second from one source address
         * @return this builder
         * @throws IllegalArgumentException when negative or above 1 000 000 000
         */
        public Builder maxConnectionRatePerSource(int perSecond) {
            this.maxConnectionRatePerSource = SourceLimits.checkConnectionRate(label(), perSecond);
            return this;
        }

        /**
         * Passes TLS through: each connection's ClientHello is read (not terminated), the route is
         * decided on its SNI name and first ALPN protocol, and the bytes are relayed untouched.
         * Excludes {@link #tls(ServerTls)}.
         *
         * @return this builder
         */
        public Builder tlsPassthrough() {
            this.tlsPassthrough = true;
            return this;
        }

        /**
         * Terminates TLS with {@code tls} and relays the plaintext; the route is decided after the
         * handshake, on the SNI name and the ALPN protocol it negotiated. Excludes
         * {@link #tlsPassthrough()}.
         *
         * @param tls the server TLS configuration
         * @return this builder
         */
        public Builder tls(ServerTls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * Has every connection start with a PROXY protocol header, version 1 or 2, told apart by its
         * first bytes: HAProxy's {@code bind ... accept-proxy}, nginx's {@code listen ... proxy_protocol}.
         * For a frontend behind a load balancer (a cloud network load balancer, another HAProxy) that
         * sends it, so that the proxy sees the client rather than the load balancer.
         *
         * <pre>{@code
         * TcpFrontend.bind(5432).acceptProxyProtocol().defaultBackend("db");
         * }</pre>
         *
         * <p>The header's source address and port, and its destination address and port, stand for the
         * connection's everywhere: {@link io.lodestone.core.route.Acl#source ACLs on the source} and on
         * the local port, source hashing and {@code stickOnSource}, rate-limiting rules, the per-source
         * limits, the access log's client, and the PROXY header sent on to servers (so a chain of
         * proxies keeps the original client). A {@code LOCAL} command (version 2, the load balancer's
         * own health check) or an {@code UNKNOWN} family (version 1) keeps the connection's own
         * addresses. Version 2 TLVs are ignored.
         *
         * <p>The header must be whole within the {@link #clientTimeout(Duration) client timeout} from
         * accept (HAProxy bounds it by its {@code timeout client} too), or within 5 seconds when the
         * client timeout is zero. A connection that starts with anything else, whose header is malformed,
         * or that is late is closed, before any server is chosen, and logged at DEBUG (not in the access
         * log); it counts as an {@link io.lodestone.core.metrics.ErrorKind#INVALID invalid} or
         * {@link io.lodestone.core.metrics.ErrorKind#TIMEOUT timeout} error on the frontend. On a TLS
         * frontend the header comes first, before the ClientHello, whose timeout runs from the header's end.
         *
         * <p>The {@link #maxConnectionsPerSource(int) per-source limits} are checked once the header is
         * read, on its source: behind a load balancer the TCP peer is the load balancer, which such a
         * limit would throttle as a whole. The frontend's {@link #maxConnections(int)} still counts a
         * connection from accept. Replaces {@link #acceptProxyProtocolFrom(String...)}.
         *
         * @return this builder
         */
        public Builder acceptProxyProtocol() {
            this.acceptProxyProtocol = true;
            this.proxyProtocolSources = List.of();
            this.proxyProtocolSourcesGiven = false;
            return this;
        }

        /**
         * As {@link #acceptProxyProtocol()}, for connections from these networks only
         * ({@code 10.0.0.0/8}, {@code 2001:db8::/32}, {@code 192.0.2.7}): nginx's
         * {@code set_real_ip_from}, HAProxy's {@code tcp-request connection expect-proxy layer4 if
         * { src ... }}. A connection from elsewhere is served with its own addresses, and a PROXY
         * header it sends is not honoured: its bytes are relayed to the server as data, as HAProxy does.
         * Replaces {@link #acceptProxyProtocol()} and any networks given before.
         *
         * @param cidrs the networks, in CIDR form, or single addresses
         * @return this builder
         * @throws NullPointerException when {@code cidrs} is null; {@link #build()} fails, naming the
         *     field and the value, when the list is empty or a network does not parse
         */
        public Builder acceptProxyProtocolFrom(String... cidrs) {
            this.acceptProxyProtocol = true;
            this.proxyProtocolSources = new ArrayList<>(Arrays.asList(Objects.requireNonNull(cidrs, "cidrs")));
            this.proxyProtocolSourcesGiven = true;
            return this;
        }

        /**
         * Returns the immutable frontend. The builder stays usable.
         *
         * @throws IllegalArgumentException when nothing routes the connections (no default backend and
         *     no rule), when a whole routing table is given beside rules, ACLs or a default backend, or
         *     when the routing does not build (an HTTP condition or action, an unknown named ACL),
         *     or when both {@link #tls(ServerTls)} and {@link #tlsPassthrough()} are set, or when a
         *     {@link #clientHelloTimeout(Duration) ClientHello timeout} is set without either, or when
         *     {@link #acceptProxyProtocolFrom(String...)} got no network or one that does not parse
         */
        @Override
        public TcpFrontend build() {
            String label = "frontend " + (name != null ? name : "tcp-" + bindAddresses.get(0).getPort());
            if (wholeTable != null && routingTouched) {
                throw new IllegalArgumentException(label + " routing: " + wholeTable
                        + " (expected: either routing(Routing) or rule/acl/defaultBackend, not both)");
            }
            if (tls != null && tlsPassthrough) {
                throw new IllegalArgumentException(label + " tls: " + tls
                        + " (expected: either tls(ServerTls) to terminate or tlsPassthrough(), not both)");
            }
            if (clientHelloTimeout != null && tls == null && !tlsPassthrough) {
                throw new IllegalArgumentException(label + " clientHelloTimeout: " + clientHelloTimeout
                        + " (expected: with tlsPassthrough() or tls(ServerTls); a frontend without TLS reads no ClientHello)");
            }
            Routing table = wholeTable != null ? wholeTable : FrontendRouting.build(label, routing);
            if (table.defaultBackend() == null && !hasRules(table)) {
                throw new IllegalArgumentException(label + " defaultBackend: null (expected: the name of a backend, or rules that choose one)");
            }
            List<String> sources = proxyProtocolSourcesGiven
                    ? ProxyHeaderReader.checkSources(label, proxyProtocolSources) : List.of();
            return new TcpFrontend(this, table, sources);
        }
    }
}
