package io.lodestone.l7;

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
import io.lodestone.l7.internal.HttpListener;
import io.lodestone.tls.ServerTls;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

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
 * <h2>Routing</h2>
 * Each request goes through the frontend's {@link Routing}: named ACLs ({@link Builder#acl}), rules
 * in order ({@link Builder#rule}), virtual hosts ({@link Builder#virtualHost}) and the default
 * backend, or a whole table given with {@link Builder#routing(Routing)}. The router is built once at
 * start and decides every request before anything is forwarded:
 * <ul>
 * <li>a forward goes to the chosen backend (the backup when the primary has no usable server),
 *     with the request header edits applied in order after the proxy's own forwarding headers, the
 *     rewritten path (the query kept) and the Host override; the response header edits are applied
 *     to the server's response before it is sent to the client;</li>
 * <li>a deny, redirect or respond is answered by the proxy without touching a backend. A request
 *     body is read and discarded so that the connection can be kept alive; a body announced larger
 *     than 64 KiB, or a request that waits for {@code 100-continue}, closes the connection after the
 *     answer instead.</li>
 * </ul>
 * Header edits never touch {@code Content-Length} or {@code Transfer-Encoding}: framing stays the
 * proxy's. Path ACLs read the normalised path; the raw path is forwarded unless a rule rewrites it.
 * {@link io.lodestone.core.Proxy#route} evaluates the same rules without a socket.
 *
 * <pre>{@code
 * HttpFrontend.bind(8080)
 *     .acl("is_admin", Acl.pathBegins("/admin"))
 *     .rule(Rule.whenNamed("is_admin").deny(403))
 *     .rule(Rule.when(Acl.pathBegins("/api")).stripPrefix("/api"))
 *     .rule(Rule.when(Acl.pathBegins("/api")).use("api"))
 *     .virtualHost("static.example.com", vh -> vh.defaultBackend("static"))
 *     .defaultBackend("app", "sorry");
 * }</pre>
 *
 * <p>Rate limits: {@link io.lodestone.core.route.Rule.Builder#rateLimit} answers 429 with
 * {@code Retry-After} beyond a request rate per client address, header or key;
 * {@link Builder#maxConnectionsPerSource} and {@link Builder#maxConnectionRatePerSource} close a
 * client address's connections beyond so many open at once or so many new ones per second.
 *
 * <p>Behind a load balancer that sends the PROXY protocol, {@link Builder#acceptProxyProtocol()} (or
 * {@link Builder#acceptProxyProtocolFrom(String...)}) reads the header that starts each connection and
 * takes its addresses as the client's: in rules, balancing, rate limits, {@code X-Forwarded-For},
 * {@code Forwarded} and the access log.
 *
 * <h2>Response cache</h2>
 * {@link Builder#cache(String, ResponseCache)} keeps an in-memory cache of a backend's cacheable
 * responses (RFC 9111, shared cache; see {@link ResponseCache}); purges go through
 * {@code proxy.control().cache()}, figures are in {@code proxy.metrics().caches()}.
 *
 * <p>Failure answers: no usable server 503; connection refused after the retries 502; connect
 * timeout 504; no response within the backend's {@link io.lodestone.core.Backend#serverTimeout()
 * server timeout} 504; request head not complete within {@link #clientTimeout()} 408. A backend that
 * dies mid-response closes the client connection.
 *
 * <h2>Error pages</h2>
 * The proxy's own error answers carry a one-line {@code text/plain} body unless
 * {@link Builder#errorPage(int, String, byte[])} gives the frontend a page of its own for the status
 * (HAProxy's {@code errorfile}, nginx's {@code error_page}); a server's own error responses pass
 * unchanged.
 *
 * <pre>{@code
 * HttpFrontend.bind(8080)
 *     .errorPage(503, "text/html; charset=utf-8", Path.of("/etc/gateway/503.html"))
 *     .errorPage(429, "application/json", "{\"error\":\"slow down\"}")
 *     .defaultBackend("app");
 * }</pre>
 */
public final class HttpFrontend implements Frontend {

    private final String name;
    private final List<InetSocketAddress> bindAddresses;
    private final Routing table;
    private final boolean hasRules;
    private final Duration clientTimeout;
    private final Duration keepAliveTimeout;
    private final Duration tunnelTimeout;
    private final int maxConnections;
    private final int maxConnectionsPerSource;
    private final int maxConnectionRatePerSource;
    private final int maxInitialLineLength;
    private final int maxHeaderSize;
    private final int maxHeaderCount;
    private final HeadersWithUnderscores headersWithUnderscores;
    private final long maxBodySize;
    private final String requestIdHeader;
    private final boolean requestIds;
    private final boolean forwardedFor;
    private final boolean forwarded;
    private final String via;
    private final double retryBudgetRatio;
    private final int minRetryConcurrency;
    private final int maxIdlePerServer;
    private final Duration poolIdleTimeout;
    private final int poolMaxRequests;
    private final Duration poolMaxLifetime;
    private final int keepAliveMaxRequests;
    private final ServerTls tls;
    private final String hsts;
    private final boolean h2c;
    private final boolean websocketOverHttp2;
    private final boolean deferAccept;
    private final int http2MaxConcurrentStreams;
    private final int http2MaxHeaderListSize;
    private final int http2InitialWindowSize;
    private final int http2MaxResets;
    private final int http2ResetWindowSeconds;
    private final Compression compression;
    private final boolean clientCertificateHeaders;
    private final ResponseCache cacheAll;
    private final Map<String, ResponseCache> caches;
    private final Map<Integer, ErrorPage> errorPages;
    private final boolean acceptProxyProtocol;
    private final List<String> proxyProtocolSources;

    private HttpFrontend(Builder b, Routing table, List<String> proxyProtocolSources) {
        this.name = b.name != null ? b.name : "http-" + b.bindAddresses.get(0).getPort();
        this.bindAddresses = List.copyOf(b.bindAddresses);
        this.table = table;
        this.hasRules = Builder.hasRules(table);
        this.clientTimeout = b.clientTimeout;
        this.keepAliveTimeout = b.keepAliveTimeout;
        this.tunnelTimeout = b.tunnelTimeout;
        this.maxConnections = b.maxConnections;
        this.maxConnectionsPerSource = b.maxConnectionsPerSource;
        this.maxConnectionRatePerSource = b.maxConnectionRatePerSource;
        this.maxInitialLineLength = b.maxInitialLineLength;
        this.maxHeaderSize = b.maxHeaderSize;
        this.maxHeaderCount = b.maxHeaderCount;
        this.headersWithUnderscores = b.headersWithUnderscores;
        this.maxBodySize = b.maxBodySize;
        this.requestIdHeader = b.requestIdHeader;
        this.requestIds = b.requestIds;
        this.forwardedFor = b.forwardedFor;
        this.forwarded = b.forwarded;
        this.via = b.via;
        this.retryBudgetRatio = b.retryBudgetRatio;
        this.minRetryConcurrency = b.minRetryConcurrency;
        this.maxIdlePerServer = b.maxIdlePerServer;
        this.poolIdleTimeout = b.poolIdleTimeout;
        this.poolMaxRequests = b.poolMaxRequests;
        this.poolMaxLifetime = b.poolMaxLifetime;
        this.keepAliveMaxRequests = b.keepAliveMaxRequests;
        this.tls = b.tls;
        this.hsts = b.hstsMaxAge == null ? null
                : "max-age=" + b.hstsMaxAge.getSeconds() + (b.hstsIncludeSubDomains ? "; includeSubDomains" : "");
        this.h2c = b.h2c;
        this.websocketOverHttp2 = b.websocketOverHttp2;
        this.deferAccept = b.deferAccept;
        this.http2MaxConcurrentStreams = b.http2MaxConcurrentStreams;
        this.http2MaxHeaderListSize = b.http2MaxHeaderListSize;
        this.http2InitialWindowSize = b.http2InitialWindowSize;
        this.http2MaxResets = b.http2MaxResets;
        this.http2ResetWindowSeconds = b.http2ResetWindowSeconds;
        this.compression = b.compression;
        this.clientCertificateHeaders = b.clientCertificateHeaders;
        this.cacheAll = b.cacheAll;
        this.caches = Map.copyOf(b.caches);
        this.errorPages = Collections.unmodifiableMap(new TreeMap<>(b.errorPages));
        this.acceptProxyProtocol = b.acceptProxyProtocol;
        this.proxyProtocolSources = proxyProtocolSources;
    }

    /**
     * Returns a builder for a frontend listening on this port on every interface.
     *
     * @param port the port, 0..65535; 0 lets the OS choose
     * @return a builder for a frontend listening on this port on every interface
     */
    public static Builder bind(int port) {
        return new Builder(port("bind", port));
    }

    /**
     * Returns a builder for a frontend listening on {@code host:port} ({@code *:port} for every interface).
     *
     * @param address the address
     * @return a builder for a frontend listening on {@code host:port} ({@code *:port} for every interface)
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
     * {@return the backend requests go to when no rule picks another, or {@code null} when the rules decide
     * everything}
     */
    public String defaultBackend() {
        return table.defaultBackend();
    }

    /**
     * The frontend's routing: rules, named ACLs, virtual hosts and default backend; {@code null}
     * when it has no rules, no virtual hosts and no backup, only a default backend.
     */
    @Override
    public Routing routing() {
        return hasRules ? table : null;
    }

    /**
     * How long a client may take to send a complete request head, and then to send each next piece of
     * its request's body (while the proxy reads it), before it is answered 408.
     *
     * @return how long a client may take to send a complete request head, and then to send each next piece of
     *     its request's body (while the proxy reads it), before it is answered 408
     */
    public Duration clientTimeout() {
        return clientTimeout;
    }

    /**
     * How long a keep-alive client connection may stay idle between requests before it is closed; an
     * HTTP/2 connection, how long it may go without an open stream (from its start too), then it
     * gets GOAWAY and is closed.
     *
     * @return how long a keep-alive client connection may stay idle between requests before it is closed; an
     *     HTTP/2 connection, how long it may go without an open stream (from its start too), then it gets
     *     GOAWAY and is closed
     */
    public Duration keepAliveTimeout() {
        return keepAliveTimeout;
    }

    /** {@return how long a WebSocket tunnel may stay idle (no byte either way) before both sides are closed} */
    public Duration tunnelTimeout() {
        return tunnelTimeout;
    }

    /** {@return the most client connections open at once; further ones wait in the accept backlog. 0 means no limit} */
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

    /**
     * The longest request line accepted; a longer one is answered 414. An HTTP/2 stream is held to
     * the request line its request would have in HTTP/1.1 (method, {@code :path}, version).
     *
     * @return the longest request line accepted; a longer one is answered 414
     */
    public int maxInitialLineLength() {
        return maxInitialLineLength;
    }

    /** {@return the largest request header block accepted, in bytes; a larger one is answered 431} */
    public int maxHeaderSize() {
        return maxHeaderSize;
    }

    /**
     * The most request header fields accepted; more are answered 431. An HTTP/2 stream is held to
     * it too, its fields counted as its HTTP/1.1 request has them ({@code :authority} as
     * {@code host}, cookie crumbs as one field, pseudo-headers not at all).
     *
     * @return the most request header fields accepted; more are answered 431
     */
    public int maxHeaderCount() {
        return maxHeaderCount;
    }

    /**
     * {@return what the frontend does with a request header whose name has an underscore; see {@link
     * HeadersWithUnderscores}}
     */
    public HeadersWithUnderscores headersWithUnderscores() {
        return headersWithUnderscores;
    }

    /**
     * True for a name with an underscore when {@link #headersWithUnderscores()} is {@code DROP_HEADER}.
     *
     * @param name a header field's name
     * @return whether this frontend removes such a field before its rules
     */
    @Override
    public boolean removesRequestHeader(String name) {
        return headersWithUnderscores == HeadersWithUnderscores.DROP_HEADER && name.indexOf('_') >= 0;
    }

    /**
     * True for a name with an underscore when {@link #headersWithUnderscores()} is {@code REJECT_REQUEST}.
     *
     * @param name a header field's name
     * @return whether this frontend answers 400 to a request with such a field
     */
    @Override
    public boolean refusesRequestHeader(String name) {
        return headersWithUnderscores == HeadersWithUnderscores.REJECT_REQUEST && name.indexOf('_') >= 0;
    }

    /**
     * What a frontend does with a request header field whose name contains an underscore, such as
     * {@code X_Real_IP} (Envoy's {@code headers_with_underscores_action}; nginx drops them unless
     * {@code underscores_in_headers} is on). Such names are valid HTTP, but servers behind CGI-style
     * gateways (PHP, WSGI, Rack, many others) see a field under a variable name in which {@code -} and
     * {@code _} are both {@code _}: {@code X_Real_IP} and the {@code X-Real-IP} the proxy sets arrive as
     * the same {@code HTTP_X_REAL_IP}, and which one wins depends on the server. A client can so pass
     * off its own client address, protocol or request id. The rule applies to HTTP/1.x requests and
     * to HTTP/2 streams alike, and to a request's trailer section as to its header section (a trailer
     * reaches the server after the head and body were forwarded: {@code REJECT_REQUEST} then answers
     * 400 and closes the server connection, so the server never sees the request end); responses are
     * not touched.
     */
    public enum HeadersWithUnderscores {
        /** Forwards them as they are (the default, as HAProxy and Envoy do). */
        ALLOW,
        /** Removes them from the request before anything reads it: rules, the cache, the server. */
        DROP_HEADER,
        /** Answers the request 400 and closes the connection, as for a malformed request. */
        REJECT_REQUEST
    }

    /** {@return the largest request body accepted, in bytes; a larger one is answered 413. 0 means no limit} */
    public long maxBodySize() {
        return maxBodySize;
    }

    /**
     * The request id header: generated when absent, passed to the server and returned to the client,
     * while {@link #requestIds()} is on.
     *
     * @return the request id header: generated when absent, passed to the server and returned to the client,
     *     while {@link #requestIds()} is on
     */
    public String requestIdHeader() {
        return requestIdHeader;
    }

    /**
     * Whether the proxy gives every request an id (default on): it keeps the client's
     * {@link #requestIdHeader()} or generates one, passes it to the server, returns it to the client
     * and logs it. Off, that header is an ordinary one, forwarded as the client sent it, and the access
     * log has no request id.
     *
     * @return whether the proxy gives every request an id (default on): it keeps the client's {@link
     *     #requestIdHeader()} or generates one, passes it to the server, returns it to the client and logs it
     */
    public boolean requestIds() {
        return requestIds;
    }

    /** {@return whether {@code X-Forwarded-For/-Proto/-Host/-Port} and {@code X-Real-IP} are sent to servers} */
    public boolean forwardedFor() {
        return forwardedFor;
    }

    /** {@return whether an RFC 7239 {@code Forwarded} element is appended to requests} */
    public boolean forwarded() {
        return forwarded;
    }

    /** {@return the pseudonym of the {@code Via} header added to requests and responses, or {@code null} for none} */
    public String via() {
        return via;
    }

    /** {@return the share of in-flight requests that may be retries at once (Envoy's retry budget)} */
    public double retryBudgetRatio() {
        return retryBudgetRatio;
    }

    /** {@return the number of concurrent retries always allowed, whatever the budget's ratio} */
    public int minRetryConcurrency() {
        return minRetryConcurrency;
    }

    /** {@return the most idle keep-alive connections kept per event loop and per server} */
    public int maxIdlePerServer() {
        return maxIdlePerServer;
    }

    /** {@return how long an idle pooled server connection is kept before it is closed} */
    public Duration poolIdleTimeout() {
        return poolIdleTimeout;
    }

    /**
     * The most requests an HTTP/1.1 server connection carries before it is closed instead of pooled,
     * or 0 for no limit (the default); see {@link Builder#poolMaxRequests(int)}.
     *
     * @return the most requests an HTTP/1.1 server connection carries before it is closed instead of pooled,
     *     or 0 for no limit (the default); see {@link Builder#poolMaxRequests(int)}
     */
    public int poolMaxRequests() {
        return poolMaxRequests;
    }

    /**
     * How long after it was opened an HTTP/1.1 server connection stops being reused, or {@code null}
     * for no limit (the default); see {@link Builder#poolMaxLifetime(Duration)}.
     *
     * @return how long after it was opened an HTTP/1.1 server connection stops being reused, or {@code null}
     *     for no limit (the default); see {@link Builder#poolMaxLifetime(Duration)}
     */
    public Duration poolMaxLifetime() {
        return poolMaxLifetime;
    }

    /**
     * The most requests an HTTP/1.x client connection is served before the proxy closes it, or 0 for
     * no limit (the default); see {@link Builder#keepAliveMaxRequests(int)}.
     *
     * @return the most requests an HTTP/1.x client connection is served before the proxy closes it, or 0 for
     *     no limit (the default); see {@link Builder#keepAliveMaxRequests(int)}
     */
    public int keepAliveMaxRequests() {
        return keepAliveMaxRequests;
    }

    /** {@return the TLS this frontend terminates (HTTPS), or {@code null} for plain HTTP} */
    public ServerTls tls() {
        return tls;
    }

    /**
     * The {@code Strict-Transport-Security} value added to every response of this TLS frontend
     * (such as {@code max-age=31536000; includeSubDomains}), or {@code null} when HSTS is off.
     *
     * @return the {@code Strict-Transport-Security} value added to every response of this TLS frontend (such
     *     as {@code max-age=31536000; includeSubDomains}), or {@code null} when HSTS is off
     */
    public String hsts() {
        return hsts;
    }

    /**
     * {@return whether plain-text connections that start with the HTTP/2 preface speak HTTP/2 (h2c with prior
     * knowledge)}
     */
    public boolean h2c() {
        return h2c;
    }

    /**
     * {@return whether HTTP/2 clients may open WebSockets (RFC 8441 extended CONNECT), forwarded to
     * HTTP/1.1 servers as {@code Upgrade: websocket} requests (see {@link Builder#websocketOverHttp2})}
     */
    public boolean websocketOverHttp2() {
        return websocketOverHttp2;
    }

    /**
     * {@return whether a connection is accepted only once its client has sent data (see {@link
     * Builder#deferAccept})}
     */
    public boolean deferAccept() {
        return deferAccept;
    }

    /**
     * HTTP/2: the most streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
     *
     * @return HTTP/2: the most streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)
     */
    public int http2MaxConcurrentStreams() {
        return http2MaxConcurrentStreams;
    }

    /**
     * HTTP/2: the largest header list accepted, in bytes (SETTINGS_MAX_HEADER_LIST_SIZE).
     *
     * @return HTTP/2: the largest header list accepted, in bytes (SETTINGS_MAX_HEADER_LIST_SIZE)
     */
    public int http2MaxHeaderListSize() {
        return http2MaxHeaderListSize;
    }

    /**
     * HTTP/2: the initial flow-control window of each stream, in bytes (SETTINGS_INITIAL_WINDOW_SIZE).
     *
     * @return HTTP/2: the initial flow-control window of each stream, in bytes (SETTINGS_INITIAL_WINDOW_SIZE)
     */
    public int http2InitialWindowSize() {
        return http2InitialWindowSize;
    }

    /**
     * HTTP/2: the most RST_STREAM frames a client may send per {@link #http2ResetWindowSeconds()} before it
     * is disconnected.
     *
     * @return HTTP/2: the most RST_STREAM frames a client may send per {@link #http2ResetWindowSeconds()}
     *     before it is disconnected
     */
    public int http2MaxResets() {
        return http2MaxResets;
    }

    /**
     * HTTP/2: the window, in seconds, over which {@link #http2MaxResets()} counts.
     *
     * @return HTTP/2: the window, in seconds, over which {@link #http2MaxResets()} counts
     */
    public int http2ResetWindowSeconds() {
        return http2ResetWindowSeconds;
    }

    /** {@return the response compression of this frontend, or {@code null} when responses pass as they are} */
    public Compression compression() {
        return compression;
    }

    /** {@return whether the client's certificate identity is forwarded as {@code X-Client-*} request headers} */
    public boolean clientCertificateHeaders() {
        return clientCertificateHeaders;
    }

    /**
     * The response cache the frontend keeps for a backend's responses, or {@code null} when they are
     * not cached (see {@link Builder#cache(String, ResponseCache)}).
     *
     * @param backend the backend's name
     * @return the response cache the frontend keeps for a backend's responses, or {@code null} when they are
     *     not cached (see {@link Builder#cache(String, ResponseCache)})
     */
    public ResponseCache cache(String backend) {
        ResponseCache c = caches.get(backend);
        return c != null ? c : cacheAll;
    }

    /**
     * The frontend's error pages by status, in status order; empty when the proxy's error answers
     * keep their default one-line bodies (see {@link Builder#errorPage(int, String, byte[])}).
     *
     * @return the frontend's error pages by status, in status order; empty when the proxy's error answers
     *     keep their default one-line bodies (see {@link Builder#errorPage(int, String, byte[])})
     */
    public Map<Integer, ErrorPage> errorPages() {
        return errorPages;
    }

    /** True: the frontend forwards HTTP requests, so its backends may hash on a request key. */
    @Override
    public boolean isHttp() {
        return true;
    }

    @Override
    public Set<String> backendNames() {
        return table.backendNames();
    }

    @Override
    public Listener start(EngineContext context) {
        return HttpListener.start(this, table, context);
    }

    @Override
    public String toString() {
        return "HttpFrontend{" + name + " " + bindAddresses + " -> " + (hasRules ? table : table.defaultBackend()) + "}";
    }

    /**
     * The idle server connections the pool keeps per event loop and server unless {@link
     * Builder#backendPool} says otherwise: 1,024. It was 256, nginx's common {@code keepalive}
     * setting; HTTP/2 clients put more requests in flight than they hold connections, and with 50
     * clients of 10 streams each (500 requests in flight) a cap of 256 closed about one server
     * connection per six requests and opened it again with the next wave: the proxy's CPU per
     * request was about 1.5 times HAProxy's with it and about 1.15 times with 1,024 (README, TLS and
     * HTTP/2). HAProxy and Envoy cap idle connections only if told to.
     */
    public static final int DEFAULT_POOL_MAX_IDLE_PER_SERVER = 1024;

    /**
     * How long an idle server connection is kept unless {@link Builder#backendPool} says otherwise:
     * 120 s. It was 60 s, nginx's default for idle upstream connections. Traffic that comes back
     * after a pause longer than the timeout finds the pool emptied and opens its server connections
     * again in one burst, which the first requests wait for: in the benchmark rig, 256 clients
     * returning every 75 to 100 s had their longest requests at 40 ms instead of 20 ms, and a
     * 99th percentile above HAProxy's (README, Performance, L7 step 44). Envoy keeps an idle
     * upstream connection for an hour, Go's HTTP client for 90 s; 120 s is what the rig gives
     * nginx, and stays below the idle timeouts of common cloud load balancers (4 minutes and more)
     * that drop an idle flow without telling either end.
     */
    public static final Duration DEFAULT_POOL_IDLE_TIMEOUT = Duration.ofSeconds(120);

    /**
     * The largest error page body, 64 KiB: a page is held in memory whole and sent in one write,
     * as HAProxy bounds an {@code errorfile} by its buffer size (16 KiB by default).
     */
    public static final int MAX_ERROR_PAGE_SIZE = 64 * 1024;

    /** Builds an {@link HttpFrontend}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder implements Frontend.Builder {
        private final List<InetSocketAddress> bindAddresses = new ArrayList<>();
        private String name;
        private final Routing.Builder routing = Routing.builder();
        private boolean routingTouched;
        private Routing wholeTable;
        private Duration clientTimeout = Duration.ofSeconds(10);
        private Duration keepAliveTimeout = Duration.ofSeconds(60);
        private Duration tunnelTimeout = Duration.ofHours(1);
        private int maxConnections;
        private int maxConnectionsPerSource;
        private int maxConnectionRatePerSource;
        private int maxInitialLineLength = 8192;
        private int maxHeaderSize = 16384;
        private int maxHeaderCount = 100;
        private HeadersWithUnderscores headersWithUnderscores = HeadersWithUnderscores.ALLOW;
        private long maxBodySize;
        private String requestIdHeader = "X-Request-ID";
        private boolean requestIds = true;
        private boolean forwardedFor = true;
        private boolean forwarded;
        private String via;
        private double retryBudgetRatio = 0.2;
        private int minRetryConcurrency = 3;
        private int maxIdlePerServer = DEFAULT_POOL_MAX_IDLE_PER_SERVER;
        private Duration poolIdleTimeout = DEFAULT_POOL_IDLE_TIMEOUT;
        private int poolMaxRequests;
        private Duration poolMaxLifetime;
        private int keepAliveMaxRequests;

        private ServerTls tls;
        private Duration hstsMaxAge;
        private boolean hstsIncludeSubDomains;
        private boolean h2c;
        private boolean websocketOverHttp2;
        private boolean deferAccept;
        private int http2MaxConcurrentStreams = 128;
        private int http2MaxHeaderListSize = 16 * 1024;
        private int http2InitialWindowSize = 64 * 1024 - 1;
        private int http2MaxResets = 200;
        private int http2ResetWindowSeconds = 30;
        private Compression compression;
        private boolean clientCertificateHeaders;
        private ResponseCache cacheAll;
        private final Map<String, ResponseCache> caches = new LinkedHashMap<>();
        private final Map<Integer, ErrorPage> errorPages = new LinkedHashMap<>();
        private boolean acceptProxyProtocol;
        private List<String> proxyProtocolSources = List.of();
        /** {@link #acceptProxyProtocolFrom} was the last of the two called: its list may not be empty. */
        private boolean proxyProtocolSourcesGiven;

        Builder(InetSocketAddress first) {
            bindAddresses.add(first);
        }

        /**
         * Adds another address to listen on ({@code host:port}).
         *
         * @param address another address to listen on
         * @return this builder
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
         */
        public Builder bind(int port) {
            bindAddresses.add(port("bind", port));
            return this;
        }

        /**
         * Names the frontend (default {@code http-PORT}).
         *
         * @param name the frontend's name, unique within a proxy
         * @return this builder
         */
        public Builder name(String name) {
            this.name = Names.check(label() + " name", name);
            return this;
        }

        /**
         * Sets the backend requests go to when no rule decides (required unless rules or virtual
         * hosts route the requests; then an undecided request is answered 503).
         *
         * @param backend the backend requests go to when no rule decides
         * @return this builder
         */
        public Builder defaultBackend(String backend) {
            Names.check(label() + " defaultBackend", backend);
            routing.defaultBackend(backend);
            routingTouched = true;
            return this;
        }

        /**
         * Sets the default backend and a backup backend that takes over when the default has no usable
         * server (HAProxy's {@code use_backend backup if nbsrv(primary) lt 1}).
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
         * Adds a routing rule, evaluated after the ones added before; see {@link Rule}.
         *
         * <pre>{@code
         * .rule(Rule.when(Acl.pathBegins("/admin")).deny(403))
         * .rule(Rule.when(Acl.hostBegins("api.")).use("api"))
         * }</pre>
         *
         * @param rule a routing rule
         * @return this builder
         */
        public Builder rule(Rule rule) {
            routing.rule(rule);
            routingTouched = true;
            return this;
        }

        /**
         * Declares a named ACL that rules refer to with {@link Acl#named(String)} or
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
         * Gives a host its own rule table: an exact name ({@code example.com}) or a wildcard
         * ({@code *.example.com}); see {@link Routing.Builder#virtualHost(String, Consumer)}.
         *
         * <pre>{@code
         * .virtualHost("static.example.com", vh -> vh.defaultBackend("static"))
         * .virtualHost("*.api.example.com", vh -> vh.rule(Rule.always().setHost("api.internal")).defaultBackend("api"))
         * }</pre>
         *
         * @param host a host name, or a {@code *.domain} pattern
         * @param table sets the host's rules and default backend
         * @return this builder
         */
        public Builder virtualHost(String host, Consumer<Routing.VirtualHost> table) {
            routing.virtualHost(host, Objects.requireNonNull(table, "virtualHost table"));
            routingTouched = true;
            return this;
        }

        /**
         * Uses a whole routing table made with {@link Routing#builder()}, instead of
         * {@link #rule}, {@link #acl}, {@link #virtualHost} and {@link #defaultBackend} on this builder.
         *
         * @param routing a whole routing table made with {@link Routing#builder()}
         * @return this builder
         */
        public Builder routing(Routing routing) {
            this.wholeTable = Objects.requireNonNull(routing, "routing");
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
            return !table.rules().isEmpty() || !table.virtualHosts().isEmpty()
                    || table.backendNames().size() > (table.defaultBackend() == null ? 0 : 1);
        }

        /**
         * Sets how long a request head may take to arrive, and how long a request body may then pause
         * while the proxy reads it, before a 408 (default 10 s).
         *
         * @param timeout the client timeout, above zero
         * @return this builder
         */
        public Builder clientTimeout(Duration timeout) {
            this.clientTimeout = positive("clientTimeout", timeout);
            return this;
        }

        /**
         * Sets how long a client connection may idle between requests (default 60 s); an HTTP/2
         * connection, how long it may go without an open stream.
         *
         * @param timeout the keep-alive timeout
         * @return this builder
         */
        public Builder keepAliveTimeout(Duration timeout) {
            this.keepAliveTimeout = positive("keepAliveTimeout", timeout);
            return this;
        }

        /**
         * Sets how long a WebSocket tunnel may idle (default 1 h).
         *
         * @param timeout the tunnel idle timeout
         * @return this builder
         */
        public Builder tunnelTimeout(Duration timeout) {
            this.tunnelTimeout = positive("tunnelTimeout", timeout);
            return this;
        }

        /**
         * Sets the most client connections open at once (default 0: no limit), HAProxy's frontend
         * {@code maxconn}: further ones wait in the listen backlog until one closes (a burst accepted
         * at once waits too, accepted but not read). A reconfiguration that keeps the frontend's
         * sockets keeps the limit it was bound with.
         *
         * @param maxConnections the most client connections open at once
         * @return this builder
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
         * Has every connection start with a PROXY protocol header, version 1 or 2, told apart by its
         * first bytes: HAProxy's {@code bind ... accept-proxy}, nginx's {@code listen ... proxy_protocol}
         * with {@code real_ip_header proxy_protocol}. For a frontend behind a load balancer (a cloud
         * network load balancer, another HAProxy) that sends it, so that the proxy sees the client
         * rather than the load balancer.
         *
         * <pre>{@code
         * HttpFrontend.bind(8080).acceptProxyProtocol().defaultBackend("app");
         * }</pre>
         *
         * <p>The header's source address and port, and its destination address and port, stand for the
         * connection's everywhere: {@link io.lodestone.core.route.Acl#source ACLs on the source} and on
         * the local port, source hashing and {@code stickOnSource}, rate limits by source, the
         * per-source limits, {@code X-Forwarded-For}, {@code X-Real-IP}, {@code Forwarded} and the
         * access log's client. A {@code LOCAL} command (version 2, the load balancer's own health check)
         * or an {@code UNKNOWN} family (version 1) keeps the connection's own addresses. Version 2 TLVs
         * are ignored. On a TLS frontend the header comes first, before the ClientHello.
         *
         * <p>The header must be whole within the {@link #clientTimeout(Duration) client timeout} from
         * accept, as a request head must. A connection that starts with anything else, whose header is
         * malformed, or that is late is closed without an answer (HAProxy closes it silently too),
         * logged at DEBUG (not in the access log), and counted as an
         * {@link io.lodestone.core.metrics.ErrorKind#INVALID invalid} or
         * {@link io.lodestone.core.metrics.ErrorKind#TIMEOUT timeout} error on the frontend; it does not
         * count as an opened connection.
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
         * header it sends is not honoured: its bytes are read as HTTP (a 400), as HAProxy does.
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
         * Sets the longest request line (default 8192); longer ones get 414, on HTTP/2 streams too.
         *
         * @param length the longest request line
         * @return this builder
         */
        public Builder maxInitialLineLength(int length) {
            this.maxInitialLineLength = atLeast("maxInitialLineLength", length, 64);
            return this;
        }

        /**
         * Sets the largest header block in bytes (default 16384); larger ones get 431.
         *
         * @param size the largest header block in bytes
         * @return this builder
         */
        public Builder maxHeaderSize(int size) {
            this.maxHeaderSize = atLeast("maxHeaderSize", size, 256);
            return this;
        }

        /**
         * Sets the most header fields (default 100); more get 431, on HTTP/2 streams too.
         *
         * @param count the most header fields
         * @return this builder
         */
        public Builder maxHeaderCount(int count) {
            this.maxHeaderCount = atLeast("maxHeaderCount", count, 1);
            return this;
        }

        /**
         * Sets what to do with a request header whose name contains an underscore (default
         * {@link HeadersWithUnderscores#ALLOW}); {@link HeadersWithUnderscores#DROP_HEADER} keeps
         * clients from passing off fields the proxy sets to servers behind CGI-style gateways.
         *
         * @param action what to do with such a header
         * @return this builder
         */
        public Builder headersWithUnderscores(HeadersWithUnderscores action) {
            if (action == null) {
                throw new IllegalArgumentException(label() + " headersWithUnderscores: null (expected: ALLOW, DROP_HEADER or REJECT_REQUEST)");
            }
            this.headersWithUnderscores = action;
            return this;
        }

        /**
         * Sets the largest request body in bytes (default 0: no limit); larger ones get 413.
         *
         * @param size the largest request body in bytes
         * @return this builder
         */
        public Builder maxBodySize(long size) {
            if (size < 0) {
                throw new IllegalArgumentException(label() + " maxBodySize: " + size + " (expected: >= 0)");
            }
            this.maxBodySize = size;
            return this;
        }

        /**
         * Sets the request id header (default {@code X-Request-ID}). A client's id is kept: of several
         * fields, the first with a value, and the server gets that field alone; with none, the proxy
         * generates one.
         *
         * @param header the request id header
         * @return this builder
         * @throws IllegalArgumentException when {@code header} is not a field name, or names a field
         *     that frames, routes or controls a message ({@code Content-Length}, {@code Transfer-Encoding},
         *     {@code Host}, {@code Connection}, {@code Keep-Alive}, {@code Proxy-Connection}, {@code TE},
         *     {@code Trailer}, {@code Upgrade}) or one the proxy sets for the servers
         *     ({@code X-Forwarded-For}, {@code -Proto}, {@code -Host}, {@code -Port}, {@code X-Real-IP},
         *     {@code Forwarded}, {@code Via}): the id, set on the request and the response, would
         *     replace it; or a field that carries credentials or cookies ({@code Authorization},
         *     {@code Proxy-Authorization}, {@code Cookie}, {@code Set-Cookie}), which the id would return to
         *     the client, write to the access log and, on responses, replace
         */
        public Builder requestIdHeader(String header) {
            if (header == null || header.isEmpty() || !Names.isToken(header)) {
                throw new IllegalArgumentException(label() + " requestIdHeader: " + header + " (expected: a header name)");
            }
            if (NOT_REQUEST_ID_HEADERS.contains(header.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(label() + " requestIdHeader: " + header
                        + " (expected: a field of its own, not one that frames, routes or controls a message or that the proxy sets)");
            }
            if (CREDENTIAL_HEADERS.contains(header.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(label() + " requestIdHeader: " + header
                        + " (expected: a field of its own, not one that carries credentials or cookies: the id is returned to"
                        + " the client, written to the access log, and set on responses)");
            }
            this.requestIdHeader = header;
            return this;
        }

        /** The fields {@link #requestIdHeader} refuses, in lower case. */
        private static final Set<String> NOT_REQUEST_ID_HEADERS = Set.of("content-length", "transfer-encoding", "host",
                "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-forwarded-for",
                "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded", "via");

        /** Credential and cookie fields, which {@link #requestIdHeader} refuses too, in lower case. */
        private static final Set<String> CREDENTIAL_HEADERS = Set.of("authorization", "proxy-authorization", "cookie",
                "set-cookie");

        /**
         * Turns request ids on or off (default on). Off, the proxy neither generates nor returns
         * {@link HttpFrontend#requestIdHeader()}, as HAProxy without {@code unique-id-header} and nginx
         * without {@code $request_id} in a header do; see {@link HttpFrontend#requestIds()}.
         *
         * @param on {@code false} to give requests no id
         * @return this builder
         */
        public Builder requestIds(boolean on) {
            this.requestIds = on;
            return this;
        }

        /**
         * Turns the {@code X-Forwarded-*} and {@code X-Real-IP} headers on or off (default on).
         *
         * @param on whether to send them
         * @return this builder
         */
        public Builder forwardedFor(boolean on) {
            this.forwardedFor = on;
            return this;
        }

        /**
         * Turns the RFC 7239 {@code Forwarded} header on or off (default off). On, the proxy's element
         * ({@code for}, {@code host}, {@code proto}) is appended to a client's {@code Forwarded} that is
         * a valid RFC 7239 list, and replaces one that is not.
         *
         * @param on whether to send it
         * @return this builder
         */
        public Builder forwarded(boolean on) {
            this.forwarded = on;
            return this;
        }

        /**
         * Adds a {@code Via} header naming the proxy by this pseudonym to requests and responses (default:
         * none).
         *
         * @param pseudonym the name the {@code Via} header gives the proxy
         * @return this builder
         */
        public Builder via(String pseudonym) {
            if (pseudonym == null || pseudonym.isEmpty() || !Names.isToken(pseudonym)) {
                throw new IllegalArgumentException(label() + " via: " + pseudonym + " (expected: a token such as lodestone)");
            }
            this.via = pseudonym;
            return this;
        }

        /**
         * Sets the retry budget (default 0.2 and 3): a retry is made only while the retries in flight
         * are fewer than {@code max(minRetryConcurrency, ratio * requests in flight)} for the backend.
         * A retry is in flight until its response head arrives, as in Envoy.
         *
         * @param ratio the share of in-flight requests that may be retries, 0.0..1.0
         * @param minRetryConcurrency the retries in flight always allowed
         * @return this builder
         */
        public Builder retryBudget(double ratio, int minRetryConcurrency) {
            if (!(ratio >= 0 && ratio <= 1)) {
                throw new IllegalArgumentException(label() + " retryBudget ratio: " + ratio + " (expected: 0..1)");
            }
            if (minRetryConcurrency < 0) {
                throw new IllegalArgumentException(label() + " retryBudget minRetryConcurrency: " + minRetryConcurrency + " (expected: >= 0)");
            }
            this.retryBudgetRatio = ratio;
            this.minRetryConcurrency = minRetryConcurrency;
            return this;
        }

        /**
         * Sets the server connection pool: idle connections kept per event loop and server, and their
         * idle timeout (default 1,024 and 120 s; see {@link #DEFAULT_POOL_MAX_IDLE_PER_SERVER} and
         * {@link #DEFAULT_POOL_IDLE_TIMEOUT}). A sweep closes the connections idle longer than the
         * timeout; it runs every half timeout (but not more often than every 10 ms), so with the
         * default an idle connection is closed 120 to 180 s after its last use. A reconfiguration
         * applies a changed size or timeout to the pools already made, at once: idle connections
         * beyond a smaller size close (the longest idle first), and the sweep follows the new timeout.
         *
         * @param maxIdlePerServer the most idle connections per event loop and server; 0 for no pooling
         * @param idleTimeout how long an idle connection is kept
         * @return this builder
         */
        public Builder backendPool(int maxIdlePerServer, Duration idleTimeout) {
            if (maxIdlePerServer < 0) {
                throw new IllegalArgumentException(label() + " backendPool maxIdlePerServer: " + maxIdlePerServer + " (expected: >= 0)");
            }
            this.poolIdleTimeout = positive("backendPool idleTimeout", idleTimeout);
            this.maxIdlePerServer = maxIdlePerServer;
            return this;
        }

        /**
         * Sets the most requests one HTTP/1.1 server connection carries (default: no limit): after its
         * {@code n}-th response the connection is closed instead of going back to the pool, and the
         * next request to that server opens a new one. nginx's upstream {@code keepalive_requests};
         * HAProxy's {@code max-reuse} counts the reuses, {@code n - 1}. It bounds how long a
         * connection stays pinned to one server process (behind a server-side load balancer, or
         * while a server rotates its workers). Connections to HTTP/2 backends (h2, h2c) are not
         * counted: their streams share connections the pool keeps while the server lets it. A
         * reconfiguration applies a changed limit to the open connections too, the next time one's
         * exchange ends (the count of each is kept).
         *
         * <pre>{@code
         * HttpFrontend.bind(8080).poolMaxRequests(1000).defaultBackend("app");
         * }</pre>
         *
         * @param n the most requests one HTTP/1.1 server connection carries
         * @return this builder
         * @throws IllegalArgumentException when {@code n} is below 1
         */
        public Builder poolMaxRequests(int n) {
            this.poolMaxRequests = atLeast("poolMaxRequests", n, 1);
            return this;
        }

        /**
         * Sets how long after it was opened an HTTP/1.1 server connection may be reused (default: no
         * limit), nginx's upstream {@code keepalive_time}: a connection older than {@code lifetime}
         * is closed when its exchange ends instead of going back to the pool, and an idle pooled one
         * that has grown older is closed rather than taken for a request. A request already under way
         * on a connection is never cut. The age is read on the proxy's
         * {@link io.lodestone.core.Clock}, as the pool's idle timeout is. Connections to HTTP/2
         * backends (h2, h2c) are not limited. A reconfiguration applies a changed lifetime to the open
         * connections too, counted from when each was opened.
         *
         * @param lifetime the age past which a server connection is not reused
         * @return this builder
         * @throws IllegalArgumentException when {@code lifetime} is null, zero or negative
         */
        public Builder poolMaxLifetime(Duration lifetime) {
            this.poolMaxLifetime = positive("poolMaxLifetime", lifetime);
            return this;
        }

        /**
         * Sets the most requests one HTTP/1.x client connection is served (default: no limit; nginx's
         * {@code keepalive_requests}, 1000 there): the {@code n}-th response carries
         * {@code Connection: close} and the proxy closes the connection after it. Requests the client
         * had already pipelined beyond the {@code n}-th are not served (logged as dropped by the
         * proxy, {@code PQ}), as nginx closes after the {@code n}-th response too; a client retries
         * them on a new connection. Every request counts, those the proxy answers itself too. HTTP/2
         * client connections are not limited: their streams are unaffected. A reconfiguration
         * applies a changed limit to the open connections from their next request, counted from
         * their first: one that has already been served as many closes after that request.
         *
         * @param n the most requests one HTTP/1.x client connection is served
         * @return this builder
         * @throws IllegalArgumentException when {@code n} is below 1
         */
        public Builder keepAliveMaxRequests(int n) {
            this.keepAliveMaxRequests = atLeast("keepAliveMaxRequests", n, 1);
            return this;
        }

        /**
         * Terminates TLS with {@code tls} (HTTPS): the handshake comes before the HTTP codec, the
         * SNI name and ALPN protocol are visible to rules ({@link Acl#sni(String...)}), and requests
         * are forwarded with {@code X-Forwarded-Proto: https} (and {@code proto=https} in
         * {@code Forwarded}). A connection whose handshake fails (not TLS, a refused version, no
         * shared cipher) is closed and logged {@code PR} with a {@code denied} error on the frontend;
         * one not done within the ServerTls handshake timeout {@code cR}, a {@code timeout} error;
         * one the client leaves first {@code CR}.
         *
         * <pre>{@code
         * HttpFrontend.bind(443)
         *     .tls(ServerTls.builder().certificate(TlsCertificate.pem(crt, key)).alpn("h2", "http/1.1").build())
         *     .hsts(Duration.ofDays(365), true)
         *     .defaultBackend("web");
         * }</pre>
         *
         * @param tls the server TLS configuration
         * @return this builder
         */
        public Builder tls(ServerTls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * Adds {@code Strict-Transport-Security: max-age=SECONDS[; includeSubDomains]} to every
         * response (the servers' and the proxy's own) of this TLS frontend, replacing one the server
         * sent. Requires {@link #tls(ServerTls)}.
         *
         * @param maxAge the {@code max-age}
         * @param includeSubDomains whether to add {@code includeSubDomains}
         * @return this builder
         * @throws IllegalArgumentException when {@code maxAge} is null or negative
         */
        public Builder hsts(Duration maxAge, boolean includeSubDomains) {
            if (maxAge == null || maxAge.isNegative()) {
                throw new IllegalArgumentException(label() + " hsts maxAge: " + maxAge + " (expected: >= 0)");
            }
            this.hstsMaxAge = maxAge;
            this.hstsIncludeSubDomains = includeSubDomains;
            return this;
        }

        /**
         * Accepts HTTP/2 over plain TCP from clients that start with the HTTP/2 connection preface
         * (h2c with prior knowledge; default off); other connections speak HTTP/1.1 as before. On
         * TLS frontends HTTP/2 is chosen by ALPN instead: offer {@code h2} in the
         * {@link ServerTls.Builder#alpn(String...) ServerTls's ALPN list}; {@code h2c(true)} with
         * {@link #tls(ServerTls)} fails at {@link #build()}. Either way each stream is
         * routed by the same rules and forwarded to the backend in the backend's protocol.
         *
         * @param on whether to speak h2c
         * @return this builder
         */
        public Builder h2c(boolean on) {
            this.h2c = on;
            return this;
        }

        /**
         * Lets HTTP/2 clients open WebSockets, as RFC 8441 bootstraps them (default off; the gateway
         * launcher's {@code --websocket-over-h2}): the frontend's HTTP/2 connections advertise
         * {@code SETTINGS_ENABLE_CONNECT_PROTOCOL = 1}, and a stream whose HEADERS are an extended
         * CONNECT ({@code :method CONNECT}, {@code :protocol websocket}, {@code :scheme}, {@code :path},
         * {@code :authority}) is routed, limited and logged as an HTTP/1.1 {@code GET} of that path and
         * host with {@code Upgrade: websocket}, and forwarded to the HTTP/1.1 server as one, with a
         * {@code Sec-WebSocket-Key} of the proxy's. The server's {@code 101} (its
         * {@code Sec-WebSocket-Accept} checked against that key: a wrong one is a {@code 502}) becomes
         * the stream's {@code :status 200}, and from then on the stream's DATA frames are the
         * WebSocket's bytes both ways, under HTTP/2 flow control, with the frontend's
         * {@link #tunnelTimeout tunnel timeout}. Another answer is relayed as the final response. A
         * request routed to a backend that speaks HTTP/2 is answered {@code 502}: the proxy does not
         * speak RFC 8441 to servers.
         *
         * <p>Without it a {@code :protocol} pseudo-header resets its stream with {@code PROTOCOL_ERROR},
         * as an undefined one (RFC 9113, 8.3). With it a {@code :protocol} on another method than
         * CONNECT, or an extended CONNECT without {@code :scheme}, {@code :path} or {@code :authority},
         * still does; one whose {@code :protocol} is not {@code websocket} is a CONNECT, answered
         * {@code 501} as every CONNECT is. It needs a frontend that speaks HTTP/2 ({@link #h2c} or
         * {@code h2} in the {@link ServerTls.Builder#alpn(String...) ALPN list}), else {@link #build()}
         * fails.
         *
         * @param on whether HTTP/2 clients may open WebSockets
         * @return this builder
         */
        public Builder websocketOverHttp2(boolean on) {
            this.websocketOverHttp2 = on;
            return this;
        }

        /**
         * Has the kernel hand a new connection to the proxy only once its client has sent data, the
         * first bytes of a request or a TLS ClientHello (default off; HAProxy's {@code defer-accept}
         * bind option, nginx's {@code deferred}). Linux's {@code TCP_DEFER_ACCEPT}, set to one second
         * on the listening sockets, on the epoll and io_uring transports; NIO cannot set it and
         * ignores the setting.
         *
         * <p>The proxy then takes a new connection and its request in one wake-up instead of two. In
         * the rig, with a new connection per request, it used 0.87 of the proxy's CPU per request,
         * but the client measured a p50 1.12 times as long: the client's clock starts when it writes
         * the request, and the accept, which otherwise happens while the client is still writing, now
         * comes after. A client that connects and sends nothing is not seen by the proxy (not
         * counted, not logged, no client timeout) until the kernel stops deferring it, a few seconds
         * later. A reconfiguration that keeps the frontend's sockets applies a changed setting to
         * them.
         *
         * @param on whether to defer accepts
         * @return this builder
         */
        public Builder deferAccept(boolean on) {
            this.deferAccept = on;
            return this;
        }

        /**
         * Sets the HTTP/2 limits (defaults 128 streams, 16 KiB, 65535 bytes): concurrent streams per
         * connection, header list size, and the initial flow-control window of each stream.
         * The stream limit also bounds what a client that does not read can pin in the proxy: about
         * 16 KiB of response per stream (the proxy stops reading a stream's server beyond that) and
         * what reads made before the stream stalled brought, some 3 MiB per connection with the
         * default 128 streams.
         *
         * @param maxConcurrentStreams SETTINGS_MAX_CONCURRENT_STREAMS
         * @param maxHeaderListSize SETTINGS_MAX_HEADER_LIST_SIZE, in bytes
         * @param initialWindowSize SETTINGS_INITIAL_WINDOW_SIZE, in bytes
         * @return this builder
         * @throws IllegalArgumentException when a value is out of range
         */
        public Builder http2Limits(int maxConcurrentStreams, int maxHeaderListSize, int initialWindowSize) {
            this.http2MaxConcurrentStreams = atLeast("http2Limits maxConcurrentStreams", maxConcurrentStreams, 1);
            this.http2MaxHeaderListSize = atLeast("http2Limits maxHeaderListSize", maxHeaderListSize, 1024);
            this.http2InitialWindowSize = atLeast("http2Limits initialWindowSize", initialWindowSize, 1);
            return this;
        }

        /**
         * Bounds stream resets (CVE-2023-44487, "rapid reset"; default 200 per 30 s): a client that
         * sends more than {@code maxResets} RST_STREAM frames within {@code window} is disconnected
         * with GOAWAY ENHANCE_YOUR_CALM.
         *
         * @param maxResets the most RST_STREAM frames per window
         * @param window the window, a second or more
         * @return this builder
         * @throws IllegalArgumentException when {@code maxResets} is below 1 or the window is under a
         *     second or over 2,147,483,647 seconds
         */
        public Builder http2ResetFloodLimit(int maxResets, Duration window) {
            if (window == null || window.getSeconds() < 1 || window.getSeconds() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(label() + " http2ResetFloodLimit window: " + window
                        + " (expected: 1 to " + Integer.MAX_VALUE + " seconds)");
            }
            this.http2MaxResets = atLeast("http2ResetFloodLimit maxResets", maxResets, 1);
            this.http2ResetWindowSeconds = (int) window.getSeconds();
            return this;
        }

        /**
         * Compresses responses for clients that accept it, as {@code compression} says (default: off);
         * see {@link Compression}.
         *
         * <pre>{@code
         * HttpFrontend.bind(8080).compression(Compression.defaults()).defaultBackend("web");
         * }</pre>
         *
         * @param compression the response compression
         * @return this builder
         */
        public Builder compression(Compression compression) {
            this.compression = Objects.requireNonNull(compression, label() + " compression");
            return this;
        }

        /**
         * Forwards the client's TLS certificate identity to the servers as request headers (default
         * off): {@code X-Client-Verify: SUCCESS} with {@code X-Client-Subject}, {@code X-Client-CN},
         * {@code X-Client-Issuer}, {@code X-Client-SAN}, {@code X-Client-Serial} and
         * {@code X-Client-Fingerprint-SHA256} when the client presented a verified certificate,
         * {@code X-Client-Verify: NONE} otherwise (see {@link io.lodestone.tls.ClientIdentity}). Copies
         * of these headers sent by a client are removed from every request, on or off, before the
         * rules see it. Ask for certificates with
         * {@link ServerTls.Builder#clientAuth(io.lodestone.tls.ClientAuth, java.nio.file.Path)}.
         *
         * @param on whether to send them
         * @return this builder
         */
        public Builder clientCertificateHeaders(boolean on) {
            this.clientCertificateHeaders = on;
            return this;
        }

        /**
         * Caches the responses of every backend of this frontend, one store per backend, each bounded
         * as {@code cache} says (see {@link ResponseCache}); {@code null} turns it off. A cache set for
         * one backend with {@link #cache(String, ResponseCache)} takes precedence.
         *
         * @param cache the response cache
         * @return this builder
         */
        public Builder cache(ResponseCache cache) {
            this.cacheAll = cache;
            return this;
        }

        /**
         * Builds {@code cache} and calls {@link #cache(ResponseCache)}.
         *
         * @param cache the response cache
         * @return this builder
         */
        public Builder cache(ResponseCache.Builder cache) {
            return cache(cache.build());
        }

        /**
         * Caches the responses of one backend of this frontend (see {@link ResponseCache}); {@code null}
         * removes a cache set before for it.
         *
         * @param backend the backend's name
         * @param cache the response cache
         * @return this builder
         * @throws NullPointerException when {@code backend} is null
         */
        public Builder cache(String backend, ResponseCache cache) {
            Objects.requireNonNull(backend, "cache backend");
            if (cache == null) {
                caches.remove(backend);
            } else {
                caches.put(backend, cache);
            }
            return this;
        }

        /**
         * Builds {@code cache} and calls {@link #cache(String, ResponseCache)}.
         *
         * @param backend the backend's name
         * @param cache the response cache
         * @return this builder
         */
        public Builder cache(String backend, ResponseCache.Builder cache) {
            return cache(backend, cache.build());
        }

        /**
         * Replaces the body of the proxy's own answers of {@code status} with {@code body}, sent with
         * this {@code Content-Type} (HAProxy's {@code errorfile}, nginx's {@code error_page}); a later
         * call for the same status replaces the page. The bytes are copied.
         *
         * <p>The page answers every response of that status the proxy makes itself, on HTTP/1.x and
         * HTTP/2 alike: 400 (a malformed request, dot segments), 408 (client timeout inside a request
         * head), 413, 414, 431 (limits), 500 (an exception in a rule or the proxy), 501
         * ({@code CONNECT}), 502 (connect refused, invalid server response), 503 (no usable server,
         * no route, a queue timeout), 504 (connect or server timeout, {@code only-if-cached}
         * miss), 505, and the answers of rules that carry no body of their own: {@code deny(status)}
         * (any of 400..599; 403 by default), a rate limit's 429 and the 503 of a request no rule
         * routes. A rule's own body ({@code deny(status, body)}, {@code respond}) always wins, and
         * redirects keep their empty body. Everything else about the answer stays: the status, the
         * request id, {@code Date}, {@code Cache-Control: no-cache}, {@code Connection: close} where the
         * connection closes, a rule's response header edits and {@code Retry-After}; the
         * {@code Content-Length} is the page's and an answer to {@code HEAD} has no body. A server's own
         * error responses pass unchanged (there is no {@code proxy_intercept_errors}), and a 431 that
         * Netty's HTTP/2 codec sends itself for a header list over its limit keeps its empty body.
         *
         * @param status 400..599
         * @param contentType the {@code Content-Type}: a non-blank header value of visible ASCII
         *     characters, spaces and tabs (no control character, so no line break)
         * @param body at most {@link #MAX_ERROR_PAGE_SIZE} bytes
         * @return this builder
         * @throws IllegalArgumentException when an argument is out of range, naming it
         */
        public Builder errorPage(int status, String contentType, byte[] body) {
            checkErrorPageStatus(status);
            if (contentType == null || contentType.isBlank() || !isHeaderValue(contentType)) {
                throw new IllegalArgumentException(label() + " errorPage " + status + " contentType: "
                        + (contentType == null ? "null" : "\"" + contentType + "\"")
                        + " (expected: a non-blank header value of visible ASCII characters, spaces and tabs)");
            }
            Objects.requireNonNull(body, label() + " errorPage body");
            if (body.length > MAX_ERROR_PAGE_SIZE) {
                throw new IllegalArgumentException(label() + " errorPage " + status + " body: " + body.length
                        + " bytes (expected: at most " + MAX_ERROR_PAGE_SIZE + ")");
            }
            errorPages.put(status, new ErrorPage(status, contentType.strip(), body.clone()));
            return this;
        }

        /**
         * {@link #errorPage(int, String, byte[])} with {@code body} encoded as UTF-8.
         *
         * @param status the status, 400..599
         * @param contentType the {@code Content-Type} of the answers
         * @param body the body
         * @return this builder
         */
        public Builder errorPage(int status, String contentType, String body) {
            return errorPage(status, contentType, Objects.requireNonNull(body, label() + " errorPage body").getBytes(StandardCharsets.UTF_8));
        }

        /**
         * {@link #errorPage(int, String, byte[])} with the content of {@code file}, read once, now: a
         * later change of the file changes nothing (build the proxy again, or reconfigure it). Of a
         * regular file only: a device or a pipe ({@code /dev/zero}, a FIFO) has no size to check
         * and may never end.
         *
         * @param status the status, 400..599
         * @param contentType the {@code Content-Type} of the answers
         * @param file the file, read now
         * @return this builder
         * @throws IllegalArgumentException when the file is not a regular file, cannot be read or is
         *     larger than {@link #MAX_ERROR_PAGE_SIZE}
         */
        public Builder errorPage(int status, String contentType, Path file) {
            checkErrorPageStatus(status);
            Objects.requireNonNull(file, label() + " errorPage file");
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(label() + " errorPage " + status + " file: " + file
                        + (Files.exists(file) ? " (not a regular file)" : " (cannot be read: no such file)"));
            }
            byte[] body;
            try (InputStream in = Files.newInputStream(file)) {
                // at most one byte over the limit, whatever the size said: the file may have grown since
                body = in.readNBytes(MAX_ERROR_PAGE_SIZE + 1);
                if (body.length > MAX_ERROR_PAGE_SIZE) {
                    long size = Math.max(Files.size(file), body.length);
                    throw new IllegalArgumentException(label() + " errorPage " + status + " file: " + file + " (" + size
                            + " bytes; expected: at most " + MAX_ERROR_PAGE_SIZE + ")");
                }
            } catch (IOException e) {
                throw new IllegalArgumentException(label() + " errorPage " + status + " file: " + file + " (cannot be read: " + e + ")", e);
            }
            return errorPage(status, contentType, body);
        }

        private void checkErrorPageStatus(int status) {
            if (status < 400 || status > 599) {
                throw new IllegalArgumentException(label() + " errorPage status: " + status
                        + " (expected: 400..599, a status the proxy answers with itself)");
            }
        }

        private static boolean isHeaderValue(String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && (c < 0x21 || c > 0x7E)) {
                    return false;
                }
            }
            return true;
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

        private Duration positive(String field, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(label() + " " + field + ": " + d + " (expected: > 0)");
            }
            return Durations.atMostMax(label() + " " + field, d);
        }

        private int atLeast(String field, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(label() + " " + field + ": " + value + " (expected: >= " + min + ")");
            }
            return value;
        }

        /**
         * Returns the immutable frontend. The builder stays usable.
         *
         * @throws IllegalArgumentException when nothing routes the requests (no default backend, no
         *     rule, no virtual host), when a whole routing table is given beside rules, ACLs, virtual
         *     hosts or a default backend, when the routing does not build (an unknown named ACL),
         *     when HSTS is set without TLS, when a cache's {@link ResponseCache.Builder#statusHeader status
         *     header} is the {@link #requestIdHeader request id header}, or when
         *     {@link #acceptProxyProtocolFrom(String...)} got no network or one that does not parse
         */
        @Override
        public HttpFrontend build() {
            String label = "frontend " + (name != null ? name : "http-" + bindAddresses.get(0).getPort());
            if (wholeTable != null && routingTouched) {
                throw new IllegalArgumentException(label + " routing: " + wholeTable
                        + " (expected: either routing(Routing) or rule/acl/virtualHost/defaultBackend, not both)");
            }
            if (hstsMaxAge != null && tls == null) {
                throw new IllegalArgumentException(label + " hsts: " + hstsMaxAge + " (expected: only on a TLS frontend, with tls(ServerTls))");
            }
            if (h2c && tls != null) {
                throw new IllegalArgumentException(label + " h2c: true (expected: only on a plain-text frontend;"
                        + " over TLS, offer h2 in the ServerTls's ALPN list)");
            }
            if (websocketOverHttp2 && !h2c && (tls == null || !tls.applicationProtocols().contains("h2"))) {
                throw new IllegalArgumentException(label + " websocketOverHttp2: true (expected: a frontend that speaks"
                        + " HTTP/2: h2c(true), or h2 in the ServerTls's ALPN list)");
            }
            Routing table = wholeTable != null ? wholeTable : FrontendRouting.build(label, routing);
            if (table.defaultBackend() == null && !hasRules(table)) {
                throw new IllegalArgumentException(label + " defaultBackend: null (expected: the name of a backend, or rules that choose one)");
            }
            List<ResponseCache> allCaches = new ArrayList<>(caches.values());
            if (cacheAll != null) {
                allCaches.add(cacheAll);
            }
            for (ResponseCache cache : allCaches) {
                if (requestIds && cache.statusHeader() != null && cache.statusHeader().equalsIgnoreCase(requestIdHeader)) {
                    // both are set on responses: the cache's status replaced the request id
                    throw new IllegalArgumentException(label + " cache statusHeader: " + cache.statusHeader()
                            + " (expected: another field than the requestIdHeader " + requestIdHeader + ")");
                }
            }
            for (String backend : caches.keySet()) {
                if (!table.backendNames().contains(backend)) {
                    throw new IllegalArgumentException(label + " cache backend: " + backend + " (expected: a backend the frontend routes to, one of "
                            + table.backendNames() + ")");
                }
            }
            List<String> sources = proxyProtocolSourcesGiven
                    ? ProxyHeaderReader.checkSources(label, proxyProtocolSources) : List.of();
            return new HttpFrontend(this, table, sources);
        }
    }
}
