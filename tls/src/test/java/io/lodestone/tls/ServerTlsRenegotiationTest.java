package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.handler.ssl.OpenSsl;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A TLS 1.2 client that asks for a second handshake on an established connection (client-initiated
 * renegotiation, a handshake's CPU cost that no connection limit sees) is refused with either provider,
 * as HAProxy, nginx and Envoy refuse it. OpenSSL's engine refuses it itself; the JDK's accepted it
 * (unless {@code jdk.tls.rejectClientInitiatedRenegotiation} is set for the whole JVM) until the
 * provider's handler got a guard in front.
 */
class ServerTlsRenegotiationTest {

    @TempDir
    static Path dir;

    static X509Bundle ca;
    static X509Bundle cert;

    @BeforeAll
    static void certificates() throws Exception {
        ca = Pki.ca("Reneg CA");
        cert = Pki.server(ca, "reneg.test");
    }

    @ParameterizedTest
    @EnumSource(value = TlsProvider.class, names = {"OPENSSL", "JDK"})
    void clientInitiatedRenegotiationIsRefused(TlsProvider provider) throws Exception {
        assumeTrue(provider != TlsProvider.OPENSSL || OpenSsl.isAvailable(), "OpenSSL not available");
        ServerTls tls = ServerTls.builder().provider(provider).certificate(Pki.pem(dir, "r-" + provider, cert)).build();
        try (TlsServerFixture server = new TlsServerFixture(tls);
                SSLSocket s = JdkClient.connectWithProtocol(JdkClient.context(ca, null), server.port(), null, "TLSv1.2")) {
            assertThat(JdkClient.echo(s, "before")).isEqualTo("before");
            assertThat(server.nextHandshake().protocol()).isEqualTo("TLSv1.2");
            // many records, split over many reads: application data passes
            String bulk = "0123456789abcdef".repeat(10_000);
            assertThat(JdkClient.echo(s, bulk)).isEqualTo(bulk);
            assertThatThrownBy(() -> {
                s.startHandshake();
                JdkClient.echo(s, "after");
            }).isInstanceOf(IOException.class).isNotInstanceOf(SocketTimeoutException.class);
        }
    }
}
