package io.lodestone.core.balance;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

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

    /** FNV-1a over the UTF-8 bytes of {@code s}, then {@link #mix}. */
    static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(h);
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
