package io.lodestone.core.route.internal;

import io.lodestone.core.route.Acl;
import io.lodestone.core.route.BackendStates;
import io.lodestone.core.route.RequestView;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The built-in ACLs behind the static factories of {@link Acl}. */
public final class AclNodes {

    private AclNodes() {
    }

    /** The request field a string ACL reads. */
    public enum Field {
        /** The normalised path. */
        PATH("path"),
        /** The host without port, lower-cased. */
        HOST("host");

        private final String label;

        Field(String label) {
            this.label = label;
        }

        String read(RequestView v) {
            return this == PATH ? v.path() : v.host();
        }
    }

    /** How a string ACL compares. */
    public enum Kind {
        /** Equal. */
        EXACT(""),
        /** Starts with. */
        BEGINS("_beg"),
        /** Ends with. */
        ENDS("_end"),
        /** Contains. */
        CONTAINS("_sub"),
        /** A {@code *.example.com} wildcard: ends with {@code .example.com}, with something before. */
        WILDCARD("_wildcard");

        private final String suffix;

        Kind(String suffix) {
            this.suffix = suffix;
        }

        boolean test(String s, String v, boolean ignoreCase) {
            int sl = s.length();
            int vl = v.length();
            switch (this) {
                case EXACT:
                    return ignoreCase ? s.equalsIgnoreCase(v) : s.equals(v);
                case BEGINS:
                    return sl >= vl && s.regionMatches(ignoreCase, 0, v, 0, vl);
                case ENDS:
                    return sl >= vl && s.regionMatches(ignoreCase, sl - vl, v, 0, vl);
                case WILDCARD:
                    return sl > vl && s.regionMatches(ignoreCase, sl - vl, v, 0, vl);
                default:
                    if (!ignoreCase) {
                        return s.contains(v);
                    }
                    for (int i = 0, last = sl - vl; i <= last; i++) {
                        if (s.regionMatches(true, i, v, 0, vl)) {
                            return true;
                        }
                    }
                    return false;
            }
        }
    }

    static String[] values(String field, String[] values) {
        if (values == null || values.length == 0) {
            throw new IllegalArgumentException(field + ": [] (expected: at least one value)");
        }
        String[] copy = values.clone();
        for (String v : copy) {
            if (v == null) {
                throw new IllegalArgumentException(field + ": null (expected: a value)");
            }
        }
        return copy;
    }

    static Pattern compile(String field, String regex, boolean ignoreCase) {
        if (regex == null) {
            throw new IllegalArgumentException(field + ": null (expected: a regular expression)");
        }
        try {
            return Pattern.compile(regex, ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(field + ": " + regex + " (invalid regular expression: "
                    + e.getDescription() + " near index " + e.getIndex() + ")", e);
        }
    }

    static String list(String[] values) {
        return String.join(" ", values);
    }

    /** Checks a header name and lower-cases it, so that views can look it up without converting it. */
    static String header(String field, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(field + ": " + (name == null ? "null" : "\"\"") + " (expected: a header name)");
        }
        return HttpParts.toLowerAscii(name);
    }

