package io.lodestone.core.route.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a raw request path into the path a lenient backend would read, the one path ACLs match.
 * For engines and {@code TestRequest}; applications read it through {@code RequestView.path()}.
 *
 * <p>The steps, in order:
 * <ol>
 *   <li>Percent-decoding, repeated until nothing decodes any more, so {@code %2561} (an encoded
 *       {@code %61}) reads as {@code a}. {@code %2F} decodes to {@code /} like any other byte.
 *       A {@code %} not followed by two hex digits stays as it is. Bytes decode as UTF-8.</li>
 *   <li>Every backslash becomes a slash, as Windows and some Java servers read it.</li>
 *   <li>Each segment loses its {@code ;parameters} ({@code /admin;jsessionid=1} reads as
 *       {@code /admin}), as servlet containers read it.</li>
 *   <li>Runs of slashes fold into one.</li>
 *   <li>{@code .} and {@code ..} segments are resolved; {@code ..} never climbs above the root.</li>
 * </ol>
 * Case is kept: {@code /ADMIN} is not {@code /admin} (use the case-insensitive ACLs for that).
 * The result always starts with {@code /}; the asterisk-form {@code *} stays {@code *}. A path that
 * needs none of this is returned as the same instance, without allocating.
 */
public final class PathNormalizer {

    private PathNormalizer() {
    }

    /** Returns the normalised form of {@code rawPath} (a path without its query). */
    public static String normalize(String rawPath) {
        if (rawPath == null || rawPath.isEmpty()) {
            return "/";
        }
        if (rawPath.equals("*")) {
            return rawPath;
        }
        if (isClean(rawPath)) {
            return rawPath;
        }
        return resolve(decodeFully(rawPath).replace('\\', '/'));
    }

    /**
     * The length of the start of raw path {@code rawPath} that normalises to {@code prefix}, a
     * normalised path without a trailing slash, cut at a separator of the raw path (a slash or a
     * backslash, or its end): what a prefix rewrite replaces so that the rest of the raw path is
     * forwarded byte for byte. {@code /%73vc;x=1/a%2Fb} has the prefix {@code /svc} in its first 10
     * characters. Returns -1 when no such start exists: the prefix ends inside a raw segment (at an
     * encoded slash, as in {@code /svc%2Fa} for {@code /svc}), or the path has a dot segment. Allocates
     * only for a segment with a {@code %}.
     */
    public static int rawPrefixLength(String rawPath, String prefix) {
        int n = rawPath.length();
        int pl = prefix.length();
        int matched = 0;
        int i = 0;
        while (i < n) {
            char c = rawPath.charAt(i);
            if (c == '/' || c == '\\') {
                i++;
                continue;
            }
            int end = i;
            boolean encoded = false;
            while (end < n && (c = rawPath.charAt(end)) != '/' && c != '\\') {
                encoded |= c == '%';
                end++;
            }
            if (!encoded) {
                matched = matchSegment(rawPath, i, end, prefix, matched);
            } else {
                String d = decodeFully(rawPath.substring(i, end)).replace('\\', '/');
                int j = 0;
                int dn = d.length();
                while (j <= dn && matched >= 0) {
                    int e = d.indexOf('/', j);
                    if (e < 0) {
                        e = dn;
                    }
                    matched = matchSegment(d, j, e, prefix, matched);
                    j = e + 1;
                }
            }
            if (matched < 0) {
                return -1;
            }
            if (matched == pl) {
                return end;
            }
            i = end;
        }
        return -1;
    }

    /**
     * Matches the segment {@code s[from, to)}, without its {@code ;parameters}, against {@code prefix}
     * after its first {@code matched} characters: the new count of matched characters, or -1 on a
     * mismatch or a dot segment. An empty segment matches nothing and changes nothing.
     */
    private static int matchSegment(String s, int from, int to, String prefix, int matched) {
        int semi = s.indexOf(';', from);
        int end = semi >= 0 && semi < to ? semi : to;
        int len = end - from;
        if (len == 0) {
            return matched;
        }
        if (s.charAt(from) == '.' && (len == 1 || len == 2 && s.charAt(from + 1) == '.')) {
            return -1;
        }
        if (matched + 1 + len > prefix.length() || prefix.charAt(matched) != '/'
                || !s.regionMatches(from, prefix, matched + 1, len)) {
            return -1;
        }
        return matched + 1 + len;
    }

    /** Percent-decodes until nothing decodes any more. */
    private static String decodeFully(String s) {
        while (s.indexOf('%') >= 0) {
            String d = decodeOnce(s);
            if (d.equals(s)) {
                break;
            }
            s = d;
        }
        return s;
    }

