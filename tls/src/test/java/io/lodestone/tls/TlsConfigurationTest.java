package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.Stderr;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading key material, the checks at build(), reload failures and the file watch. No sockets needed. */
class TlsConfigurationTest {

    @TempDir
    Path dir;

    static X509Bundle ca;
    static X509Bundle site;
    static X509Bundle other;

    @BeforeAll
    static void certificates() throws Exception {
        ca = Pki.ca("Config CA");
        site = Pki.server(ca, "site.test");
        other = Pki.server(ca, "other.test");
    }

    private ServerTls build(TlsCertificate cert) {
        return ServerTls.builder().provider(TlsProvider.JDK).certificate(cert).build();
    }

    @Test
    void missingFileIsNamed() throws Exception {
        Path key = dir.resolve("k.pem");
        Files.writeString(key, site.getPrivateKeyPEM());
        Path missing = dir.resolve("missing.crt");
        assertThatThrownBy(() -> build(TlsCertificate.pem(missing, key)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("certificateChain: " + missing + " (file not found)");
    }

    @Test
    void badPemIsNamed() throws Exception {
        TlsCertificate good = Pki.pem(dir, "good", site);
        Path crt = dir.resolve("bad.crt");
        Path key = dir.resolve("good.key");
        Files.writeString(crt, "hello, not a certificate\n");
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, key)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("certificateChain: " + crt + " (no PEM CERTIFICATE block)");
        Files.writeString(crt, "-----BEGIN CERTIFICATE-----\nMIIB!!!\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, key)))
                .hasMessage("certificateChain: " + crt + " (PEM block CERTIFICATE is not valid base64)");
        Files.writeString(crt, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, key)))
                .hasMessageStartingWith("certificateChain: " + crt + " (not a valid X.509 certificate");
        Path noKey = dir.resolve("nokey.pem");
        Files.writeString(noKey, site.getCertificatePEM());
        assertThatThrownBy(() -> build(TlsCertificate.pem(dir.resolve("good.crt"), noKey)))
                .hasMessage("privateKey: " + noKey + " (no PEM PRIVATE KEY block)");
        assertThat(build(good).certificateFor(null)).isEqualTo(site.getCertificate());
    }