    /**
     * The literal text every match of an anchored regex starts with ({@code /api/v} for
     * {@code ^/api/v[0-9]+}), or {@code null}: lets a path be rejected without running the regex.
     */
    static String literalPrefix(String regex) {
        if (!regex.startsWith("^") || regex.indexOf('|') >= 0) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        int i = 1;
        for (; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (".[]{}()*+?^$|\\".indexOf(c) >= 0) {
                break;
            }
            sb.append(c);
        }
        if (i < regex.length() && "*?{".indexOf(regex.charAt(i)) >= 0 && sb.length() > 0) {
            sb.setLength(sb.length() - 1);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    static String name(String field, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(field + ": " + (name == null ? "null" : "\"\"") + " (expected: a name)");
        }
        return name;
    }

    /**
     * Why a host ACL's value can never match, or {@code null}: the request's host is read without
     * its port and without a trailing dot ({@link HttpParts#host}), so a value with a port (a colon
     * outside an IPv6 literal's brackets) never equals, begins, ends or wildcards it, nor one with a
     * trailing dot, except as a prefix ({@code hostBegins("api.")}).
     */
    static String hostValueProblem(String value, Kind kind) {
        // a colon is a port's after an IPv6 literal's closing bracket, or anywhere without brackets
        // (an IPv6 host is always read in brackets); a prefix such as "[2001:db8:" is no port
        int close = value.lastIndexOf(']');
        boolean port = close >= 0 ? value.indexOf(':', close) >= 0 : !value.startsWith("[") && value.indexOf(':') >= 0;
        if (port) {
            return "expected: a host without a port, an IPv6 address in brackets; rules read the Host without"
                    + " its port, localPort(...) tests the port";
        }
        if (kind != Kind.BEGINS && value.endsWith(".")) {
            return "expected: a host without a trailing dot; rules read the Host without it";
        }
        return null;
    }

    /**
     * Why no request's normalised path can equal ({@code EXACT}) or begin with ({@code BEGINS}) {@code value},
     * or {@code null} when one can: a rule on {@code //admin} or {@code /%61dmin} would match nothing, so a
     * deny written that way would let every request through. A prefix is probed followed by a letter, so
     * that a trailing {@code .} or {@code ..} is not read as a dot segment ({@code /.} begins {@code /.env}).
     */
    static String pathValueProblem(String value, Kind kind) {
        if (value.equals("*")) {
            return null; // the asterisk-form target of OPTIONS *
        }
        String probe = kind == Kind.BEGINS ? value + "x" : value;
        String normalised = PathNormalizer.normalize(probe);
        if (normalised.equals(probe)) {
            return null;
        }
        String reads = kind == Kind.BEGINS ? PathNormalizer.normalize(value) : normalised;
        return "matches no request: rules read a request's path percent-decoded, without ';' parameters, '\\', '//'"
                + " or dot segments, where " + value + " reads as " + reads;
    }

    /** The factory of each host {@link Kind}, by ordinal, for messages. */
    private static final String[] HOST_FACTORIES = hostFactories();

    private static String[] hostFactories() {
        String[] names = new String[Kind.values().length];
        for (Kind k : Kind.values()) {
            names[k.ordinal()] = switch (k.name()) {
                case "EXACT" -> "host";
                case "BEGINS" -> "hostBegins";
                case "ENDS" -> "hostEnds";
                case "WILDCARD" -> "hostWildcard";
                default -> "host " + k.name().toLowerCase(java.util.Locale.ROOT);
            };
        }
        return names;
    }

    /** Path or host compared with any of a list of strings. */
    public static final class Strings extends AclNode {
        private final Field field;
        private final Kind kind;
        private final String[] values;
        private final boolean ignoreCase;

        /** Matches when the field compares with any value; host values are lower-cased once. */
        public Strings(Field field, Kind kind, String[] values, boolean ignoreCase) {
            String label = field.label + kind.suffix;
            String[] v = values(label, values);
            if (field == Field.HOST) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = HttpParts.toLowerAscii(v[i]);
                    String problem = hostValueProblem(v[i], kind);
                    if (problem != null) {
                        throw new IllegalArgumentException(HOST_FACTORIES[kind.ordinal()] + ": " + values[i] + " (" + problem + ")");
                    }
                    if (kind == Kind.WILDCARD) {
                        if (!v[i].startsWith("*.") || v[i].length() < 3 || v[i].indexOf('*', 1) >= 0) {
                            throw new IllegalArgumentException("hostWildcard: " + values[i] + " (expected: *.domain)");
                        }
                        v[i] = v[i].substring(1);
                    }
                }
            }
            if (field == Field.PATH && (kind == Kind.EXACT || kind == Kind.BEGINS)) {
                for (String value : v) {
                    String problem = pathValueProblem(value, kind);
                    if (problem != null) {
                        throw new IllegalArgumentException("path" + (kind == Kind.BEGINS ? "Begins" : "")
                                + (ignoreCase ? "IgnoreCase" : "") + ": " + value + " (" + problem + ")");
                    }
                }
            }
            this.field = field;
            this.kind = kind;
            this.values = v;
            this.ignoreCase = ignoreCase && field == Field.PATH;
        }

        Field field() {
            return field;
        }

        Kind kind() {
            return kind;
        }

        /** The values as compared (host values lower-cased, wildcards without their {@code *}); not a copy. */
        String[] compared() {
            return values;
        }

        boolean ignoreCase() {
            return ignoreCase;
        }

