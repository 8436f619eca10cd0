package io.lodestone.l7.internal;

import io.lodestone.core.internal.Names;
import io.lodestone.core.route.HeaderEdit;
import io.lodestone.core.route.internal.HttpParts;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Header surgery on the hot path: hop-by-hop removal, absolute-form targets, forwarding headers. */
final class Headers {

    static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
    static final AsciiString X_FORWARDED_PORT = AsciiString.cached("x-forwarded-port");
    static final AsciiString X_REAL_IP = AsciiString.cached("x-real-ip");
    static final AsciiString FORWARDED = AsciiString.cached("forwarded");
    static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    static final AsciiString HTTP = AsciiString.cached("http");
    static final AsciiString HTTPS = AsciiString.cached("https");

    private Headers() {
    }

    /**
     * Leaves exactly one request id field {@code name} with the client's id, when the client sent
     * one: the value of the first field that is not empty. A client that sends several fields (two
     * proxies in front that each added one, a forged one before a real one) would otherwise have them
     * all forwarded, and the server, the client's answer and the access log could each pick a
     * different one. Every other field of that name is removed.
     *
     * @return the id kept, or {@code null} when no field has a value (none is left then: the caller
     *         sets a generated one)
     */
    static CharSequence oneRequestId(HttpHeaders h, CharSequence name) {
        String first = h.get(name);
        if (first == null) {
            return null;
        }
        if (!first.isEmpty() && count(h, name) == 1) {
            return first;
        }
        CharSequence id = firstRequestId(h, name);
        if (id != null) {
            h.set(name, id);
        } else {
            h.remove(name);
        }
        return id;
    }

    /**
     * The client's request id, as {@link #oneRequestId} keeps it, without changing the fields: the
     * caller sets it (or a generated one) once the rules have read the request as the client sent it.
     * Call it only when the request's fields {@code name} are not exactly one with a value.
     */
    static CharSequence firstRequestId(HttpHeaders h, CharSequence name) {
        List<String> values = h.getAll(name);
        for (int i = 0; i < values.size(); i++) {
            String id = values.get(i);
            if (!id.isEmpty()) {
                return id;
            }
        }
        return null;
    }

    /** Whether the request's fields {@code name} are exactly one, with a value: the id then stays as it is. */
    static boolean isOneRequestId(HttpHeaders h, CharSequence name, String first) {
        return first != null && !first.isEmpty() && count(h, name) == 1;
    }

    private static int count(HttpHeaders h, CharSequence name) {
        if (h instanceof RawHeaders raw) {
            return raw.count(name);
        }
        int n = 0;
        for (Iterator<? extends CharSequence> i = h.valueCharSequenceIterator(name); i.hasNext(); i.next()) {
            n++;
        }
        return n;
    }

    /**
     * Removes the hop-by-hop headers: {@code Connection} and every header it names (except the
     * framing headers and {@code Host}, which a client must not be able to strip), {@code Keep-Alive},
     * {@code Proxy-Connection}, {@code TE}, {@code Trailer} and {@code Upgrade} unless {@code upgrade}.
     * With {@code upgrade} the message leaves with {@code Connection: upgrade} and its {@code Upgrade}.
     *
     * @return the values of {@code Connection} when they name a field other than {@code keep-alive},
     *         {@code close}, {@code upgrade} and {@code te}: hop-by-hop in the whole message, such a
     *         field must leave its trailer section too ({@link #removeConnectionNamed}); else null
     */
    static List<String> removeHopByHop(HttpHeaders h, boolean upgrade) {
        return removeHopByHop(h, upgrade, null);
    }

