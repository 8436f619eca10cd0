package io.lodestone.core.route.internal;

import io.lodestone.core.internal.Addresses;
import io.lodestone.core.route.ClientCertificate;
import io.lodestone.core.route.RequestView;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The {@link RequestView} of an L4 engine: a connection, with no HTTP request.
 *
 * <pre>{@code
 * RequestView view = new ConnectionView(ClientAddresses.remote(ch),
 *         ClientAddresses.local(ch).getPort(), sniOrNull, alpnOrNull);
 * Decision d = router.route(view);
 * }</pre>
 *
 * <p>An engine reads the addresses through {@link io.lodestone.core.internal.ClientAddresses}, which
 * gives those of the PROXY header on a frontend that accepts it.
 */
public final class ConnectionView extends ConnectionFacts {

    /** A view of a connection; {@code source}, {@code sni} and {@code alpn} may be {@code null}. */
    public ConnectionView(InetSocketAddress source, int localPort, String sni, String alpn) {
        super(source, localPort, sni, alpn);
    }

    /** A view of a TLS connection whose client presented a verified certificate ({@code clientCertificate} may be {@code null}). */
    public ConnectionView(InetSocketAddress source, int localPort, String sni, String alpn, ClientCertificate clientCertificate) {
        super(source, localPort, sni, alpn, clientCertificate);
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
        return "connection from " + (sourceAddress() == null ? "?" : Addresses.toText(sourceAddress())) + " to port " + localPort();
    }
}
