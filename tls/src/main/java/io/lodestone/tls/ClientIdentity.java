package io.lodestone.tls;

import io.lodestone.core.route.ClientCertificate;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The verified identity of a TLS client that presented a certificate (mutual TLS): subject and
 * issuer names, subject alternative names, serial number and fingerprint, for ACLs and to forward
 * to backends as request headers. Immutable.
 *
 * <pre>{@code
 * TlsInfo.of(channel).clientIdentity()
 *     .filter(id -> id.dnsNames().contains("billing.internal"))
 *     .isPresent();
 * }</pre>
 */
public final class ClientIdentity {

    /**
     * Header saying whether the client presented a verified certificate: {@code SUCCESS} or
     * {@code NONE} (nginx's {@code $ssl_client_verify}). Set by the proxy, not by {@link #toHeaders()}.
     */
    public static final String HEADER_VERIFY = "X-Client-Verify";
    /** Header carrying the subject distinguished name (RFC 2253). */
    public static final String HEADER_SUBJECT = "X-Client-Subject";
    /** Header carrying the subject's common name. */
    public static final String HEADER_CN = "X-Client-CN";
    /** Header carrying the issuer distinguished name (RFC 2253). */
    public static final String HEADER_ISSUER = "X-Client-Issuer";
    /** Header carrying the subject alternative names, e.g. {@code DNS:a.example, URI:spiffe://x}. */
    public static final String HEADER_SAN = "X-Client-SAN";
    /** Header carrying the serial number in hexadecimal. */
    public static final String HEADER_SERIAL = "X-Client-Serial";
    /** Header carrying the SHA-256 fingerprint of the certificate in lower-case hexadecimal. */
    public static final String HEADER_FINGERPRINT = "X-Client-Fingerprint-SHA256";
    /**
     * Every header name above, {@link #HEADER_VERIFY} first: the headers a proxy that forwards the
     * identity owns, and removes from what clients send.
     */
    public static final List<String> HEADER_NAMES = List.of(HEADER_VERIFY, HEADER_SUBJECT, HEADER_CN, HEADER_ISSUER,
            HEADER_SAN, HEADER_SERIAL, HEADER_FINGERPRINT);

    private final X509Certificate certificate;
    private final String subject;
    private final String issuer;
    private final List<String> dnsNames;
    private final List<String> uris;
    private final List<String> emails;
    private final List<String> ipAddresses;
    private final String fingerprint;
    private final ClientCertificate routingView;
    private final Map<String, String> headers;

