package io.lodestone.core.balance;

import io.lodestone.core.internal.Names;
import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.internal.HttpParts;
import io.lodestone.core.route.internal.HttpRequestView;
import java.util.Objects;
import java.util.function.Function;

/**
 * What {@link BalancingStrategy#hashOn(HashKey)} hashes to pick a server: the client's address, or a
 * part of the HTTP request, so that one cache shard, tenant or session keeps landing on one server.
 * HAProxy's {@code balance source}, {@code uri}, {@code url_param}, {@code hdr(name)} and
 * {@code rdp-cookie}-like cookie hashing, with {@code hash-type consistent}; Envoy's
 * {@code hash_policy}.
 *
 * <pre>{@code
 * Backend.named("cache").balance(BalancingStrategy.hashOn(HashKey.path()))
 * Backend.named("tenants").balance(BalancingStrategy.hashOn(HashKey.header("X-Tenant")))
 * Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.queryParameter("user")))
 * Backend.named("app").balance(BalancingStrategy.hashOn(HashKey.of(r -> r.header("Host"))))
 * }</pre>
 *
 * <p>The key is read from the request as the client sent it, the request the frontend's ACLs read:
 * a rule's header edit or path rewrite does not change it, so {@code proxy.routeAndPick(...)} hashes
 * what the engine hashes. Values are hashed as sent, without percent-decoding, trimming or
 * case-folding: {@code ?user=a%40b} and {@code ?user=a@b} are two keys, as they are to HAProxy. A
 * request without the key (no such header, cookie or parameter, or an empty value) is balanced
 * round robin, as HAProxy balances it. The hash is the same in every JVM, so every proxy instance
 * sends a key to the same server.
 *
 * <p>Immutable. Keys other than {@link #source()} read the HTTP request, so a backend that hashes
 * on them cannot serve a TCP (L4) frontend: {@code Proxy.Builder.build()} rejects that.
 */
public final class HashKey {

    private enum Kind { SOURCE, PATH, URI, QUERY_PARAMETER, HEADER, COOKIE, FUNCTION }

    private static final HashKey SOURCE = new HashKey(Kind.SOURCE, null, null);
    private static final HashKey PATH = new HashKey(Kind.PATH, null, null);
    private static final HashKey URI = new HashKey(Kind.URI, null, null);

    private final Kind kind;
    private final String name;
    private final Function<RequestView, String> function;

    private HashKey(Kind kind, String name, Function<RequestView, String> function) {
        this.kind = kind;
        this.name = name;
        this.function = function;
    }

    /**
     * The client's source address (not its port), as {@link BalancingStrategy#sourceHash()} hashes
     * it; works for TCP frontends too. {@code hashOn(HashKey.source())} is {@code sourceHash()}.
     *
     * @return the client's source address (not its port), as {@link BalancingStrategy#sourceHash()} hashes
     *     it; works for TCP frontends too
     */
    public static HashKey source() {
        return SOURCE;
    }

    /**
     * The path as the client sent it, without the query: HAProxy's {@code balance uri path-only},
     * which hashes up to the {@code ?}. Every HTTP request has one ({@code /} at least), so it is never
     * absent. An absolute-form target ({@code http://h/a?b}) counts as its origin form ({@code /a?b}),
     * here and for {@link #uri()} and {@link #queryParameter}.
     *
     * @return the path as the client sent it, without the query: HAProxy's {@code balance uri path-only},
     *     which hashes up to the {@code ?}
     */
    public static HashKey path() {
        return PATH;
    }

    /**
     * The path and the query as the client sent them ({@code /a?b=1}; {@code /a?} for an empty
     * query): HAProxy's {@code balance uri whole path-only}. Two spellings of one query ({@code ?a=1&b=2},
     * {@code ?b=2&a=1}) are two keys.
     *
     * @return the path and the query as the client sent them ({@code /a?b=1}; {@code /a?} for an empty
     *     query): HAProxy's {@code balance uri whole path-only}
     */
    public static HashKey uri() {
        return URI;
    }

