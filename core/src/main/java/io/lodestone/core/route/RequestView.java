package io.lodestone.core.route;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * What a rule may read of one connection (at L4) or one request (at L7). The engines implement it
 * over their own request objects; tests use {@link TestRequest}. The HTTP methods return
 * {@code null} on a connection-only view ({@link #isHttp()} false), and every HTTP ACL is then false.
 *
 * <p>Implementations compute derived values (the normalised path, the host) lazily and at most once,
 * and must not change while a router reads them.
 *
 * <pre>{@code
 * RequestView view = TestRequest.get("/admin/x").host("example.com").source("10.1.2.3");
 * view.path();     // "/admin/x"
 * view.host();     // "example.com"
 * }</pre>
 */
public interface RequestView {

    /** {@return the client's address, or {@code null} when unknown (a Unix domain socket)} */
    InetAddress sourceAddress();

    /** {@return the client's port, or 0 when unknown} */
    int sourcePort();

    /** {@return the port of the frontend's socket the client connected to} */
    int localPort();

    /** {@return the TLS server name the client asked for, lower-cased, or {@code null}} */
    String sni();

    /** {@return the application protocol agreed by TLS ALPN ({@code h2}, {@code http/1.1}), or {@code null}} */
    String alpn();

    /**
     * The certificate the TLS client presented and the handshake verified (mutual TLS), or
     * {@code null} when it presented none or the connection is not TLS. The engines fill it on
     * frontends that terminate TLS with client authentication; the default is {@code null}.
     *
     * @return the certificate the TLS client presented and the handshake verified (mutual TLS), or {@code
     *     null} when it presented none or the connection is not TLS
     */
    default ClientCertificate clientCertificate() {
        return null;
    }

    /** {@return whether this view is of an HTTP request; false for a connection-only (L4) view} */
    boolean isHttp();

    /** {@return the request method as sent ({@code GET}), or {@code null} on a connection view} */
    String method();

    /**
     * The normalised path that path ACLs match: fully percent-decoded, {@code ;parameters} removed,
     * slashes folded, dot segments resolved, backslashes read as slashes, case kept (as the README's
     * Routing section describes). {@code null} on a connection view.
     *
     * @return the normalised path that path ACLs match: fully percent-decoded, {@code ;parameters} removed,
     *     slashes folded, dot segments resolved, backslashes read as slashes, case kept (as the README's
     *     Routing section describes)
     */
    String path();

    /** {@return the path exactly as the client sent it, without the query: what is forwarded} */
    String rawPath();

    /** {@return the raw query after {@code ?}, or {@code null} when the request has none} */
    String query();

    /** {@return the host of the Host header (or {@code :authority}) without port, lower-cased, or {@code null}} */
    String host();

    /**
     * The first value of a request header by case-insensitive name, or {@code null}. The built-in
     * ACLs always ask with lower-case names.
     *
     * @param name the header name, in any case
     * @return the first value of a request header by case-insensitive name, or {@code null}
     */
    String header(String name);

    /**
     * Every value of a request header by case-insensitive name, in order; empty when absent.
     * Implementations should not copy on every call when they can avoid it.
     *
     * @param name the header name, in any case
     * @return every value of a request header by case-insensitive name, in order; empty when absent
     */
    List<String> headers(String name);

    /**
     * The value of a cookie of the {@code Cookie} header by exact name, or {@code null}.
     *
     * @param name the cookie name
     * @return the value of a cookie of the {@code Cookie} header by exact name, or {@code null}
     */
    String cookie(String name);

    /**
     * The decoded value of a query parameter by exact name ("" when it has no {@code =}), or {@code null}.
     *
     * @param name the parameter name
     * @return the decoded value of a query parameter by exact name ("" when it has no {@code =}), or {@code
     *     null}
     */
    String queryParam(String name);

    /**
     * The random source of {@link Acl#random(double)} and random balancing for this request. The
     * engines use a fast thread-local source; {@link TestRequest} makes it seedable.
     *
     * @return the random source of {@link Acl#random(double)} and random balancing for this request
     */
    default RandomGenerator random() {
        return ThreadLocalRandom.current();
    }
}
