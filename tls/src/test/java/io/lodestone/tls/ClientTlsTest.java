package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslHandler;
import io.netty.pkitesting.X509Bundle;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link ClientTls} from a Netty client to a {@link ServerTls} server over 127.0.0.1. */
class ClientTlsTest {

    @TempDir
    static Path dir;

    static EventLoopGroup group;
    static X509Bundle ca;
    static X509Bundle backend;
    static Path caFile;
    static X509Bundle clientCa;
    static X509Bundle proxyCert;

    @BeforeAll
    static void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ca = Pki.ca("Backend CA");
        backend = Pki.server(ca, "backend.test");
        caFile = Pki.caFile(dir, "backend", ca);
        clientCa = Pki.ca("Proxy CA");
        proxyCert = Pki.client(clientCa, "proxy");
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    /** Connects to 127.0.0.1:{@code port} naming {@code host}; returns the handler once the handshake is over. */
    private static SslHandler handshake(ClientTls tls, String host, int port) throws Exception {
        AtomicReference<SslHandler> created = new AtomicReference<>();
        Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        SslHandler handler = tls.newHandler(c.alloc(), host, port);
                        created.set(handler);
                        c.pipeline().addLast("tls", handler);
                        c.pipeline().addLast("close-on-error", TlsServerFixture.CLOSE_ON_ERROR);
                    }
                }).connect("127.0.0.1", port).sync().channel();
        SslHandler ssl = created.get();
        assertThat(ssl.handshakeFuture().await(10, TimeUnit.SECONDS)).as("handshake finished").isTrue();
        ch.close().sync();
        return ssl;
    }

    private static ServerTls server(TlsProvider provider) throws Exception {
        return ServerTls.builder().provider(provider).alpn("h2", "http/1.1")
                .certificate(Pki.pem(dir, "backend-" + provider, backend)).build();
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void verifiesTheServerAndSendsSni(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable());
        ClientTls tls = ClientTls.builder().provider(provider).trust(caFile).alpn("h2").build();
        assertThat(tls.provider()).isEqualTo(provider);
        try (TlsServerFixture server = new TlsServerFixture(server(provider))) {
            SslHandler ssl = handshake(tls, "backend.test", server.port());
            assertThat(ssl.handshakeFuture().isSuccess()).as("%s", ssl.handshakeFuture().cause()).isTrue();
            assertThat(ssl.applicationProtocol()).isEqualTo("h2");
            assertThat((X509Certificate) ssl.engine().getSession().getPeerCertificates()[0])
                    .isEqualTo(backend.getCertificate());
            TlsInfo seen = server.nextHandshake();
            assertThat(seen.serverName()).isEqualTo("backend.test");
            assertThat(seen.applicationProtocol()).isEqualTo("h2");
        }
    }

    /**
     * A host name without a dot (a container's or a cluster's short service name, {@code localhost})
     * is sent as SNI too, as the README has it, and so is one given with {@code serverName}: both
     * providers left SNI out for such a name (Netty and the JDK send only names with a dot), so a
     * server choosing its certificate by SNI answered with its default one.
     */
    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void sendsSniForAHostNameWithoutADot(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable());
        X509Bundle shortName = Pki.server(ca, "backend");
        ServerTls serverTls = ServerTls.builder().provider(provider).alpn("h2", "http/1.1")
                .certificate(Pki.pem(dir, "backend-other-" + provider, Pki.server(ca, "default.test")))
                .certificate(Pki.pem(dir, "backend-short-" + provider, shortName))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(serverTls)) {
            SslHandler byHost = handshake(ClientTls.builder().provider(provider).trust(caFile).alpn("h2").build(),
                    "backend", server.port());
            assertThat(byHost.handshakeFuture().isSuccess()).as("%s", byHost.handshakeFuture().cause()).isTrue();
            assertThat(byHost.applicationProtocol()).isEqualTo("h2");
            assertThat(server.nextHandshake().serverName()).isEqualTo("backend");

            SslHandler byServerName = handshake(ClientTls.builder().provider(provider).trust(caFile)
                    .serverName("backend").build(), "127.0.0.1", server.port());
            assertThat(byServerName.handshakeFuture().isSuccess()).as("%s", byServerName.handshakeFuture().cause()).isTrue();
            assertThat(server.nextHandshake().serverName()).isEqualTo("backend");

            SslHandler byIp = handshake(ClientTls.builder().provider(provider).insecureTrustAll().build(), "::1",
                    server.port());
            assertThat(byIp.handshakeFuture().isSuccess()).isTrue();
            assertThat(server.nextHandshake().serverName()).as("an IPv6 literal sends none").isNull();
        }
    }

    /**
     * An absolute name ({@code backend.test.}, as written to keep a resolver's search domains out) is
     * verified and sent as SNI without its trailing dot, as the JDK provider sends it: Netty's OpenSSL
     * engine sent no SNI at all for it, so a server choosing its certificate by name answered with its
     * default one and the handshake failed on the host name.
     */
    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void sendsSniWithoutTheTrailingDotOfAnAbsoluteName(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable());
        ServerTls serverTls = ServerTls.builder().provider(provider)
                .certificate(Pki.pem(dir, "dot-default-" + provider, Pki.server(ca, "default.test")))
                .certificate(Pki.pem(dir, "dot-backend-" + provider, backend))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(serverTls)) {
            SslHandler byHost = handshake(ClientTls.builder().provider(provider).trust(caFile).build(),
                    "backend.test.", server.port());
            assertThat(byHost.handshakeFuture().isSuccess()).as("%s", byHost.handshakeFuture().cause()).isTrue();
            assertThat(server.nextHandshake().serverName()).isEqualTo("backend.test");

            SslHandler byServerName = handshake(ClientTls.builder().provider(provider).trust(caFile)
                    .serverName("Backend.Test.").build(), "127.0.0.1", server.port());
            assertThat(byServerName.handshakeFuture().isSuccess()).as("%s", byServerName.handshakeFuture().cause()).isTrue();
            assertThat(server.nextHandshake().serverName()).isEqualTo("backend.test");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void rejectsACertificateForAnotherHostUnlessVerificationIsOff(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable());
        try (TlsServerFixture server = new TlsServerFixture(server(provider))) {
            SslHandler wrongHost = handshake(ClientTls.builder().provider(provider).trust(caFile).build(),
                    "other.test", server.port());
            assertThat(wrongHost.handshakeFuture().isSuccess()).isFalse();

            SslHandler unchecked = handshake(ClientTls.builder().provider(provider).trust(caFile)
                    .verifyHostname(false).build(), "other.test", server.port());
            assertThat(unchecked.handshakeFuture().isSuccess()).isTrue();

            SslHandler byServerName = handshake(ClientTls.builder().provider(provider).trust(caFile)
                    .serverName("backend.test").build(), "127.0.0.1", server.port());
            assertThat(byServerName.handshakeFuture().isSuccess()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void rejectsAnUntrustedServer(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable());
        try (TlsServerFixture server = new TlsServerFixture(server(provider))) {
            X509Bundle otherCa = Pki.ca("Other CA");
            SslHandler other = handshake(ClientTls.builder().provider(provider)
                    .trust(List.of(otherCa.getCertificate())).build(), "backend.test", server.port());
            assertThat(other.handshakeFuture().isSuccess()).isFalse();

            SslHandler jdkDefault = handshake(ClientTls.builder().provider(provider).build(), "backend.test", server.port());
            assertThat(jdkDefault.handshakeFuture().isSuccess()).as("test CA is not in the JDK trust store").isFalse();

            SslHandler insecure = handshake(ClientTls.builder().provider(provider).insecureTrustAll().build(),
                    "whatever.test", server.port());
            assertThat(insecure.handshakeFuture().isSuccess()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void presentsItsCertificateWhenTheServerAsks(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable());
        ServerTls mtls = ServerTls.builder().provider(provider)
                .certificate(Pki.pem(dir, "mtls-backend-" + provider, backend))
                .clientAuth(ClientAuth.REQUIRED, List.of(clientCa.getCertificate()))
                .build();
        try (TlsServerFixture server = new TlsServerFixture(mtls)) {
            ClientTls tls = ClientTls.builder().provider(provider).trust(caFile)
                    .clientCertificate(Pki.pem(dir, "proxy-" + provider, proxyCert)).build();
            SslHandler ssl = handshake(tls, "backend.test", server.port());
            assertThat(ssl.handshakeFuture().isSuccess()).as("%s", ssl.handshakeFuture().cause()).isTrue();
            assertThat(server.nextHandshake().clientIdentity()).map(ClientIdentity::commonName).contains("proxy");
        }
    }
}
