package io.lodestone.core.internal;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Parses {@code host:port} strings into socket addresses, resolving IP literals at once, and writes
 * IP addresses in their recommended text form.
 */
public final class Addresses {

    private static final char[] HEX = "0123456789abcdef".toCharArray();
    /** The longest IPv6 text this writes: eight fields of four digits and seven colons. */
    private static final int MAX_IPV6_TEXT = 39;

    private Addresses() {
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port} or {@code :port} (all interfaces).
     *
     * @param field the configuration field, named in the error message
     * @throws IllegalArgumentException naming the field and the value when it does not parse
     */
    public static InetSocketAddress parse(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + ": null (expected: host:port)");
        }
        String s = value.trim();
        int colon = s.lastIndexOf(':');
        if (colon < 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: host:port)");
        }
        String host = s.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: host:port with a numeric port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: a port in 0..65535)");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: [ipv6]:port)");
        }
        if (host.isEmpty() || host.equals("*")) {
            return new InetSocketAddress(port);
        }
        return of(field, value, host, port);
    }

    /** Returns a resolved address for IP literals and an unresolved one for host names. */
    public static InetSocketAddress of(String field, String value, String host, int port) {
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
        if (literal != null) {
            try {
                return new InetSocketAddress(InetAddress.getByAddress(host, literal), port);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(field + ": " + value + " (" + e.getMessage() + ")", e);
            }
        }
        if (!isHostName(host)) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: a host name or IP address)");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    /**
     * Why no connection can be made to {@code address}, or {@code null}: its IP is the any-local
     * address ({@code 0.0.0.0}, {@code ::}), which means "every interface" to a listener and is no
     * host to connect to (Linux connects to the local host instead, other systems fail), or a
     * multicast address or the limited broadcast address {@code 255.255.255.255}, which TCP cannot
     * connect to, or another address of {@code 0.0.0.0/8}, "this host on this network", which is a
     * source address only (RFC 1122 3.2.1.3, RFC 6890), no host to connect to. Read from a literal,
     * resolved when configured, and from a host of digits and dots, which the JDK resolves without a lookup as an IPv4 address in
     * one of its short forms ({@code 0} is {@code 0.0.0.0}); a host name is not looked up, so one that
     * resolves to such an address later is not refused here.
     *
     * @return the reason, as the end of a message's "expected" clause
     */
    public static String unconnectable(InetSocketAddress address) {
        InetAddress ip = address.isUnresolved() ? shortIpv4(address.getHostString()) : address.getAddress();
        if (ip == null) {
            return null;
        }
        if (ip.isAnyLocalAddress()) {
            return "an address a connection can be made to, not the any-local address " + toText(ip);
        }
        if (ip.isMulticastAddress()) {
            return "a unicast address, not the multicast address " + toText(ip);
        }
        if (ip instanceof Inet4Address) {
            byte[] b = ip.getAddress();
            if ((b[0] & b[1] & b[2] & b[3]) == (byte) 0xff) {
                return "a unicast address, not the broadcast address " + toText(ip);
            }
            if (b[0] == 0) {
                return "an address a connection can be made to, not the this-network (0.0.0.0/8) address " + toText(ip);
            }
        }
        return null;
    }

    /**
     * The IPv4 address the JDK reads {@code host} as when it is digits and dots in one of its forms
     * ({@code a.b.c.d}, or {@code a.b.c}, {@code a.b} and {@code a}, whose last number fills the bytes
     * left: {@code 127.1} is 127.0.0.1, {@code 10.65535} is 10.0.255.255), else {@code null}. Each
     * number is decimal, leading zeros and all, as the JDK reads it (not octal, as {@code inet_aton}
     * would), and at most ten digits long: the JDK also reads a number padded with zeros to 11-15
     * digits ({@code 00000000001}), which this does not. The one reader of these forms: the launcher
     * checks its {@code host:port} flags with it too.
     *
     * @param host the host part of an address, without brackets or port
     */
    public static InetAddress shortIpv4(String host) {
        int parts = 1;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c == '.') {
                parts++;
            } else if (c < '0' || c > '9') {
                return null;
            }
        }
        if (parts > 4) {
            return null;
        }
        byte[] ip = new byte[4];
        int start = 0;
        for (int part = 1; part <= parts; part++) {
            int end = host.indexOf('.', start);
            if (end < 0) {
                end = host.length();
            }
            if (end == start || end - start > 10) {
                return null;
            }
            long n = Long.parseLong(host.substring(start, end));
            int bytes = part < parts ? 1 : 5 - parts;
            if (n >= 1L << (8 * bytes)) {
                return null;
            }
            int first = part < parts ? part - 1 : 4 - bytes;
            for (int i = bytes - 1; i >= 0; i--) {
                ip[first + i] = (byte) n;
                n >>>= 8;
            }
            start = end + 1;
        }
        try {
            return InetAddress.getByAddress(ip);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static boolean isHostName(String host) {
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** Formats an address as {@code host:port} for logs and messages. */
    public static String format(InetSocketAddress address) {
        String host = address.getHostString();
        if (host.indexOf(':') >= 0) {
            host = "[" + host + "]";
        }
        return host + ":" + address.getPort();
    }

    /**
     * The text form of an IP address, as Lodestone writes a client's address everywhere (a PROXY
     * protocol header, {@code X-Forwarded-For}, the access log) and as HAProxy writes it: an IPv4
     * address in dotted decimal, an IPv6 address as RFC 5952 (section 4) recommends, with
     * {@link InetAddress#getHostAddress()}'s full form shortened: lowercase hexadecimal fields
     * without leading zeros, the longest run of two or more zero fields (the first of runs equally
     * long) written {@code ::}, and an IPv4-mapped address written {@code ::ffff:192.0.2.1}
     * (section 5). The text is exactly glibc's {@code inet_ntop}, which HAProxy, {@code ss} and
     * {@code ip} print: so the deprecated IPv4-compatible form, the first 96 bits zero and the seventh
     * field not, is dotted too ({@code ::192.0.2.1}), while {@code ::1} and {@code ::2} stay
     * hexadecimal. The JDK makes an IPv4-mapped address from a socket an {@link java.net.Inet4Address},
     * written {@code 192.0.2.1}; only an {@link Inet6Address} built from its 16 bytes keeps the mapped
     * form. No zone index is written (see {@link #keyText(InetAddress)}). The IPv6 text is built in one
     * array.
     */
    public static String toText(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address.getHostAddress();
        }
        return ipv6Text(address.getAddress());
    }

    /**
     * The text a per-source limit keys a client by: {@link #toText(InetAddress)}, and for an IPv6
     * address with a zone, {@code %} and its scope id in decimal ({@code fe80::1%2}), the numeric zone
     * of RFC 4007 section 11. A link-local client's socket address carries the scope id of the link
     * it came in on, and fe80::1 on two links is two hosts. The number, not the interface name: it is
     * what both the JDK's and Netty's native transports put in the address, read from a field, where
     * the name would need an interface lookup per connection; it is unique per link while the
     * interface exists. An address without a zone costs what {@link #toText(InetAddress)} does.
     */
    public static String keyText(InetAddress address) {
        int scope;
        if (!(address instanceof Inet6Address v6) || (scope = v6.getScopeId()) == 0) {
            return toText(address);
        }
        char[] out = new char[MAX_IPV6_TEXT + 11];
        int n = ipv6Chars(address.getAddress(), out);
        out[n++] = '%';
        String digits = Integer.toUnsignedString(scope);
        digits.getChars(0, digits.length(), out, n);
        return new String(out, 0, n + digits.length());
    }

    /** Appends {@link #toText(InetAddress)} to {@code out}, an IPv6 address without building a string. */
    public static void appendText(StringBuilder out, InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            out.append(address.getHostAddress());
            return;
        }
        char[] text = new char[MAX_IPV6_TEXT];
        out.append(text, 0, ipv6Chars(address.getAddress(), text));
    }

    /** The text of the 16 bytes of an IPv6 address: see {@link #toText(InetAddress)}. */
    static String ipv6Text(byte[] a) {
        char[] out = new char[MAX_IPV6_TEXT];
        return new String(out, 0, ipv6Chars(a, out));
    }

    /** Writes the text of the 16 bytes of an IPv6 address to {@code out}; returns its length. */
    private static int ipv6Chars(byte[] a, char[] out) {
        // the longest run of zero fields, the first of equally long ones; a lone zero field stays "0"
        int best = -1;
        int bestLength = 1;
        int run = -1;
        for (int i = 0; i <= 8; i++) {
            if (i < 8 && a[2 * i] == 0 && a[2 * i + 1] == 0) {
                if (run < 0) {
                    run = i;
                }
            } else if (run >= 0) {
                if (i - run > bestLength) {
                    best = run;
                    bestLength = i - run;
                }
                run = -1;
            }
        }
        int n = 0;
        boolean mapped = best == 0 && bestLength == 5 && field(a, 5) == 0xffff;
        if (mapped || best == 0 && bestLength == 6) {
            // IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d, the first 96 bits zero and
            // the seventh field not, so ::1 stays hexadecimal): the IPv4 address in dotted decimal
            out[n++] = ':';
            out[n++] = ':';
            if (mapped) {
                for (int i = 0; i < 4; i++) {
                    out[n++] = 'f';
                }
                out[n++] = ':';
            }
            for (int i = 12; i < 16; i++) {
                if (i > 12) {
                    out[n++] = '.';
                }
                n = decimal(out, n, a[i] & 0xff);
            }
            return n;
        }
        int bestEnd = best + bestLength;
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                out[n++] = ':';
                out[n++] = ':';
                i = bestEnd - 1;
                continue;
            }
            if (i > 0 && i != bestEnd) {
                out[n++] = ':';
            }
            n = hex(out, n, field(a, i));
        }
        return n;
    }

    private static int field(byte[] a, int i) {
        return (a[2 * i] & 0xff) << 8 | a[2 * i + 1] & 0xff;
    }

    private static int hex(char[] out, int n, int value) {
        for (int shift = 12; shift > 0; shift -= 4) {
            if (value >>> shift != 0) {
                out[n++] = HEX[value >>> shift & 0xf];
            }
        }
        out[n++] = HEX[value & 0xf];
        return n;
    }

    private static int decimal(char[] out, int n, int value) {
        if (value >= 100) {
            out[n++] = (char) ('0' + value / 100);
        }
        if (value >= 10) {
            out[n++] = (char) ('0' + value / 10 % 10);
        }
        out[n++] = (char) ('0' + value % 10);
        return n;
    }
}
