package io.lodestone.core.route;

import io.lodestone.core.route.internal.AclNodes;
import io.lodestone.core.route.internal.AclNodes.Field;
import io.lodestone.core.route.internal.AclNodes.Kind;

/**
 * A condition over a connection or a request: HAProxy's ACL. The static factories cover what
 * HAProxy users reach for; any lambda is an ACL too. Arguments are checked at once (a bad CIDR or
 * regular expression throws {@link IllegalArgumentException} naming it), regular expressions are
 * compiled once, and string lists match when any value matches.
 *
 * <pre>{@code
 * Acl admin = Acl.pathBegins("/admin");
 * Acl office = Acl.source("10.0.0.0/8", "2001:db8::/32");
 * Acl api = Acl.and(Acl.hostWildcard("*.api.example.com"), Acl.method("GET", "HEAD"));
 * Routing routing = Routing.builder()
 *     .acl("is_admin", admin)
 *     .rule(Rule.when(Acl.and(Acl.named("is_admin"), Acl.not(office))).deny(403))
 *     .rule(Rule.when(api).use("api"))
 *     .defaultBackend("app")
 *     .build();
 * }</pre>
 *
 * <p>Path ACLs read {@link RequestView#path()}, the normalised path, so {@code pathBegins("/admin")}
 * also matches {@code //admin}, {@code /%61dmin}, {@code /x/../admin} and {@code /admin;x=1}. Host
 * ACLs compare case-insensitively, without the port. HTTP ACLs are false on a connection-only view.
 */
@FunctionalInterface
public interface Acl {

    /**
     * Returns whether the connection or request matches. Must not block and should not allocate.
     *
     * @param request the request or connection
     * @return whether the connection or request matches
     */
    boolean matches(RequestView request);

    /**
     * Always true.
     *
     * @return an ACL that always matches
     */
    static Acl always() {
        return AclNodes.Constant.TRUE;
    }

    /**
     * Never true.
     *
     * @return an ACL that never matches
     */
    static Acl never() {
        return AclNodes.Constant.FALSE;
    }

    // ---- connection

    /**
     * The client's address is in one of these networks: {@code 10.0.0.0/8}, {@code 2001:db8::/32}, {@code 192.0.2.7}.
     * An IPv4 client on a dual-stack socket ({@code ::ffff:10.1.2.3}) is an IPv4 client, and a network in the
     * IPv4-mapped form ({@code ::ffff:10.0.0.0/104}) is the IPv4 network it maps ({@code 10.0.0.0/8}).
     *
     * @param cidrs networks in CIDR form, or single addresses
     * @return an ACL that matches when the client's address is in one of these networks: {@code 10.0.0.0/8},
     *     {@code 2001:db8::/32}, {@code 192.0.2.7}
     */
    static Acl source(String... cidrs) {
        return new AclNodes.Source(cidrs);
    }

    /**
     * The client connected to one of these frontend ports.
     *
     * @param ports frontend ports
     * @return an ACL that matches when the client connected to one of these frontend ports
     */
    static Acl localPort(int... ports) {
        return new AclNodes.LocalPort(ports);
    }

    /**
     * The TLS SNI is one of these names, case-insensitively; {@code *.example.com} matches any subdomain.
     * The SNI is read without the trailing dot of an absolute name, so a value with one fails.
     *
     * @param names host names, or {@code *.domain} patterns
     * @return an ACL that matches when the TLS SNI is one of these names, case-insensitively; {@code
     *     *.example.com} matches any subdomain
     */
    static Acl sni(String... names) {
        return new AclNodes.Tls(false, names);
    }

    /**
     * The ALPN protocol is one of these ({@code h2}, {@code http/1.1}).
     *
     * @param protocols ALPN protocol ids
     * @return an ACL that matches when the ALPN protocol is one of these ({@code h2}, {@code http/1.1})
     */
    static Acl alpn(String... protocols) {
        return new AclNodes.Tls(true, protocols);
    }

