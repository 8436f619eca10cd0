package io.lodestone.examples.support;

import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** Test certificates from netty-pkitesting, written as PEM files, clients that trust them, and a TLS echo server. */
public final class TestTls {

    private static final Instant NOT_BEFORE = Instant.now().minus(1, ChronoUnit.DAYS);
    private static final Instant NOT_AFTER = Instant.now().plus(30, ChronoUnit.DAYS);

    private TestTls() {
    }

    /** A self-signed test certificate authority. */
    public static X509Bundle ca() throws Exception {
        return new CertificateBuilder().subject("CN=Examples Test CA").ecp256()
                .notBefore(NOT_BEFORE).notAfter(NOT_AFTER).setIsCertificateAuthority(true).buildSelfSigned();
    }

    /** A server certificate for {@code dnsName} and 127.0.0.1, issued by {@code ca}. */
    public static X509Bundle server(X509Bundle ca, String dnsName) throws Exception {
        return new CertificateBuilder().subject("CN=" + dnsName).ecp256().notBefore(NOT_BEFORE).notAfter(NOT_AFTER)
                .addExtendedKeyUsageServerAuth().addSanDnsName(dnsName).addSanIpAddress("127.0.0.1").buildIssuedBy(ca);
    }

    /** Writes the certificate chain and the PKCS#8 key to {@code dir}/{@code name}.crt and .key; returns both paths. */
    public static Path[] writePem(X509Bundle bundle, Path dir, String name) throws IOException {
        Path crt = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        Files.writeString(crt, bundle.getCertificatePathPEM(), StandardCharsets.US_ASCII);
        Files.writeString(key, bundle.getPrivateKeyPEM(), StandardCharsets.US_ASCII);
        return new Path[] {crt, key};
    }

    /** A client context that trusts {@code ca} only. */
    public static SSLContext clientContext(X509Bundle ca) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, ca.toTrustManagerFactory().getTrustManagers(), null);
        return ctx;
    }

    /** Connects to 127.0.0.1:port with a fresh context trusting {@code ca}, sends {@code sni} and completes the handshake. */
    public static SSLSocket connect(X509Bundle ca, int port, String sni) throws Exception {
        SSLSocket s = (SSLSocket) clientContext(ca).getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(5000);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(sni)));
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** The subject of the certificate the server presented. */
    public static String peerName(SSLSocket s) throws IOException {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    /** Writes {@code text} and reads the same number of bytes back. */
    public static String echo(SSLSocket s, String text) throws IOException {
        byte[] sent = text.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(sent);
        s.getOutputStream().flush();
        byte[] back = s.getInputStream().readNBytes(sent.length);
        return new String(back, StandardCharsets.UTF_8);
    }

    /** A Netty server on 127.0.0.1 that terminates TLS with its own certificate and echoes the plaintext. */
    public static final class EchoServer implements AutoCloseable {
        private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        private final ServerTls tls;
        private final Channel server;
        /** Connections accepted. */
        public final AtomicInteger accepted = new AtomicInteger();

        public EchoServer(X509Bundle certificate) {
            this.tls = ServerTls.builder().certificate(TlsCertificate.of(certificate.getKeyPair().getPrivate(),
                    Arrays.asList(certificate.getCertificatePath()))).build();
            this.server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.incrementAndGet();
                            ch.pipeline().addLast(tls.newHandler(), new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ctx.writeAndFlush(msg);
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    })
                    .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        }

        /** 127.0.0.1:PORT. */
        public String hostPort() {
            return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
        }

        @Override
        public void close() {
            server.close().syncUninterruptibly();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            tls.close();
        }
    }
}
