package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.l4.TlsTestSupport.TlsEchoServer;
import io.lodestone.tls.ClientTls;
import io.netty.pkitesting.X509Bundle;
import java.net.Socket;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Backend TLS in the TCP engine: plaintext clients, TLS to the server (verified), relayed both ways. */
class TcpBackendTlsTest {

    private Proxy proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
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
}