    @Test
    void keyNotMatchingTheCertificateIsRefused() throws Exception {
        Path crt = dir.resolve("site.crt");
        Path key = dir.resolve("other.key");
        Files.writeString(crt, site.getCertificatePathPEM());
        Files.writeString(key, other.getPrivateKeyPEM());
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, key)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("privateKey: " + key + " (the private key does not match the certificate CN=site.test)");
    }

    @Test
    void wrongOrMissingPasswordIsRefused() throws Exception {
        Path crt = dir.resolve("enc.crt");
        Path key = dir.resolve("enc.key");
        Files.writeString(crt, site.getCertificatePathPEM());
        Files.writeString(key, EncryptedKeys.pkcs8Pem(site.getKeyPair().getPrivate(), "right"));
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, key, "wrong")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keyPassword: wrong password for " + key);
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, key)))
                .hasMessage("privateKey: " + key + " (the key is encrypted and no password is set)");
        assertThat(build(TlsCertificate.pem(crt, key, "right")).certificateFor(null)).isEqualTo(site.getCertificate());

        Path store = site.toTempKeyStoreFile("storepw".toCharArray()).toPath();
        assertThatThrownBy(() -> build(TlsCertificate.pkcs12(store, "nope")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("keyStorePassword: wrong password for " + store);
        assertThat(build(TlsCertificate.pkcs12(store, "storepw")).certificateFor(null)).isEqualTo(site.getCertificate());
    }

    @Test
    void pkcs1RsaKeyLoads() throws Exception {
        X509Bundle rsa = new CertificateBuilder().subject("CN=rsa.test").rsa2048().addSanDnsName("rsa.test")
                .buildIssuedBy(ca);
        byte[] pkcs8 = rsa.getKeyPair().getPrivate().getEncoded();
        // PrivateKeyInfo: SEQUENCE(30 82 LL LL) INTEGER 0 (3 bytes) AlgorithmIdentifier (15 bytes) OCTET STRING(04 82 LL LL) pkcs1
        int octet = 4 + 3 + 15;
        assertThat(pkcs8[octet]).isEqualTo((byte) 0x04);
        byte[] pkcs1 = Arrays.copyOfRange(pkcs8, octet + 4, pkcs8.length);
        Path crt = dir.resolve("rsa.crt");
        Path key = dir.resolve("rsa.key");
        Files.writeString(crt, rsa.getCertificatePathPEM());
        Files.writeString(key, "-----BEGIN RSA PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(pkcs1)
                + "\n-----END RSA PRIVATE KEY-----\n", StandardCharsets.US_ASCII);
        assertThat(build(TlsCertificate.pem(crt, key)).certificateFor("rsa.test")).isEqualTo(rsa.getCertificate());
    }

    /**
     * A SEC1 EC key ({@code EC PRIVATE KEY}, what {@code openssl ecparam -genkey}, acme.sh and Caddy
     * write, which HAProxy and nginx read), here with its curve as openssl writes it and after an
     * {@code EC PARAMETERS} block, loads and serves; it was refused with a hint to convert it.
     */
    @Test
    void sec1EcKeyLoads() throws Exception {
        Path crt = dir.resolve("ec.crt");
        Files.writeString(crt, site.getCertificatePathPEM());
        Path key = sec1Key("ec.key", site);
        assertThat(build(TlsCertificate.pem(crt, key)).certificateFor("site.test")).isEqualTo(site.getCertificate());
        Path otherKey = sec1Key("other-ec.key", other);
        assertThatThrownBy(() -> build(TlsCertificate.pem(crt, otherKey)))
                .hasMessage("privateKey: " + otherKey + " (the private key does not match the certificate CN=site.test)");
    }

    /** The P-256 key of {@code bundle} in SEC1 form with its curve, after an EC PARAMETERS block, as openssl writes it. */
    private Path sec1Key(String name, X509Bundle bundle) throws Exception {
        byte[] scalar = ((java.security.interfaces.ECPrivateKey) bundle.getKeyPair().getPrivate()).getS().toByteArray();
        byte[] s32 = new byte[32];
        int n = Math.min(32, scalar.length);
        System.arraycopy(scalar, scalar.length - n, s32, 32 - n, n);
        byte[] prime256v1 = {0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x03, 0x01, 0x07};
        java.io.ByteArrayOutputStream sec1 = new java.io.ByteArrayOutputStream();
        sec1.write(new byte[] {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20});
        sec1.write(s32);
        sec1.write(new byte[] {(byte) 0xa0, 0x0a});
        sec1.write(prime256v1);
        Path key = dir.resolve(name);
        Files.writeString(key, "-----BEGIN EC PARAMETERS-----\n" + Base64.getMimeEncoder().encodeToString(prime256v1)
                + "\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(sec1.toByteArray()) + "\n-----END EC PRIVATE KEY-----\n",
                StandardCharsets.US_ASCII);
        return key;
    }

    @Test
    void settersAndBuildNameTheFieldAndValue() throws Exception {
        TlsCertificate cert = Pki.pem(dir, "s", site);
        assertThatThrownBy(() -> ServerTls.builder().protocols("TLSv1.3", "SSLv3"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("protocols: SSLv3 (expected: one of [TLSv1.3, TLSv1.2, TLSv1.1, TLSv1])");
        assertThatThrownBy(() -> ClientTls.builder().protocols("TLSv1.4"))
                .hasMessageStartingWith("protocols: TLSv1.4 (expected: one of");
        assertThatThrownBy(() -> ServerTls.builder().provider(TlsProvider.JDK).certificate(cert)
                .ciphers("TLS_AES_128_GCM_SHA256", "TLS_NO_SUCH_CIPHER").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ciphers: TLS_NO_SUCH_CIPHER (not supported by the JDK provider)");
        assertThatThrownBy(() -> ServerTls.builder().build())
                .hasMessage("certificate: none (expected: at least one certificate)");
        assertThatThrownBy(() -> ServerTls.builder().certificate(cert, "a.*.test"))
                .hasMessage("serverNames: a.*.test (expected: a host name, or *.domain for a wildcard)");
        assertThatThrownBy(() -> ServerTls.builder().alpn("h2", ""))
                .hasMessage("alpn: '' (expected: a protocol id of 1..255 bytes, e.g. h2)");
        assertThatThrownBy(() -> ServerTls.builder().handshakeTimeout(Duration.ZERO))
                .hasMessage("handshakeTimeout: PT0S (expected: > 0)");
        // the bound of every other timeout: Long.MAX_VALUE seconds threw an ArithmeticException
        // ("long overflow") from build()
        assertThatThrownBy(() -> ClientTls.builder().handshakeTimeout(Duration.ofSeconds(Long.MAX_VALUE)))
                .hasMessage("handshakeTimeout: PT2562047788015215H30M7S (expected: at most 36500 days)");
        assertThatThrownBy(() -> ServerTls.builder().handshakeTimeout(Duration.ofDays(36_501)))
                .hasMessage("handshakeTimeout: PT876024H (expected: at most 36500 days)");
        assertThat(ClientTls.builder().handshakeTimeout(Duration.ofDays(36_500)).build()).isNotNull();
        java.util.concurrent.ScheduledExecutorService watcher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            assertThatThrownBy(() -> ServerTls.builder().watchFiles(Duration.ofSeconds(Long.MAX_VALUE), watcher))
                    .hasMessage("watchFiles interval: PT2562047788015215H30M7S (expected: at most 36500 days)");
        } finally {
            watcher.shutdownNow();
        }
        assertThatThrownBy(() -> ClientTls.builder().serverName("bad name"))
                .hasMessage("serverName: 'bad name' (expected: a host name)");
        assertThatThrownBy(() -> ClientTls.builder().trust(List.of()))
                .hasMessage("trust: [] (expected: at least one certificate)");
    }

    /**
     * A certificate outside its validity period is served, as HAProxy, nginx and Envoy serve one, with
     * a WARN naming the field, the file (or the chain in memory) and the date, on the builder's clock,
     * at build() and at a reload; ClientTls's client certificate too. Only the leaf's dates count. It
     * was accepted without a word: every client that checks dates refused the handshake, and the log
     * did not say why.
     */
    @Test
    void aCertificateOutsideItsValidityPeriodIsServedWithAWarning() throws Exception {
        X509Bundle expired = new CertificateBuilder().subject("CN=old.test").ecp256().addSanDnsName("old.test")
                .notBefore(Instant.parse("2020-01-01T00:00:00Z")).notAfter(Instant.parse("2020-02-01T00:00:00Z"))
                .buildIssuedBy(ca);
        TlsCertificate old = Pki.pem(dir, "old", expired);
        String expiredText = "the certificate CN=old.test expired on 2020-02-01T00:00:00Z";
        assertThat(Stderr.of(() -> assertThat(ServerTls.builder().provider(TlsProvider.JDK).certificate(Pki.pem(dir, "s", site))
                .certificate(old).build().certificateFor("old.test")).isEqualTo(expired.getCertificate())))
                .contains("TLS certificate loaded from certificateChain: " + dir.resolve("old.crt") + ": " + expiredText)
                .doesNotContain("s.crt");
        assertThat(Stderr.of(() -> build(TlsCertificate.of(expired.getKeyPair().getPrivate(),
                Arrays.asList(expired.getCertificatePath())))))
                .contains("TLS certificate loaded from chain: CN=old.test: " + expiredText);
        assertThat(Stderr.of(() -> ClientTls.builder().provider(TlsProvider.JDK).clientCertificate(old).build()))
                .contains("TLS client certificate from certificateChain: " + dir.resolve("old.crt") + ": " + expiredText);

        TlsCertificate current = Pki.pem(dir, "site", site);
        long notBefore = site.getCertificate().getNotBefore().getTime();
        long notAfter = site.getCertificate().getNotAfter().getTime();
        assertThat(Stderr.of(() -> ServerTls.builder().provider(TlsProvider.JDK).clock(new ManualClock(notBefore - 1))
                .certificate(current).build()))
                .contains("TLS certificate loaded from certificateChain: " + dir.resolve("site.crt") + ": the certificate CN=site.test is not valid before "
                        + Instant.ofEpochMilli(notBefore));
        assertThat(Stderr.of(() -> ServerTls.builder().provider(TlsProvider.JDK).clock(new ManualClock(notAfter)).certificate(current)
                .build())).as("valid to its last millisecond").doesNotContain("TLS certificate");

        ServerTls[] tls = new ServerTls[1];
        assertThat(Stderr.of(() -> tls[0] = build(current))).doesNotContain("TLS certificate");
        Pki.writePem(dir.resolve("site.crt"), dir.resolve("site.key"), expired);
        assertThat(Stderr.of(tls[0]::reload)).as("the reload")
                .contains("TLS certificate reloaded from certificateChain: " + dir.resolve("site.crt") + ": " + expiredText);
        assertThat(tls[0].certificateFor(null)).isEqualTo(expired.getCertificate());
    }

    /**
     * A name has one certificate, the first added, whatever the client's signature algorithms: an RSA
     * certificate added after an EC one for the same name (HAProxy's and nginx's RSA-and-ECDSA pair) was
     * taken and never presented, so a client that accepts RSA signatures only was refused a handshake
     * the configuration seemed to allow. A certificate that serves no name is refused at build time and
     * at a reload; one that keeps a name of its own, or is the default, is taken.
     */
    @Test
    void aCertificateWhoseNamesAreAllTakenBeforeItIsRefused() throws Exception {
        X509Bundle ec = Pki.server(ca, "pair.test");
        X509Bundle rsa = new CertificateBuilder().subject("CN=pair.test").rsa2048()
                .notBefore(ec.getCertificate().getNotBefore().toInstant())
                .notAfter(ec.getCertificate().getNotAfter().toInstant())
                .addExtendedKeyUsageServerAuth().addSanDnsName("pair.test").buildIssuedBy(ca);
        TlsCertificate ecPem = Pki.pem(dir, "pair-ec", ec);
        TlsCertificate rsaPem = Pki.pem(dir, "pair-rsa", rsa);
        assertThatThrownBy(() -> ServerTls.builder().provider(TlsProvider.JDK).certificate(Pki.pem(dir, "s", site))
                .certificate(ecPem).certificate(rsaPem).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("certificate: certificateChain: " + dir.resolve("pair-rsa.crt")
                        + " (serves no name: pair.test is served by a certificate added before it");
        assertThatThrownBy(() -> ServerTls.builder().provider(TlsProvider.JDK).certificate(Pki.pem(dir, "s", site))
                .certificate(ecPem, "*.shop.test").certificate(rsaPem, "*.SHOP.test").build())
                .hasMessageStartingWith("certificate: certificateChain: " + dir.resolve("pair-rsa.crt")
                        + " (serves no name: *.SHOP.test is served by a certificate added before it");

        ServerTls shared = ServerTls.builder().provider(TlsProvider.JDK).certificate(ecPem)
                .certificate(rsaPem, "pair.test", "rsa.pair.test").build();
        assertThat(shared.certificateFor("pair.test")).as("the default is served").isEqualTo(ec.getCertificate());
        assertThat(shared.certificateFor("rsa.pair.test")).isEqualTo(rsa.getCertificate());
        assertThat(shared.certificateFor("site.test")).isEqualTo(ec.getCertificate());

        ServerTls tls = ServerTls.builder().provider(TlsProvider.JDK).certificate(Pki.pem(dir, "s", site))
                .certificate(Pki.pem(dir, "o", other)).build();
        Pki.writePem(dir.resolve("o.crt"), dir.resolve("o.key"), Pki.server(ca, "site.test"));
        assertThatThrownBy(tls::reload).hasMessageStartingWith("certificate: certificateChain: " + dir.resolve("o.crt")
                + " (serves no name: site.test is served");
        assertThat(tls.certificateFor("other.test")).as("kept").isEqualTo(other.getCertificate());
    }

    @Test
    void explicitProtocolsAndCiphersAreAccepted() throws Exception {
        ServerTls tls = ServerTls.builder().provider(TlsProvider.JDK).certificate(Pki.pem(dir, "p", site))
                .protocols("TLSv1.2").ciphers("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384").build();
        assertThat(tls.provider()).isEqualTo(TlsProvider.JDK);
    }

    @Test
    void failedReloadKeepsTheCurrentCertificate() throws Exception {
        Path crt = dir.resolve("r.crt");
        Path key = dir.resolve("r.key");
        Pki.writePem(crt, key, site);
        ServerTls tls = build(TlsCertificate.pem(crt, key));
        Files.writeString(key, other.getPrivateKeyPEM());
        assertThatThrownBy(tls::reload).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not match");
        assertThat(tls.certificateFor(null)).isEqualTo(site.getCertificate());
    }

    @Test
    void watchedFilesAreReloadedOnTheSchedulersTickWithoutSleeping() throws Exception {
        X509Bundle v1 = Pki.server(ca, "watch.test");
        X509Bundle v2 = Pki.server(ca, "watch.test");
        X509Bundle v3 = Pki.server(ca, "watch.test");
        Path crt = dir.resolve("w.crt");
        Path key = dir.resolve("w.key");
        Pki.writePem(crt, key, v1);
        EmbeddedChannel scheduler = new EmbeddedChannel();
        scheduler.freezeTime();
        ManualClock clock = new ManualClock(v1.getCertificate().getNotBefore().getTime());
        ServerTls tls = ServerTls.builder().provider(TlsProvider.JDK).clock(clock)
                .certificate(TlsCertificate.pem(crt, key))
                .watchFiles(Duration.ofSeconds(5), scheduler.eventLoop())
                .build();
        long firstLoad = tls.lastLoadedMillis();
        assertThat(firstLoad).isEqualTo(clock.currentTimeMillis());

        Pki.writePem(crt, key, v2);
        scheduler.advanceTimeBy(4, TimeUnit.SECONDS);
        scheduler.runScheduledPendingTasks();
        assertThat(tls.certificateFor("watch.test")).as("before the interval").isEqualTo(v1.getCertificate());

        clock.advance(Duration.ofSeconds(5));
        scheduler.advanceTimeBy(1, TimeUnit.SECONDS);
        scheduler.runScheduledPendingTasks();
        assertThat(tls.certificateFor("watch.test")).isEqualTo(v2.getCertificate());
        assertThat(tls.lastLoadedMillis()).isEqualTo(firstLoad + 5000);

        // a half-written renewal (new certificate, old key) is refused and the current one stays
        Files.writeString(crt, v3.getCertificatePathPEM());
        scheduler.advanceTimeBy(5, TimeUnit.SECONDS);
        scheduler.runScheduledPendingTasks();
        assertThat(tls.certificateFor("watch.test")).isEqualTo(v2.getCertificate());
        // once the key follows, the next tick loads both
        Files.writeString(key, v3.getPrivateKeyPEM());
        scheduler.advanceTimeBy(5, TimeUnit.SECONDS);
        scheduler.runScheduledPendingTasks();
        assertThat(tls.certificateFor("watch.test")).isEqualTo(v3.getCertificate());
        assertThat(tls.reloadIfChanged()).as("nothing changed since").isFalse();

        tls.close();
        Pki.writePem(crt, key, v1);
        scheduler.advanceTimeBy(5, TimeUnit.SECONDS);
        scheduler.runScheduledPendingTasks();
        assertThat(tls.certificateFor("watch.test")).as("closed: no more watching").isEqualTo(v3.getCertificate());
        scheduler.finishAndReleaseAll();
    }
}
