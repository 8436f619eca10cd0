package io.lodestone.core.balance;

import java.net.Inet6Address;
import java.net.InetAddress;

/** The 64-bit hashes behind source hashing; all stable across JVMs, so every proxy instance agrees. */
final class Hashes {

    private Hashes() {
    }

    /** A 64-bit finaliser with full avalanche (MurmurHash3's {@code fmix64}). */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    /** FNV-1a over the UTF-8 bytes of {@code s} ({@link #fnv}), then {@link #mix}. */
    static long hash(String s) {
        return mix(fnv(FNV_START, s, 0, s.length()));
    }

    /** FNV-1a's offset basis: the state of {@link #fnv} before any character. */
    static final long FNV_START = 0xcbf29ce484222325L;

    /**
     * Continues FNV-1a over the UTF-8 bytes of {@code s} from {@code from} to {@code to}, encoding as
     * it goes (no byte array): the bytes {@link String#getBytes} writes in UTF-8, an unpaired
     * surrogate as {@code ?}. Finish with {@link #mix}.
     */
    static long fnv(long h, CharSequence s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                h = (h ^ c) * 0x100000001b3L;
            } else if (c < 0x800) {
                h = (h ^ (0xc0 | c >>> 6)) * 0x100000001b3L;
                h = (h ^ (0x80 | c & 0x3f)) * 0x100000001b3L;
            } else if (Character.isSurrogate(c)) {
                char d;
                if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(d = s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, d);
                    i++;
                    h = (h ^ (0xf0 | cp >>> 18)) * 0x100000001b3L;
                    h = (h ^ (0x80 | cp >>> 12 & 0x3f)) * 0x100000001b3L;
                    h = (h ^ (0x80 | cp >>> 6 & 0x3f)) * 0x100000001b3L;
                    h = (h ^ (0x80 | cp & 0x3f)) * 0x100000001b3L;
                } else {
                    h = (h ^ '?') * 0x100000001b3L;
                }
            } else {
                h = (h ^ (0xe0 | c >>> 12)) * 0x100000001b3L;
                h = (h ^ (0x80 | c >>> 6 & 0x3f)) * 0x100000001b3L;
                h = (h ^ (0x80 | c & 0x3f)) * 0x100000001b3L;
            }
        }
        return h;
    }

    /**
     * The address bytes (4 for IPv4, 16 for IPv6) folded 8 at a time through {@link #mix}, then an
     * IPv6 zone's scope id when it has one; 0 for null.
     */
    static long hash(InetAddress address) {
        if (address == null) {
            return 0;
        }
        byte[] bytes = address.getAddress();
        long h = mix(bytes.length);
        long word = 0;
        for (int i = 0; i < bytes.length; i++) {
            word = word << 8 | (bytes[i] & 0xff);
            if ((i & 7) == 7 || i == bytes.length - 1) {
                h = mix(h ^ word);
                word = 0;
            }
        }
        int scope;
        if (address instanceof Inet6Address v6 && (scope = v6.getScopeId()) != 0) {
            // fe80::1 on two links is two clients; the top bit keeps the zone's word from any address word
            h = mix(h ^ (Long.MIN_VALUE | Integer.toUnsignedLong(scope)));
        }
        return h;
    }
}
