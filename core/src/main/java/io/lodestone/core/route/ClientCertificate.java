package io.lodestone.core.route;

import java.util.List;
import java.util.Objects;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * What a rule may read of the certificate a TLS client presented and the handshake verified (mutual
 * TLS): the subject distinguished name, its common name and the subject alternative names. The
 * engines make one per connection from the TLS module's {@code ClientIdentity}; tests make their own
 * and give it to {@link TestRequest#clientCertificate(ClientCertificate)}. Immutable.
 *
 * <pre>{@code
 * ClientCertificate alice = ClientCertificate.of("CN=alice,O=Clients", "alice.clients.example", "spiffe://example/alice");
 * alice.commonName();        // "alice"
 * Decision d = proxy.route(TestRequest.get("/billing").clientCertificate(alice));
 * }</pre>
 *
 * @see Acl#clientCertificate()
 */
public final class ClientCertificate {

    private final String subject;
    private final String commonName;
    private final List<String> subjectAltNames;

    private ClientCertificate(String subject, String commonName, List<String> subjectAltNames) {
        this.subject = subject;
        this.commonName = commonName;
        this.subjectAltNames = subjectAltNames;
    }

    /**
     * A certificate's identity from its subject distinguished name in RFC 2253 form (as
     * {@code X500Principal.getName()} writes it, e.g. {@code CN=alice,O=Clients}) and the values of
     * its subject alternative names (DNS names, URIs, e-mail addresses, IP addresses, as written in
     * the certificate).
     *
     * @param subject the subject distinguished name in RFC 2253 form
     * @param subjectAltNames the subject alternative name values
     * @return a certificate's identity from its subject distinguished name in RFC 2253 form (as {@code
     *     X500Principal.getName()} writes it, e.g. {@code CN=alice,O=Clients}) and the values of its subject
     *     alternative names (DNS names, URIs, e-mail addresses, IP addresses, as written in the certificate)
     * @throws IllegalArgumentException when the subject is not a distinguished name or a name is null
     */
    public static ClientCertificate of(String subject, String... subjectAltNames) {
        return of(subject, subjectAltNames == null ? List.of() : List.of(subjectAltNames));
    }

    /**
     * A certificate's identity from its subject (RFC 2253) and subject alternative names.
     *
     * @param subject the subject distinguished name in RFC 2253 form
     * @param subjectAltNames the subject alternative name values
     * @return a certificate's identity from its subject (RFC 2253) and subject alternative names
     * @throws IllegalArgumentException when the subject is not a distinguished name or a name is null
     */
    public static ClientCertificate of(String subject, List<String> subjectAltNames) {
        if (subject == null) {
            throw new IllegalArgumentException("client certificate subject: null (expected: a distinguished name such as CN=alice,O=Clients)");
        }
        Objects.requireNonNull(subjectAltNames, "client certificate subjectAltNames");
        for (String san : subjectAltNames) {
            if (san == null) {
                throw new IllegalArgumentException("client certificate subjectAltNames: null (expected: a name)");
            }
        }
        return new ClientCertificate(subject, commonName(subject), List.copyOf(subjectAltNames));
    }

    /** The most specific CN of the subject, or {@code null}. */
    private static String commonName(String subject) {
        LdapName name;
        try {
            name = new LdapName(subject);
        } catch (InvalidNameException | IllegalArgumentException e) {
            throw new IllegalArgumentException("client certificate subject: " + subject
                    + " (expected: a distinguished name such as CN=alice,O=Clients)", e);
        }
        List<Rdn> rdns = name.getRdns();
        // RFC 2253 writes the most specific RDN first; LdapName lists it last
        for (int i = rdns.size() - 1; i >= 0; i--) {
            Rdn rdn = rdns.get(i);
            if ("CN".equalsIgnoreCase(rdn.getType()) && rdn.getValue() instanceof String cn) {
                return cn;
            }
        }
        return null;
    }

    /** {@return the subject distinguished name in RFC 2253 form, e.g. {@code CN=alice,O=Clients}} */
    public String subject() {
        return subject;
    }

    /**
     * {@return the subject's common name (the most specific {@code CN}), unescaped, or {@code null} when it
     * has none}
     */
    public String commonName() {
        return commonName;
    }

    /** {@return the values of the subject alternative names, in certificate order (immutable; empty when none)} */
    public List<String> subjectAltNames() {
        return subjectAltNames;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClientCertificate c && c.subject.equals(subject) && c.subjectAltNames.equals(subjectAltNames);
    }

    @Override
    public int hashCode() {
        return subject.hashCode() * 31 + subjectAltNames.hashCode();
    }

    @Override
    public String toString() {
        return "ClientCertificate{" + subject + (subjectAltNames.isEmpty() ? "" : ", SAN " + subjectAltNames) + "}";
    }
}
