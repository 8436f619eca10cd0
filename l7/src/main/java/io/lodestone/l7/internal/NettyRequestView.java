package io.lodestone.l7.internal;

import io.lodestone.core.route.ClientCertificate;
import io.lodestone.core.route.internal.HttpRequestView;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * What the router reads of one request: the connection facts, the request line and header lookups
 * made directly on the request's Netty {@link HttpHeaders} (no copy). The raw path, query,
 * normalised path and host are derived lazily, at most once, by {@link HttpRequestView}. Made by the
 * proxy handler on the client's event loop, read by the router synchronously, then dropped.
 */
final class NettyRequestView extends HttpRequestView {

    private final HttpHeaders headers;

    /**
     * @param source the client's address, or {@code null}
     * @param localPort the frontend port the client connected to
     * @param request the request, its target already in origin form
     */
    NettyRequestView(InetSocketAddress source, int localPort, HttpRequest request) {
        this(source, localPort, request, null, null);
    }

    /** A view of a request on a TLS connection, with its SNI name and ALPN protocol (either may be {@code null}). */
    NettyRequestView(InetSocketAddress source, int localPort, HttpRequest request, String sni, String alpn) {
        this(source, localPort, request, sni, alpn, null);
    }

    /** A view of a request on a TLS connection, with the client's verified certificate ({@code null} when none). */
    NettyRequestView(InetSocketAddress source, int localPort, HttpRequest request, String sni, String alpn,
            ClientCertificate clientCertificate) {
        super(source, localPort, sni, alpn, clientCertificate, request.method().name(), request.uri());
        this.headers = request.headers();
    }

    @Override
    public String header(String name) {
        return headers.get(name);
    }

    @Override
    public List<String> headers(String name) {
        return headers.getAll(name);
    }
}
