package io.lodestone.core.route;

import io.lodestone.core.internal.Addresses;
import io.lodestone.core.route.internal.HttpParts;
import io.lodestone.core.route.internal.PathNormalizer;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * A request or connection made up in a test, to route without a socket through
 * {@link io.lodestone.core.Proxy#route(RequestView)} or a {@link Router}. A mutable builder that is
 * itself the {@link RequestView}.
 *
 * <pre>{@code
 * Decision d = proxy.route(TestRequest.get("/admin/x?debug=1")
 *     .host("example.com")
 *     .header("X-Api-Key", "k1")
 *     .cookie("session", "abc")
 *     .source("10.1.2.3"));
 * Decision l4 = proxy.route("db", TestRequest.connection().source("192.0.2.7").localPort(5432));
 * }</pre>
 *
 * <p>Defaults: source {@code 127.0.0.1:50000}, local port 80, no SNI, no ALPN, no client
 * certificate, no headers. Random
 * draws ({@link Acl#random(double)}, random balancing) are deterministic: unless
 * {@link #random(RandomGenerator)} gives a generator, each call of {@link #random()} returns a new
 * one seeded with {@link #seed(long)} (default 0), so routing the same request twice decides the
 * same. To route a population, give each request its own seed or share one seeded generator.
 */
public final class TestRequest implements RequestView {

    private final boolean http;
    private final String method;
    private final String rawPath;
    private final String query;
    private final String path;
    private final Map<String, Values> headers = new LinkedHashMap<>();
    private InetAddress source;
    private int sourcePort = 50000;
    private int localPort = 80;
    private String sni;
    private String alpn;
    private ClientCertificate clientCertificate;
    private String host;
    private RandomGenerator random;
    private long seed;

    private TestRequest(boolean http, String method, String target) {
        this.http = http;
        this.method = method;
        this.rawPath = http ? HttpParts.rawPath(target) : null;
        this.query = http ? HttpParts.query(target) : null;
        this.path = http ? PathNormalizer.normalize(rawPath) : null;
        this.source = InetAddress.getLoopbackAddress();
    }

    /** A {@code GET} of a request target: a path with an optional query ({@code /a?b=c}). */
    public static TestRequest get(String target) {
        return request("GET", target);
    }

    /** A {@code POST} of a request target. */
    public static TestRequest post(String target) {
        return request("POST", target);
    }

    /** A request with any method. */
    public static TestRequest request(String method, String target) {
        if (method == null || method.isEmpty()) {
            throw new IllegalArgumentException("method: " + method + " (expected: an HTTP method)");
        }
        if (target == null || target.isEmpty()) {
            throw new IllegalArgumentException("target: " + (target == null ? "null" : "\"\"") + " (expected: a path such as /a?b=c)");
        }
        return new TestRequest(true, method, target);
    }

    /** A connection-only view, as an L4 frontend sees it: no HTTP. */
    public static TestRequest connection() {
        return new TestRequest(false, null, null);
    }

    /** Sets the client's address, an IP literal. */
    public TestRequest source(String ip) {
        return source(ip, sourcePort);
    }

    /** Sets the client's address and port. */
    public TestRequest source(String ip, int port) {
        byte[] b = ip == null ? null : NetUtil.createByteArrayFromIpAddressString(ip);
        if (b == null) {
            throw new IllegalArgumentException("source: " + ip + " (expected: an IPv4 or IPv6 literal)");
        }
        try {
            return source(InetAddress.getByAddress(b), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("source: " + ip, e);
        }
    }

    /** Sets the client's address and port. */
    public TestRequest source(InetAddress address, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("source port: " + port + " (expected: 0..65535)");
        }
        this.source = Objects.requireNonNull(address, "source");
        this.sourcePort = port;
        return this;
    }

    /** Sets the frontend port the client connected to (default 80). */
    public TestRequest localPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("localPort: " + port + " (expected: 1..65535)");
        }
        this.localPort = port;
        return this;
    }

    /** Sets the TLS server name. */
    public TestRequest sni(String serverName) {
        this.sni = serverName == null ? null : HttpParts.toLowerAscii(serverName);
        return this;
    }

    /** Sets the ALPN protocol. */
    public TestRequest alpn(String protocol) {
        this.alpn = protocol;
        return this;
    }

    /**
     * Sets the verified client certificate (mutual TLS) with this subject DN and these subject
     * alternative names: {@code clientCertificate("CN=alice,O=Clients", "spiffe://example/alice")}.
     *
     * @throws IllegalArgumentException when the subject is not a distinguished name
     */
    public TestRequest clientCertificate(String subject, String... subjectAltNames) {
        return clientCertificate(ClientCertificate.of(subject, subjectAltNames));
    }

    /** Sets the verified client certificate (mutual TLS); {@code null} for none (the default). */
    public TestRequest clientCertificate(ClientCertificate certificate) {
        this.clientCertificate = certificate;
        return this;
    }

    /** Sets the Host header (a host, optionally with {@code :port}), replacing any. */
    public TestRequest host(String authority) {
        requireHttp("host");
        headers.remove("host");
        return header("Host", authority);
    }

    /** Adds a request header value. */
    public TestRequest header(String name, String value) {
        requireHttp("header");
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("header name: " + name + " (expected: a header name)");
        }
        headers.computeIfAbsent(HttpParts.toLowerAscii(name), k -> new Values()).add(Objects.requireNonNull(value, "header " + name));
        if (name.equalsIgnoreCase("Host")) {
            host = HttpParts.host(headers.get("host").list.get(0));
        }
        return this;
    }

    /** Adds a cookie to the request's {@code Cookie} header. */
    public TestRequest cookie(String name, String value) {
        requireHttp("cookie");
        Values v = headers.get("cookie");
        String pair = name + "=" + value;
        if (v == null) {
            return header("Cookie", pair);
        }
        v.list.set(0, v.list.get(0) + "; " + pair);
        return this;
    }

    /** Sets the random source, shared across requests if you like: draws continue its stream. */
    public TestRequest random(RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random");
        return this;
    }

    /** Sets the seed of the request's own random source (default 0). */
    public TestRequest seed(long seed) {
        this.seed = seed;
        this.random = null;
        return this;
    }

    private void requireHttp(String what) {
        if (!http) {
            throw new IllegalStateException(what + ": a connection view has no HTTP request");
        }
    }

    @Override
    public InetAddress sourceAddress() {
        return source;
    }

    @Override
    public int sourcePort() {
        return sourcePort;
    }

    @Override
    public int localPort() {
        return localPort;
    }

    @Override
    public String sni() {
        return sni;
    }

    @Override
    public String alpn() {
        return alpn;
    }

    @Override
    public ClientCertificate clientCertificate() {
        return clientCertificate;
    }

    @Override
    public boolean isHttp() {
        return http;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public String rawPath() {
        return rawPath;
    }

    @Override
    public String query() {
        return query;
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public String header(String name) {
        Values v = headers.get(HttpParts.toLowerAscii(name));
        return v == null ? null : v.list.get(0);
    }

    @Override
    public List<String> headers(String name) {
        Values v = headers.get(HttpParts.toLowerAscii(name));
        return v == null ? List.of() : v.view;
    }

    @Override
    public String cookie(String name) {
        Values v = headers.get("cookie");
        return v == null ? null : HttpParts.cookie(v.list, name);
    }

    @Override
    public String queryParam(String name) {
        return HttpParts.queryParam(query, name);
    }

    @Override
    public RandomGenerator random() {
        return random != null ? random : new SplittableRandom(seed);
    }

    @Override
    public String toString() {
        if (!http) {
            return "connection from " + Addresses.toText(source) + ":" + sourcePort + " to port " + localPort
                    + (sni == null ? "" : " sni " + sni);
        }
        return method + " " + rawPath + (query == null ? "" : "?" + query) + (host == null ? "" : " host " + host)
                + " from " + Addresses.toText(source);
    }

    /** The values of one header, with a read-only view made once. */
    private static final class Values {
        final List<String> list = new ArrayList<>(1);
        final List<String> view = Collections.unmodifiableList(list);

        void add(String value) {
            list.add(value);
        }
    }
}