    // ---- client certificate (mutual TLS)

    /**
     * The client presented a certificate that the handshake verified (HAProxy's {@code ssl_c_used}
     * with {@code verify optional}): see {@link RequestView#clientCertificate()}. Works at L4 and L7.
     *
     * @return an ACL that matches when the client presented a certificate that the handshake verified
     *     (HAProxy's {@code ssl_c_used} with {@code verify optional}): see {@link
     *     RequestView#clientCertificate()}
     */
    static Acl clientCertificate() {
        return AclNodes.ClientCert.PRESENT;
    }

    /**
     * The verified client certificate's subject DN (RFC 2253, {@code CN=alice,O=Clients}) equals one of
     * these, exactly.
     *
     * @param subjects subject distinguished names in RFC 2253 form
     * @return an ACL that matches when the verified client certificate's subject DN (RFC 2253, {@code
     *     CN=alice,O=Clients}) equals one of these, exactly
     */
    static Acl clientSubject(String... subjects) {
        return new AclNodes.ClientCert(AclNodes.ClientCert.Part.SUBJECT, subjects);
    }

    /**
     * The verified client certificate's common name equals one of these, exactly.
     *
     * @param names common names
     * @return an ACL that matches when the verified client certificate's common name equals one of these,
     *     exactly
     */
    static Acl clientCommonName(String... names) {
        return new AclNodes.ClientCert(AclNodes.ClientCert.Part.COMMON_NAME, names);
    }

    /**
     * One of the verified client certificate's subject alternative names (DNS, URI, e-mail or IP
     * value, as written in the certificate) equals one of these, exactly.
     *
     * @param names subject alternative name values
     * @return an ACL that matches when one of the verified client certificate's subject alternative names
     *     (DNS, URI, e-mail or IP value, as written in the certificate) equals one of these, exactly
     */
    static Acl clientSan(String... names) {
        return new AclNodes.ClientCert(AclNodes.ClientCert.Part.SAN, names);
    }

    /**
     * One of the verified client certificate's subject alternative names starts with one of these ({@code
     * spiffe://prod/}).
     *
     * @param prefixes prefixes of subject alternative name values
     * @return an ACL that matches when one of the verified client certificate's subject alternative names
     *     starts with one of these ({@code spiffe://prod/})
     */
    static Acl clientSanBegins(String... prefixes) {
        return new AclNodes.ClientCert(AclNodes.ClientCert.Part.SAN_BEGINS, prefixes);
    }

    // ---- request line

    /**
     * The method is one of these, exactly ({@code GET}).
     *
     * @param methods HTTP methods
     * @return an ACL that matches when the method is one of these, exactly ({@code GET})
     */
    static Acl method(String... methods) {
        return new AclNodes.Method(methods);
    }

    /**
     * The normalised path equals one of these.
     *
     * @param paths normalised paths
     * @return an ACL that matches when the normalised path equals one of these
     * @throws IllegalArgumentException naming the value and what it reads as when no normalised path can
     *     equal it ({@code //admin}, {@code /a/../b}): such a rule would match no request
     */
    static Acl path(String... paths) {
        return new AclNodes.Strings(Field.PATH, Kind.EXACT, paths, false);
    }

    /**
     * The normalised path equals one of these, ignoring case.
     *
     * @param paths normalised paths
     * @return an ACL that matches when the normalised path equals one of these, ignoring case
     * @throws IllegalArgumentException naming the value when no normalised path can equal it, as {@link #path}
     */
    static Acl pathIgnoreCase(String... paths) {
        return new AclNodes.Strings(Field.PATH, Kind.EXACT, paths, true);
    }