    /**
     * Whether the path of request target {@code target} has a dot segment ({@code .} or {@code ..}) as a
     * lenient server reads it: percent-decoded until nothing decodes, backslashes read as slashes,
     * {@code ;parameters} stripped ({@code /a/../b}, {@code /a/%2e%2e/b}, {@code /a/..;/b},
     * {@code /a/..%2fb}). Such a path is one thing to a server that resolves dot segments and another to
     * one that does not. Scans the target without allocating unless it has a {@code %}, a backslash, a
     * {@code ;} or a dot right after a slash.
     */
    public static boolean hasDotSegment(String target) {
        int start = HttpParts.pathStart(target);
        int n = target.length();
        boolean suspect = false;
        for (int i = start; i < n && !suspect; i++) {
            char c = target.charAt(i);
            if (c == '?' || c == '#') {
                break;
            }
            suspect = c == '%' || c == '\\' || c == ';' || c == '.' && (i == start || target.charAt(i - 1) == '/');
        }
        if (!suspect) {
            return false;
        }
        String s = decodeFully(HttpParts.rawPath(target)).replace('\\', '/');
        int len = s.length();
        int i = 0;
        while (i <= len) {
            int end = s.indexOf('/', i);
            if (end < 0) {
                end = len;
            }
            int semi = s.indexOf(';', i);
            int segEnd = semi >= 0 && semi < end ? semi : end;
            int segLen = segEnd - i;
            if (segLen == 1 && s.charAt(i) == '.' || segLen == 2 && s.charAt(i) == '.' && s.charAt(i + 1) == '.') {
                return true;
            }
            i = end + 1;
        }
        return false;
    }

    /** Whether the path starts with a slash and has nothing to decode, strip, fold or resolve. */
    static boolean isClean(String p) {
        if (p.charAt(0) != '/') {
            return false;
        }
        int n = p.length();
        for (int i = 0; i < n; i++) {
            char c = p.charAt(i);
            if (c == '%' || c == ';' || c == '\\' || c >= 0x80) {
                return false;
            }
            if (c == '/' && i + 1 < n) {
                char next = p.charAt(i + 1);
                if (next == '/') {
                    return false;
                }
                if (next == '.' && (i + 2 == n || p.charAt(i + 2) == '/' || p.charAt(i + 2) == '.')) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String decodeOnce(String s) {
        int n = s.length();
        ByteArrayOutputStream out = new ByteArrayOutputStream(n);
        boolean changed = false;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < n) {
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write(hi << 4 | lo);
                    i += 2;
                    changed = true;
                    continue;
                }
            }
            if (c < 0x80) {
                out.write(c);
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                if (Character.isHighSurrogate(c) && i + 1 < n) {
                    b = s.substring(i, i + 2).getBytes(StandardCharsets.UTF_8);
                    i++;
                }
                out.write(b, 0, b.length);
            }
        }
        return changed ? out.toString(StandardCharsets.UTF_8) : s;
    }

    /** Strips segment parameters, folds slashes and resolves dot segments. */
    private static String resolve(String s) {
        int n = s.length();
        String[] stack = new String[n / 2 + 2];
        int depth = 0;
        boolean trailingSlash = false;
        int i = 0;
        while (i <= n) {
            int end = s.indexOf('/', i);
            if (end < 0) {
                end = n;
            }
            String seg = s.substring(i, end);
            int semi = seg.indexOf(';');
            if (semi >= 0) {
                seg = seg.substring(0, semi);
            }
            boolean last = end >= n;
            if (seg.isEmpty()) {
                trailingSlash = last && depth > 0;
            } else if (seg.equals(".")) {
                trailingSlash = last;
            } else if (seg.equals("..")) {
                if (depth > 0) {
                    depth--;
                }
                trailingSlash = last;
            } else {
                stack[depth++] = seg;
                trailingSlash = false;
            }
            i = end + 1;
        }
        if (depth == 0) {
            return "/";
        }
        StringBuilder sb = new StringBuilder(n);
        for (int k = 0; k < depth; k++) {
            sb.append('/').append(stack[k]);
        }
        if (trailingSlash) {
            sb.append('/');
        }
        return sb.toString();
    }

    /**
     * Percent-encodes what may not appear literally in a path: used for a path a rule builds (a
     * {@code replacePath} result, a {@code replacePrefix} replacement), which is then sent in this
     * form. Slashes stay; {@code %}, {@code ?}, {@code #}, spaces,
     * controls and non-ASCII characters are encoded.
     */
    public static String encode(String path) {
        int n = path.length();
        int i = 0;
        while (i < n && isPathChar(path.charAt(i))) {
            i++;
        }
        if (i == n) {
            return path;
        }
        StringBuilder sb = new StringBuilder(n + 16).append(path, 0, i);
        byte[] bytes = path.substring(i).getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c < 0x80 && isPathChar((char) c)) {
                sb.append((char) c);
            } else {
                sb.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return sb.toString();
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private static boolean isPathChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                || "-._~!$&'()*+,;=:@/".indexOf(c) >= 0;
    }
}
