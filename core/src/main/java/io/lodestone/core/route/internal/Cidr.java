package io.lodestone.core.route.internal;

import io.netty.util.NetUtil;
import java.net.InetAddress;

/**
 * An IPv4 or IPv6 network parsed once from {@code a.b.c.d/n}, {@code v6::/n} or a bare address.
 * IPv4-mapped IPv6 sources ({@code ::ffff:10.1.2.3}) match IPv4 networks, and a network written in
 * the mapped form with a prefix of 96 or more ({@code ::ffff:10.0.0.0/104}) is that IPv4 network
 * ({@code 10.0.0.0/8}).
 */
public final class Cidr {

    private final String text;
    private final boolean v4;
    private final long hi;
    private final long lo;
    private final long maskHi;
    private final long maskLo;

    private Cidr(String text, boolean v4, long hi, long lo, long maskHi, long maskLo) {
        this.text = text;
        this.v4 = v4;
        this.hi = hi & maskHi;
        this.lo = lo & maskLo;
        this.maskHi = maskHi;
        this.maskLo = maskLo;
    }

    /**
     * Parses a network; host bits beyond the prefix are ignored, as HAProxy does.
     *
     * @throws IllegalArgumentException naming the field and value when it does not parse
     */
    public static Cidr parse(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + ": null (expected: an address or address/prefix)");
        }
        String s = value.trim();
        int slash = s.indexOf('/');
        String address = slash < 0 ? s : s.substring(0, slash);
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
        if (bytes == null) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: an IPv4 or IPv6 address, optionally /prefix)");
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: a prefix length in 0.." + max + ")");
            }
        }
        if (bytes.length == 4) {
            long a = toInt(bytes, 0) & 0xffffffffL;
            long mask = prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
            return new Cidr(s, true, 0, a, 0, mask);
        }
        long h = toLong(bytes, 0);
        long l = toLong(bytes, 8);
        if (h == 0 && (l >>> 32) == 0xffffL && prefix >= 96) {
            // ::ffff:a.b.c.d/n: the JDK hands every IPv4-mapped client address over as an IPv4 one,
            // so this network is the IPv4 network a.b.c.d/(n - 96), as HAProxy matches it; kept as
            // IPv6, no client could ever be in it
            int v4prefix = prefix - 96;
            long mask = v4prefix == 0 ? 0 : (0xffffffffL << (32 - v4prefix)) & 0xffffffffL;
            return new Cidr(s, true, 0, l & 0xffffffffL, 0, mask);
        }
        long mh = prefix == 0 ? 0 : prefix >= 64 ? -1L : -1L << (64 - prefix);
        long ml = prefix <= 64 ? 0 : prefix == 128 ? -1L : -1L << (128 - prefix);
        return new Cidr(s, false, h, l, mh, ml);
    }

    /** Whether the address lies in this network. */
    public boolean contains(InetAddress address) {
        if (address == null) {
            return false;
        }
        byte[] b = address.getAddress();
        if (b.length == 4) {
            return v4 && ((toInt(b, 0) & 0xffffffffL) & maskLo) == lo;
        }
        if (v4) {
            if (toLong(b, 0) != 0 || (toInt(b, 8) != 0xffff)) {
                return false;
            }
            return ((toInt(b, 12) & 0xffffffffL) & maskLo) == lo;
        }
        return (toLong(b, 0) & maskHi) == hi && (toLong(b, 8) & maskLo) == lo;
    }

    private static int toInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | b[at + 3] & 0xff;
    }

    private static long toLong(byte[] b, int at) {
        return (toInt(b, at) & 0xffffffffL) << 32 | toInt(b, at + 4) & 0xffffffffL;
    }

    @Override
    public String toString() {
        return text;
    }
}
