package io.lodestone.core.route.internal;

import io.lodestone.core.route.ClientCertificate;
import io.lodestone.core.route.RequestView;
import java.net.InetSocketAddress;

/**
 * The base of an L7 engine's {@link RequestView}: the engine supplies the connection facts, the
 * method, the request target and header lookups over its own header object; this class derives the
 * raw path, query, normalised path and host lazily, each at most once. Not thread-safe: one request,
 * one event loop.
 *
 * <pre>{@code
 * final class NettyRequestView extends HttpRequestView {
 *     private final HttpHeaders headers;
 *     NettyRequestView(Channel ch, HttpRequest req, String sni, String alpn) {
 *         super(ClientAddresses.remote(ch), ClientAddresses.local(ch).getPort(),
 *               sni, alpn, req.method().name(), req.uri());
 *         this.headers = req.headers();
 *     }
 *     public String header(String name) { return headers.get(name); }
 *     public List<String> headers(String name) { return headers.getAll(name); }
 * }
 * }</pre>
 *
 * For HTTP/2, {@link #header(String) header("Host")} should answer with {@code :authority}.
 */
public abstract class HttpRequestView extends ConnectionFacts {

    private final String method;
    private final String target;
    private String rawPath;
    private String query;
    private boolean querySplit;
    private String path;
    private String host;
    private boolean hostRead;

    /**
     * @param source the client's address, or {@code null}
     * @param localPort the frontend port the client connected to
     * @param sni the TLS server name, or {@code null}
     * @param alpn the ALPN protocol, or {@code null}
     * @param method the request method
     * @param target the request target as received (origin or absolute form)
     */
    protected HttpRequestView(InetSocketAddress source, int localPort, String sni, String alpn, String method, String target) {
        this(source, localPort, sni, alpn, null, method, target);
    }

    /**
     * A request on a TLS connection whose client may have presented a verified certificate.
     *
     * @param clientCertificate the client's verified certificate (mutual TLS), or {@code null}
     */
    protected HttpRequestView(InetSocketAddress source, int localPort, String sni, String alpn,
            ClientCertificate clientCertificate, String method, String target) {
        super(source, localPort, sni, alpn, clientCertificate);
        this.method = method;
        this.target = target;
    }

    @Override
    public boolean isHttp() {
        return true;
    }

    @Override
    public String method() {
        return method;
    }

    /** The request target as received. */
    public String target() {
        return target;
    }

    @Override
    public String rawPath() {
        String r = rawPath;
        if (r == null) {
            r = rawPath = HttpParts.rawPath(target);
        }
        return r;
    }

    @Override
    public String query() {
        if (!querySplit) {
            query = HttpParts.query(target);
            querySplit = true;
        }
        return query;
    }

    @Override
    public String path() {
        String p = path;
        if (p == null) {
            p = path = PathNormalizer.normalize(rawPath());
        }
        return p;
    }

    @Override
    public String host() {
        if (!hostRead) {
            host = HttpParts.host(header("host"));
            hostRead = true;
        }
        return host;
    }

    @Override
    public String cookie(String name) {
        return HttpParts.cookie(headers("cookie"), name);
    }

    @Override
    public String queryParam(String name) {
        return HttpParts.queryParam(query(), name);
    }
}
