package io.lodestone.tls;

import io.lodestone.core.BackendTls;
import io.lodestone.core.Clock;
import io.lodestone.tls.internal.KeyMaterial;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.NetUtil;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import org.slf4j.LoggerFactory;

/**
 * TLS from the proxy to a backend (re-encryption): verifies the server's certificate against trust
 * anchors (the JDK's by default) and its host name, sends SNI, presents a client certificate when
 * the server asks for one, and optionally offers ALPN.
 *
 * <pre>{@code
 * ClientTls tls = ClientTls.builder()
 *     .trust(Path.of("backend-ca.pem"))
 *     .clientCertificate(TlsCertificate.pem(Path.of("proxy.crt"), Path.of("proxy.key")))
 *     .build();
 *
 * Backend api = Backend.named("api").server("a1", "api.internal:8443").tls(tls).build();
 * }</pre>
 *
 * <p>It is the {@link BackendTls} of {@link io.lodestone.core.Backend.Builder#tls(BackendTls)}.
 *
 * <p>Defaults: TLS 1.3 and 1.2, modern cipher suites, host name verification on, SNI from the host
 * passed to {@link #newHandler}, {@link TlsProvider#AUTO}, no client certificate, no ALPN.
 */
public final class ClientTls implements BackendTls {

    private static final List<String> HTTP1_ONLY = List.of("http/1.1");

    private final TlsOptions options;
    private final Trust trust;
    private final boolean insecure;
    private final boolean verifyHostname;
    private final String serverName;
    private final TlsCertificate clientCertificate;
    private final TlsProvider provider;
    private final long handshakeTimeoutMillis;
    private volatile Contexts contexts;

    /**
     * The context of the connections, and that of the connections that speak HTTP/1.1 (ALPN
     * {@code http/1.1} alone when ALPN is on; the same one otherwise), loaded together.
     */
    private record Contexts(SslContext any, SslContext http1) {
    }

    private ClientTls(Builder b) {
        this.options = b.options.copy();
        this.trust = b.trust;
        this.insecure = b.insecure;
        this.verifyHostname = b.verifyHostname && !b.insecure;
        this.serverName = b.serverName;
        this.clientCertificate = b.clientCertificate;
        this.provider = options.resolvedProvider();
        this.handshakeTimeoutMillis = options.handshakeTimeout.toMillis();
        this.contexts = load();
    }

