package io.lodestone.tls;

import io.lodestone.tls.internal.KeyMaterial;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Where a private key and its certificate chain come from: PEM files, a PKCS#12 keystore, or objects
 * already in memory. Nothing is read when the value is created; files are read (and checked: the
 * key must match the certificate) when a {@link ServerTls} or {@link ClientTls} is built, and read
 * again on every reload.
 *
 * <pre>{@code
 * TlsCertificate.pem(Path.of("site.crt"), Path.of("site.key"));
 * TlsCertificate.pem(Path.of("site.crt"), Path.of("site-encrypted.key"), "key password");
 * TlsCertificate.pkcs12(Path.of("site.p12"), "store password");
 * }</pre>
 */
public final class TlsCertificate {

    private final Path chainFile;
    private final Path keyFile;
    private final Path keyStoreFile;
    private final String password;
    private final String alias;
    private final PrivateKey key;
    private final List<X509Certificate> chain;

    private TlsCertificate(Path chainFile, Path keyFile, Path keyStoreFile, String password, String alias,
            PrivateKey key, List<X509Certificate> chain) {
        this.chainFile = chainFile;
        this.keyFile = keyFile;
        this.keyStoreFile = keyStoreFile;
        this.password = password;
        this.alias = alias;
        this.key = key;
        this.chain = chain;
    }

    /**
     * A PEM certificate chain (leaf first, then intermediates) and an unencrypted PEM private key
     * (PKCS#8 {@code PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY} or SEC1 {@code EC PRIVATE KEY}).
     *
     * @param certificateChain the PEM certificate chain, leaf first
     * @param privateKey the PEM private key
     * @return a PEM certificate chain (leaf first, then intermediates) and an unencrypted PEM private key
     *     (PKCS#8 {@code PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY} or SEC1 {@code EC PRIVATE KEY})
     */
    public static TlsCertificate pem(Path certificateChain, Path privateKey) {
        return new TlsCertificate(Objects.requireNonNull(certificateChain, "certificateChain"),
                Objects.requireNonNull(privateKey, "privateKey"), null, null, null, null, null);
    }

    /**
     * A PEM certificate chain and a PEM private key, encrypted ({@code ENCRYPTED PRIVATE KEY}) with this
     * password.
     *
     * @param certificateChain the PEM certificate chain, leaf first
     * @param privateKey the PEM private key
     * @param keyPassword the key's password
     * @return a PEM certificate chain and a PEM private key, encrypted ({@code ENCRYPTED PRIVATE KEY}) with
     *     this password
     */
    public static TlsCertificate pem(Path certificateChain, Path privateKey, String keyPassword) {
        return new TlsCertificate(Objects.requireNonNull(certificateChain, "certificateChain"),
                Objects.requireNonNull(privateKey, "privateKey"), null,
                Objects.requireNonNull(keyPassword, "keyPassword"), null, null, null);
    }

    /**
     * The first private key entry of a PKCS#12 keystore whose store and key password is {@code password}.
     *
     * @param keyStore the PKCS#12 file
     * @param password the store and key password
     * @return the first private key entry of a PKCS#12 keystore whose store and key password is {@code
     *     password}
     */
    public static TlsCertificate pkcs12(Path keyStore, String password) {
        return new TlsCertificate(null, null, Objects.requireNonNull(keyStore, "keyStore"),
                Objects.requireNonNull(password, "keyStorePassword"), null, null, null);
    }

    /**
     * The private key entry named {@code alias} of a PKCS#12 keystore.
     *
     * @param keyStore the PKCS#12 file
     * @param password the store and key password
     * @param alias the entry's alias
     * @return the private key entry named {@code alias} of a PKCS#12 keystore
     */
    public static TlsCertificate pkcs12(Path keyStore, String password, String alias) {
        return new TlsCertificate(null, null, Objects.requireNonNull(keyStore, "keyStore"),
                Objects.requireNonNull(password, "keyStorePassword"), Objects.requireNonNull(alias, "alias"),
                null, null);
    }

    /**
     * A key and its chain (leaf first) already in memory; a reload keeps them as they are.
     *
     * @param key the private key
     * @param chain the certificate chain, leaf first
     * @return a key and its chain (leaf first) already in memory; a reload keeps them as they are
     */
    public static TlsCertificate of(PrivateKey key, List<X509Certificate> chain) {
        Objects.requireNonNull(key, "key");
        List<X509Certificate> copy = Collections.unmodifiableList(new ArrayList<>(Objects.requireNonNull(chain, "chain")));
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("chain: [] (expected: at least the leaf certificate)");
        }
        for (X509Certificate c : copy) {
            Objects.requireNonNull(c, "chain element");
        }
        return new TlsCertificate(null, null, null, null, null, key, copy);
    }

    /** The files this certificate is read from, watched for changes; empty for in-memory material. */
    List<Path> files() {
        List<Path> files = new ArrayList<>(2);
        if (chainFile != null) {
            files.add(chainFile);
            files.add(keyFile);
        } else if (keyStoreFile != null) {
            files.add(keyStoreFile);
        }
        return files;
    }

    /** Reads and checks the material. */
    KeyMaterial.Loaded load() {
        KeyMaterial.Loaded loaded;
        if (chainFile != null) {
            List<X509Certificate> certs = KeyMaterial.readCertificates("certificateChain", chainFile);
            PrivateKey pk = KeyMaterial.readPrivateKey("privateKey", keyFile, password, certs.get(0).getPublicKey());
            loaded = new KeyMaterial.Loaded(pk, certs.toArray(new X509Certificate[0]));
            KeyMaterial.checkKeyMatches("privateKey", keyFile, loaded);
        } else if (keyStoreFile != null) {
            loaded = KeyMaterial.readPkcs12("keyStore", keyStoreFile, password, alias);
        } else {
            loaded = new KeyMaterial.Loaded(key, chain.toArray(new X509Certificate[0]));
            KeyMaterial.checkKeyMatches("key", "in-memory key", loaded);
        }
        return loaded;
    }

    /** The configuration field and value the material comes from, as failures name them. */
    String source() {
        if (chainFile != null) {
            return "certificateChain: " + chainFile;
        }
        if (keyStoreFile != null) {
            return "keyStore: " + keyStoreFile;
        }
        return "chain: " + chain.get(0).getSubjectX500Principal().getName();
    }

    @Override
    public String toString() {
        if (chainFile != null) {
            return "TlsCertificate{pem " + chainFile + ", " + keyFile + "}";
        }
        if (keyStoreFile != null) {
            return "TlsCertificate{pkcs12 " + keyStoreFile + (alias == null ? "" : ", alias " + alias) + "}";
        }
        return "TlsCertificate{" + chain.get(0).getSubjectX500Principal().getName() + "}";
    }
}