    /**
     * The value of the query parameter {@code name}: HAProxy's {@code balance url_param}. The name is
     * matched exactly and the value hashed as sent, neither percent-decoded ({@code ?id=a%40b} is not
     * {@code ?id=a@b}); the first parameter of that name wins when it is repeated. A parameter
     * without {@code =} ({@code ?id}) or with an empty value ({@code ?id=}) counts as absent.
     *
     * @param name the parameter name
     * @return the value of the query parameter {@code name}: HAProxy's {@code balance url_param}
     * @throws IllegalArgumentException when the name is empty or holds {@code &}, {@code =},
     *     {@code #}, a space or a control character
     */
    public static HashKey queryParameter(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("hash key query parameter: " + (name == null ? "null" : "\"\"")
                    + " (expected: a parameter name)");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c == 0x7f || c == '&' || c == '=' || c == '#') {
                throw new IllegalArgumentException("hash key query parameter: " + name
                        + " (expected: a name without &, =, #, spaces or control characters)");
            }
        }
        return new HashKey(Kind.QUERY_PARAMETER, name, null);
    }

    /**
     * The value of the request header {@code name}: HAProxy's {@code balance hdr(name)}, spelled as
     * {@code RateLimit.byHeader(name)}. Names are case-insensitive. The value is the first element
     * of the header's list, as HAProxy reads it: of {@code X-Tenant: a, b} (or of {@code a} and
     * {@code b} on two lines) the key is {@code a}; a comma inside a quoted string does not end it,
     * spaces around it do not count, and an empty one counts as absent.
     *
     * @param name the header name
     * @return the value of the request header {@code name}: HAProxy's {@code balance hdr(name)}, spelled as
     *     {@code RateLimit.byHeader(name)}
     * @throws IllegalArgumentException when the name is not an HTTP token
     */
    public static HashKey header(String name) {
        return new HashKey(Kind.HEADER, HttpParts.toLowerAscii(Names.token("hash key header", name, "header name")), null);
    }

    /**
     * The value of the cookie {@code name} (exact name; the first cookie of that name; surrounding
     * quotes removed; an empty value counts as absent), e.g. a session id.
     *
     * @param name the cookie name
     * @return the value of the cookie {@code name} (exact name; the first cookie of that name; surrounding
     *     quotes removed; an empty value counts as absent), e.g. a session id
     * @throws IllegalArgumentException when the name is not an HTTP token
     */
    public static HashKey cookie(String name) {
        return new HashKey(Kind.COOKIE, Names.token("hash key cookie", name, "cookie name"), null);
    }

    /**
     * The key {@code key} computes from the request, as {@code RateLimit.byKey(key)} computes one; a
     * {@code null} or empty key counts as absent. The function runs for every request the backend
     * balances, on an I/O thread: keep it cheap and non-blocking. A function that throws fails its
     * request as any application code the engine runs does: the HTTP engine answers 500 (termination
     * cause {@code I}, a WARN with the stack trace at most once per 10 seconds) and closes the
     * connection, and {@code proxy.routeAndPick(...)} throws the exception. Keys are equal only with
     * the same function object.
     *
     * @param key computes the key from a request
     * @return the key {@code key} computes from the request, as {@code RateLimit.byKey(key)} computes one; a
     *     {@code null} or empty key counts as absent
     */
    public static HashKey of(Function<RequestView, String> key) {
        return new HashKey(Kind.FUNCTION, null, Objects.requireNonNull(key, "hash key function"));
    }

    /**
     * Whether the key reads the HTTP request, so that it cannot be read from a connection: true for
     * every key but {@link #source()}.
     *
     * @return whether the key reads the HTTP request, so that it cannot be read from a connection: true for
     *     every key but {@link #source()}
     */
    public boolean readsHttp() {
        return kind != Kind.SOURCE;
    }

    boolean isSource() {
        return kind == Kind.SOURCE;
    }

    /**
     * The name of the header (lower-cased), cookie or query parameter hashed, or {@code null} for
     * the other keys.
     *
     * @return the name of the header (lower-cased), cookie or query parameter hashed, or {@code null} for the
     *     other keys
     */
    public String name() {
        return name;
    }

    /**
     * Returns the 64-bit hash of this key in {@code request}, stable across JVMs, or 0 when the
     * request does not carry it (never 0 when it does). Engines call it once per request; a test
     * may call it to see which requests share a key. Reads the value where the view keeps it and
     * hashes its characters (UTF-8) without copying them.
     *
     * @param request the request
     * @return the 64-bit hash of this key in {@code request}, stable across JVMs, or 0 when the request does
     *     not carry it (never 0 when it does)
     */
    public long hash(RequestView request) {
        switch (kind) {
            case SOURCE:
                return Hashes.hash(request.sourceAddress());
            case PATH:
            case URI:
            case QUERY_PARAMETER:
                if (request instanceof HttpRequestView v) {
                    // an engine's view: hashed in the request target, without the substrings rawPath()
                    // and query() would make
                    return targetHash(v.target());
                }
                return partsHash(request.rawPath(), request.query());
            case HEADER:
                return request.isHttp() ? firstElementHash(request.header(name)) : 0;
            case COOKIE:
                return valueHash(request.isHttp() ? request.cookie(name) : null);
            default:
                return valueHash(function.apply(request));
        }
    }

    /**
     * The hash of this path, uri or query parameter key in a request target, read where
     * {@link io.lodestone.core.route.internal.HttpParts#rawPath} and {@code query} would cut it
     * (after the scheme and authority of the absolute form, before a fragment), the same as
     * {@link #partsHash} of those two parts.
     */
    private long targetHash(String target) {
        int start = HttpParts.pathStart(target);
        int end = target.indexOf('#', start);
        if (end < 0) {
            end = target.length();
        }
        int q = target.indexOf('?', start);
        if (q >= end) {
            q = -1;
        }
        if (kind == Kind.QUERY_PARAMETER) {
            return q < 0 ? 0 : queryParameterHash(target, q + 1, end, name);
        }
        int pathEnd = q < 0 ? end : q;
        long h = pathEnd == start ? Hashes.fnv(Hashes.FNV_START, "/", 0, 1) : Hashes.fnv(Hashes.FNV_START, target, start, pathEnd);
        if (kind == Kind.URI && q >= 0) {
            h = Hashes.fnv(h, target, q, end);
        }
        return finish(h);
    }

    /** The hash of this path, uri or query parameter key in a request's raw path and query. */
    private long partsHash(String path, String query) {
        if (kind == Kind.QUERY_PARAMETER) {
            return query == null ? 0 : queryParameterHash(query, 0, query.length(), name);
        }
        if (path == null) {
            return 0;
        }
        long h = Hashes.fnv(Hashes.FNV_START, path, 0, path.length());
        if (kind == Kind.URI && query != null) {
            h = Hashes.fnv(Hashes.fnv(h, "?", 0, 1), query, 0, query.length());
        }
        return finish(h);
    }

    /**
     * The hash of the raw value of the first parameter {@code name} of the query
     * {@code s[from, to)}; 0 when there is none, or it has no {@code =} or an empty value. Scans the
     * query in place.
     */
    static long queryParameterHash(String s, int from, int to, String name) {
        int length = name.length();
        int i = from;
        while (i < to) {
            int amp = s.indexOf('&', i);
            if (amp < 0 || amp > to) {
                amp = to;
            }
            int eq = i + length;
            if (eq < amp && s.charAt(eq) == '=' && s.startsWith(name, i)) {
                return eq + 1 == amp ? 0 : finish(Hashes.fnv(Hashes.FNV_START, s, eq + 1, amp));
            }
            i = amp + 1;
        }
        return 0;
    }

    /**
     * The hash of the first element of a header's comma-separated list, as HAProxy's {@code hdr(name)}
     * reads it: up to the first comma outside a quoted string, without the spaces and tabs around it;
     * 0 when that element is empty. {@code a, b} sent on one line is {@code a} then {@code b} on two
     * (RFC 9110, 5.3), so a hop that joins or splits the lines does not change the key. Scans in place.
     */
    static long firstElementHash(String value) {
        if (value == null) {
            return 0;
        }
        int n = value.length();
        int start = 0;
        while (start < n && isSpace(value.charAt(start))) {
            start++;
        }
        int end = start;
        boolean quoted = false;
        for (; end < n; end++) {
            char c = value.charAt(end);
            if (quoted) {
                if (c == '\\') {
                    end++;
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                break;
            }
        }
        end = Math.min(end, n);
        while (end > start && isSpace(value.charAt(end - 1))) {
            end--;
        }
        return end == start ? 0 : finish(Hashes.fnv(Hashes.FNV_START, value, start, end));
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    private static long valueHash(String value) {
        return value == null || value.isEmpty() ? 0 : finish(Hashes.fnv(Hashes.FNV_START, value, 0, value.length()));
    }

    /** Mixes an FNV state into the key's hash; 0 is kept for "absent", so the one input that mixes to it becomes 1. */
    private static long finish(long fnv) {
        long h = Hashes.mix(fnv);
        return h == 0 ? 1 : h;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof HashKey k && kind == k.kind && Objects.equals(name, k.name)
                && Objects.equals(function, k.function);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, name, function);
    }

    /** The key as the README names it: {@code source}, {@code path}, {@code uri}, {@code header x-tenant}, ... */
    @Override
    public String toString() {
        return switch (kind) {
            case SOURCE -> "source";
            case PATH -> "path";
            case URI -> "uri";
            case QUERY_PARAMETER -> "query parameter " + name;
            case HEADER -> "header " + name;
            case COOKIE -> "cookie " + name;
            case FUNCTION -> "key " + function;
        };
    }
}
