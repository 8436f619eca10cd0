package io.lodestone.l4;

import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** Certificates made with netty-pkitesting, a Netty TLS echo server and a JDK TLS client. */
final class TlsTestSupport {

    private static final Instant NOT_BEFORE = Instant.now().minus(1, ChronoUnit.DAYS);
    private static final Instant NOT_AFTER = Instant.now().plus(30, ChronoUnit.DAYS);

    private TlsTestSupport() {
    }

    static X509Bundle ca() throws Exception {
        return new CertificateBuilder().subject("CN=L4 Test CA").ecp256()
                .notBefore(NOT_BEFORE).notAfter(NOT_AFTER).setIsCertificateAuthority(true).buildSelfSigned();
    }

    static X509Bundle server(X509Bundle ca, String dnsName) throws Exception {
        return new CertificateBuilder().subject("CN=" + dnsName).ecp256().notBefore(NOT_BEFORE).notAfter(NOT_AFTER)
                .addExtendedKeyUsageServerAuth().addSanDnsName(dnsName).buildIssuedBy(ca);
    }

    static ServerTls serverTls(X509Bundle... certificates) {
        ServerTls.Builder b = ServerTls.builder();
        for (X509Bundle c : certificates) {
            b.certificate(TlsCertificate.of(c.getKeyPair().getPrivate(), Arrays.asList(c.getCertificatePath())));
        }
        return b.build();
    }

    static SSLContext clientContext(X509Bundle trustedCa) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, trustedCa.toTrustManagerFactory().getTrustManagers(), null);
        return ctx;
    }

    /** Connects to 127.0.0.1:port, sends SNI (when not null) and completes the handshake. */
    static SSLSocket connect(SSLContext ctx, int port, String sni, String... protocols) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(5000);
        if (protocols.length > 0) {
            s.setEnabledProtocols(protocols);
        }
        SSLParameters p = s.getSSLParameters();
        if (sni != null) {
            p.setServerNames(List.of(new SNIHostName(sni)));
        }
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    static String peerName(SSLSocket s) throws IOException {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    /**
     * A Netty server on 127.0.0.1 that terminates TLS with {@code tls}; each connection is served by a
     * fresh {@link #handler()} after its TLS handler.
     */
    abstract static class TlsTestServer implements AutoCloseable {
        private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        private final ServerTls tls;
        private final Channel server;

        TlsTestServer(ServerTls tls, boolean halfClosure) {
            this.tls = tls;
            this.server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, halfClosure)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(tls.newHandler(), handler());
                        }
                    })
                    .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        }

        /** The handler of a new connection, after its TLS. */
        abstract ChannelHandler handler();

        String address() {
            return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
        }

        @Override
        public void close() {
            server.close().syncUninterruptibly();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            tls.close();
        }
    }

    /** A TLS server with its own certificate that echoes the plaintext. */
    static final class TlsEchoServer extends TlsTestServer {
        final AtomicInteger accepted = new AtomicInteger();

        TlsEchoServer(X509Bundle certificate) {
            super(serverTls(certificate), false);
        }

        @Override
        ChannelHandler handler() {
            accepted.incrementAndGet();
            return new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.writeAndFlush(msg);
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    ctx.close();
                }
            };
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
