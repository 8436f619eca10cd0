package io.lodestone.examples.support;

import io.lodestone.tls.TlsCertificate;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;

/**
 * A self-signed certificate made at start with the JDK alone (an EC P-256 key and a small DER
 * encoder), so that the TLS examples run without files and without a certificate library. For
 * examples and tests only: a real deployment loads its certificates with {@link TlsCertificate#pem}.
 *
 * <pre>{@code
 * SelfSigned cert = SelfSigned.generate("localhost", "localhost", "shop.example.com");
 * ServerTls tls = ServerTls.builder().certificate(cert.tlsCertificate()).build();
 * }</pre>
 *
 * <p>The certificate names its DNS names and {@code 127.0.0.1} as subject alternative names, is
 * valid from a day ago for a year, and is signed with its own key.
 */
public final class SelfSigned {

    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final int[] ECDSA_WITH_SHA256 = {1, 2, 840, 10045, 4, 3, 2};
    private static final int[] COMMON_NAME = {2, 5, 4, 3};
    private static final int[] SUBJECT_ALT_NAME = {2, 5, 29, 17};

    private final KeyPair keyPair;
    private final X509Certificate certificate;

    private SelfSigned(KeyPair keyPair, X509Certificate certificate) {
        this.keyPair = keyPair;
        this.certificate = certificate;
    }

    /**
     * Generates a key pair and a certificate for {@code commonName} naming {@code dnsNames} and the
     * IP address 127.0.0.1.
     *
     * @throws IllegalStateException when the JDK lacks EC keys or SHA256withECDSA (it never does)
     */
    public static SelfSigned generate(String commonName, String... dnsNames) {
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
            kpg.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair kp = kpg.generateKeyPair();
            Instant now = Instant.now();
            byte[] name = seq(set(seq(oid(COMMON_NAME), tlv(0x0c, commonName.getBytes(StandardCharsets.UTF_8)))));
            ByteArrayOutputStream sans = new ByteArrayOutputStream();
            for (String dns : dnsNames) {
                sans.writeBytes(tlv(0x82, dns.getBytes(StandardCharsets.US_ASCII)));
            }
            sans.writeBytes(tlv(0x87, InetAddress.getLoopbackAddress().getAddress()));
            byte[] serial = new byte[16];
            new SecureRandom().nextBytes(serial);
            serial[0] &= 0x7f;
            byte[] tbs = seq(
                    tlv(0xa0, tlv(0x02, new byte[] {2})),                                    // v3
                    tlv(0x02, new BigInteger(1, serial).toByteArray()),
                    seq(oid(ECDSA_WITH_SHA256)),
                    name,
                    seq(time(now.minus(Duration.ofDays(1))), time(now.plus(Duration.ofDays(365)))),
                    name,
                    kp.getPublic().getEncoded(),                                            // SubjectPublicKeyInfo
                    tlv(0xa3, seq(seq(oid(SUBJECT_ALT_NAME), tlv(0x04, seq(sans.toByteArray()))))));
            Signature signer = Signature.getInstance("SHA256withECDSA");
            signer.initSign(kp.getPrivate());
            signer.update(tbs);
            byte[] signature = signer.sign();
            byte[] bits = new byte[signature.length + 1];                                    // no unused bits
            System.arraycopy(signature, 0, bits, 1, signature.length);
            byte[] der = seq(tbs, seq(oid(ECDSA_WITH_SHA256)), tlv(0x03, bits));
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
            cert.verify(kp.getPublic());
            return new SelfSigned(kp, cert);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make a self-signed certificate for " + commonName, e);
        }
    }

    /** The certificate. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The key pair whose private key signs the handshakes. */
    public KeyPair keyPair() {
        return keyPair;
    }

    /** The certificate and its key, for {@code ServerTls.Builder.certificate(...)}. */
    public TlsCertificate tlsCertificate() {
        return TlsCertificate.of(keyPair.getPrivate(), List.of(certificate));
    }

    /** The certificate in PEM form, e.g. to save and give to {@code curl --cacert}. */
    public String certificatePem() {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(certificate.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] time(Instant t) {
        return tlv(0x17, UTC_TIME.format(t).getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] oid(int[] arcs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(arcs[0] * 40 + arcs[1]);
        for (int i = 2; i < arcs.length; i++) {
            int v = arcs[i];
            int shift = 28;
            while (shift > 0 && (v >>> shift) == 0) {
                shift -= 7;
            }
            for (; shift > 0; shift -= 7) {
                out.write(0x80 | ((v >>> shift) & 0x7f));
            }
            out.write(v & 0x7f);
        }
        return tlv(0x06, out.toByteArray());
    }

    private static byte[] seq(byte[]... parts) {
        return tlv(0x30, parts);
    }

    private static byte[] set(byte[]... parts) {
        return tlv(0x31, parts);
    }

    private static byte[] tlv(int tag, byte[]... parts) {
        int length = 0;
        for (byte[] p : parts) {
            length += p.length;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 6);
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else if (length < 0x100) {
            out.write(0x81);
            out.write(length);
        } else if (length < 0x10000) {
            out.write(0x82);
            out.write(length >> 8);
            out.write(length);
        } else {
            out.write(0x83);
            out.write(length >> 16);
            out.write(length >> 8);
            out.write(length);
        }
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
