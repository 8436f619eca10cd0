package io.lodestone.core.route;

import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.Names;
import io.lodestone.core.route.internal.HttpParts;
import io.lodestone.core.route.internal.PathNormalizer;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
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
 * {@link #random(RandomGenerator)} gives a generator, they come from the request's own generator,
 * seeded with {@link #seed(long)} (default 0) and started again each time a {@link Router} routes
 * the request, so routing the same request twice decides the same, and the draws of one routing
 * (two random ACLs, then {@code routeAndPick}'s random balancing) are independent. To route a
 * population, give each request its own seed or share one seeded generator.
 */
public final class TestRequest implements RequestView {

    /**
     * The client-certificate headers an HTTP engine removes from every request before the rules
     * ({@code io.lodestone.tls.ClientIdentity#HEADER_NAMES}, in lower case).
     */
    private static final Set<String> CLIENT_CERTIFICATE_HEADERS = Set.of("x-client-verify", "x-client-subject", "x-client-cn",
            "x-client-issuer", "x-client-san", "x-client-serial", "x-client-fingerprint-sha256");

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
    /** The authority of an absolute-form target, as the only Host value; {@code null} for the origin form. */
    private final List<String> authority;
    private RandomGenerator random;
    /** Whether {@link #random} was given by the test, rather than made from {@link #seed}. */
    private boolean given;
    private long seed;

    private TestRequest(boolean http, String method, String target) {
        this.http = http;
        this.method = method;
        int start = http ? HttpParts.pathStart(target) : 0;
        // an OPTIONS of an absolute URI with neither path nor query (http://host) asks about the
        // server as a whole: the engines read and forward it as OPTIONS * (RFC 9112 3.2.4), not as /
        String origin = start > 0 && start == target.length() && "OPTIONS".equals(method) ? "*" : target;
        this.rawPath = http ? HttpParts.rawPath(origin) : null;
        this.query = http ? HttpParts.query(origin) : null;
        this.path = http ? PathNormalizer.normalize(rawPath) : null;
        this.source = InetAddress.getLoopbackAddress();
        if (start > 0) {
            // absolute form: its authority is the request's Host, whatever Host field came with it
            String authority = target.substring(target.indexOf("://") + 3, start);
            this.authority = List.of(authority);
            this.host = HttpParts.host(authority);
        } else {
            this.authority = null;
        }
    }

    /**
     * A {@code GET} of a request target: a path with an optional query ({@code /a?b=c}).
     *
     * @param target the request target: a path with an optional query
     * @return a {@code GET} of a request target: a path with an optional query ({@code /a?b=c})
     */
    public static TestRequest get(String target) {
        return request("GET", target);
    }

    /**
     * A {@code POST} of a request target.
     *
     * @param target the request target: a path with an optional query
     * @return a {@code POST} of a request target
     */
    public static TestRequest post(String target) {
        return request("POST", target);
    }

    /**
     * A request with any method. The target is what the request line carries: the origin form
     * ({@code /a?b=c}), the absolute form ({@code http://example.com/a?b=c}, whose authority is then
     * the request's Host, as RFC 9112 (3.2.2) has it and the engines read it; an {@code OPTIONS} of
     * one without path or query, {@code http://example.com}, is {@code OPTIONS *}, 3.2.4), {@code *}
     * for {@code OPTIONS} or an authority for {@code CONNECT}.
     *
     * <p>Characters beyond ASCII are taken as they are, for readability ({@code /café} routes as
     * {@code /caf%C3%A9} does, since path ACLs read the decoded path); a client sends them
     * percent-encoded.
     *
     * @param method the request method
     * @param target the request target: a path with an optional query
     * @return a request with any method
     * @throws IllegalArgumentException for a method that is not a token, or a target the HTTP engine
     *     answers 400 whatever the rules: another form, a space, control character or {@code #}, or
     *     an absolute form's authority with userinfo or without a host
     */
    public static TestRequest request(String method, String target) {
        if (method == null || method.isEmpty() || !Names.isToken(method)) {
            throw new IllegalArgumentException("method: " + method + " (expected: an HTTP method, a token such as GET)");
        }
        if (target == null || target.isEmpty()) {
            throw new IllegalArgumentException("target: " + (target == null ? "null" : "\"\"") + " (expected: a path such as /a?b=c)");
        }
        String invalid = invalidTarget(method, target);
        if (invalid != null) {
            throw new IllegalArgumentException("target: " + target + " (" + invalid + ")");
        }
        return new TestRequest(true, method, target);
    }

    /** Why the HTTP engine refuses this request target, or {@code null} when it takes it. */
    private static String invalidTarget(String method, String target) {
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c == 0x7F || c == '#') {
                return "expected: no space, control character or '#'; the engines answer 400 to "
                        + (c == '#' ? "a fragment" : "character 0x" + Integer.toHexString(c));
            }
        }
        char f = target.charAt(0);
        if (f == '/' || target.equals("*") && method.equals("OPTIONS") || method.equals("CONNECT")) {
            return null;
        }
        int start = HttpParts.pathStart(target);
        boolean scheme = target.regionMatches(true, 0, "http://", 0, 7) || target.regionMatches(true, 0, "https://", 0, 8);
        if (!scheme || start == 0) {
            return "expected: a path such as /a?b=c, an absolute URI such as http://example.com/a, or * for OPTIONS;"
                    + " the engines answer 400 to any other form";
        }
        String authority = target.substring(target.indexOf("://") + 3, start);
        if (authority.isEmpty() || authority.indexOf('@') >= 0 || authority.startsWith(":")) {
            return "expected: an authority host[:port] without userinfo; the engines answer 400 to this one";
        }
        return null;
    }

    /** {@return a connection-only view, as an L4 frontend sees it: no HTTP} */
    public static TestRequest connection() {
        return new TestRequest(false, null, null);
    }

    /**
     * Sets the client's address, an IP literal.
     *
     * @param ip the client's address
     * @return this request
     */
    public TestRequest source(String ip) {
        return source(ip, sourcePort);
    }

    /**
     * Sets the client's address and port.
     *
     * @param ip the client's address
     * @param port the client's port
     * @return this request
     */
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

    /**
     * Sets the client's address and port.
     *
     * @param address the client's address
     * @param port the client's port
     * @return this request
     */
    public TestRequest source(InetAddress address, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("source port: " + port + " (expected: 0..65535)");
        }
        this.source = Objects.requireNonNull(address, "source");
        this.sourcePort = port;
        return this;
    }

    /**
     * Sets the frontend port the client connected to (default 80).
     *
     * @param port the frontend port the client connected to
     * @return this request
     */
    public TestRequest localPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("localPort: " + port + " (expected: 1..65535)");
        }
        this.localPort = port;
        return this;
    }

    /**
     * Sets the TLS server name, read as the engines read the ClientHello's: in lower case, without the
     * trailing dot of an absolute name ({@code Shop.Example.com.} is {@code shop.example.com}); an empty
     * name is none.
     *
     * @param serverName the TLS server name
     * @return this request
     */
    public TestRequest sni(String serverName) {
        String name = serverName;
        if (name != null && name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        this.sni = name == null || name.isEmpty() ? null : HttpParts.toLowerAscii(name);
        return this;
    }

    /**
     * Sets the ALPN protocol.
     *
     * @param protocol the ALPN protocol
     * @return this request
     */
    public TestRequest alpn(String protocol) {
        this.alpn = protocol;
        return this;
    }

    /**
     * Sets the verified client certificate (mutual TLS) with this subject DN and these subject
     * alternative names: {@code clientCertificate("CN=alice,O=Clients", "spiffe://example/alice")}.
     *
     * @param subject the subject distinguished name in RFC 2253 form
     * @param subjectAltNames the subject alternative name values
     * @return this request
     * @throws IllegalArgumentException when the subject is not a distinguished name
     */
    public TestRequest clientCertificate(String subject, String... subjectAltNames) {
        return clientCertificate(ClientCertificate.of(subject, subjectAltNames));
    }

    /**
     * Sets the verified client certificate (mutual TLS); {@code null} for none (the default).
     *
     * @param certificate the verified client certificate
     * @return this request
     */
    public TestRequest clientCertificate(ClientCertificate certificate) {
        this.clientCertificate = certificate;
        return this;
    }

    /**
     * Sets the Host header (a host, optionally with {@code :port}), replacing any. A request with an
     * absolute-form target keeps its target's authority as its Host, as the engines do.
     *
     * @param authority the Host header
     * @return this request
     */
    public TestRequest host(String authority) {
        requireHttp("host");
        headers.remove("host");
        return header("Host", authority);
    }

    /**
     * Adds a request header value.
     *
     * @param name the header name
     * @param value the header value
     * @return this request
     * @throws IllegalArgumentException for a second {@code Host} (use {@link #host(String)} to
     *     replace it) or a {@code Host} with userinfo: the HTTP engine answers 400 to either; for a
     *     client-certificate header ({@code X-Client-Verify}, {@code X-Client-CN}, ...), which the
     *     HTTP engine removes before the rules read the request (use
     *     {@link #clientCertificate(String, String...)})
     */
    public TestRequest header(String name, String value) {
        requireHttp("header");
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("header name: " + name + " (expected: a header name)");
        }
        Objects.requireNonNull(value, "header " + name);
        boolean isHost = name.equalsIgnoreCase("Host");
        if (isHost && headers.containsKey("host")) {
            throw new IllegalArgumentException("header " + name + ": " + value + " (a second Host; the engines answer 400 to"
                    + " a request with two; host(...) replaces the first)");
        }
        if (CLIENT_CERTIFICATE_HEADERS.contains(HttpParts.toLowerAscii(name))) {
            throw new IllegalArgumentException("header " + name + ": " + value + " (the HTTP engine removes it from every request"
                    + " before the rules read it, so that no client can claim an identity; give the request a verified"
                    + " certificate with clientCertificate(...))");
        }
        if (isHost && value.indexOf('@') >= 0) {
            throw new IllegalArgumentException("header " + name + ": " + value + " (expected: host[:port] without userinfo;"
                    + " the engines answer 400 to this one)");
        }
        headers.computeIfAbsent(HttpParts.toLowerAscii(name), k -> new Values()).add(value);
        if (isHost && authority == null) {
            host = HttpParts.host(value);
        }
        return this;
    }

    /**
     * Adds a cookie to the request's {@code Cookie} header.
     *
     * @param name the cookie name
     * @param value the cookie value
     * @return this request
     */
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

    /**
     * Sets the random source, shared across requests if you like: draws continue its stream.
     *
     * @param random the random source
     * @return this request
     */
    public TestRequest random(RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random");
        this.given = true;
        return this;
    }

    /**
     * Sets the seed of the request's own random source (default 0).
     *
     * @param seed the seed of the request's own random source
     * @return this request
     */
    public TestRequest seed(long seed) {
        this.seed = seed;
        this.random = null;
        this.given = false;
        return this;
    }

    /**
     * Starts the request's own random source again from its seed: a {@link Router} calls this when
     * it starts routing the request, so that the draws of one routing are one stream (two random
     * ACLs draw two numbers) and routing the request again draws the same numbers. A generator given
     * with {@link #random(RandomGenerator)} goes on.
     */
    void rewind() {
        if (!given) {
            random = null;
        }
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
        if (authority != null && name.equalsIgnoreCase("host")) {
            return authority.get(0);
        }
        Values v = headers.get(HttpParts.toLowerAscii(name));
        return v == null ? null : v.list.get(0);
    }

    @Override
    public List<String> headers(String name) {
        if (authority != null && name.equalsIgnoreCase("host")) {
            return authority;
        }
        Values v = headers.get(HttpParts.toLowerAscii(name));
        return v == null ? List.of() : v.view;
    }

    /**
     * The names of the request's header fields, lower-cased, in the order they were first added
     * ({@code host} included when given); empty on a connection view.
     *
     * @return a read-only view of the names
     */
    public Set<String> headerNames() {
        return Collections.unmodifiableSet(headers.keySet());
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
        RandomGenerator r = random;
        if (r == null) {
            r = random = new SplittableRandom(seed);
        }
        return r;
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
