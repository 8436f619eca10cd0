package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.TlsTestSupport.ascii;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.testing.Stderr;
import io.lodestone.l4.TlsTestSupport.TlsEchoServer;
import io.lodestone.tls.ClientTls;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.pkitesting.X509Bundle;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Backend TLS in the TCP engine: plaintext clients, TLS to the server (verified), relayed both ways. */
class TcpBackendTlsTest {

    private Proxy proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    /**
     * A backend with TLS and the PROXY protocol sends the header in clear before its ClientHello, as
     * HAProxy's {@code ssl send-proxy} does and as a server with {@code accept-proxy ssl} (nginx's
     * {@code listen ... ssl proxy_protocol}) reads it; the header went inside the TLS session before.
     */
    @Test
    void theProxyHeaderGoesInClearBeforeTheClientHello() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("echo.test").build();
            proxy = Sockets.startProxy(Backend.named("b").server("s", "127.0.0.1:" + server.getLocalPort()).tls(tls)
                    .proxyProtocol(ProxyProtocol.V1), TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"));
            try (Socket c = connect(proxy.port()); Socket s = server.accept()) {
                s.setSoTimeout(5000);
                String line = "PROXY TCP4 127.0.0.1 127.0.0.1 " + c.getLocalPort() + " " + proxy.port() + "\r\n";
                byte[] head = Sockets.readExactly(s.getInputStream(), line.length() + 1);
                assertThat(new String(head, 0, line.length(), StandardCharsets.US_ASCII)).isEqualTo(line);
                assertThat(head[line.length()]).as("a TLS handshake record follows").isEqualTo((byte) 0x16);
            }
        }
    }

    @Test
    void plaintextClientsReachAVerifiedTlsServer() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        try (TlsEchoServer echo = new TlsEchoServer(TlsTestSupport.server(ca, "echo.test"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("echo.test").build();
            proxy = Sockets.startProxy(Backend.named("echo").server("e1", echo.address()).tls(tls),
                    TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
            try (Socket s = connect(proxy.port())) {
                assertEcho(s, "hello over tls\n");
                assertEcho(s, "and again\n");
            }
            assertThat(echo.accepted).hasValue(1);
        }
    }

    /**
     * A client's FIN reaches a server spoken to over TLS as a bare FIN, and the server's answer after it
     * is relayed, with either provider on the proxy's side. (A {@code close_notify} first would be the
     * cleaner end, but Netty's OpenSSL engine in client mode then drops the answer: see the README.)
     */
    @ParameterizedTest
    @EnumSource(names = {"JDK", "OPENSSL"})
    void aClientsFinReachesATlsServerAsAFinAndTheAnswerAfterItIsRelayed(TlsProvider provider) throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        try (HalfCloseTlsServer server = new HalfCloseTlsServer(TlsTestSupport.server(ca, "echo.test"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("echo.test")
                    .provider(provider).protocols("TLSv1.3").build();
            proxy = Sockets.startProxy(Backend.named("echo").server("e1", server.address()).tls(tls),
                    TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
            try (Socket s = connect(proxy.port())) {
                s.getOutputStream().write(ascii("question"));
                s.shutdownOutput();
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("answer to question");
            }
            assertThat(server.ended.get(5, TimeUnit.SECONDS)).isEqualTo("FIN");
        }
    }

    @Test
    void anUntrustedServerIsAFailedConnectionAndTheClientIsClosed() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        X509Bundle other = TlsTestSupport.ca();
        try (TlsEchoServer echo = new TlsEchoServer(TlsTestSupport.server(other, "echo.test"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("echo.test").build();
            proxy = Sockets.startProxy(Backend.named("echo").server("e1", echo.address()).tls(tls).retries(0),
                    TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
            try (Socket s = connect(proxy.port())) {
                s.getOutputStream().write("never relayed\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                assertThat(isClosedByPeer(s)).isTrue();
            }
            assertThat(proxy.control().server("echo", "e1").status().failures()).isPositive();
        }
    }

    /**
     * A failed handshake is logged once, by the proxy, with its reason, however many connections fail
     * within the throttle's interval. Netty logged each one too, unthrottled, as an exception that
     * reached the tail of the server connection's pipeline (only the TLS handler is there before the
     * relay is added), with a stack trace and OpenSSL's "General OpenSslEngine problem".
     */
    @Test
    void aFailedHandshakeIsLoggedOnceWithItsReasonAndNotByNettyAtEveryConnection() throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        X509Bundle other = TlsTestSupport.ca();
        try (TlsEchoServer echo = new TlsEchoServer(TlsTestSupport.server(other, "echo.test"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("echo.test").build();
            proxy = Sockets.startProxy(Backend.named("echo").server("e1", echo.address()).tls(tls).retries(0),
                    TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
            String log = Stderr.of(() -> {
                for (int i = 0; i < 3; i++) {
                    try (Socket s = connect(proxy.port())) {
                        assertThat(isClosedByPeer(s)).isTrue();
                    }
                }
                proxy.close();
            });
            assertThat(log).containsOnlyOnce("WARN io.lodestone.core.internal.BackendHandshake - TLS handshake with server "
                    + echo.address() + " failed: the server's certificate is not trusted")
                    .doesNotContain("reached at the tail of the pipeline");
        }
    }

    /**
     * A TLS 1.3 server that requires a client certificate the proxy does not have refuses it only after
     * the proxy's side of the handshake is done (TLS 1.3 sends the client's certificate last): the
     * client is closed, and the server's alert is logged at WARN with its reason, as a failed handshake
     * is. It was logged at DEBUG only, as a server reset ({@code SD}) with no reason.
     */
    @ParameterizedTest
    @EnumSource(names = {"JDK", "OPENSSL"})
    void aServerAlertAfterTheHandshakeIsLoggedWithItsReason(TlsProvider provider) throws Exception {
        X509Bundle ca = TlsTestSupport.ca();
        X509Bundle certificate = TlsTestSupport.server(ca, "echo.test");
        ServerTls requiring = ServerTls.builder().protocols("TLSv1.3")
                .certificate(TlsCertificate.of(certificate.getKeyPair().getPrivate(), Arrays.asList(certificate.getCertificatePath())))
                .clientAuth(io.lodestone.tls.ClientAuth.REQUIRED, List.of(ca.getCertificate()))
                .build();
        try (TlsTestSupport.TlsTestServer server = new TlsTestSupport.TlsTestServer(requiring, false) {
            @Override
            ChannelHandler handler() {
                return new ChannelInboundHandlerAdapter() {
                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close();
                    }
                };
            }
        }) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("echo.test")
                    .provider(provider).build();
            proxy = Sockets.startProxy(Backend.named("echo").server("e1", server.address()).tls(tls).retries(0),
                    TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
            String log = Stderr.of(() -> {
                try (Socket s = connect(proxy.port())) {
                    s.getOutputStream().write(ascii("never answered\n"));
                    assertThat(isClosedByPeer(s)).isTrue();
                }
            });
            assertThat(log).contains("WARN io.lodestone.core.internal.BackendHandshake - TLS with server "
                    + server.address() + " failed after the handshake: ").containsIgnoringCase("certificate_required");
        }
    }

    /**
     * A TLS 1.3 server (JDK provider, which may send after a close_notify) for one connection that
     * reads the request to its end, notes how it ended ({@code close_notify} or a bare {@code FIN}),
     * then answers and closes.
     */
    private static final class HalfCloseTlsServer extends TlsTestSupport.TlsTestServer {
        final CompletableFuture<String> ended = new CompletableFuture<>();

        HalfCloseTlsServer(X509Bundle certificate) {
            super(ServerTls.builder().provider(TlsProvider.JDK).protocols("TLSv1.3")
                    .certificate(TlsCertificate.of(certificate.getKeyPair().getPrivate(),
                            Arrays.asList(certificate.getCertificatePath())))
                    .build(), true);
        }

        @Override
        ChannelHandler handler() {
            return new ChannelInboundHandlerAdapter() {
                private final StringBuilder request = new StringBuilder();

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf buf = (ByteBuf) msg;
                    request.append(buf.toString(StandardCharsets.US_ASCII));
                    buf.release();
                }

                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    String end = evt instanceof SslCloseCompletionEvent close && close.isSuccess() ? "close_notify"
                            : evt instanceof ChannelInputShutdownEvent ? "FIN" : null;
                    if (end != null && ended.complete(end)) {
                        ctx.writeAndFlush(Unpooled.copiedBuffer("answer to " + request, StandardCharsets.US_ASCII))
                                .addListener(ChannelFutureListener.CLOSE);
                    }
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    ended.completeExceptionally(cause);
                    ctx.close();
                }
            };
        }
    }
}
