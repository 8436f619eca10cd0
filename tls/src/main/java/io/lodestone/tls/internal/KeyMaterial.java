package io.lodestone.tls.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Reads certificates and private keys from PEM files (PKCS#8 keys, encrypted or not, PKCS#1 RSA keys
 * and SEC1 EC keys) and PKCS#12 keystores, and checks that a key belongs to its certificate. Every failure is an
 * {@link IllegalArgumentException} naming the configuration field and the file.
 */
public final class KeyMaterial {

    /** A private key and its certificate chain, leaf first. */
    public record Loaded(PrivateKey key, X509Certificate[] chain) {
        /** The leaf certificate. */
        public X509Certificate leaf() {
            return chain[0];
        }
    }

    private static final String[] KEY_ALGORITHMS = {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA"};

    private KeyMaterial() {
    }

    /** Reads the PEM certificates of {@code file}, in file order; fails when there is none. */
    public static List<X509Certificate> readCertificates(String field, Path file) {
        String text = readText(field, file);
        List<byte[]> blocks = blocks(field, file, text, "CERTIFICATE");
        if (blocks.isEmpty()) {
            throw bad(field, file, "no PEM CERTIFICATE block");
        }
        List<X509Certificate> out = new ArrayList<>(blocks.size());
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks) {
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException e) {
            throw bad(field, file, "not a valid X.509 certificate: " + e.getMessage());
        }
        return out;
    }

    /**
     * Reads the PEM private key of {@code file}. {@code password} decrypts an
     * {@code ENCRYPTED PRIVATE KEY}; the algorithm of {@code certificateKey} (the certificate's public
     * key) is tried first when the key's algorithm is not known, and a SEC1 EC key takes its curve.
     */
    public static PrivateKey readPrivateKey(String field, Path file, String password, PublicKey certificateKey) {
        String text = readText(field, file);
        List<byte[]> plain = blocks(field, file, text, "PRIVATE KEY");
        List<byte[]> encrypted = blocks(field, file, text, "ENCRYPTED PRIVATE KEY");
        List<byte[]> rsa = blocks(field, file, text, "RSA PRIVATE KEY");
        List<byte[]> ec = blocks(field, file, text, "EC PRIVATE KEY");
        int keys = plain.size() + encrypted.size() + rsa.size() + ec.size();
        if (keys != 1) {
            if (keys == 0) {
                throw bad(field, file, "no PEM PRIVATE KEY block");
            }
            throw bad(field, file, "more than one private key");
        }
        byte[] pkcs8;
        if (!encrypted.isEmpty()) {
            if (password == null) {
                throw bad(field, file, "the key is encrypted and no password is set");
            }
            pkcs8 = decrypt(field, file, encrypted.get(0), password);
        } else if (!rsa.isEmpty()) {
            pkcs8 = wrapPkcs1Rsa(rsa.get(0));
        } else if (!ec.isEmpty()) {
            if (!"EC".equals(certificateKey.getAlgorithm())) {
                throw new IllegalArgumentException(field + ": " + file + " (the private key does not match the certificate: "
                        + "an EC key for a " + certificateKey.getAlgorithm() + " certificate)");
            }
            pkcs8 = wrapSec1Ec(ec.get(0), certificateKey);
        } else {
            pkcs8 = plain.get(0);
        }
        return toPrivateKey(field, file, pkcs8, certificateKey.getAlgorithm());
    }