    /**
     * The normalised path starts with one of these (a string prefix, as HAProxy's {@code path_beg}).
     *
     * @param prefixes path prefixes, each a normalised path
     * @return an ACL that matches when the normalised path starts with one of these (a string prefix, as
     *     HAProxy's {@code path_beg})
     * @throws IllegalArgumentException naming the value and what it reads as when no normalised path can
     *     begin with it ({@code //admin}, {@code /%61dmin}, {@code /admin;x}, {@code admin}): such a rule
     *     would match no request
     */
    static Acl pathBegins(String... prefixes) {
        return new AclNodes.Strings(Field.PATH, Kind.BEGINS, prefixes, false);
    }

    /**
     * The normalised path starts with one of these, ignoring case ({@code path_beg -i}).
     *
     * @param prefixes path prefixes, each a normalised path
     * @return an ACL that matches when the normalised path starts with one of these, ignoring case ({@code
     *     path_beg -i})
     * @throws IllegalArgumentException naming the value when no normalised path can begin with it, as {@link #pathBegins}
     */
    static Acl pathBeginsIgnoreCase(String... prefixes) {
        return new AclNodes.Strings(Field.PATH, Kind.BEGINS, prefixes, true);
    }

    /**
     * The normalised path ends with one of these.
     *
     * @param suffixes path suffixes
     * @return an ACL that matches when the normalised path ends with one of these
     */
    static Acl pathEnds(String... suffixes) {
        return new AclNodes.Strings(Field.PATH, Kind.ENDS, suffixes, false);
    }

    /**
     * The normalised path ends with one of these, ignoring case.
     *
     * @param suffixes path suffixes
     * @return an ACL that matches when the normalised path ends with one of these, ignoring case
     */
    static Acl pathEndsIgnoreCase(String... suffixes) {
        return new AclNodes.Strings(Field.PATH, Kind.ENDS, suffixes, true);
    }

    /**
     * The normalised path contains one of these.
     *
     * @param parts strings to look for in the path
     * @return an ACL that matches when the normalised path contains one of these
     */
    static Acl pathContains(String... parts) {
        return new AclNodes.Strings(Field.PATH, Kind.CONTAINS, parts, false);
    }

    /**
     * The normalised path contains one of these, ignoring case.
     *
     * @param parts strings to look for in the path
     * @return an ACL that matches when the normalised path contains one of these, ignoring case
     */
    static Acl pathContainsIgnoreCase(String... parts) {
        return new AclNodes.Strings(Field.PATH, Kind.CONTAINS, parts, true);
    }

    /**
     * The regular expression is found in the normalised path ({@code ^/api/v[0-9]+/}).
     *
     * @param regex a regular expression
     * @return an ACL that matches when the regular expression is found in the normalised path ({@code
     *     ^/api/v[0-9]+/})
     */
    static Acl pathRegex(String regex) {
        return new AclNodes.Regex(null, regex, false);
    }

    /**
     * The regular expression is found in the normalised path, ignoring case.
     *
     * @param regex a regular expression
     * @return an ACL that matches when the regular expression is found in the normalised path, ignoring case
     */
    static Acl pathRegexIgnoreCase(String regex) {
        return new AclNodes.Regex(null, regex, true);
    }

    // ---- host

    /**
     * The host (without port, any case) equals one of these.
     *
     * @param hosts host names
     * @return an ACL that matches when the host (without port, any case) equals one of these
     */
    static Acl host(String... hosts) {
        return new AclNodes.Strings(Field.HOST, Kind.EXACT, hosts, true);
    }

    /**
     * The host starts with one of these ({@code api.}).
     *
     * @param prefixes host prefixes
     * @return an ACL that matches when the host starts with one of these ({@code api.})
     */
    static Acl hostBegins(String... prefixes) {
        return new AclNodes.Strings(Field.HOST, Kind.BEGINS, prefixes, true);
    }

    /**
     * The host ends with one of these ({@code .example.com}).
     *
     * @param suffixes host suffixes
     * @return an ACL that matches when the host ends with one of these ({@code .example.com})
     */
    static Acl hostEnds(String... suffixes) {
        return new AclNodes.Strings(Field.HOST, Kind.ENDS, suffixes, true);
    }