    private ClientIdentity(X509Certificate certificate) {
        this.certificate = certificate;
        this.subject = certificate.getSubjectX500Principal().getName();
        this.issuer = certificate.getIssuerX500Principal().getName();
        List<String> dns = new ArrayList<>();
        List<String> uri = new ArrayList<>();
        List<String> email = new ArrayList<>();
        List<String> ip = new ArrayList<>();
        List<String> all = new ArrayList<>();
        try {
            Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    int type = (Integer) san.get(0);
                    Object value = san.get(1);
                    if (!(value instanceof String)) {
                        continue;
                    }
                    if (type == 1 || type == 2 || type == 6 || type == 7) {
                        all.add((String) value);
                    }
                    switch (type) {
                        case 1 -> email.add((String) value);
                        case 2 -> dns.add((String) value);
                        case 6 -> uri.add((String) value);
                        case 7 -> ip.add((String) value);
                        default -> { }
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // a certificate the handshake accepted but whose SANs do not parse: identity by DN only
        }
        this.dnsNames = Collections.unmodifiableList(dns);
        this.uris = Collections.unmodifiableList(uri);
        this.emails = Collections.unmodifiableList(email);
        this.ipAddresses = Collections.unmodifiableList(ip);
        this.fingerprint = sha256(certificate);
        this.routingView = ClientCertificate.of(subject, all);
        this.headers = headers();
    }

    /**
     * The identity of the peer of a handshaken session, empty when the peer presented no certificate.
     *
     * @param session the handshaken session
     * @return the identity of the peer of a handshaken session, empty when the peer presented no certificate
     */
    public static Optional<ClientIdentity> of(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        Certificate[] peer;
        try {
            peer = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
        if (peer == null || peer.length == 0 || !(peer[0] instanceof X509Certificate)) {
            return Optional.empty();
        }
        return Optional.of(new ClientIdentity((X509Certificate) peer[0]));
    }

    /**
     * The identity a certificate carries (the caller vouches that it was verified).
     *
     * @param certificate a verified certificate
     * @return the identity a certificate carries (the caller vouches that it was verified)
     */
    public static ClientIdentity of(X509Certificate certificate) {
        return new ClientIdentity(java.util.Objects.requireNonNull(certificate, "certificate"));
    }

    /** {@return the client's leaf certificate} */
    public X509Certificate certificate() {
        return certificate;
    }

    /** {@return the subject distinguished name in RFC 2253 form, e.g. {@code CN=billing,O=Example}} */
    public String subjectDn() {
        return subject;
    }

    /** {@return the issuer distinguished name in RFC 2253 form} */
    public String issuerDn() {
        return issuer;
    }

    /**
     * {@return the subject's common name (the most specific CN, unescaped), or {@code null} when the subject
     * has none}
     */
    public String commonName() {
        return routingView.commonName();
    }

    /**
     * The identity as rules read it ({@link io.lodestone.core.route.RequestView#clientCertificate()}):
     * the subject, its common name and every DNS, URI, e-mail and IP subject alternative name.
     *
     * @return the identity as rules read it ({@link
     *     io.lodestone.core.route.RequestView#clientCertificate()}): the subject, its common name and every
     *     DNS, URI, e-mail and IP subject alternative name
     */
    public ClientCertificate toClientCertificate() {
        return routingView;
    }

    /** {@return the DNS subject alternative names} */
    public List<String> dnsNames() {
        return dnsNames;
    }

    /** {@return the URI subject alternative names (e.g. SPIFFE ids)} */
    public List<String> uris() {
        return uris;
    }

    /** {@return the e-mail (RFC 822) subject alternative names} */
    public List<String> emails() {
        return emails;
    }

    /** {@return the IP address subject alternative names} */
    public List<String> ipAddresses() {
        return ipAddresses;
    }

    /** {@return the serial number in upper-case hexadecimal} */
    public String serialNumber() {
        return certificate.getSerialNumber().toString(16).toUpperCase(java.util.Locale.ROOT);
    }

    /** {@return the SHA-256 fingerprint of the DER certificate in lower-case hexadecimal} */
    public String sha256Fingerprint() {
        return fingerprint;
    }

    /**
     * The identity as request headers, made once: {@link #HEADER_SUBJECT}, {@link #HEADER_CN} when
     * the subject has a CN, {@link #HEADER_ISSUER}, {@link #HEADER_SAN} when there are SANs,
     * {@link #HEADER_SERIAL} and {@link #HEADER_FINGERPRINT}, with every character outside printable
     * ASCII escaped as {@code \xx} so a value can never break a header. A proxy forwarding these
     * must first remove any of {@link #HEADER_NAMES} the client sent itself.
     *
     * @return the identity as request headers, made once: {@link #HEADER_SUBJECT}, {@link #HEADER_CN} when
     *     the subject has a CN, {@link #HEADER_ISSUER}, {@link #HEADER_SAN} when there are SANs, {@link
     *     #HEADER_SERIAL} and {@link #HEADER_FINGERPRINT}, with every character outside printable ASCII
     *     escaped as {@code \xx} so a value can never break a header
     */
    public Map<String, String> toHeaders() {
        return headers;
    }

    private Map<String, String> headers() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put(HEADER_SUBJECT, headerSafe(subject));
        if (commonName() != null) {
            h.put(HEADER_CN, headerSafe(commonName()));
        }
        h.put(HEADER_ISSUER, headerSafe(issuer));
        StringBuilder san = new StringBuilder();
        appendSans(san, "DNS:", dnsNames);
        appendSans(san, "URI:", uris);
        appendSans(san, "email:", emails);
        appendSans(san, "IP:", ipAddresses);
        if (san.length() > 0) {
            h.put(HEADER_SAN, headerSafe(san.toString()));
        }
        h.put(HEADER_SERIAL, serialNumber());
        h.put(HEADER_FINGERPRINT, fingerprint);
        return Collections.unmodifiableMap(h);
    }

    private static void appendSans(StringBuilder sb, String prefix, List<String> values) {
        for (String v : values) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(prefix).append(v);
        }
    }

    private static String headerSafe(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f) {
                if (sb != null) {
                    sb.append(c);
                }
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            byte[] utf8 = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            if (Character.isHighSurrogate(c) && i + 1 < s.length()) {
                utf8 = s.substring(i, i + 2).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                i++;
            }
            for (byte b : utf8) {
                sb.append('\\').append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
        }
        return sb == null ? s : sb.toString();
    }

    private static String sha256(X509Certificate c) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
            StringBuilder sb = new StringBuilder(64);
            for (byte b : d) {
                sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint the client certificate", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClientIdentity && ((ClientIdentity) o).certificate.equals(certificate);
    }

    @Override
    public int hashCode() {
        return certificate.hashCode();
    }

    @Override
    public String toString() {
        return "ClientIdentity{" + subject + ", issuer " + issuer + "}";
    }
}