    /**
     * As {@link #removeHopByHop(HttpHeaders, boolean)}, except that {@code Connection} cannot remove
     * the field {@code kept} either (the request id, which the servers must always get); null for
     * none.
     */
    static List<String> removeHopByHop(HttpHeaders h, boolean upgrade, CharSequence kept) {
        List<String> naming = null;
        // the head scanner's headers remove the usual Connection (keep-alive, close, upgrade) in place
        if (!(h instanceof RawHeaders raw && raw.removeHopByHop(upgrade))) {
            if (h.contains(HttpHeaderNames.CONNECTION)) {
                List<String> values = h.getAll(HttpHeaderNames.CONNECTION);
                for (int i = 0; i < values.size(); i++) {
                    if (removeNamed(h, values.get(i), kept)) {
                        naming = values;
                    }
                }
                h.remove(HttpHeaderNames.CONNECTION);
            }
            h.remove(HttpHeaderNames.KEEP_ALIVE);
            h.remove(PROXY_CONNECTION);
            h.remove(HttpHeaderNames.TE);
            h.remove(HttpHeaderNames.TRAILER);
            if (!upgrade) {
                h.remove(HttpHeaderNames.UPGRADE);
            }
        }
        if (upgrade) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        }
        return naming;
    }

    /**
     * Removes from a trailer section the fields its message's head named in {@code Connection} (RFC
     * 9110, 7.6.1: they are hop-by-hop wherever they come): {@code connection} is what
     * {@link #removeHopByHop} returned for the head. A trailer section's own {@code Connection} is
     * one of the fields no trailer may carry.
     */
    static void removeConnectionNamed(HttpHeaders trailers, List<String> connection) {
        for (int i = 0; i < connection.size(); i++) {
            removeNamed(trailers, connection.get(i), null);
        }
    }

    /**
     * Removes the fields one {@code Connection} value names; true when it names one other than
     * {@code keep-alive}, {@code close}, {@code upgrade} and {@code te} (connection options, or
     * fields no trailer may carry).
     */
    private static boolean removeNamed(HttpHeaders h, String connection, CharSequence kept) {
        boolean naming = false;
        int start = 0;
        int n = connection.length();
        while (start < n) {
            int end = connection.indexOf(',', start);
            if (end < 0) {
                end = n;
            }
            int a = start;
            int b = end;
            while (a < b && isSpace(connection.charAt(a))) {
                a++;
            }
            while (b > a && isSpace(connection.charAt(b - 1))) {
                b--;
            }
            if (b > a) {
                String name = connection.substring(a, b);
                if (!isProtected(name) && (kept == null || !AsciiString.contentEqualsIgnoreCase(kept, name))) {
                    h.remove(name);
                }
                naming |= !isOption(name);
            }
            start = end + 1;
        }
        return naming;
    }

    /** Whether a {@code Connection} token is one that names no field a trailer section may carry. */
    private static boolean isOption(String token) {
        return HttpHeaderValues.KEEP_ALIVE.contentEqualsIgnoreCase(token)
                || HttpHeaderValues.CLOSE.contentEqualsIgnoreCase(token)
                || HttpHeaderValues.UPGRADE.contentEqualsIgnoreCase(token)
                || HttpHeaderNames.TE.contentEqualsIgnoreCase(token);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    private static boolean isProtected(String name) {
        return HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)
                || HttpHeaderNames.TRANSFER_ENCODING.contentEqualsIgnoreCase(name)
                || HttpHeaderNames.HOST.contentEqualsIgnoreCase(name)
                || HttpHeaderNames.UPGRADE.contentEqualsIgnoreCase(name);
    }

    /** Whether the request asks for a WebSocket upgrade ({@code Connection: upgrade}, {@code Upgrade: websocket}). */
    static boolean isWebSocketUpgrade(HttpRequest request) {
        HttpHeaders h = request.headers();
        return h.contains(HttpHeaderNames.UPGRADE)
                && h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && h.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /** Whether a 101 response switches to WebSocket. */
    static boolean isWebSocketUpgradeResponse(HttpResponse response) {
        return response.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /**
     * The values of the list field {@code name} as one comma-separated list, null when absent: several
     * lines of a list field mean their values joined (RFC 9110, 5.3), so {@code If-None-Match: "a"}
     * and {@code If-None-Match: "b"} ask as {@code If-None-Match: "a", "b"} does. The value itself
     * when there is one line.
     */
    static String list(HttpHeaders h, CharSequence name) {
        List<String> all = h.getAll(name);
        return all.isEmpty() ? null : all.size() == 1 ? all.get(0) : String.join(", ", all);
    }

    /**
     * Folds a run of slashes and backslashes at the start of the request's path into one slash, as
     * {@code Decision.Forward.target} does ({@link HttpParts#foldLeadingSlashes}): {@code //evil/admin}
     * goes on as {@code /evil/admin}, the path the rules read. One or two character reads on the
     * usual path.
     */
    static void foldLeadingSlashes(HttpRequest request) {
        String uri = request.uri();
        String folded = HttpParts.foldLeadingSlashes(uri);
        if (folded != uri) {
            request.setUri(folded);
        }
    }

    /**
     * Turns an absolute-form target ({@code http://host:port/path?q}) into origin form and makes its
     * authority the {@code Host}, as RFC 9112 section 3.2.2 requires of a server that receives one. An
     * {@code OPTIONS} for a URI with neither path nor query ({@code http://host}) asks about the server
     * as a whole and becomes {@code OPTIONS *} (3.2.4), not a question about its resource {@code /}.
     */
    static void originForm(HttpRequest request) {
        String uri = request.uri();
        if (uri.isEmpty() || uri.charAt(0) == '/' || uri.charAt(0) == '*') {
            return;
        }
        int schemeEnd;
        if (uri.regionMatches(true, 0, "http://", 0, 7)) {
            schemeEnd = 7;
        } else if (uri.regionMatches(true, 0, "https://", 0, 8)) {
            schemeEnd = 8;
        } else {
            return;
        }
        int end = uri.length();
        for (int i = schemeEnd; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c == '/' || c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        // the head scanner refused an authority with userinfo or without a host
        String authority = uri.substring(schemeEnd, end);
        String rest = uri.substring(end);
        if (rest.isEmpty() && HttpMethod.OPTIONS.equals(request.method())) {
            rest = "*";
        } else if (rest.isEmpty() || rest.charAt(0) != '/') {
            rest = "/" + rest;
        }
        request.setUri(rest);
        if (!authority.isEmpty()) {
            request.headers().set(HttpHeaderNames.HOST, authority);
        }
    }

    /**
     * Applies a routing decision's header edits in order. Framing stays the proxy's: edits of
     * {@code Content-Length} and {@code Transfer-Encoding} (and, on a response, {@code Connection})
     * are skipped.
     */
    static void apply(HttpHeaders h, List<HeaderEdit> edits, boolean response) {
        for (int i = 0; i < edits.size(); i++) {
            HeaderEdit e = edits.get(i);
            String name = e.name();
            if (HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)
                    || HttpHeaderNames.TRANSFER_ENCODING.contentEqualsIgnoreCase(name)
                    || response && HttpHeaderNames.CONNECTION.contentEqualsIgnoreCase(name)) {
                continue;
            }
            switch (e.op()) {
                case SET:
                    h.set(name, e.value());
                    break;
                case ADD:
                    h.add(name, e.value());
                    break;
                default:
                    h.remove(name);
                    break;
            }
        }
    }

    /**
     * Fields a trailer section must not carry (RFC 9110, 6.5.1): framing, routing, connection control,
     * authentication, request modifiers, content format, and the fields the proxy sets for the
     * servers, which a server that merges trailers into the header section would otherwise take from
     * the client. Netty's decoder already drops Content-Length and Transfer-Encoding trailers.
     */
    private static final AsciiString[] NOT_IN_TRAILERS = {
        HttpHeaderNames.HOST, HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING,
        HttpHeaderNames.CONTENT_TYPE, HttpHeaderNames.CONTENT_ENCODING, HttpHeaderNames.CONTENT_RANGE,
        HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, PROXY_CONNECTION, HttpHeaderNames.TE,
        HttpHeaderNames.TRAILER, HttpHeaderNames.UPGRADE, HttpHeaderNames.EXPECT, HttpHeaderNames.MAX_FORWARDS,
        HttpHeaderNames.RANGE, HttpHeaderNames.IF_MATCH, HttpHeaderNames.IF_NONE_MATCH,
        HttpHeaderNames.IF_MODIFIED_SINCE, HttpHeaderNames.IF_UNMODIFIED_SINCE, HttpHeaderNames.IF_RANGE,
        HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.COOKIE,
        HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.PRAGMA,
        X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, X_FORWARDED_PORT, X_REAL_IP, FORWARDED,
        HttpHeaderNames.VIA,
    };

    /** Whether a field name contains an underscore; reads the fields in place, without collecting their names. */
    static boolean hasUnderscoreName(HttpHeaders headers) {
        Iterator<Map.Entry<CharSequence, CharSequence>> fields = headers.iteratorCharSequence();
        while (fields.hasNext()) {
            CharSequence name = fields.next().getKey();
            for (int i = 0; i < name.length(); i++) {
                if (name.charAt(i) == '_') {
                    return true;
                }
            }
        }
        return false;
    }

    /** Removes every field whose name contains an underscore (a frontend's {@code DROP_HEADER}). */
    static void removeUnderscoreNames(HttpHeaders headers) {
        List<String> names = new ArrayList<>(headers.names());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (name.indexOf('_') >= 0) {
                headers.remove(name);
            }
        }
    }

    /**
     * Removes from a client's trailer section the fields no trailer may carry
     * ({@link #NOT_IN_TRAILERS}), the request id field {@code requestId} (null for none) and the
     * client certificate fields the proxy sets.
     */
    static void removeForbiddenTrailers(HttpHeaders trailers, CharSequence requestId) {
        List<String> names = new ArrayList<>(trailers.names());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (forbiddenInTrailers(name) || requestId != null && AsciiString.contentEqualsIgnoreCase(requestId, name)) {
                trailers.remove(name);
            }
        }
        ClientCertHeaders.strip(trailers);
    }

    private static boolean forbiddenInTrailers(String name) {
        for (AsciiString forbidden : NOT_IN_TRAILERS) {
            if (forbidden.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Fields a response's trailer section must not carry toward a client (RFC 9110, 6.5.1), which a
     * client that merges trailers into the header section would act on after the body: framing,
     * routing, connection control, authentication and state ({@code Set-Cookie}, challenges), response
     * control data ({@code Date}, {@code Location}, {@code Retry-After}, {@code Vary}), caching, and
     * content format. {@code Authentication-Info} may be a trailer (11.6.3) and is kept.
     */
    private static final AsciiString[] NOT_IN_RESPONSE_TRAILERS = {
        HttpHeaderNames.HOST, HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING,
        HttpHeaderNames.CONTENT_TYPE, HttpHeaderNames.CONTENT_ENCODING, HttpHeaderNames.CONTENT_RANGE,
        HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, PROXY_CONNECTION, HttpHeaderNames.TE,
        HttpHeaderNames.TRAILER, HttpHeaderNames.UPGRADE, HttpHeaderNames.SET_COOKIE,
        HttpHeaderNames.WWW_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.DATE,
        HttpHeaderNames.LOCATION, HttpHeaderNames.RETRY_AFTER, HttpHeaderNames.VARY,
        HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.EXPIRES, HttpHeaderNames.AGE, HttpHeaderNames.PRAGMA,
    };

    /**
     * Removes from a server's trailer section the fields no trailer may carry
     * ({@link #NOT_IN_RESPONSE_TRAILERS}) and the fields its {@code Connection} names, as Netty's
     * HTTP/2 conversion does for an HTTP/2 client (which kept the rest of that list). Reads the names in
     * place and collects them only when one is to go.
     */
    static void removeForbiddenResponseTrailers(HttpHeaders trailers) {
        Iterator<Map.Entry<CharSequence, CharSequence>> fields = trailers.iteratorCharSequence();
        boolean forbidden = false;
        while (fields.hasNext() && !forbidden) {
            forbidden = forbiddenInResponseTrailers(fields.next().getKey());
        }
        if (!forbidden) {
            return;
        }
        List<String> connection = trailers.getAll(HttpHeaderNames.CONNECTION);
        for (int i = 0; i < connection.size(); i++) {
            removeNamed(trailers, connection.get(i), null);
        }
        List<String> names = new ArrayList<>(trailers.names());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (forbiddenInResponseTrailers(name)) {
                trailers.remove(name);
            }
        }
    }

    private static boolean forbiddenInResponseTrailers(CharSequence name) {
        for (AsciiString forbidden : NOT_IN_RESPONSE_TRAILERS) {
            if (forbidden.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Removes the client's {@code Forwarded} fields unless every one of them is a valid RFC 7239 list
     * (section 4: elements of {@code token=value} pairs, a value a token or a quoted string), as
     * HAProxy's {@code option forwarded} extends only a valid one: the proxy's element appended to an
     * unclosed quoted string ({@code for=1.2.3.4;host="x}) would become part of it, and a server that
     * reads the last element, the proxy's, for the client address would find the client's. Optional
     * whitespace is accepted around {@code ,} and {@code ;}, and empty list elements and pairs.
     */
    static void removeInvalidForwarded(HttpHeaders h) {
        if (!h.contains(FORWARDED)) {
            return;
        }
        for (Iterator<? extends CharSequence> i = h.valueCharSequenceIterator(FORWARDED); i.hasNext(); ) {
            if (!isForwardedList(i.next())) {
                h.remove(FORWARDED);
                return;
            }
        }
    }

    /** Whether {@code v} is a valid RFC 7239 {@code Forwarded} value; see {@link #removeInvalidForwarded}. */
    static boolean isForwardedList(CharSequence v) {
        int n = v.length();
        int i = 0;
        while (true) {
            // one list element (maybe empty): pairs (maybe empty) separated by ';'
            while (true) {
                i = skipSpaces(v, i);
                if (i < n && v.charAt(i) != ';' && v.charAt(i) != ',') {
                    int name = i;
                    while (i < n && Names.isTchar(v.charAt(i))) {
                        i++;
                    }
                    if (i == name || i == n || v.charAt(i) != '=') {
                        return false;
                    }
                    i = value(v, i + 1);
                    if (i < 0) {
                        return false;
                    }
                    i = skipSpaces(v, i);
                }
                if (i < n && v.charAt(i) == ';') {
                    i++;
                } else {
                    break;
                }
            }
            if (i == n) {
                return true;
            }
            if (v.charAt(i) != ',') {
                return false;
            }
            i++;
        }
    }

    /** The end of the token or quoted string at {@code i}, or -1 when there is none. */
    private static int value(CharSequence v, int i) {
        int n = v.length();
        if (i < n && v.charAt(i) == '"') {
            i++;
            while (i < n) {
                char c = v.charAt(i++);
                if (c == '"') {
                    return i;
                }
                if (c == '\\') {
                    if (i == n) {
                        return -1;
                    }
                    c = v.charAt(i++);
                }
                if (c != '\t' && (c < 0x20 || c == 0x7f)) {
                    return -1;
                }
            }
            return -1;
        }
        int start = i;
        while (i < n && Names.isTchar(v.charAt(i))) {
            i++;
        }
        return i == start ? -1 : i;
    }

    private static int skipSpaces(CharSequence v, int i) {
        while (i < v.length() && isSpace(v.charAt(i))) {
            i++;
        }
        return i;
    }

    /** Appends {@code value} to a list header, creating it when absent; empty fields of it are dropped. */
    static void append(HttpHeaders h, AsciiString name, CharSequence value) {
        String existing = h.get(name);
        if (existing == null) {
            h.set(name, value);
            return;
        }
        List<String> all = h.getAll(name);
        if (all.size() == 1 && !existing.isBlank()) {
            h.set(name, existing + ", " + value);
            return;
        }
        StringBuilder list = new StringBuilder(64);
        for (int i = 0; i < all.size(); i++) {
            String field = all.get(i).strip();
            if (!field.isEmpty()) {
                list.append(field).append(", ");
            }
        }
        h.set(name, list.append(value).toString());
    }

    /**
     * Removes the cookie {@code name} from the request's {@code Cookie} header(s), keeping the other
     * cookies in order; a header left empty is removed.
     */
    static void removeCookie(HttpHeaders h, String name) {
        List<String> values = h.getAll(HttpHeaderNames.COOKIE);
        if (values.isEmpty()) {
            return;
        }
        List<String> kept = new ArrayList<>(values.size());
        for (String value : values) {
            StringBuilder sb = new StringBuilder(value.length());
            int at = 0;
            while (at <= value.length()) {
                int end = value.indexOf(';', at);
                if (end < 0) {
                    end = value.length();
                }
                String pair = value.substring(at, end).trim();
                int eq = pair.indexOf('=');
                String key = (eq < 0 ? pair : pair.substring(0, eq)).trim();
                if (!pair.isEmpty() && !key.equals(name)) {
                    if (sb.length() > 0) {
                        sb.append("; ");
                    }
                    sb.append(pair);
                }
                at = end + 1;
            }
            if (sb.length() > 0) {
                kept.add(sb.toString());
            }
        }
        h.remove(HttpHeaderNames.COOKIE);
        for (String value : kept) {
            h.add(HttpHeaderNames.COOKIE, value);
        }
    }

    /**
     * Removes the response's {@code Set-Cookie} fields that set the cookie {@code name} (the name
     * before the first {@code =}, spaces around it ignored, case-sensitive as RFC 6265 compares
     * names), keeping the others in order. Reads nothing more when the response sets no cookie.
     */
    static void removeSetCookie(HttpHeaders h, String name) {
        if (!h.contains(HttpHeaderNames.SET_COOKIE)) {
            return;
        }
        List<String> values = h.getAll(HttpHeaderNames.SET_COOKIE);
        List<String> kept = new ArrayList<>(values.size());
        for (String value : values) {
            if (!setsCookie(value, name)) {
                kept.add(value);
            }
        }
        if (kept.size() != values.size()) {
            h.set(HttpHeaderNames.SET_COOKIE, kept);
        }
    }

    /**
     * Whether the {@code Set-Cookie} field {@code value} sets the cookie {@code name}: the name before
     * the first {@code =}, spaces around it ignored, compared case-sensitively as RFC 6265 does.
     */
    private static boolean setsCookie(String value, String name) {
        int eq = value.indexOf('=');
        return eq >= 0 && value.substring(0, eq).strip().equals(name);
    }

    /**
     * Removes the server-id prefix (up to and including the first {@code ~}) from every value of the
     * cookie {@code name} in the request's {@code Cookie} header(s), as HAProxy's {@code cookie NAME
     * prefix} does, whether the prefix names a server or not; a value without {@code ~} is kept. A
     * quoted value keeps its quotes ({@code "s1~abc"} becomes {@code "abc"}). The rest of each header
     * is kept byte for byte.
     */
    static void stripCookiePrefix(HttpHeaders h, String name) {
        List<String> values = h.getAll(HttpHeaderNames.COOKIE);
        List<String> edited = null;
        for (int k = 0; k < values.size(); k++) {
            String v = values.get(k);
            StringBuilder sb = null;
            int copied = 0;
            long at = HttpParts.findCookie(v, name, 0);
            while (at >= 0) {
                int vs = (int) (at >>> 32);
                int semi = (int) at;
                while (vs < semi && v.charAt(vs) == ' ') {
                    vs++;
                }
                if (vs < semi && v.charAt(vs) == '"') {
                    vs++;
                }
                int tilde = v.indexOf('~', vs);
                if (tilde >= 0 && tilde < semi) {
                    if (sb == null) {
                        sb = new StringBuilder(v.length());
                    }
                    sb.append(v, copied, vs);
                    copied = tilde + 1;
                }
                at = HttpParts.findCookie(v, name, semi + 1);
            }
            if (sb != null) {
                if (edited == null) {
                    edited = new ArrayList<>(values);
                }
                edited.set(k, sb.append(v, copied, v.length()).toString());
            }
        }
        if (edited != null) {
            h.set(HttpHeaderNames.COOKIE, edited);
        }
    }

    /**
     * Edits the response's {@code Set-Cookie} fields that set the cookie {@code name} (matched as
     * {@link #removeSetCookie} matches): with {@code prefix}, {@code value} goes before the cookie's
     * value (HAProxy's {@code cookie NAME prefix}); else it replaces the value (HAProxy's
     * {@code rewrite}). A quoted value ends at its closing quote, a {@code ;} inside it included.
     * Attributes are kept as the server wrote them. Reads nothing more when the response sets no cookie.
     */
    static void editSetCookie(HttpHeaders h, String name, String value, boolean prefix) {
        if (!h.contains(HttpHeaderNames.SET_COOKIE)) {
            return;
        }
        List<String> values = h.getAll(HttpHeaderNames.SET_COOKIE);
        List<String> edited = null;
        for (int k = 0; k < values.size(); k++) {
            String v = values.get(k);
            if (!setsCookie(v, name)) {
                continue;
            }
            int eq = v.indexOf('=');
            int n = v.length();
            int vs = eq + 1;
            while (vs < n && (v.charAt(vs) == ' ' || v.charAt(vs) == '\t')) {
                vs++;
            }
            // a quoted value ends at its closing quote: a ';' inside the quotes is part of it, as HAProxy reads it
            int close = vs < n && v.charAt(vs) == '"' ? v.indexOf('"', vs + 1) : -1;
            int semi = v.indexOf(';', close < 0 ? vs : close + 1);
            if (semi < 0) {
                semi = n;
            }
            int ve = semi;
            while (ve > vs && (v.charAt(ve - 1) == ' ' || v.charAt(ve - 1) == '\t')) {
                ve--;
            }
            if (edited == null) {
                edited = new ArrayList<>(values);
            }
            edited.set(k, v.substring(0, vs) + value + v.substring(prefix ? vs : ve));
        }
        if (edited != null) {
            h.set(HttpHeaderNames.SET_COOKIE, edited);
        }
    }
}