    /**
     * The host matches one of these {@code *.example.com} patterns: any subdomain, not the domain itself.
     *
     * @param patterns {@code *.domain} patterns
     * @return an ACL that matches when the host matches one of these {@code *.example.com} patterns: any
     *     subdomain, not the domain itself
     */
    static Acl hostWildcard(String... patterns) {
        return new AclNodes.Strings(Field.HOST, Kind.WILDCARD, patterns, true);
    }

    // ---- headers, query, cookies

    /**
     * The request has the header (name in any case).
     *
     * @param name the header name
     * @return an ACL that matches when the request has the header (name in any case)
     */
    static Acl headerExists(String name) {
        return new AclNodes.Header(name, null, null, false);
    }

    /**
     * A value of the header equals one of these.
     *
     * @param name the header name
     * @param values the values to compare with
     * @return an ACL that matches when a value of the header equals one of these
     */
    static Acl header(String name, String... values) {
        return new AclNodes.Header(name, Kind.EXACT, values, false);
    }

    /**
     * A value of the header equals one of these, ignoring case.
     *
     * @param name the header name
     * @param values the values to compare with
     * @return an ACL that matches when a value of the header equals one of these, ignoring case
     */
    static Acl headerIgnoreCase(String name, String... values) {
        return new AclNodes.Header(name, Kind.EXACT, values, true);
    }

    /**
     * A value of the header starts with one of these.
     *
     * @param name the header name
     * @param prefixes value prefixes
     * @return an ACL that matches when a value of the header starts with one of these
     */
    static Acl headerBegins(String name, String... prefixes) {
        return new AclNodes.Header(name, Kind.BEGINS, prefixes, false);
    }

    /**
     * A value of the header starts with one of these, ignoring case.
     *
     * @param name the header name
     * @param prefixes value prefixes
     * @return an ACL that matches when a value of the header starts with one of these, ignoring case
     */
    static Acl headerBeginsIgnoreCase(String name, String... prefixes) {
        return new AclNodes.Header(name, Kind.BEGINS, prefixes, true);
    }

    /**
     * The regular expression is found in a value of the header.
     *
     * @param name the header name
     * @param regex a regular expression
     * @return an ACL that matches when the regular expression is found in a value of the header
     */
    static Acl headerRegex(String name, String regex) {
        return new AclNodes.Regex(name, regex, false);
    }

    /**
     * The regular expression is found in a value of the header, ignoring case.
     *
     * @param name the header name
     * @param regex a regular expression
     * @return an ACL that matches when the regular expression is found in a value of the header, ignoring
     *     case
     */
    static Acl headerRegexIgnoreCase(String name, String regex) {
        return new AclNodes.Regex(name, regex, true);
    }

    /**
     * The query has the parameter (with or without a value).
     *
     * @param name the parameter name
     * @return an ACL that matches when the query has the parameter (with or without a value)
     */
    static Acl queryParamExists(String name) {
        return new AclNodes.Param(false, name, null, false);
    }

    /**
     * A decoded value of the query parameter equals one of these. Every occurrence is read
     * ({@code ?debug=0&debug=1} matches {@code queryParam("debug", "1")}), as HAProxy's {@code urlp}
     * in an ACL: servers differ in which occurrence they keep.
     *
     * @param name the parameter name
     * @param values decoded values to compare with
     * @return an ACL that matches when a decoded value of the query parameter equals one of these
     */
    static Acl queryParam(String name, String... values) {
        return new AclNodes.Param(false, name, values, false);
    }

