package io.lodestone.core.route.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The small parsers a {@code RequestView} needs: request target, Host, cookies, query parameters.
 * They scan without building maps, so a view that is asked for one cookie does not parse them all.
 */
public final class HttpParts {

    private HttpParts() {
    }

    /**
     * Returns the index where the path of a request target starts: 0 for the origin form
     * ({@code /a?b}), after the authority for the absolute form ({@code http://h/a?b}).
     */
    public static int pathStart(String target) {
        if (target.isEmpty() || target.charAt(0) == '/' || target.charAt(0) == '*') {
            return 0;
        }
        int scheme = target.indexOf("://");
        if (scheme < 0) {
            return 0;
        }
        int slash = target.indexOf('/', scheme + 3);
        int q = target.indexOf('?', scheme + 3);
        if (slash < 0 || q >= 0 && q < slash) {
            return q >= 0 ? q : target.length();
        }
        return slash;
    }

    /**
     * {@code target} with the run of slashes and backslashes at its start folded into one slash
     * ({@code //evil/admin?q} is {@code /evil/admin?q}); {@code target} itself when it does not begin
     * with two of them. What an HTTP engine forwards: a server that parses the target as a URL
     * reference (a URL parser given a base, as Node's {@code new URL}, {@code java.net.URI} or
     * Python's {@code urlsplit}) reads {@code //evil/admin} as the host {@code evil} and the path
     * {@code /admin}, which no rule saw (rules read {@code /evil/admin}), so a deny on {@code /admin}
     * did not keep it away. Slashes further on and the query are kept.
     */
    public static String foldLeadingSlashes(String target) {
        if (target.length() < 2 || target.charAt(0) != '/' || !isSlash(target.charAt(1))) {
            return target;
        }
        int i = 2;
        while (i < target.length() && isSlash(target.charAt(i))) {
            i++;
        }
        return "/" + target.substring(i);
    }

    private static boolean isSlash(char c) {
        return c == '/' || c == '\\';
    }

    /** The raw path of a request target: without scheme, authority, query or fragment; "/" if empty. */
    public static String rawPath(String target) {
        int start = pathStart(target);
        int end = end(target, start);
        int q = target.indexOf('?', start);
        if (q >= 0 && q < end) {
            end = q;
        }
        if (start == end) {
            return "/";
        }
        return start == 0 && end == target.length() ? target : target.substring(start, end);
    }

    /** The raw query of a request target, without the {@code ?}; {@code null} when there is none. */
    public static String query(String target) {
        int start = pathStart(target);
        int end = end(target, start);
        int q = target.indexOf('?', start);
        if (q < 0 || q >= end) {
            return null;
        }
        return target.substring(q + 1, end);
    }

    private static int end(String target, int start) {
        int hash = target.indexOf('#', start);
        return hash < 0 ? target.length() : hash;
    }

    /**
     * The host of a Host header value (or HTTP/2 {@code :authority}): without port, user info or
     * trailing dot, lower-cased; IPv6 literals keep their brackets. {@code null} for {@code null}.
     */
    public static String host(String authority) {
        if (authority == null) {
            return null;
        }
        String h = authority.trim();
        int at = h.lastIndexOf('@');
        if (at >= 0) {
            h = h.substring(at + 1);
        }
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            h = close > 0 ? h.substring(0, close + 1) : h;
        } else {
            int colon = h.indexOf(':');
            if (colon >= 0) {
                h = h.substring(0, colon);
            }
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return toLowerAscii(h);
    }