    /** Reads the first (or the named) key entry of a PKCS#12 keystore. */
    public static Loaded readPkcs12(String field, Path file, String password, String alias) {
        byte[] bytes = readBytes(field, file);
        char[] pw = password == null ? new char[0] : password.toCharArray();
        KeyStore ks;
        try (InputStream in = new ByteArrayInputStream(bytes)) {
            ks = KeyStore.getInstance("PKCS12");
            ks.load(in, pw);
        } catch (IOException e) {
            if (e.getCause() instanceof UnrecoverableKeyException
                    || String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("password")) {
                throw new IllegalArgumentException(field + "Password: wrong password for " + file, e);
            }
            throw bad(field, file, "not a PKCS#12 keystore: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw bad(field, file, "not a PKCS#12 keystore: " + e.getMessage());
        }
        try {
            String chosen = alias;
            if (chosen == null) {
                for (Enumeration<String> e = ks.aliases(); e.hasMoreElements() && chosen == null; ) {
                    String a = e.nextElement();
                    if (ks.isKeyEntry(a)) {
                        chosen = a;
                    }
                }
                if (chosen == null) {
                    throw bad(field, file, "no private key entry");
                }
            } else if (!ks.isKeyEntry(chosen)) {
                throw bad(field, file, "no private key entry named " + chosen);
            }
            Key key = ks.getKey(chosen, pw);
            Certificate[] certs = ks.getCertificateChain(chosen);
            if (!(key instanceof PrivateKey) || certs == null || certs.length == 0) {
                throw bad(field, file, "entry " + chosen + " has no private key with a certificate chain");
            }
            X509Certificate[] chain = new X509Certificate[certs.length];
            for (int i = 0; i < certs.length; i++) {
                chain[i] = (X509Certificate) certs[i];
            }
            Loaded loaded = new Loaded((PrivateKey) key, chain);
            checkKeyMatches(field, file, loaded);
            return loaded;
        } catch (UnrecoverableKeyException e) {
            throw new IllegalArgumentException(field + "Password: wrong key password for " + file, e);
        } catch (GeneralSecurityException e) {
            throw bad(field, file, "unreadable keystore entry: " + e.getMessage());
        }
    }

    /** Fails unless {@code loaded.key()} is the private half of the leaf certificate's public key. */
    public static void checkKeyMatches(String field, Object source, Loaded loaded) {
        PublicKey pub = loaded.leaf().getPublicKey();
        String alg = signatureAlgorithm(pub.getAlgorithm());
        if (alg == null) {
            return;
        }
        boolean ok;
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature s = Signature.getInstance(alg);
            s.initSign(loaded.key());
            s.update(challenge);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(challenge);
            ok = v.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            ok = false;
        }
        if (!ok) {
            throw new IllegalArgumentException(field + ": " + source + " (the private key does not match the certificate "
                    + loaded.leaf().getSubjectX500Principal().getName() + ")");
        }
    }

    /**
     * Why {@code leaf} cannot be served at {@code nowMillis} (expired, or not valid yet), naming its
     * subject and the date; {@code null} when it is within its validity period.
     */
    public static String validityProblem(X509Certificate leaf, long nowMillis) {
        if (nowMillis > leaf.getNotAfter().getTime()) {
            return "the certificate " + leaf.getSubjectX500Principal().getName() + " expired on "
                    + leaf.getNotAfter().toInstant();
        }
        if (nowMillis < leaf.getNotBefore().getTime()) {
            return "the certificate " + leaf.getSubjectX500Principal().getName() + " is not valid before "
                    + leaf.getNotBefore().toInstant();
        }
        return null;
    }

    /** The DNS names a certificate is valid for: its DNS subject alternative names, else its common name. */
    public static List<String> dnsNames(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (((Integer) san.get(0)) == 2) {
                        names.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateException e) {
            return names;
        }
        if (names.isEmpty()) {
            String cn = commonName(cert.getSubjectX500Principal().getName());
            if (cn != null) {
                names.add(cn.toLowerCase(Locale.ROOT));
            }
        }
        return names;
    }

    private static String commonName(String rfc2253) {
        for (String part : rfc2253.split(",")) {
            String p = part.trim();
            if (p.regionMatches(true, 0, "CN=", 0, 3)) {
                return p.substring(3);
            }
        }
        return null;
    }

    private static String signatureAlgorithm(String keyAlgorithm) {
        switch (keyAlgorithm) {
            case "RSA":
                return "SHA256withRSA";
            case "EC":
                return "SHA256withECDSA";
            case "Ed25519":
            case "Ed448":
            case "EdDSA":
                return keyAlgorithm.equals("EdDSA") ? "EdDSA" : keyAlgorithm;
            case "DSA":
                return "SHA256withDSA";
            default:
                return null;
        }
    }

