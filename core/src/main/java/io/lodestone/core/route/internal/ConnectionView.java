package io.lodestone.core.route.internal;

import io.lodestone.core.route.RequestView;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The {@link RequestView} of an L4 engine: a connection, with no HTTP request.
 *
 * <pre>{@code
 * RequestView view = new ConnectionView((InetSocketAddress) ch.remoteAddress(),
 *         ((InetSocketAddress) ch.localAddress()).getPort(), sniOrNull, alpnOrNull);
 * Decision d = router.route(view);
 * }</pre>
 */
public final class ConnectionView implements RequestView {

    private final InetAddress sourceAddress;
    private final int sourcePort;
    private final int localPort;
    private final String sni;
    private final String alpn;

    /** A view of a connection; {@code source}, {@code sni} and {@code alpn} may be {@code null}. */
    public ConnectionView(InetSocketAddress source, int localPort, String sni, String alpn) {
        this.sourceAddress = source == null ? null : source.getAddress();
        this.sourcePort = source == null ? 0 : source.getPort();
        this.localPort = localPort;
        this.sni = sni == null ? null : HttpParts.toLowerAscii(sni);
        this.alpn = alpn;
    }

    @Override
    public InetAddress sourceAddress() {
        return sourceAddress;
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
    public boolean isHttp() {
        return false;
    }

    @Override
    public String method() {
        return null;
    }

    @Override
    public String path() {
        return null;
    }

    @Override
    public String rawPath() {
        return null;
    }

    @Override
    public String query() {
        return null;
    }

    @Override
    public String host() {
        return null;
    }

    @Override
    public String header(String name) {
        return null;
    }

    @Override
    public List<String> headers(String name) {
        return List.of();
    }

    @Override
    public String cookie(String name) {
        return null;
    }

    @Override
    public String queryParam(String name) {
        return null;
    }

    @Override
    public String toString() {
        return "connection from " + (sourceAddress == null ? "?" : sourceAddress.getHostAddress()) + " to port " + localPort;
    }
}
