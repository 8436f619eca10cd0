package io.lodestone.tls;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Certificates for the tests, made with netty-pkitesting, and their PEM files. */
final class Pki {

    private static final Instant NOT_BEFORE = Instant.now().minus(1, ChronoUnit.DAYS);
    private static final Instant NOT_AFTER = Instant.now().plus(30, ChronoUnit.DAYS);

    private Pki() {
    }

    static X509Bundle ca(String name) throws Exception {
        return new CertificateBuilder().subject("CN=" + name + ",O=Lodestone Test").ecp256()
                .notBefore(NOT_BEFORE).notAfter(NOT_AFTER)
                .setIsCertificateAuthority(true).buildSelfSigned();
    }

    /**
     * A server certificate for these DNS names (the first is the CN), issued by {@code ca}. Wildcard
     * names go in the CN only (pkitesting refuses them as SANs), so such a certificate also tests the
     * common name fallback.
     */
    static X509Bundle server(X509Bundle ca, String... dnsNames) throws Exception {
        CertificateBuilder b = new CertificateBuilder().subject("CN=" + dnsNames[0]).ecp256()
                .notBefore(NOT_BEFORE).notAfter(NOT_AFTER).addExtendedKeyUsageServerAuth();
        for (String n : dnsNames) {
            if (n.startsWith("*")) {
                continue;
            }
            b.addSanDnsName(n);
        }
        return b.buildIssuedBy(ca);
    }

    /** A client certificate with this CN, a DNS and a URI SAN, issued by {@code ca}. */
    static X509Bundle client(X509Bundle ca, String cn) throws Exception {
        return new CertificateBuilder().subject("CN=" + cn + ",O=Clients").ecp256()
                .notBefore(NOT_BEFORE).notAfter(NOT_AFTER).addExtendedKeyUsageClientAuth()
                .addSanDnsName(cn + ".clients.test").addSanUriName("spiffe://test/" + cn)
                .buildIssuedBy(ca);
    }

    /** Writes the chain and the unencrypted PKCS#8 key as {@code name.crt}, {@code name.key}. */
    static TlsCertificate pem(Path dir, String name, X509Bundle bundle) throws IOException {
        Path crt = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        writePem(crt, key, bundle);
        return TlsCertificate.pem(crt, key);
    }

    static void writePem(Path crt, Path key, X509Bundle bundle) throws IOException {
        Files.writeString(crt, bundle.getCertificatePathPEM(), StandardCharsets.US_ASCII);
        Files.writeString(key, bundle.getPrivateKeyPEM(), StandardCharsets.US_ASCII);
    }

    static Path caFile(Path dir, String name, X509Bundle ca) throws IOException {
        Path f = dir.resolve(name + "-ca.pem");
        Files.writeString(f, ca.getCertificatePEM(), StandardCharsets.US_ASCII);
        return f;
    }
}
