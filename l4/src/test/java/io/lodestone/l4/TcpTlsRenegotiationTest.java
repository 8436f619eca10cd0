package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.pkitesting.X509Bundle;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A TLS-terminating TCP frontend closes a TLS 1.2 connection whose client asks for a renegotiation,
 * with either provider, and goes on relaying for other clients.
 */
class TcpTlsRenegotiationTest {

    private static X509Bundle ca;
    private static X509Bundle certificate;

    @BeforeAll
    static void certificates() throws Exception {
        ca = TlsTestSupport.ca();
        certificate = TlsTestSupport.server(ca, "proxy.example");
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void clientRenegotiationClosesTheConnection(TlsProvider provider) throws Exception {
        try (TcpEchoServer echo = TcpEchoServer.start();
                ServerTls tls = ServerTls.builder().provider(provider)
                        .certificate(TlsCertificate.of(certificate.getKeyPair().getPrivate(),
                                Arrays.asList(certificate.getCertificatePath())))
                        .build();
                Proxy proxy = Proxy.builder()
                        .backend(Backend.named("echo").server("e1", echo.address()))
                        .frontend(TcpFrontend.bind("127.0.0.1:0").name("tls").tls(tls).defaultBackend("echo"))
                        .build()) {
            proxy.start();
            SSLContext client = TlsTestSupport.clientContext(ca);
            try (SSLSocket s = TlsTestSupport.connect(client, proxy.port(), null, "TLSv1.2")) {
                assertThat(echo(s, "before")).isEqualTo("before");
                assertThatThrownBy(() -> {
                    s.startHandshake();
                    echo(s, "after");
                }).isInstanceOf(IOException.class).isNotInstanceOf(SocketTimeoutException.class);
            }
            try (SSLSocket other = TlsTestSupport.connect(client, proxy.port(), null, "TLSv1.2")) {
                assertThat(echo(other, "other")).isEqualTo("other");
            }
        }
    }

    private static String echo(SSLSocket s, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.US_ASCII);
        s.getOutputStream().write(out);
        s.getOutputStream().flush();
        byte[] in = s.getInputStream().readNBytes(out.length);
        if (in.length != out.length) {
            throw new EOFException("closed after " + in.length + " bytes of the echo");
        }
        return new String(in, StandardCharsets.US_ASCII);
    }
}
