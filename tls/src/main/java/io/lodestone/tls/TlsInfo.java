package io.lodestone.tls;

import io.lodestone.core.route.ClientCertificate;
import io.lodestone.tls.internal.ServerSniHandler;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import java.util.Optional;
import javax.net.ssl.SSLSession;

/**
 * What a completed TLS handshake on a connection settled: the server name the client asked for, the
 * ALPN protocol, the TLS version and cipher suite, and the client's verified identity. Computed once
 * per connection and kept on the channel.
 *
 * <pre>{@code
 * public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
 *     if (evt instanceof SslHandshakeCompletionEvent && ((SslHandshakeCompletionEvent) evt).isSuccess()) {
 *         TlsInfo tls = TlsInfo.of(ctx.channel());
 *         boolean h2 = "h2".equals(tls.applicationProtocol());
 *     }
 * }
 * }</pre>
 */
public final class TlsInfo {

    private static final AttributeKey<TlsInfo> KEY = AttributeKey.valueOf(TlsInfo.class, "info");

    private final String serverName;
    private final String applicationProtocol;
    private final String protocol;
    private final String cipherSuite;
    private final Optional<ClientIdentity> clientIdentity;
    private final ClientCertificate clientCertificate;

    private TlsInfo(String serverName, String applicationProtocol, String protocol, String cipherSuite,
            Optional<ClientIdentity> clientIdentity) {
        this.serverName = serverName;
        this.applicationProtocol = applicationProtocol;
        this.protocol = protocol;
        this.cipherSuite = cipherSuite;
        this.clientIdentity = clientIdentity;
        this.clientCertificate = clientIdentity.map(ClientIdentity::toClientCertificate).orElse(null);
    }

    /**
     * The facts of {@code channel}'s handshake, or {@code null} when the channel has no TLS handler
     * or its handshake has not succeeded (yet).
     *
     * @param channel the channel
     * @return the facts of {@code channel}'s handshake, or {@code null} when the channel has no TLS handler
     *     or its handshake has not succeeded (yet)
     */
    public static TlsInfo of(Channel channel) {
        TlsInfo cached = channel.attr(KEY).get();
        if (cached != null) {
            return cached;
        }
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl == null || !ssl.handshakeFuture().isSuccess()) {
            return null;
        }
        SSLSession session = ssl.engine().getSession();
        TlsInfo info = new TlsInfo(channel.attr(ServerSniHandler.SERVER_NAME).get(), ssl.applicationProtocol(),
                session.getProtocol(), session.getCipherSuite(),
                ssl.engine().getUseClientMode() ? Optional.empty() : ClientIdentity.of(session));
        channel.attr(KEY).set(info);
        return info;
    }

    /** {@return the server name the client sent in SNI (lower case), or {@code null} when it sent none} */
    public String serverName() {
        return serverName;
    }

    /** {@return the ALPN protocol agreed on ({@code h2}, {@code http/1.1}), or {@code null} when none was} */
    public String applicationProtocol() {
        return applicationProtocol;
    }

    /** {@return the TLS version, e.g. {@code TLSv1.3}} */
    public String protocol() {
        return protocol;
    }

    /** {@return the cipher suite, e.g. {@code TLS_AES_128_GCM_SHA256}} */
    public String cipherSuite() {
        return cipherSuite;
    }

    /**
     * {@return the client's verified certificate identity; empty when it presented none (or on a client-side
     * channel)}
     */
    public Optional<ClientIdentity> clientIdentity() {
        return clientIdentity;
    }

    /**
     * The client's verified certificate as rules read it ({@link ClientIdentity#toClientCertificate()}),
     * or {@code null} when it presented none: what the engines put in their request views.
     *
     * @return the client's verified certificate as rules read it ({@link
     *     ClientIdentity#toClientCertificate()}), or {@code null} when it presented none: what the engines
     *     put in their request views
     */
    public ClientCertificate clientCertificate() {
        return clientCertificate;
    }

    @Override
    public String toString() {
        return "TlsInfo{sni=" + serverName + ", alpn=" + applicationProtocol + ", " + protocol + ", " + cipherSuite
                + clientIdentity.map(id -> ", client " + id.subjectDn()).orElse("") + "}";
    }
}
