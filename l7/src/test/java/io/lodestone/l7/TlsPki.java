package io.lodestone.l7;

import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** Test certificates (netty-pkitesting), server TLS from them and JDK clients that trust the test CA. */
final class TlsPki {

    private static final Instant NOT_BEFORE = Instant.now().minus(1, ChronoUnit.DAYS);
    private static final Instant NOT_AFTER = Instant.now().plus(30, ChronoUnit.DAYS);

    private TlsPki() {
    }

    static X509Bundle ca() throws Exception {
        return new CertificateBuilder().subject("CN=L7 Test CA").ecp256()
                .notBefore(NOT_BEFORE).notAfter(NOT_AFTER).setIsCertificateAuthority(true).buildSelfSigned();
    }

    /** A server certificate for {@code dnsName} and the IP address 127.0.0.1 (for clients that connect by IP). */
    static X509Bundle server(X509Bundle ca, String dnsName) throws Exception {
        return new CertificateBuilder().subject("CN=" + dnsName).ecp256().notBefore(NOT_BEFORE).notAfter(NOT_AFTER)
                .addExtendedKeyUsageServerAuth().addSanDnsName(dnsName).addSanIpAddress("127.0.0.1").buildIssuedBy(ca);
    }

    static ServerTls serverTls(List<String> alpn, X509Bundle... certificates) {
        ServerTls.Builder b = ServerTls.builder();
        for (X509Bundle c : certificates) {
            b.certificate(TlsCertificate.of(c.getKeyPair().getPrivate(), Arrays.asList(c.getCertificatePath())));
        }
        if (!alpn.isEmpty()) {
            b.alpn(alpn.toArray(String[]::new));
        }
        return b.build();
    }

    static SSLContext clientContext(X509Bundle trustedCa) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, trustedCa.toTrustManagerFactory().getTrustManagers(), null);
        return ctx;
    }

    /** Connects to 127.0.0.1:port with a fresh context, sends SNI (when not null) and completes the handshake. */
    static SSLSocket connect(X509Bundle ca, int port, String sni, String... protocols) throws Exception {
        SSLSocket s = (SSLSocket) clientContext(ca).getSocketFactory().createSocket("127.0.0.1", port);
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
}