    /** {@return a new builder} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the handler for a new backend connection, to put first in its pipeline. {@code host} is
     * the name the certificate must carry and the SNI sent (unless {@link Builder#serverName} overrides
     * both), an absolute name's trailing dot left out of SNI; an IP literal is checked against the
     * certificate's IP addresses and sends no SNI.
     */
    @Override
    public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        return newHandler(contexts.any(), alloc, host, port);
    }

    /**
     * As {@link #newHandler}, for a connection that speaks HTTP/1.1 (an HTTP/1.1 backend of the L7
     * engine, the HTTP health check): when ALPN is on, it offers {@code http/1.1} alone, whatever
     * {@link Builder#alpn} lists, so that a server that speaks HTTP/2 too does not choose {@code h2}.
     */
    @Override
    public SslHandler newHttp1Handler(ByteBufAllocator alloc, String host, int port) {
        return newHandler(contexts.http1(), alloc, host, port);
    }

    private SslHandler newHandler(SslContext context, ByteBufAllocator alloc, String host, int port) {
        Objects.requireNonNull(alloc, "alloc");
        String peer = serverName != null ? serverName : Objects.requireNonNull(host, "host");
        SslHandler h = context.newHandler(alloc, peer, port);
        h.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
        int n = peer.length();
        if (n > 1 && peer.charAt(n - 1) == '.') {
            String name = peer.substring(0, n - 1);
            if (!NetUtil.isValidIpV4Address(name)) {
                sendSni(h.engine(), name);
            }
        } else if (peer.indexOf('.') < 0 && !NetUtil.isValidIpV6Address(peer)) {
            sendSni(h.engine(), peer);
        }
        return h;
    }

    /**
     * Names {@code host} in SNI where the provider would leave it out: a name without a dot
     * ({@code backend}, {@code localhost}), which Netty and the JDK do not send as RFC 6066 asks for a
     * fully qualified name, though a server that chooses its certificate by SNI needs the short name
     * too; and an absolute name without its trailing dot ({@code api.internal.} as {@code api.internal}),
     * which the JDK sends so and Netty's OpenSSL engine not at all. A name SNI cannot carry (an
     * underscore) goes without, as before.
     */
    private static void sendSni(SSLEngine engine, String host) {
        SNIHostName name;
        try {
            name = new SNIHostName(host);
        } catch (IllegalArgumentException notAHostName) {
            return;
        }
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(name));
        engine.setSSLParameters(parameters);
    }

    /** {@return the provider in use: {@link TlsProvider#OPENSSL} or {@link TlsProvider#JDK}, never AUTO} */
    public TlsProvider provider() {
        return provider;
    }

    /** The ALPN protocols offered, in preference order; empty when ALPN is off. */
    @Override
    public List<String> applicationProtocols() {
        return options.alpn;
    }

    /**
     * Reads the trust and client certificate files again; connections made afterwards use them.
     *
     * @throws IllegalArgumentException when something is invalid; the current settings stay
     */
    public synchronized void reload() {
        this.contexts = load();
    }

    /**
     * Reads the files once and builds both contexts; warns about a client certificate that is expired
     * or not valid yet, which a server verifying it would refuse.
     */
    private Contexts load() {
        X509Certificate[] anchors = insecure ? null : trust.load("trust");
        KeyMaterial.Loaded client = null;
        if (clientCertificate != null) {
            client = clientCertificate.load();
            String problem = KeyMaterial.validityProblem(client.leaf(), Clock.system().currentTimeMillis());
            if (problem != null) {
                LoggerFactory.getLogger(ClientTls.class).warn("TLS client certificate from {}: {}", clientCertificate.source(), problem);
            }
        }
        SslContext any = build(options.alpn, anchors, client);
        boolean http1Only = options.alpn.isEmpty() || options.alpn.equals(HTTP1_ONLY);
        return new Contexts(any, http1Only ? any : build(HTTP1_ONLY, anchors, client));
    }

    private SslContext build(List<String> alpn, X509Certificate[] anchors, KeyMaterial.Loaded client) {
        SslContextBuilder b = SslContextBuilder.forClient();
        TlsOptions o = options.copy();
        o.alpn = alpn;
        o.apply(b, provider);
        if (insecure) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else if (anchors != null) {
            b.trustManager(anchors);
        }
        b.endpointIdentificationAlgorithm(verifyHostname ? "HTTPS" : null);
        if (client != null) {
            b.keyManager(client.key(), client.chain());
        }
        try {
            return b.build();
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("clientTls: cannot build a TLS context (" + e.getMessage() + ")", e);
        }
    }

    /** Collects the settings of a {@link ClientTls}; setters check their argument, {@link #build()} the whole. */
    public static final class Builder {
        private final TlsOptions options = new TlsOptions();
        private Trust trust = Trust.JDK_DEFAULT;
        private boolean insecure;
        private boolean verifyHostname = true;
        private String serverName;
        private TlsCertificate clientCertificate;

        Builder() {
        }

        /**
         * Trusts the CA certificates of this PEM file instead of the JDK's default trust store.
         *
         * @param caPem a PEM file of CA certificates
         * @return this builder
         */
        public Builder trust(Path caPem) {
            this.trust = Trust.file("trust", caPem);
            this.insecure = false;
            return this;
        }

        /**
         * Trusts these CA certificates instead of the JDK's default trust store.
         *
         * @param cas the CA certificates
         * @return this builder
         */
        public Builder trust(List<X509Certificate> cas) {
            this.trust = Trust.certificates("trust", cas);
            this.insecure = false;
            return this;
        }

        /**
         * Accepts any server certificate without verification (HAProxy's {@code verify none}): the
         * connection is encrypted but not authenticated, so anyone on the path can read it. Also turns
         * host name verification off.
         *
         * @return this builder
         */
        public Builder insecureTrustAll() {
            this.insecure = true;
            return this;
        }

        /**
         * Whether the server certificate must carry the host name connected to; on by default.
         *
         * @param verify whether to verify the server's host name
         * @return this builder
         */
        public Builder verifyHostname(boolean verify) {
            this.verifyHostname = verify;
            return this;
        }

        /**
         * The name to send in SNI and to verify, instead of the host each connection is made to.
         *
         * @param serverName the name
         * @return this builder
         */
        public Builder serverName(String serverName) {
            Objects.requireNonNull(serverName, "serverName");
            if (serverName.isBlank() || serverName.indexOf(' ') >= 0) {
                throw new IllegalArgumentException("serverName: '" + serverName + "' (expected: a host name)");
            }
            this.serverName = serverName;
            return this;
        }

        /**
         * The certificate to present when the server asks for one; one that is expired or not valid yet is
         * logged at WARN.
         *
         * @param certificate the certificate and key
         * @return this builder
         */
        public Builder clientCertificate(TlsCertificate certificate) {
            this.clientCertificate = Objects.requireNonNull(certificate, "clientCertificate");
            return this;
        }

        /**
         * The ALPN protocols to offer, in preference order, e.g. {@code "h2", "http/1.1"}: by the L4
         * engine's connections and an {@link io.lodestone.core.BackendProtocol#H2} backend's. Those that
         * speak HTTP/1.1 (an HTTP/1.1 backend's, the HTTP health check's) offer {@code http/1.1} alone
         * (see {@link ClientTls#newHttp1Handler}).
         *
         * @param protocols ALPN protocol ids, in preference order
         * @return this builder
         */
        public Builder alpn(String... protocols) {
            options.alpn = TlsOptions.checkAlpn(protocols);
            return this;
        }

        /**
         * The TLS versions allowed: {@code TLSv1.3}, {@code TLSv1.2}, {@code TLSv1.1}, {@code TLSv1}.
         *
         * @param protocols TLS protocol versions
         * @return this builder
         */
        public Builder protocols(String... protocols) {
            options.protocols = TlsOptions.checkProtocols(protocols);
            return this;
        }

        /**
         * The cipher suites allowed (standard names); checked against the provider at build time.
         *
         * @param ciphers cipher suites
         * @return this builder
         */
        public Builder ciphers(String... ciphers) {
            options.ciphers = TlsOptions.checkCiphers(ciphers);
            return this;
        }

        /**
         * The TLS implementation; {@link TlsProvider#AUTO} by default.
         *
         * @param provider the provider
         * @return this builder
         */
        public Builder provider(TlsProvider provider) {
            options.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /**
         * How long the handshake may take; 10 seconds by default. A backend's connect timeout bounds it
         * too, from the start of the TCP connect, when that ends first.
         *
         * @param timeout the handshake timeout
         * @return this builder
         * @throws IllegalArgumentException when null, zero, negative or longer than 36,500 days
         */
        public Builder handshakeTimeout(Duration timeout) {
            options.handshakeTimeout = TlsOptions.checkTimeout("handshakeTimeout", timeout);
            return this;
        }

        /**
         * Reads and checks every file and returns the client TLS configuration.
         *
         * @return the client TLS configuration
         * @throws IllegalArgumentException naming the field and value of the first problem found
         */
        public ClientTls build() {
            return new ClientTls(this);
        }
    }
}
