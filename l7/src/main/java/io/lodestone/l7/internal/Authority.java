package io.lodestone.l7.internal;

/**
 * The syntax of {@code uri-host [ ":" port ]} (RFC 9110 7.2 and 4.2, RFC 3986 3.2.2 and 3.2.3), shared
 * by the HTTP/1.1 {@code Host} field, the authority of an absolute-form target and HTTP/2's
 * {@code :authority}: a host that is a reg-name (unreserved characters, sub-delims and
 * {@code %} with two hex digits; an IPv4 address is one) or an IP-literal in brackets (an IPv6
 * address, or IPvFuture {@code v1*HEXDIG "." ...}), then an optional {@code :} and port of digits,
 * which may be empty, as RFC 3986 has it and RFC 9110 (4.2.3) takes for the default port, and
 * may not exceed 65535 (RFC 3986 allows any digits, but no TCP port is larger; leading zeros
 * pass). The host may not be empty. No userinfo, no second colon outside brackets, no IPv6 zone id.
 *
 * <p>Reads a {@link CharSequence} character by character, without allocating; the head scanner hands it
 * a view of its byte array.
 */
final class Authority {

    /** unreserved and sub-delims (RFC 3986 2.2, 2.3), the characters a reg-name has besides {@code %XX}. */
    private static final boolean[] REG_NAME = new boolean[128];
    /** unreserved, sub-delims and {@code :}, the characters of IPvFuture after its dot. */
    private static final boolean[] FUTURE = new boolean[128];

    static {
        for (int c = '0'; c <= '9'; c++) {
            REG_NAME[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            REG_NAME[c] = true;
            REG_NAME[c - 32] = true;
        }
        for (char c : "-._~!$&'()*+,;=".toCharArray()) {
            REG_NAME[c] = true;
        }
        System.arraycopy(REG_NAME, 0, FUTURE, 0, 128);
        FUTURE[':'] = true;
    }

    private Authority() {
    }

    /** Whether {@code s} from {@code from} to {@code to} is {@code uri-host [ ":" port ]} with a host. */
    static boolean valid(CharSequence s, int from, int to) {
        int i = from;
        if (i == to) {
            return false;
        }
        if (s.charAt(i) == '[') {
            int close = i + 1;
            while (close < to && s.charAt(close) != ']') {
                close++;
            }
            if (close == to || !ipLiteral(s, i + 1, close)) {
                return false;
            }
            i = close + 1;
        } else {
            int start = i;
            while (i < to) {
                char c = s.charAt(i);
                if (c == ':') {
                    break;
                }
                if (c == '%') {
                    if (i + 2 >= to || hex(s.charAt(i + 1)) < 0 || hex(s.charAt(i + 2)) < 0) {
                        return false;
                    }
                    i += 3;
                } else if (c < 128 && REG_NAME[c]) {
                    i++;
                } else {
                    return false;
                }
            }
            if (i == start) {
                return false;
            }
        }
        if (i == to) {
            return true;
        }
        if (s.charAt(i) != ':') {
            return false;
        }
        int port = 0;
        for (i++; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
            port = port * 10 + c - '0';
            if (port > 65535) {
                return false;
            }
        }
        return true;
    }

    /** IPv6address or IPvFuture, between the brackets. */
    private static boolean ipLiteral(CharSequence s, int from, int to) {
        if (from < to && (s.charAt(from) == 'v' || s.charAt(from) == 'V')) {
            int i = from + 1;
            while (i < to && hex(s.charAt(i)) >= 0) {
                i++;
            }
            if (i == from + 1 || i == to || s.charAt(i) != '.' || ++i == to) {
                return false;
            }
            for (; i < to; i++) {
                char c = s.charAt(i);
                if (c >= 128 || !FUTURE[c]) {
                    return false;
                }
            }
            return true;
        }
        return ipv6(s, from, to);
    }

    /**
     * RFC 3986's IPv6address: eight groups of 1 to 4 hex digits separated by {@code :}, at most one
     * {@code ::} standing for one or more groups of zeros, the last two groups optionally an IPv4
     * address.
     */
    private static boolean ipv6(CharSequence s, int from, int to) {
        int i = from;
        int groups = 0;
        boolean compressed = false;
        if (to - i >= 2 && s.charAt(i) == ':' && s.charAt(i + 1) == ':') {
            compressed = true;
            i += 2;
        }
        while (i < to) {
            int start = i;
            while (i < to && i - start < 4 && hex(s.charAt(i)) >= 0) {
                i++;
            }
            if (i == start) {
                return false;
            }
            if (i < to && s.charAt(i) == '.') {
                // the IPv4 address that ends the literal, in the place of two groups
                if (!ipv4(s, start, to)) {
                    return false;
                }
                groups += 2;
                break;
            }
            groups++;
            if (i == to) {
                break;
            }
            if (s.charAt(i) != ':' || ++i == to) {
                return false;
            }
            if (s.charAt(i) == ':') {
                if (compressed) {
                    return false;
                }
                compressed = true;
                i++;
            }
        }
        return compressed ? groups <= 7 : groups == 8;
    }

    /** Four dec-octets (0 to 255, no leading zero) separated by dots, up to {@code to}. */
    private static boolean ipv4(CharSequence s, int from, int to) {
        int i = from;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (i == to || s.charAt(i) != '.') {
                    return false;
                }
                i++;
            }
            int start = i;
            int value = 0;
            while (i < to && i - start < 3 && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                value = value * 10 + s.charAt(i) - '0';
                i++;
            }
            if (i == start || value > 255 || (i - start > 1 && s.charAt(start) == '0')) {
                return false;
            }
        }
        return i == to;
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
            return (c | 0x20) - 'a' + 10;
        }
        return -1;
    }
}
