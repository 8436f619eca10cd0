package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Real handshakes over 127.0.0.1 against {@link ServerTls}, with each provider. */
class ServerTlsHandshakeTest {

    @TempDir
    static Path dir;

    static X509Bundle ca;
    static X509Bundle defaultCert;
    static X509Bundle apiCert;
    static X509Bundle wildcardCert;
    static X509Bundle shopCert;
    static X509Bundle clientCa;
    static X509Bundle alice;

    @BeforeAll
    static void certificates() throws Exception {
        ca = Pki.ca("Test CA");
        defaultCert = Pki.server(ca, "default.test");
        apiCert = Pki.server(ca, "api.example.com");
        wildcardCert = Pki.server(ca, "*.example.com");
        shopCert = Pki.server(ca, "shop-cert.test");
        clientCa = Pki.ca("Client CA");
        alice = Pki.client(clientCa, "alice");
    }

    /** A fresh client context: no session of an earlier test connection gets resumed. */
    static SSLContext client() throws Exception {
        return JdkClient.context(ca, null);
    }

    static void assumeProvider(TlsProvider provider) {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable(), "OpenSSL not available");
    }

    @Test
    void autoUsesOpenSslWhenItLoads() throws Exception {
        ServerTls tls = ServerTls.builder().certificate(Pki.pem(dir, "auto", defaultCert)).build();
        assertThat(tls.provider()).isEqualTo(OpenSsl.isAvailable() ? TlsProvider.OPENSSL : TlsProvider.JDK);
        assertThat(OpenSsl.isAvailable()).as("netty-tcnative-boringssl-static loads on this machine").isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void jdkClientHandshakesWithTls13AndEchoes(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider).certificate(Pki.pem(dir, "d-" + provider, defaultCert)).build();
        try (TlsServerFixture server = new TlsServerFixture(tls);
                SSLSocket s = JdkClient.connect(client(), server.port(), null)) {
            assertThat(JdkClient.peer(s)).isEqualTo(defaultCert.getCertificate());
            assertThat(JdkClient.echo(s, "hello")).isEqualTo("hello");
            TlsInfo info = server.nextHandshake();
            assertThat(info.protocol()).isEqualTo("TLSv1.3");
            assertThat(info.serverName()).isNull();
            assertThat(info.applicationProtocol()).isNull();
            assertThat(info.clientIdentity()).isEmpty();
            assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void sniPicksExactWildcardOrDefaultCertificate(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider)
                .certificate(Pki.pem(dir, "default-" + provider, defaultCert))
                .certificate(Pki.pem(dir, "api-" + provider, apiCert))
                .certificate(Pki.pem(dir, "wild-" + provider, wildcardCert))
                .certificate(Pki.pem(dir, "shop-" + provider, shopCert), "shop.test", "*.shop.test")
                .build();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            assertPresented(server, "api.example.com", apiCert);
            assertPresented(server, "API.Example.COM", apiCert);
            assertPresented(server, "www.example.com", wildcardCert);
            assertPresented(server, "a.b.example.com", defaultCert);
            assertPresented(server, "example.com", defaultCert);
            assertPresented(server, "shop.test", shopCert);
            assertPresented(server, "eu.shop.test", shopCert);
            assertPresented(server, "shop-cert.test", defaultCert);
            assertPresented(server, "unknown.test", defaultCert);
            assertPresented(server, null, defaultCert);
        }
        assertThat(tls.certificateFor("x.example.com")).isEqualTo(wildcardCert.getCertificate());
        assertThat(tls.certificateFor(null)).isEqualTo(defaultCert.getCertificate());
    }

    private static void assertPresented(TlsServerFixture server, String sni, X509Bundle expected) throws Exception {
        try (SSLSocket s = JdkClient.connect(client(), server.port(), sni)) {
            assertThat(JdkClient.peer(s).getSubjectX500Principal())
                    .as("certificate for SNI %s", sni)
                    .isEqualTo(expected.getCertificate().getSubjectX500Principal());
            assertThat(JdkClient.echo(s, "x")).isEqualTo("x");
        }
        assertThat(server.nextHandshake().serverName()).isEqualTo(sni == null ? null : sni.toLowerCase());
    }

    /**
     * An absolute name with its trailing dot ({@code API.example.com.}, which {@code openssl s_client
     * -servername} sends as given; the JDK client refuses to) is the same name: it gets that name's
     * certificate and rules read it without the dot, as the ClientHello peek of passthrough reads it.
     * OpenSSL only: the JDK's engine refuses such a ClientHello itself ({@code illegal_parameter}).
     */
    @Test
    void sniWithATrailingDotSelectsTheNamesCertificate() throws Exception {
        TlsProvider provider = TlsProvider.OPENSSL;
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider)
                .certificate(Pki.pem(dir, "dot-default-" + provider, defaultCert))
                .certificate(Pki.pem(dir, "dot-api-" + provider, apiCert))
                .certificate(Pki.pem(dir, "dot-wild-" + provider, wildcardCert))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            assertThat(OpenSslClient.peerSubject(server.port(), "API.example.com.")).isEqualTo("CN = api.example.com");
            assertThat(server.nextHandshake().serverName()).isEqualTo("api.example.com");
            assertThat(OpenSslClient.peerSubject(server.port(), "www.example.com.")).isEqualTo("CN = *.example.com");
            assertThat(server.nextHandshake().serverName()).isEqualTo("www.example.com");
        }
        assertThat(tls.certificateFor("api.example.com.")).isEqualTo(apiCert.getCertificate());
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void alpnNegotiatesH2OrHttp11(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider).alpn("h2", "http/1.1")
                .certificate(Pki.pem(dir, "alpn-" + provider, defaultCert)).build();
        assertThat(tls.applicationProtocols()).containsExactly("h2", "http/1.1");
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            try (SSLSocket s = JdkClient.connect(client(), server.port(), "default.test", "h2", "http/1.1")) {
                assertThat(s.getApplicationProtocol()).isEqualTo("h2");
                assertThat(server.nextHandshake().applicationProtocol()).isEqualTo("h2");
            }
            try (SSLSocket s = JdkClient.connect(client(), server.port(), "default.test", "http/1.1")) {
                assertThat(s.getApplicationProtocol()).isEqualTo("http/1.1");
                assertThat(server.nextHandshake().applicationProtocol()).isEqualTo("http/1.1");
            }
            // the server's order wins over the client's
            try (SSLSocket s = JdkClient.connect(client(), server.port(), "default.test", "http/1.1", "h2")) {
                assertThat(s.getApplicationProtocol()).isEqualTo("h2");
                assertThat(server.nextHandshake().applicationProtocol()).isEqualTo("h2");
            }
            // nothing in common: no protocol, and the handshake goes on
            try (SSLSocket s = JdkClient.connect(client(), server.port(), "default.test", "spdy/3")) {
                assertThat(s.getApplicationProtocol()).isEmpty();
                assertThat(JdkClient.echo(s, "x")).isEqualTo("x");
                assertThat(server.nextHandshake().applicationProtocol()).isNull();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void requiredClientCertificateRefusesClientWithoutOneAndExposesIdentity(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider)
                .certificate(Pki.pem(dir, "mtls-" + provider, defaultCert))
                .clientAuth(ClientAuth.REQUIRED, Pki.caFile(dir, "clients-" + provider, clientCa))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            assertThatThrownBy(() -> {
                try (SSLSocket s = JdkClient.connect(client(), server.port(), null)) {
                    JdkClient.echo(s, "no cert");
                }
            }).isInstanceOf(IOException.class);
            assertThat(server.nextFailure()).isNotNull();

            X509Bundle mallory = Pki.client(Pki.ca("Rogue CA"), "mallory");
            assertThatThrownBy(() -> {
                try (SSLSocket s = JdkClient.connect(JdkClient.context(ca, mallory), server.port(), null)) {
                    JdkClient.echo(s, "untrusted cert");
                }
            }).isInstanceOf(IOException.class);
            assertThat(server.nextFailure()).isNotNull();

            try (SSLSocket s = JdkClient.connect(JdkClient.context(ca, alice), server.port(), null)) {
                assertThat(JdkClient.echo(s, "with cert")).isEqualTo("with cert");
                ClientIdentity id = server.nextHandshake().clientIdentity().orElseThrow();
                assertThat(id.subjectDn()).isEqualTo("CN=alice,O=Clients");
                assertThat(id.commonName()).isEqualTo("alice");
                assertThat(id.issuerDn()).isEqualTo("CN=Client CA,O=Lodestone Test");
                assertThat(id.dnsNames()).containsExactly("alice.clients.test");
                assertThat(id.uris()).containsExactly("spiffe://test/alice");
                assertThat(id.toHeaders())
                        .containsEntry(ClientIdentity.HEADER_SUBJECT, "CN=alice,O=Clients")
                        .containsEntry(ClientIdentity.HEADER_CN, "alice")
                        .containsEntry(ClientIdentity.HEADER_SAN, "DNS:alice.clients.test, URI:spiffe://test/alice")
                        .containsKey(ClientIdentity.HEADER_FINGERPRINT)
                        .doesNotContainKey(ClientIdentity.HEADER_VERIFY);
                assertThat(id.toClientCertificate().commonName()).isEqualTo("alice");
                assertThat(id.toClientCertificate().subjectAltNames()).containsExactly("alice.clients.test", "spiffe://test/alice");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void optionalClientCertificateLetsClientWithoutOneIn(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider)
                .certificate(Pki.pem(dir, "opt-" + provider, defaultCert))
                .clientAuth(ClientAuth.OPTIONAL, List.of(clientCa.getCertificate()))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            try (SSLSocket s = JdkClient.connect(client(), server.port(), null)) {
                assertThat(JdkClient.echo(s, "anonymous")).isEqualTo("anonymous");
                assertThat(server.nextHandshake().clientIdentity()).isEmpty();
            }
            try (SSLSocket s = JdkClient.connect(JdkClient.context(ca, alice), server.port(), null)) {
                assertThat(JdkClient.echo(s, "alice")).isEqualTo("alice");
                assertThat(server.nextHandshake().clientIdentity()).map(ClientIdentity::commonName).contains("alice");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void reloadServesNewCertificateToNewConnectionsWhileOpenOneContinues(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        X509Bundle v1 = Pki.server(ca, "reload.test");
        X509Bundle v2 = Pki.server(ca, "reload.test");
        Path crt = dir.resolve("reload-" + provider + ".crt");
        Path key = dir.resolve("reload-" + provider + ".key");
        Pki.writePem(crt, key, v1);
        ServerTls tls = ServerTls.builder().provider(provider).certificate(TlsCertificate.pem(crt, key)).build();
        try (TlsServerFixture server = new TlsServerFixture(tls);
                SSLSocket open = JdkClient.connect(client(), server.port(), "reload.test")) {
            assertThat(JdkClient.peer(open)).isEqualTo(v1.getCertificate());
            assertThat(JdkClient.echo(open, "before")).isEqualTo("before");

            Pki.writePem(crt, key, v2);
            tls.reload();

            try (SSLSocket fresh = JdkClient.connect(client(), server.port(), "reload.test")) {
                assertThat(JdkClient.peer(fresh)).isEqualTo(v2.getCertificate());
                assertThat(JdkClient.echo(fresh, "new")).isEqualTo("new");
            }
            assertThat(JdkClient.echo(open, "after reload")).isEqualTo("after reload");
            assertThat(JdkClient.peer(open)).isEqualTo(v1.getCertificate());
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void aReturningClientResumesItsSession(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        ServerTls tls = ServerTls.builder().provider(provider).certificate(Pki.pem(dir, "resume-" + provider, defaultCert)).build();
        SSLContext client = client();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            byte[] first;
            long created;
            try (SSLSocket s = JdkClient.connectWithProtocol(client, server.port(), "default.test", "TLSv1.2")) {
                assertThat(JdkClient.echo(s, "one")).isEqualTo("one");
                first = s.getSession().getId();
                created = s.getSession().getCreationTime();
            }
            try (SSLSocket s = JdkClient.connectWithProtocol(client, server.port(), "default.test", "TLSv1.2")) {
                assertThat(JdkClient.echo(s, "two")).isEqualTo("two");
                assertThat(s.getSession().getId()).isNotEmpty().isEqualTo(first);
                assertThat(s.getSession().getCreationTime()).isEqualTo(created);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void tls10And11AreRefusedByDefault(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        assumeTrue(OpenSsl.isAvailable(), "the old-protocol client needs OpenSSL");
        ServerTls tls = ServerTls.builder().provider(provider).certificate(Pki.pem(dir, "old-" + provider, defaultCert)).build();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            for (String old : List.of("TLSv1", "TLSv1.1")) {
                Throwable failure = nettyHandshake(server.port(), old);
                assertThat(failure).as("handshake with %s", old).isNotNull();
                assertThat(server.nextFailure()).isNotNull();
            }
            assertThat(nettyHandshake(server.port(), "TLSv1.2")).as("control: TLS 1.2").isNull();
            assertThat(server.nextHandshake().protocol()).isEqualTo("TLSv1.2");
        }
    }

    /** A BoringSSL client limited to one protocol version; returns the handshake failure or null. */
    private static Throwable nettyHandshake(int port, String protocol) throws Exception {
        SslContext ctx = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
                .protocols(protocol)
                .ciphers(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"))
                .trustManager(InsecureTrustManagerFactory.INSTANCE).build();
        io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
                io.netty.channel.nio.NioIoHandler.newFactory());
        java.util.concurrent.atomic.AtomicReference<SslHandler> created = new java.util.concurrent.atomic.AtomicReference<>();
        try {
            Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            SslHandler handler = ctx.newHandler(c.alloc(), "default.test", port);
                            created.set(handler);
                            c.pipeline().addLast(handler);
                            c.pipeline().addLast(TlsServerFixture.CLOSE_ON_ERROR);
                        }
                    }).connect("127.0.0.1", port).sync().channel();
            SslHandler ssl = created.get();
            if (!ssl.handshakeFuture().await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("handshake did not finish");
            }
            if (ssl.handshakeFuture().isSuccess()) {
                assertThat(ssl.engine().getSession().getProtocol()).isEqualTo(protocol);
            }
            ch.close().sync();
            return ssl.handshakeFuture().cause();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void encryptedPkcs8AndPkcs12Load(TlsProvider provider) throws Exception {
        assumeProvider(provider);
        X509Bundle enc = Pki.server(ca, "encrypted.test");
        X509Bundle p12 = Pki.server(ca, "p12.test");
        Path crt = dir.resolve("enc-" + provider + ".crt");
        Path key = dir.resolve("enc-" + provider + ".key");
        java.nio.file.Files.writeString(crt, enc.getCertificatePathPEM());
        java.nio.file.Files.writeString(key, EncryptedKeys.pkcs8Pem(enc.getKeyPair().getPrivate(), "s3cret"));
        Path store = p12.toTempKeyStoreFile("storepw".toCharArray()).toPath();
        ServerTls tls = ServerTls.builder().provider(provider)
                .certificate(TlsCertificate.pem(crt, key, "s3cret"))
                .certificate(TlsCertificate.pkcs12(store, "storepw"))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(tls)) {
            try (SSLSocket s = JdkClient.connect(client(), server.port(), "encrypted.test")) {
                assertThat(JdkClient.peer(s)).isEqualTo(enc.getCertificate());
            }
            try (SSLSocket s = JdkClient.connect(client(), server.port(), "p12.test")) {
                X509Certificate peer = JdkClient.peer(s);
                assertThat(peer).isEqualTo(p12.getCertificate());
            }
        }
    }
}
