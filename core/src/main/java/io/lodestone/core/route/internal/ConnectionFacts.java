package io.lodestone.core.route.internal;

import io.lodestone.core.route.ClientCertificate;
import io.lodestone.core.route.RequestView;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * What every engine's {@link RequestView} knows of the connection: the client's address and port,
 * the local port, and the TLS server name, ALPN protocol and verified client certificate when there
 * are any. The HTTP parts are
 * left to subclasses.
 */
public abstract class ConnectionFacts implements RequestView {

    private final InetAddress sourceAddress;
    private final int sourcePort;
    private final int localPort;
    private final String sni;
    private final String alpn;
    private final ClientCertificate clientCertificate;

    /**
     * @param source the client's address, or {@code null}
     * @param localPort the frontend port the client connected to
     * @param sni the TLS server name, or {@code null}
     * @param alpn the ALPN protocol, or {@code null}
     */
    protected ConnectionFacts(InetSocketAddress source, int localPort, String sni, String alpn) {
        this(source, localPort, sni, alpn, null);
    }

    /**
     * @param source the client's address, or {@code null}
     * @param localPort the frontend port the client connected to
     * @param sni the TLS server name, or {@code null}
     * @param alpn the ALPN protocol, or {@code null}
     * @param clientCertificate the client's verified certificate (mutual TLS), or {@code null}
     */
    protected ConnectionFacts(InetSocketAddress source, int localPort, String sni, String alpn,
            ClientCertificate clientCertificate) {
        this.clientCertificate = clientCertificate;
        this.sourceAddress = source == null ? null : source.getAddress();
        this.sourcePort = source == null ? 0 : source.getPort();
        this.localPort = localPort;
        this.sni = sni == null ? null : HttpParts.toLowerAscii(sni);
        this.alpn = alpn;
    }

    @Override
    public final InetAddress sourceAddress() {
        return sourceAddress;
    }

    @Override
    public final int sourcePort() {
        return sourcePort;
    }

    @Override
    public final int localPort() {
        return localPort;
    }

    @Override
    public final String sni() {
        return sni;
    }

    @Override
    public final String alpn() {
        return alpn;
    }

    @Override
    public final ClientCertificate clientCertificate() {
        return clientCertificate;
    }
}