    /**
     * A decoded value of the query parameter (any occurrence) equals one of these, ignoring case.
     *
     * @param name the parameter name
     * @param values decoded values to compare with
     * @return an ACL that matches when a decoded value of the query parameter (any occurrence) equals one of
     *     these, ignoring case
     */
    static Acl queryParamIgnoreCase(String name, String... values) {
        return new AclNodes.Param(false, name, values, true);
    }

    /**
     * The request has the cookie.
     *
     * @param name the cookie name
     * @return an ACL that matches when the request has the cookie
     */
    static Acl cookieExists(String name) {
        return new AclNodes.Param(true, name, null, false);
    }

    /**
     * A value of the cookie equals one of these. Every cookie of that name is read, in one
     * {@code Cookie} field or several ({@code role=user; role=admin} matches
     * {@code cookie("role", "admin")}), as HAProxy's {@code req.cook} in an ACL.
     *
     * @param name the cookie name
     * @param values the values to compare with
     * @return an ACL that matches when a value of the cookie equals one of these
     */
    static Acl cookie(String name, String... values) {
        return new AclNodes.Param(true, name, values, false);
    }

    /**
     * A value of the cookie (any of that name) equals one of these, ignoring case.
     *
     * @param name the cookie name
     * @param values the values to compare with
     * @return an ACL that matches when a value of the cookie (any of that name) equals one of these, ignoring
     *     case
     */
    static Acl cookieIgnoreCase(String name, String... values) {
        return new AclNodes.Param(true, name, values, true);
    }

    // ---- state

    /**
     * The backend has fewer than {@code n} usable servers now: HAProxy's {@code nbsrv(backend) lt n},
     * except that a server at its connection limit is not counted (HAProxy counts every server that is
     * up), so the ACL is also true while every server is full. It reads the live states a {@link Router} is given, so it works inside a {@link Routing}.
     *
     * @param backend the backend's name
     * @param n the bound, exclusive
     * @return an ACL that matches when the backend has fewer than {@code n} usable servers now: HAProxy's
     *     {@code nbsrv(backend) lt n}, except that a server at its connection limit is not counted (HAProxy
     *     counts every server that is up), so the ACL is also true while every server is full
     */
    static Acl usableServersBelow(String backend, int n) {
        return new AclNodes.UsableServers(backend, n);
    }

    /**
     * A random fraction (0.0..1.0) of requests, drawn from {@link RequestView#random()}: a canary.
     * With {@link TestRequest} the draw is seedable.
     *
     * @param fraction the share of requests that match, 0.0..1.0
     * @return an ACL that matches a random {@code fraction} of requests
     */
    static Acl random(double fraction) {
        return new AclNodes.Random(fraction);
    }

    // ---- composition

    /**
     * True when every ACL is.
     *
     * @param acls the ACLs
     * @return an ACL that matches when every one of {@code acls} does
     */
    static Acl and(Acl... acls) {
        return new AclNodes.Junction(true, acls);
    }

    /**
     * True when any ACL is.
     *
     * @param acls the ACLs
     * @return an ACL that matches when any of {@code acls} does
     */
    static Acl or(Acl... acls) {
        return new AclNodes.Junction(false, acls);
    }

    /**
     * True when the ACL is not.
     *
     * @param acl the ACL
     * @return an ACL that matches when {@code acl} does not
     */
    static Acl not(Acl acl) {
        return new AclNodes.Not(acl);
    }

    /**
     * Refers to an ACL declared with {@link Routing.Builder#acl(String, Acl)}; resolved when the
     * routing is built, which fails naming the rule when no ACL has that name.
     *
     * @param name the name of an ACL declared on the routing
     * @return an ACL that stands for the named one
     */
    static Acl named(String name) {
        return new AclNodes.Named(name);
    }

    /**
     * Gives a custom ACL a description, shown in {@link MatchedRule#condition()}.
     *
     * @param description the description
     * @param acl the custom ACL
     * @return {@code acl} with that description
     */
    static Acl describe(String description, Acl acl) {
        return new AclNodes.Described(description, acl);
    }
}