    private static byte[] decrypt(String field, Path file, byte[] der, String password) {
        EncryptedPrivateKeyInfo info;
        try {
            info = new EncryptedPrivateKeyInfo(der);
        } catch (IOException e) {
            throw bad(field, file, "not a valid encrypted PKCS#8 key: " + e.getMessage());
        }
        String alg = info.getAlgParameters() != null && info.getAlgName().equals("PBES2")
                ? info.getAlgParameters().toString() : info.getAlgName();
        Cipher cipher;
        try {
            SecretKeyFactory skf = SecretKeyFactory.getInstance(alg);
            cipher = Cipher.getInstance(alg);
            cipher.init(Cipher.DECRYPT_MODE, skf.generateSecret(new PBEKeySpec(password.toCharArray())),
                    info.getAlgParameters());
        } catch (GeneralSecurityException e) {
            throw bad(field, file, "unsupported key encryption " + alg + ": " + e.getMessage());
        }
        try {
            return info.getKeySpec(cipher).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("keyPassword: wrong password for " + file, e);
        }
    }

    private static PrivateKey toPrivateKey(String field, Path file, byte[] pkcs8, String hint) {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(pkcs8);
        if (hint != null) {
            try {
                return KeyFactory.getInstance(hint).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // not of the certificate's algorithm: the match check names the mismatch below
            }
        }
        for (String alg : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw bad(field, file, "not a valid PKCS#8 private key");
    }

    /**
     * Wraps a SEC1 ECPrivateKey in a PKCS#8 PrivateKeyInfo whose algorithm (id-ecPublicKey and the
     * curve) is the certificate's: the SubjectPublicKeyInfo's first element. A key on another curve
     * fails the match check that follows, as any key of another certificate does.
     */
    private static byte[] wrapSec1Ec(byte[] sec1, PublicKey certificateKey) {
        byte[] spki = certificateKey.getEncoded();
        int offset = 1 + lengthBytes(spki, 1);
        int algorithmLength = 1 + lengthBytes(spki, offset + 1) + length(spki, offset + 1);
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, sec1);
        byte[] body = new byte[version.length + algorithmLength + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(spki, offset, body, version.length, algorithmLength);
        System.arraycopy(octets, 0, body, version.length + algorithmLength, octets.length);
        return der(0x30, body);
    }

    /** The bytes of the DER length at {@code at}, its first byte included. */
    private static int lengthBytes(byte[] der, int at) {
        int first = der[at] & 0xff;
        return first < 0x80 ? 1 : 1 + (first & 0x7f);
    }

    /** The DER length at {@code at}. */
    private static int length(byte[] der, int at) {
        int first = der[at] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int n = 0;
        for (int i = 1; i <= (first & 0x7f); i++) {
            n = (n << 8) | (der[at + i] & 0xff);
        }
        return n;
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo. */
    private static byte[] wrapPkcs1Rsa(byte[] pkcs1) {
        byte[] version = {0x02, 0x01, 0x00};
        byte[] rsaAlgorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + rsaAlgorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(rsaAlgorithm, 0, body, version.length, rsaAlgorithm.length);
        System.arraycopy(octets, 0, body, version.length + rsaAlgorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        int lenBytes = n < 0x80 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
        byte[] out = new byte[2 + lenBytes + n];
        out[0] = (byte) tag;
        if (lenBytes == 0) {
            out[1] = (byte) n;
        } else {
            out[1] = (byte) (0x80 | lenBytes);
            for (int i = 0; i < lenBytes; i++) {
                out[2 + i] = (byte) (n >>> (8 * (lenBytes - 1 - i)));
            }
        }
        System.arraycopy(content, 0, out, 2 + lenBytes, n);
        return out;
    }

    private static List<byte[]> blocks(String field, Path file, String text, String label) {
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int b = text.indexOf(begin, from);
            if (b < 0) {
                return out;
            }
            int e = text.indexOf(end, b + begin.length());
            if (e < 0) {
                throw bad(field, file, "PEM block " + label + " has no END line");
            }
            try {
                out.add(Base64.getDecoder().decode(withoutWhitespace(text, b + begin.length(), e)));
            } catch (IllegalArgumentException ex) {
                throw bad(field, file, "PEM block " + label + " is not valid base64");
            }
            from = e + end.length();
        }
    }

    private static String withoutWhitespace(String text, int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String readText(String field, Path file) {
        return new String(readBytes(field, file), StandardCharsets.ISO_8859_1);
    }

    /** Reads a whole file, failing with the field name when it is missing or unreadable. */
    public static byte[] readBytes(String field, Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw bad(field, file, "file not found");
        } catch (IOException e) {
            throw bad(field, file, "unreadable: " + e.getMessage());
        }
    }

    private static IllegalArgumentException bad(String field, Path file, String why) {
        return new IllegalArgumentException(field + ": " + file + " (" + why + ")");
    }
}
