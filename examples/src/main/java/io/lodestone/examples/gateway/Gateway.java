package io.lodestone.examples.gateway;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Frontend;
import io.lodestone.core.Proxy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.examples.Lifetime;
import io.lodestone.examples.Running;
import io.lodestone.core.log.AccessLog;
import io.lodestone.examples.UsageException;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.l7.AdminFrontend;
import io.lodestone.l7.Compression;
import io.lodestone.l7.HttpFrontend;
import io.lodestone.tls.ClientTls;
import io.lodestone.l7.ResponseCache;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.util.NetUtil;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code gateway} command: a Lodestone proxy configured from the command line, for benchmarks,
 * black-box checks and quick use. It runs in the foreground until SIGTERM or SIGINT, then closes
 * gracefully.
 *
 * <pre>
 * java -jar lodestone-examples.jar gateway --mode tcp --listen 127.0.0.1:8080 \
 *     --backend 127.0.0.1:9001,127.0.0.1:9002 --balance leastconn --timeout-connect 500ms
 * </pre>
 *
 * <p>The proxy has one frontend named {@value #FRONTEND} and one backend named {@value #BACKEND}
 * whose servers are named {@code s1}, {@code s2}, ... in the order given. In http mode each
 * {@code --route} adds a backend {@code route1}, {@code route2}, ... with its one server {@code s1},
 * and the frontend's rules are: one deny per {@code --deny} (403), then one use per {@code --route}
 * (the first matching prefix wins), then the default backend {@value #BACKEND}. With
 * {@code --rate-limit} a rule named {@value #RATE_LIMIT_RULE} comes first in either mode.
 *
 * <pre>
 * java -jar lodestone-examples.jar gateway --mode http --listen 127.0.0.1:8080 \
 *     --backend 127.0.0.1:9001 --route /api=127.0.0.1:9003 --deny /admin
 * </pre>
 *
 * <p>{@code --tls-cert} and {@code --tls-key} terminate TLS on the frontend (in http mode with ALPN
 * {@code h2,http/1.1}, so HTTP/2 clients speak HTTP/2 to the gateway). In tcp mode each
 * {@code --sni} instead passes TLS through untouched: it adds a backend {@code sni1}, {@code sni2},
 * ... with its one server {@code s1}, and a rule that sends connections whose SNI name matches to
 * it; the rest go to {@value #BACKEND}.
 *
 * <pre>
 * java -jar lodestone-examples.jar gateway --mode tcp --listen 127.0.0.1:8443 \
 *     --backend 127.0.0.1:9443 --sni shop.example.com=127.0.0.1:9444
 * </pre>
 *
 * <p>{@code --warm-up DUR} first runs a copy of the gateway, on an ephemeral port of 127.0.0.1 and
 * with its servers replaced by an origin inside the JVM, under a mix of traffic for about {@code DUR}
 * (see {@link GatewayOptions#forWarmUp(HostPort)}), so that the JIT has compiled the proxy's code for
 * every kind of traffic before the first client connects; the configured servers see none of it. The
 * warm-up ends when {@code DUR} has passed, but for the fixed work of two io_uring steps that a
 * warm-up of 10 s or more begins with (the README says which and why).
 */
public final class Gateway {

    /** The name of the gateway's frontend. */
    public static final String FRONTEND = "gateway";

    /** The name of the gateway's admin endpoint, when {@code --admin} is given. */
    public static final String ADMIN = "admin";

    /** The name of the gateway's backend. */
    public static final String BACKEND = "backend";

    /** The prefix of the names of the {@code --route} backends: {@code route1}, {@code route2}, ... */
    public static final String ROUTE_BACKEND_PREFIX = "route";

    /** The name of the rule {@code --rate-limit} adds, first of the frontend's rules. */
    public static final String RATE_LIMIT_RULE = "rate-limit";

    /** The prefix of the names of the {@code --sni} backends: {@code sni1}, {@code sni2}, ... */
    public static final String SNI_BACKEND_PREFIX = "sni";

    private Gateway() {
    }

    /** The command's help text. */
    public static String usage() {
        return String.join("\n",
                "usage: gateway --listen HOST:PORT --backend HOST:PORT [--backend HOST:PORT ...] [options]",
                "",
                "  --mode tcp|http          tcp relays connections (default); http proxies requests (L7)",
                "  --listen HOST:PORT       address to listen on (*:PORT or :PORT for every interface)",
                "  --backend HOST:PORT      a server; repeat the flag or give a comma-separated list",
                "                           (servers are named s1, s2, ... in backend 'backend')",
                "  --balance NAME           roundrobin (default), leastconn, source, random or p2c",
                "  --hash-key KEY           http: balance on a hash of path, uri, header:NAME, cookie:NAME or",
                "                           param:NAME instead (same key, same server; round robin without it)",
                "  --retries N              other servers tried after a failed connect (default 3)",
                "  --maxconn N              each server takes at most N connections (tcp) or requests (http)",
                "                           at once (default: no limit); see --timeout-queue",
                "  --timeout-queue DUR      how long a connection or request waits for a server below its",
                "                           --maxconn, then is closed (tcp) or answered 503 (default 0: at once)",
                "  --max-queue N            at most N connections (tcp) or requests (http) wait in the queue",
                "                           of --timeout-queue; more are closed or answered 503 at once",
                "                           (0..1000000; default 0: no bound)",
                "  --timeout-connect DUR    per connection attempt (default 5s)",
                "  --timeout-client DUR     tcp: client idle timeout (default 5m; 0 disables it);",
                "                           http: time to receive a request head, and the longest pause in a",
                "                           request body, then 408 (default 10s; 0 keeps it)",
                "  --timeout-server DUR     tcp: server idle timeout; http: time to the response, then 504 (default 60s)",
                "  --timeout-client-hello DUR  tcp with --sni or --tls-cert: how long a client has, from connect,",
                "                           to send its whole TLS ClientHello before it is closed (default 5s)",
                "  --io-threads N           I/O threads (default: one per available processor)",
                "  --busy-poll DUR          each I/O thread keeps polling for DUR after its last I/O instead of",
                "                           sleeping, e.g. 50us (default 0: off; CPU time for fewer wake-ups)",
                "  --health-check PATH      check every --backend and --route server with GET PATH every 1s",
                "                           (2xx/3xx passes); down after 2 failures in a row, up after 2 passes",
                "  --deny PATH_PREFIX       http: answer 403 to requests whose path begins with it (repeatable)",
                "  --route PREFIX=HOST:PORT http: send requests whose path begins with PREFIX to that server,",
                "                           path unchanged (repeatable; the rest go to the --backend servers)",
                "  --tls-cert PEM           terminate TLS with this certificate chain (with --tls-key);",
                "                           http mode offers ALPN h2,http/1.1 (HTTP/2 and HTTP/1.1)",
                "  --tls-key PEM            the certificate's private key, PKCS#8, PKCS#1 RSA or SEC1 EC, not",
                "                           encrypted (with --tls-cert)",
                "  --sni NAME=HOST:PORT     tcp: pass TLS through untouched, connections whose SNI is NAME to",
                "                           that server (repeatable; the rest go to the --backend servers)",
                "  --accept-proxy           every client connection starts with a PROXY protocol header (v1 or",
                "                           v2, as from a load balancer); its addresses stand for the client's",
                "                           (rules, balancing, limits, X-Forwarded-For, access log); others closed",
                "  --accept-proxy-from CIDR[,CIDR]  as --accept-proxy, for connections from these networks",
                "                           only; the others are served with their own address",
                "  --rate-limit N/s         per client address: http: N requests a second, then 429 with",
                "                           Retry-After; tcp: N new connections a second, then closed (N/m: a minute)",
                "  --backend-tls verify|insecure  speak TLS to the servers: verify their certificates and",
                "                           host names (against --backend-ca, else the JDK's trust store), or not",
                "  --backend-ca PEM         CA certificates to verify the servers against (with --backend-tls verify)",
                "  --backend-proto http1|h2c|h2  http: HTTP version to the servers (default http1); h2c is",
                "                           cleartext HTTP/2, h2 needs --backend-tls; many requests share a connection",
                "  --backend-h2-keepalive INTERVAL[,TIMEOUT]  http, with --backend-proto h2c|h2: PING a server",
                "                           connection that received nothing for INTERVAL, close it when nothing",
                "                           comes back within TIMEOUT (default 20s); default: no PINGs",
                "  --admin HOST:PORT        admin endpoint (/metrics, /stats, /api/servers, /api/frontends, server",
                "                           operations); off unless given",
                "  --admin-token TOKEN      bearer token the admin endpoint requires (required with --admin;",
                "                           at least 8 visible ASCII characters, no spaces)",
                "  --access-log text|json   one line per connection or request on standard output",
                "  --compress               http: compress responses for clients that accept it (gzip, deflate;",
                "                           brotli where its native library loads), text and JSON of 1 KiB or more",
                "  --h2c                    http, without TLS: also speak HTTP/2 to clients that begin with its",
                "                           preface (prior knowledge, as h2load and curl --http2-prior-knowledge do)",
                "  --websocket-over-h2      http, with --h2c or --tls-cert: let HTTP/2 clients open WebSockets",
                "                           (RFC 8441), sent to the servers as HTTP/1.1 upgrades",
                "  --defer-accept           http: the kernel hands over a new connection only once its client",
                "                           has sent data (TCP_DEFER_ACCEPT; less CPU per connection, not on NIO)",
                "  --abort-on-close         http: drop a request whose client ends its side (FIN) while it waits",
                "                           for a server or the response head (HAProxy's option abortonclose),",
                "                           or abort its HTTP/1 response when the FIN comes during it",
                "  --cache SIZE             http: cache cacheable responses in memory, up to SIZE (e.g. 64m),",
                "                           following Cache-Control; adds X-Cache: HIT, MISS, ... to responses",
                "  --warm-up DUR            before listening, send a copy of the gateway (same options, its",
                "                           servers replaced by an origin inside the JVM) a mix of traffic for",
                "                           about DUR, so the JIT has compiled its code before clients come;",
                "                           the servers see none of it (not with TLS, --sni or --backend-proto h2c;",
                "                           default off). From 10s on it first runs two io_uring steps of fixed",
                "                           work, not counted in DUR (about 4 s on 2 cores): 40,000 writes on one",
                "                           connection and 2,000 connects, for branches only minutes of load reach",
                "  --pool-max-idle N        http: idle server connections kept per I/O thread and server",
                "                           (default 1024; 0: a new server connection for every request)",
                "  --pool-idle-timeout DUR  http: how long an idle server connection is kept (default 120s)",
                "  --pool-max-requests N    http: close a server connection after its N-th response instead of",
                "                           pooling it (nginx's upstream keepalive_requests; default: no limit)",
                "  --pool-max-lifetime DUR  http: reuse a server connection only within DUR of its opening",
                "                           (nginx's keepalive_time; default: no limit)",
                "  --keepalive-requests N   http: close an HTTP/1.x client connection after its N-th response,",
                "                           which says Connection: close (nginx's keepalive_requests; default:",
                "                           no limit; HTTP/2 clients are not limited)",
                "  --request-id HEADER|off  http: the request id header, kept from the client or generated, sent",
                "                           to the servers and returned (default X-Request-ID); off: no ids",
                "  --forwarded-for on|off   http: X-Forwarded-For/-Proto/-Host/-Port and X-Real-IP to the",
                "                           servers (default on)",
                "  --headers-with-underscores allow|drop|reject",
                "                           http: request header names with an underscore (X_Real_IP):",
                "                           forwarded, removed, or answered 400 (default allow)",
                "  --error-page STATUS=FILE http: answer the gateway's own STATUS errors (400..599: 502, 503, 504,",
                "                           429, 403 of --deny, ...) with FILE, read at start, at most 64 KiB;",
                "                           content type from the extension: .html/.htm, .json, .txt, else",
                "                           application/octet-stream (repeatable, one per status)",
                "  --help                   this text",
                "",
                "Durations: a whole number with us, ms, s, m or h (50us, 500ms, 5s, 2m, 1h), at most 876000h.",
                "Flags also take the form --flag=value. Runs until SIGTERM or Ctrl-C, then closes gracefully.",
                "");
    }

    /**
     * Builds the proxy the options describe, not started.
     *
     * @throws UsageException when the options cannot be served
     */
    public static Proxy newProxy(GatewayOptions options) throws UsageException {
        return newProxy(options, null);
    }

    /**
     * Builds the proxy the options describe, not started, its access log (if {@code --access-log}
     * asks for one) given to {@code accessLog}, which prints one entry per line, or to the slf4j logger
     * {@code lodestone.access} when {@code accessLog} is null.
     *
     * @throws UsageException when the options cannot be served
     */
    static Proxy newProxy(GatewayOptions options, AccessLogLines accessLog) throws UsageException {
        Backend.Builder backend = Backend.named(BACKEND).balance(options.strategy());
        List<HostPort> servers = options.backends();
        int maxConnections = options.maxConnections().orElse(0);
        for (int i = 0; i < servers.size(); i++) {
            backend.server("s" + (i + 1), servers.get(i).toString(), s -> s.maxConnections(maxConnections));
        }
        options.retries().ifPresent(backend::retries);
        options.queueTimeout().ifPresent(backend::queueTimeout);
        options.maxQueued().ifPresent(backend::maxQueued);
        options.connectTimeout().ifPresent(backend::connectTimeout);
        options.serverTimeout().ifPresent(backend::serverTimeout);
        backend.abortOnClose(options.abortOnClose());
        ClientTls backendTls = backendTls(options);
        upstream(options, backend, backendTls);
        Optional<HealthCheck> check = options.healthCheckPath().map(path -> HealthCheck.http(path)
                .interval(Duration.ofSeconds(GatewayOptions.HEALTH_CHECK_INTERVAL_SECONDS))
                .rise(GatewayOptions.HEALTH_CHECK_RISE)
                .fall(GatewayOptions.HEALTH_CHECK_FALL)
                .build());
        check.ifPresent(backend::healthCheck);
        Proxy.Builder proxy = Proxy.builder()
                .backend(backend)
                .frontend(frontend(options));
        List<GatewayOptions.Route> routes = options.routes();
        for (int i = 0; i < routes.size(); i++) {
            Backend.Builder route = Backend.named(ROUTE_BACKEND_PREFIX + (i + 1))
                    .server("s1", routes.get(i).server().toString(), s -> s.maxConnections(maxConnections));
            options.retries().ifPresent(route::retries);
            options.queueTimeout().ifPresent(route::queueTimeout);
            options.maxQueued().ifPresent(route::maxQueued);
            options.connectTimeout().ifPresent(route::connectTimeout);
            options.serverTimeout().ifPresent(route::serverTimeout);
            route.abortOnClose(options.abortOnClose());
            upstream(options, route, backendTls);
            check.ifPresent(route::healthCheck);
            proxy.backend(route);
        }
        List<GatewayOptions.Sni> snis = options.snis();
        for (int i = 0; i < snis.size(); i++) {
            Backend.Builder sni = Backend.named(SNI_BACKEND_PREFIX + (i + 1))
                    .server("s1", snis.get(i).server().toString(), s -> s.maxConnections(maxConnections));
            options.retries().ifPresent(sni::retries);
            options.queueTimeout().ifPresent(sni::queueTimeout);
            options.maxQueued().ifPresent(sni::maxQueued);
            options.connectTimeout().ifPresent(sni::connectTimeout);
            options.serverTimeout().ifPresent(sni::serverTimeout);
            proxy.backend(sni);
        }
        if (options.ioThreads() > 0) {
            proxy.ioThreads(options.ioThreads());
        }
        options.busyPoll().ifPresent(proxy::busyPolling);
        if (options.admin().isPresent()) {
            proxy.frontend(AdminFrontend.bind(options.admin().get().toString()).name(ADMIN)
                    .token(options.adminToken().orElseThrow()));
        }
        if (options.accessLog() != AccessLog.Format.OFF) {
            boolean json = options.accessLog() == AccessLog.Format.JSON;
            proxy.accessLog(accessLog == null ? AccessLog.of(options.accessLog().name())
                    : json ? AccessLog.json(accessLog) : AccessLog.text(accessLog));
        }
        return proxy.build();
    }

    /** The TLS spoken to the servers ({@code --backend-tls}, {@code --backend-ca}), or {@code null}. */
    private static ClientTls backendTls(GatewayOptions options) throws UsageException {
        if (options.backendTls().isEmpty()) {
            return null;
        }
        ClientTls.Builder tls = ClientTls.builder();
        if (options.backendTls().get() == GatewayOptions.BackendTlsMode.INSECURE) {
            tls.insecureTrustAll();
        } else if (options.backendCa().isPresent()) {
            tls.trust(options.backendCa().get());
        }
        if (options.backendProto() == GatewayOptions.BackendProto.H2) {
            tls.alpn("h2");
        }
        try {
            return tls.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend-ca: " + options.backendCa().map(Object::toString).orElse("(JDK trust store)")
                    + " (" + e.getMessage() + ")");
        }
    }

    /** {@code 30s}, {@code 1m30s}, {@code 0.5s}: a duration as the start line prints it. */
    private static String shortDuration(Duration d) {
        return d.toString().substring(2).toLowerCase(Locale.ROOT);
    }

    /**
     * Applies {@code --backend-tls}, {@code --backend-proto} and {@code --backend-h2-keepalive} to a
     * backend of HTTP or TCP servers.
     */
    private static void upstream(GatewayOptions options, Backend.Builder backend, ClientTls tls) {
        if (tls != null) {
            backend.tls(tls);
        }
        switch (options.backendProto()) {
            case H2 -> backend.protocol(BackendProtocol.H2);
            case H2C -> backend.protocol(BackendProtocol.H2C);
            default -> backend.protocol(BackendProtocol.HTTP_1_1);
        }
        options.backendH2KeepAlive().ifPresent(interval -> backend.http2KeepAlive(interval, options.backendH2KeepAliveTimeout()));
    }

    private static Frontend frontend(GatewayOptions options) throws UsageException {
        if (options.mode() == GatewayOptions.Mode.HTTP) {
            HttpFrontend.Builder http = HttpFrontend.bind(options.listen().toString())
                    .name(FRONTEND)
                    .defaultBackend(BACKEND);
            options.rateLimit().ifPresent(limit -> http.rule(Rule.always().name(RATE_LIMIT_RULE).rateLimit(limit)));
            for (String prefix : options.denies()) {
                http.rule(Rule.when(Acl.pathBegins(prefix)).name("deny " + prefix).deny(403));
            }
            List<GatewayOptions.Route> routes = options.routes();
            for (int i = 0; i < routes.size(); i++) {
                String prefix = routes.get(i).prefix();
                http.rule(Rule.when(Acl.pathBegins(prefix)).name("route " + prefix).use(ROUTE_BACKEND_PREFIX + (i + 1)));
            }
            options.clientTimeout().filter(d -> !d.isZero()).ifPresent(http::clientTimeout);
            for (GatewayOptions.ErrorPageFile page : options.errorPages()) {
                try {
                    http.errorPage(page.status(), page.contentType(), page.file());
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--error-page: " + page + " (cannot load it: " + e.getMessage() + ")");
                }
            }
            if (options.cacheBytes().isPresent()) {
                http.cache(ResponseCache.builder().maxBytes(options.cacheBytes().getAsLong()).statusHeader("X-Cache"));
            }
            if (options.tlsCert().isPresent()) {
                http.tls(serverTls(options, "h2", "http/1.1"));
            }
            if (options.compress()) {
                http.compression(Compression.defaults());
            }
            http.h2c(options.h2c()).websocketOverHttp2(options.websocketOverH2()).deferAccept(options.deferAccept());
            if (!options.acceptProxyFrom().isEmpty()) {
                http.acceptProxyProtocolFrom(options.acceptProxyFrom().toArray(new String[0]));
            } else if (options.acceptProxy()) {
                http.acceptProxyProtocol();
            }
            http.requestIdHeader(options.requestIdHeader()).requestIds(options.requestIds()).forwardedFor(options.forwardedFor())
                    .headersWithUnderscores(options.headersWithUnderscores());
            if (options.poolMaxIdle().isPresent() || options.poolIdleTimeout().isPresent()) {
                http.backendPool(options.poolMaxIdle().orElse(HttpFrontend.DEFAULT_POOL_MAX_IDLE_PER_SERVER),
                        options.poolIdleTimeout().orElse(HttpFrontend.DEFAULT_POOL_IDLE_TIMEOUT));
            }
            options.poolMaxRequests().ifPresent(http::poolMaxRequests);
            options.poolMaxLifetime().ifPresent(http::poolMaxLifetime);
            options.keepAliveRequests().ifPresent(http::keepAliveMaxRequests);
            return http.build();
        }
        TcpFrontend.Builder tcp = TcpFrontend.bind(options.listen().toString())
                .name(FRONTEND)
                .defaultBackend(BACKEND);
        options.clientTimeout().ifPresent(tcp::clientTimeout);
        options.rateLimit().ifPresent(limit -> tcp.rule(Rule.always().name(RATE_LIMIT_RULE).rateLimit(limit)));
        if (options.tlsCert().isPresent()) {
            tcp.tls(serverTls(options));
        }
        options.clientHelloTimeout().ifPresent(tcp::clientHelloTimeout);
        if (!options.acceptProxyFrom().isEmpty()) {
            tcp.acceptProxyProtocolFrom(options.acceptProxyFrom().toArray(new String[0]));
        } else if (options.acceptProxy()) {
            tcp.acceptProxyProtocol();
        }
        if (options.tlsPassthrough()) {
            tcp.tlsPassthrough();
            List<GatewayOptions.Sni> snis = options.snis();
            for (int i = 0; i < snis.size(); i++) {
                String name = snis.get(i).name();
                tcp.rule(Rule.when(Acl.sni(name)).name("sni " + name).use(SNI_BACKEND_PREFIX + (i + 1)));
            }
        }
        return tcp.build();
    }

    /** Reads {@code --tls-cert} and {@code --tls-key}; a file that does not load is a usage error naming its flag. */
    private static ServerTls serverTls(GatewayOptions options, String... alpn) throws UsageException {
        Path cert = options.tlsCert().orElseThrow();
        Path key = options.tlsKey().orElseThrow();
        try {
            ServerTls.Builder tls = ServerTls.builder().certificate(TlsCertificate.pem(cert, key));
            if (alpn.length > 0) {
                tls.alpn(alpn);
            }
            return tls.build();
        } catch (IllegalArgumentException e) {
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            boolean keyFault = message.startsWith("privateKey") || message.startsWith("keyPassword");
            throw new UsageException((keyFault ? "--tls-key: " + key : "--tls-cert: " + cert)
                    + " (cannot load it: " + message + ")");
        }
    }

    /**
     * Builds and starts the proxy, prints one line saying where it listens, and returns it running.
     *
     * @throws UsageException as {@link #newProxy(GatewayOptions)}
     * @throws IllegalStateException when the address cannot be bound
     */
    public static Running start(GatewayOptions options, PrintStream out) throws UsageException {
        if (options.warmUp().isPresent()) {
            WarmUp.Result warm = WarmUp.run(options, options.warmUp().get());
            out.println(String.format(Locale.ROOT, "gateway: warmed up in %.1f s with %d requests%s", warm.took().toMillis() / 1000.0,
                    warm.requests(), warm.ok() ? "" : "; stopped early: " + warm.failure()));
        }
        AccessLogLines lines = options.accessLog() == AccessLog.Format.OFF ? null
                : new AccessLogLines(AccessLog.LOGGER_NAME, out);
        Proxy proxy;
        try {
            proxy = newProxy(options, lines);
            proxy.start();
        } catch (UsageException | RuntimeException e) {
            if (lines != null) {
                lines.close();
            }
            throw e;
        }
        InetSocketAddress bound = proxy.localAddresses(FRONTEND).get(0);
        StringBuilder line = new StringBuilder("gateway: listening on ")
                .append(format(bound)).append(" (").append(options.mode().flagValue()).append(", ")
                .append(options.balanceText()).append(") ->");
        List<HostPort> servers = options.backends();
        for (int i = 0; i < servers.size(); i++) {
            line.append(i == 0 ? " s" : ", s").append(i + 1).append(' ').append(servers.get(i));
        }
        options.healthCheckPath().ifPresent(path -> line.append("; checked with GET ").append(path));
        for (GatewayOptions.Route r : options.routes()) {
            line.append("; ").append(r.prefix()).append(" -> ").append(r.server());
        }
        for (String prefix : options.denies()) {
            line.append("; ").append(prefix).append(" denied");
        }
        if (options.acceptProxy()) {
            line.append("; PROXY protocol from ").append(options.acceptProxyFrom().isEmpty() ? "every client"
                    : String.join(",", options.acceptProxyFrom()));
        }
        options.tlsCert().ifPresent(cert -> line.append("; TLS terminated with ").append(cert));
        if (options.compress()) {
            line.append("; compressing (gzip, deflate").append(Compression.brotliAvailable() ? ", br)" : ")");
        }
        if (options.h2c()) {
            line.append("; HTTP/2 with prior knowledge (h2c) too");
        }
        if (options.websocketOverH2()) {
            line.append("; WebSocket over HTTP/2 (RFC 8441)");
        }
        for (GatewayOptions.Sni sni : options.snis()) {
            line.append("; SNI ").append(sni.name()).append(" -> ").append(sni.server());
        }
        options.rateLimit().ifPresent(limit -> line.append("; rate limit ").append(limit.permits())
                .append(limit.period().getSeconds() == 60 ? "/m" : "/s").append(" per client address"));
        if (options.mode() == GatewayOptions.Mode.HTTP && !options.requestIds()) {
            line.append("; no request ids");
        }
        if (options.mode() == GatewayOptions.Mode.HTTP && !options.forwardedFor()) {
            line.append("; no X-Forwarded headers");
        }
        if (options.mode() == GatewayOptions.Mode.HTTP
                && options.headersWithUnderscores() != HttpFrontend.HeadersWithUnderscores.ALLOW) {
            line.append("; header names with an underscore ")
                    .append(options.headersWithUnderscores() == HttpFrontend.HeadersWithUnderscores.DROP_HEADER ? "dropped" : "refused");
        }
        if (options.backendProto() != GatewayOptions.BackendProto.HTTP1) {
            line.append("; ").append(options.backendProto().flagValue()).append(" to the servers");
        }
        options.backendH2KeepAlive().ifPresent(interval -> line.append("; HTTP/2 keep-alive PINGs to the servers (")
                .append(shortDuration(interval)).append(',').append(shortDuration(options.backendH2KeepAliveTimeout())).append(')'));
        options.backendTls().ifPresent(mode -> line.append("; TLS to the servers (").append(mode.flagValue())
                .append(options.backendCa().map(ca -> " against " + ca).orElse("")).append(')'));
        out.println(line);
        if (options.admin().isPresent()) {
            out.println("gateway: admin endpoint on http://" + format(proxy.localAddresses(ADMIN).get(0)) + "/stats");
        }
        out.flush();
        if (lines == null) {
            return proxy::close;
        }
        return () -> {
            try {
                proxy.close();
            } finally {
                lines.close();
            }
        };
    }

    /**
     * Runs the command: parses {@code args}, starts the gateway and holds it for {@code lifetime}.
     * Returns the exit status: 0 after a graceful close, 2 for a usage error, 1 when it cannot start.
     */
    public static int run(List<String> args, PrintStream out, PrintStream err, Lifetime lifetime) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(usage());
            return 0;
        }
        Running running;
        try {
            running = start(GatewayOptions.parse(args), out);
        } catch (UsageException e) {
            err.println("gateway: " + e.getMessage());
            err.println("Try 'gateway --help'.");
            return 2;
        } catch (IllegalArgumentException e) {
            err.println("gateway: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            String message = String.valueOf(e.getMessage());
            // which flag gave the address that could not be bound
            String flag = message.startsWith("cannot start frontend '" + ADMIN + "'") ? "--admin: "
                    : message.startsWith("cannot start frontend '" + FRONTEND + "'") ? "--listen: " : "";
            err.println("gateway: " + flag + "cannot start: " + message);
            return 1;
        }
        return lifetime.hold(running);
    }

    /** {@code host:port} as {@code --listen} takes it: an IPv6 address in brackets and in its short form (RFC 5952, {@code [::1]}). */
    private static String format(InetSocketAddress address) {
        String host = address.getAddress() != null ? NetUtil.toAddressString(address.getAddress()) : address.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