    /** Lower-cases ASCII letters; returns the same instance when there is none to change. */
    public static String toLowerAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                char[] chars = s.toCharArray();
                for (int k = i; k < chars.length; k++) {
                    char d = chars[k];
                    if (d >= 'A' && d <= 'Z') {
                        chars[k] = (char) (d + 32);
                    }
                }
                return new String(chars);
            }
        }
        return s;
    }

    /**
     * Finds a cookie by exact name in the values of the {@code Cookie} header(s), returning its
     * value without surrounding quotes, or {@code null}.
     */
    public static String cookie(List<String> cookieHeaders, String name) {
        if (cookieHeaders == null) {
            return null;
        }
        for (int h = 0, hn = cookieHeaders.size(); h < hn; h++) {
            String v = cookie(cookieHeaders.get(h), name);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /**
     * Every value of the cookie {@code name} in the {@code Cookie} header(s), in order: a client may
     * send a name twice, and servers differ in which one they keep. Empty when there is none.
     */
    public static List<String> cookies(List<String> cookieHeaders, String name) {
        List<String> found = List.of();
        if (cookieHeaders == null) {
            return found;
        }
        for (int h = 0, hn = cookieHeaders.size(); h < hn; h++) {
            String header = cookieHeaders.get(h);
            int from = 0;
            while (header != null && from < header.length()) {
                long at = findCookie(header, name, from);
                if (at < 0) {
                    break;
                }
                found = add(found, cookieValue(header, (int) (at >>> 32), (int) at));
                from = (int) at + 1;
            }
        }
        return found;
    }

    /** Finds a cookie by exact name in one {@code Cookie} header value, or returns {@code null}. */
    public static String cookie(String header, String name) {
        if (header == null) {
            return null;
        }
        long at = findCookie(header, name, 0);
        return at < 0 ? null : cookieValue(header, (int) (at >>> 32), (int) at);
    }

    private static String cookieValue(String header, int vs, int ve) {
        while (vs < ve && header.charAt(vs) == ' ') {
            vs++;
        }
        while (ve > vs && header.charAt(ve - 1) == ' ') {
            ve--;
        }
        if (ve - vs >= 2 && header.charAt(vs) == '"' && header.charAt(ve - 1) == '"') {
            vs++;
            ve--;
        }
        return header.substring(vs, ve);
    }

    /**
     * The first cookie named {@code name} at or after {@code from}: the start of its value (after
     * the {@code =}) in the high 32 bits, its end (the {@code ;} or the end) in the low ones; -1 if none.
     * The value's bounds include any spaces and quotes around it. The HTTP engine edits cookies in
     * place with it.
     */
    public static long findCookie(String header, String name, int from) {
        int n = header.length();
        int i = from;
        while (i < n) {
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == ';' || header.charAt(i) == '\t')) {
                i++;
            }
            int semi = header.indexOf(';', i);
            if (semi < 0) {
                semi = n;
            }
            int eq = header.indexOf('=', i);
            if (eq > i && eq < semi) {
                int nameEnd = eq;
                while (nameEnd > i && header.charAt(nameEnd - 1) == ' ') {
                    nameEnd--;
                }
                if (nameEnd - i == name.length() && header.startsWith(name, i)) {
                    return (long) (eq + 1) << 32 | semi;
                }
            }
            i = semi + 1;
        }
        return -1;
    }

    /**
     * Finds a query parameter by exact (decoded) name and returns its decoded value ({@code +} as
     * space, percent escapes as UTF-8); "" for a parameter without {@code =}; {@code null} if absent.
     */
    public static String queryParam(String query, String name) {
        if (query == null) {
            return null;
        }
        long at = findParam(query, name, 0);
        return at < 0 ? null : paramValue(query, at);
    }

    /**
     * Every decoded value of the query parameter {@code name}, in order ("" for one without
     * {@code =}): a client may repeat a name, and servers differ in which one they keep. Empty when
     * there is none.
     */
    public static List<String> queryParams(String query, String name) {
        List<String> found = List.of();
        if (query == null) {
            return found;
        }
        long at = findParam(query, name, 0);
        while (at >= 0) {
            found = add(found, paramValue(query, at));
            at = findParam(query, name, (int) at + 1);
        }
        return found;
    }

    /**
     * Finds the first parameter named {@code name} at or after {@code from} in {@code query}: the end
     * of its name (the {@code =}, or its end when it has none) in the high half, its end (the next
     * {@code &} or the query's end) in the low half; -1 when there is none.
     */
    private static long findParam(String query, String name, int from) {
        int n = query.length();
        int i = from;
        while (i <= n) {
            int amp = query.indexOf('&', i);
            if (amp < 0) {
                amp = n;
            }
            int eq = query.indexOf('=', i);
            int nameEnd = eq >= 0 && eq < amp ? eq : amp;
            if (nameEnd > i && nameMatches(query, i, nameEnd, name)) {
                return (long) nameEnd << 32 | amp;
            }
            i = amp + 1;
        }
        return -1;
    }

    /** The decoded value of the parameter {@link #findParam} found at {@code at}; "" when it has no {@code =}. */
    private static String paramValue(String query, long at) {
        int nameEnd = (int) (at >>> 32);
        int end = (int) at;
        return nameEnd == end ? "" : decodeForm(query.substring(nameEnd + 1, end));
    }

    /** Appends to a list that starts as {@code List.of()}: one value needs no array list. */
    private static List<String> add(List<String> list, String value) {
        if (list.isEmpty()) {
            return List.of(value);
        }
        if (list instanceof ArrayList<String> growing) {
            growing.add(value);
            return growing;
        }
        List<String> more = new ArrayList<>(list.size() + 2);
        more.addAll(list);
        more.add(value);
        return more;
    }

    private static boolean nameMatches(String query, int from, int to, String name) {
        if (to - from == name.length() && query.startsWith(name, from)) {
            return true;
        }
        for (int k = from; k < to; k++) {
            char c = query.charAt(k);
            if (c == '%' || c == '+') {
                return decodeForm(query.substring(from, to)).equals(name);
            }
        }
        return false;
    }

    /** Decodes {@code application/x-www-form-urlencoded} text; malformed escapes stay literal. */
    public static String decodeForm(String s) {
        if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
            return s;
        }
        int n = s.length();
        ByteArrayOutputStream out = new ByteArrayOutputStream(n);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c == '+') {
                out.write(' ');
            } else if (c == '%' && i + 2 < n && Character.digit(s.charAt(i + 1), 16) >= 0
                    && Character.digit(s.charAt(i + 2), 16) >= 0) {
                out.write(Character.digit(s.charAt(i + 1), 16) << 4 | Character.digit(s.charAt(i + 2), 16));
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