        @Override
        public boolean matches(RequestView view) {
            String s = field.read(view);
            if (s == null) {
                return false;
            }
            for (String v : values) {
                if (kind.test(s, v, ignoreCase)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean readsHttp() {
            return true;
        }

        @Override
        public String toString() {
            String shown = kind == Kind.WILDCARD ? "*" + String.join(" *", values) : list(values);
            return field.label + kind.suffix + (ignoreCase ? " -i " : " ") + shown;
        }
    }

    /** Path, or a header's values, matched by a regular expression compiled once. */
    public static final class Regex extends AclNode {
        private final String header;
        private final Pattern pattern;
        private final String label;
        private final String prefix;
        private final boolean ignoreCase;

        /** A path regex when {@code header} is null, else a header regex. */
        public Regex(String header, String regex, boolean ignoreCase) {
            this.label = header == null ? "path_reg" : "hdr_reg(" + header + ")";
            this.header = header == null ? null : header(label, header);
            this.pattern = compile(header == null ? "pathRegex" : "headerRegex(" + header + ")", regex, ignoreCase);
            this.prefix = literalPrefix(regex);
            this.ignoreCase = ignoreCase;
        }

        /** The header read, lower-case, or {@code null} for a path regex. */
        String headerName() {
            return header;
        }

        /** The literal text every match of the path regex starts with, or {@code null}. */
        String prefix() {
            return prefix;
        }

        boolean ignoreCase() {
            return ignoreCase;
        }

        @Override
        public boolean matches(RequestView view) {
            if (header == null) {
                String p = view.path();
                if (p == null || prefix != null && !p.regionMatches(ignoreCase, 0, prefix, 0, prefix.length())) {
                    return false;
                }
                return pattern.matcher(p).find();
            }
            if (!view.isHttp()) {
                return false;
            }
            List<String> vs = view.headers(header);
            for (int i = 0, n = vs.size(); i < n; i++) {
                if (pattern.matcher(vs.get(i)).find()) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean readsHttp() {
            return true;
        }

        @Override
        public String toString() {
            return label + ((pattern.flags() & Pattern.CASE_INSENSITIVE) != 0 ? " -i " : " ") + pattern.pattern();
        }
    }

    /** A header present, or one of its values compared with a list. */
    public static final class Header extends AclNode {
        private final String name;
        private final Kind kind;
        private final String[] values;
        private final boolean ignoreCase;

        /** {@code kind == null} tests presence only. */
        public Header(String name, Kind kind, String[] values, boolean ignoreCase) {
            this.name = header("header name", name);
            this.kind = kind;
            this.values = kind == null ? null : values("hdr" + kind.suffix + "(" + name + ")", values);
            this.ignoreCase = ignoreCase;
        }

        /** The header name, lower-case. */
        String name() {
            return name;
        }

        /** How values compare, or {@code null} for presence only. */
        Kind kind() {
            return kind;
        }

        /** The values compared with; not a copy. */
        String[] compared() {
            return values;
        }

        boolean ignoreCase() {
            return ignoreCase;
        }

        @Override
        public boolean matches(RequestView view) {
            if (!view.isHttp()) {
                return false;
            }
            if (kind == null) {
                return view.header(name) != null;
            }
            List<String> vs = view.headers(name);
            for (int i = 0, n = vs.size(); i < n; i++) {
                String s = vs.get(i);
                for (String v : values) {
                    if (kind.test(s, v, ignoreCase)) {
                        return true;
                    }
                }
            }
            return false;
        }

        @Override
        public boolean readsHttp() {
            return true;
        }

        @Override
        public String toString() {
            if (kind == null) {
                return "hdr_cnt(" + name + ") gt 0";
            }
            return "hdr" + kind.suffix + "(" + name + ")" + (ignoreCase ? " -i " : " ") + list(values);
        }
    }

    /** A query parameter or a cookie: present, or equal to one of a list. */
    public static final class Param extends AclNode {
        private final boolean cookie;
        private final String name;
        private final String[] values;
        private final boolean ignoreCase;

        /** {@code values == null} tests presence only. */
        public Param(boolean cookie, String name, String[] values, boolean ignoreCase) {
            String label = cookie ? "cookie" : "urlp";
            this.cookie = cookie;
            this.name = name(label + " name", name);
            this.values = values == null ? null : values(label + "(" + name + ")", values);
            this.ignoreCase = ignoreCase;
        }

        /** Whether this reads a cookie, else a query parameter. */
        boolean cookie() {
            return cookie;
        }

        String paramName() {
            return name;
        }

        /** The values compared with, or {@code null} for presence only; not a copy. */
        String[] compared() {
            return values;
        }

        boolean ignoreCase() {
            return ignoreCase;
        }

        @Override
        public boolean matches(RequestView view) {
            if (!view.isHttp()) {
                return false;
            }
            if (values == null) {
                return (cookie ? view.cookie(name) : view.queryParam(name)) != null;
            }
            // every occurrence, as HAProxy's urlp and cook do in an ACL: servers differ in which one they keep
            List<String> found = cookie ? HttpParts.cookies(view.headers("cookie"), name)
                    : HttpParts.queryParams(view.query(), name);
            for (int i = 0, n = found.size(); i < n; i++) {
                String s = found.get(i);
                for (String v : values) {
                    if (ignoreCase ? s.equalsIgnoreCase(v) : s.equals(v)) {
                        return true;
                    }
                }
            }
            return false;
        }

        @Override
        public boolean readsHttp() {
            return true;
        }

        @Override
        public String toString() {
            String f = (cookie ? "cookie(" : "urlp(") + name + ")";
            return values == null ? "found " + f : f + (ignoreCase ? " -i " : " ") + list(values);
        }
    }

    /** The request method is one of a list. */
    public static final class Method extends AclNode {
        private final String[] methods;

        /** Matches any of these methods exactly. */
        public Method(String[] methods) {
            this.methods = values("method", methods);
        }

        /** The methods; not a copy. */
        String[] methods() {
            return methods;
        }

        @Override
        public boolean matches(RequestView view) {
            String m = view.method();
            if (m == null) {
                return false;
            }
            for (String v : methods) {
                if (v.equals(m)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean readsHttp() {
            return true;
        }

        @Override
        public String toString() {
            return "method " + list(methods);
        }
    }

    /** The source address lies in one of a list of networks. */
    public static final class Source extends AclNode {
        private final Cidr[] networks;

        /** Parses every network once. */
        public Source(String[] cidrs) {
            String[] v = values("source", cidrs);
            this.networks = new Cidr[v.length];
            for (int i = 0; i < v.length; i++) {
                networks[i] = Cidr.parse("source", v[i]);
            }
        }

        @Override
        public boolean matches(RequestView view) {
            java.net.InetAddress a = view.sourceAddress();
            if (a == null) {
                return false;
            }
            for (Cidr c : networks) {
                if (c.contains(a)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("src");
            for (Cidr c : networks) {
                sb.append(' ').append(c);
            }
            return sb.toString();
        }
    }

    /** The frontend port the client connected to is one of a list. */
    public static final class LocalPort extends AclNode {
        private final int[] ports;

        /** Matches any of these ports. */
        public LocalPort(int[] ports) {
            if (ports == null || ports.length == 0) {
                throw new IllegalArgumentException("localPort: [] (expected: at least one port)");
            }
            for (int p : ports) {
                if (p < 1 || p > 65535) {
                    throw new IllegalArgumentException("localPort: " + p + " (expected: 1..65535)");
                }
            }
            this.ports = ports.clone();
        }

        @Override
        public boolean matches(RequestView view) {
            int p = view.localPort();
            for (int v : ports) {
                if (v == p) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("dst_port");
            for (int p : ports) {
                sb.append(' ').append(p);
            }
            return sb.toString();
        }
    }

    /** The TLS SNI (case-insensitive; {@code *.domain} wildcards allowed) or the ALPN protocol is one of a list. */
    public static final class Tls extends AclNode {
        private final boolean alpn;
        private final String[] values;

        /** Matches the ALPN protocol when {@code alpn}, else the SNI. */
        public Tls(boolean alpn, String[] values) {
            String[] v = values(alpn ? "alpn" : "sni", values);
            if (!alpn) {
                for (int i = 0; i < v.length; i++) {
                    if (v[i].endsWith(".")) {
                        throw new IllegalArgumentException("sni: " + v[i]
                                + " (expected: a name without a trailing dot; rules read the SNI without it)");
                    }
                    v[i] = HttpParts.toLowerAscii(v[i]);
                }
            }
            this.alpn = alpn;
            this.values = v;
        }

        @Override
        public boolean matches(RequestView view) {
            String s = alpn ? view.alpn() : view.sni();
            if (s == null) {
                return false;
            }
            for (String v : values) {
                if (alpn) {
                    if (v.equals(s)) {
                        return true;
                    }
                } else if (v.startsWith("*.") ? Kind.WILDCARD.test(s, v.substring(1), true) : v.equalsIgnoreCase(s)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String toString() {
            return (alpn ? "ssl_fc_alpn " : "ssl_fc_sni ") + list(values);
        }
    }

    /** A fact of the verified client certificate: presented at all, subject, common name, or a SAN. */
    public static final class ClientCert extends AclNode {

        /** The client presented a verified certificate. */
        public static final ClientCert PRESENT = new ClientCert(Part.PRESENT, null);

        /** What of the certificate is compared. */
        public enum Part {
            /** Only that there is one. */
            PRESENT("ssl_c_used"),
            /** The subject DN, exactly. */
            SUBJECT("ssl_c_s_dn"),
            /** The common name, exactly. */
            COMMON_NAME("ssl_c_s_dn(cn)"),
            /** Any subject alternative name, exactly. */
            SAN("ssl_c_san"),
            /** Any subject alternative name, by prefix. */
            SAN_BEGINS("ssl_c_san_beg");

            private final String label;

            Part(String label) {
                this.label = label;
            }
        }

        private final Part part;
        private final String[] values;

        /** Compares {@code part} with any of {@code values} (none for {@link Part#PRESENT}). */
        public ClientCert(Part part, String[] values) {
            this.part = part;
            this.values = part == Part.PRESENT ? null : values(part.label, values);
        }

        @Override
        public boolean matches(RequestView view) {
            io.lodestone.core.route.ClientCertificate c = view.clientCertificate();
            if (c == null) {
                return false;
            }
            switch (part) {
                case PRESENT:
                    return true;
                case SUBJECT:
                    return anyEquals(c.subject());
                case COMMON_NAME:
                    return anyEquals(c.commonName());
                default:
                    List<String> sans = c.subjectAltNames();
                    for (int i = 0, n = sans.size(); i < n; i++) {
                        String san = sans.get(i);
                        for (String v : values) {
                            if (part == Part.SAN ? san.equals(v) : san.startsWith(v)) {
                                return true;
                            }
                        }
                    }
                    return false;
            }
        }

        private boolean anyEquals(String s) {
            if (s == null) {
                return false;
            }
            for (String v : values) {
                if (v.equals(s)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String toString() {
            return part == Part.PRESENT ? part.label : part.label + " " + list(values);
        }
    }

    /** A backend has fewer usable servers than a bound ({@code nbsrv(b) lt n}). */
    public static final class UsableServers extends AclNode {
        private final String backend;
        private final int below;
        private final BackendStates states;

        /** Unbound: reads states once a router binds it. */
        public UsableServers(String backend, int below) {
            this(name("usableServersBelow backend", backend), below, null);
            if (below < 1) {
                throw new IllegalArgumentException("usableServersBelow: " + below + " (expected: >= 1)");
            }
        }

        private UsableServers(String backend, int below, BackendStates states) {
            this.backend = backend;
            this.below = below;
            this.states = states;
        }

        /** The backend whose servers are counted. */
        public String backend() {
            return backend;
        }

        @Override
        public Acl bind(Binder binder) {
            binder.readsBackend(backend);
            BackendStates s = binder.states();
            return s == null ? this : new UsableServers(backend, below, s);
        }

        @Override
        public boolean matches(RequestView view) {
            if (states == null) {
                throw new IllegalStateException(this + ": reads backend states; evaluate it through a Router");
            }
            return states.usableServers(backend) < below;
        }

        @Override
        public String toString() {
            return "nbsrv(" + backend + ") lt " + below;
        }
    }

    /** A random fraction of requests. */
    public static final class Random extends AclNode {
        private final double fraction;

        /** Matches this fraction of requests, 0.0..1.0. */
        public Random(double fraction) {
            if (!(fraction >= 0 && fraction <= 1)) {
                throw new IllegalArgumentException("random: " + fraction + " (expected: 0.0..1.0)");
            }
            this.fraction = fraction;
        }

        @Override
        public boolean matches(RequestView view) {
            return fraction >= 1 || fraction > 0 && view.random().nextDouble() < fraction;
        }

        @Override
        public String toString() {
            return "rand " + fraction;
        }
    }

    /** Always or never true. */
    public static final class Constant extends AclNode {
        /** Always true. */
        public static final Constant TRUE = new Constant(true);
        /** Always false. */
        public static final Constant FALSE = new Constant(false);
        private final boolean value;

        private Constant(boolean value) {
            this.value = value;
        }

        @Override
        public boolean matches(RequestView view) {
            return value;
        }

        @Override
        public String toString() {
            return value ? "always" : "never";
        }
    }

    /** All of, or any of, a list of ACLs. */
    public static final class Junction extends AclNode {
        private final boolean all;
        private final AclNode[] parts;

        /** All of {@code parts} when {@code all}, else any of them. */
        public Junction(boolean all, Acl[] parts) {
            if (parts == null || parts.length == 0) {
                throw new IllegalArgumentException((all ? "and" : "or") + ": [] (expected: at least one ACL)");
            }
            this.all = all;
            this.parts = new AclNode[parts.length];
            for (int i = 0; i < parts.length; i++) {
                this.parts[i] = AclNode.node(Objects.requireNonNull(parts[i], all ? "and" : "or"));
            }
        }

        /** Whether this is an {@code and}. */
        boolean all() {
            return all;
        }

        /** The parts, in evaluation order; not a copy. */
        AclNode[] parts() {
            return parts;
        }

        @Override
        public boolean matches(RequestView view) {
            for (AclNode a : parts) {
                if (a.matches(view) != all) {
                    return !all;
                }
            }
            return all;
        }

        @Override
        public Acl bind(Binder binder) {
            Acl[] bound = new Acl[parts.length];
            for (int i = 0; i < parts.length; i++) {
                bound[i] = AclNode.bind(parts[i], binder);
            }
            return new Junction(all, bound);
        }

        @Override
        public boolean readsHttp() {
            for (Acl a : parts) {
                if (AclNode.readsHttp(a)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < parts.length; i++) {
                sb.append(i == 0 ? "" : all ? " && " : " || ").append(AclNode.describe(parts[i]));
            }
            return sb.append(')').toString();
        }
    }

    /** The negation of an ACL. */
    public static final class Not extends AclNode {
        private final AclNode acl;

        /** The negation of {@code acl}. */
        public Not(Acl acl) {
            this.acl = AclNode.node(Objects.requireNonNull(acl, "not"));
        }

        /** The negated ACL. */
        AclNode acl() {
            return acl;
        }

        @Override
        public boolean matches(RequestView view) {
            return !acl.matches(view);
        }

        @Override
        public Acl bind(Binder binder) {
            return new Not(AclNode.bind(acl, binder));
        }

        @Override
        public boolean readsHttp() {
            return AclNode.readsHttp(acl);
        }

        @Override
        public String toString() {
            return "!" + AclNode.describe(acl);
        }
    }

    /** A user ACL with a description for decisions and messages. */
    public static final class Described extends AclNode {
        private final String description;
        private final Acl acl;

        /** {@code acl}, shown as {@code description}. */
        public Described(String description, Acl acl) {
            this.description = name("describe description", description);
            this.acl = Objects.requireNonNull(acl, "acl");
        }

        /** The described ACL: a built-in node or a user's lambda. */
        Acl acl() {
            return acl;
        }

        @Override
        public boolean matches(RequestView view) {
            return acl.matches(view);
        }

        @Override
        public Acl bind(Binder binder) {
            return new Described(description, AclNode.bind(acl, binder));
        }

        @Override
        public boolean readsHttp() {
            return AclNode.readsHttp(acl);
        }

        @Override
        public String toString() {
            return description;
        }
    }

    /** A reference to a named ACL, resolved when the routing is built. */
    public static final class Named extends AclNode {
        private final String name;
        private final AclNode target;

        /** An unresolved reference. */
        public Named(String name) {
            this(AclNodes.name("acl name", name), null);
        }

        private Named(String name, Acl target) {
            this.name = name;
            this.target = target == null ? null : AclNode.node(target);
        }

        /** The name referred to. */
        public String name() {
            return name;
        }

        /** The ACL referred to, or {@code null} while unresolved. */
        AclNode target() {
            return target;
        }

        @Override
        public boolean matches(RequestView view) {
            if (target == null) {
                throw new IllegalStateException("acl " + name + ": not resolved; named ACLs work inside a Routing");
            }
            return target.matches(view);
        }

        @Override
        public Acl bind(Binder binder) {
            return new Named(name, binder.named(name));
        }

        @Override
        public boolean readsHttp() {
            return target != null && AclNode.readsHttp(target);
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
