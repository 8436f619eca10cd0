package io.lodestone.l7.internal;

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
        super(source, localPort, null, null, request.method().name(), request.uri());
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
