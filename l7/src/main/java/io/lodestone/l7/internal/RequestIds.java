package io.lodestone.l7.internal;

import java.util.concurrent.ThreadLocalRandom;

/** Generates request ids: 32 random hex digits. */
final class RequestIds {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestIds() {
    }

    static String next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long hi = random.nextLong();
        long lo = random.nextLong();
        char[] out = new char[32];
        for (int i = 15; i >= 0; i--) {
            out[i] = HEX[(int) (hi & 0xf)];
            hi >>>= 4;
            out[i + 16] = HEX[(int) (lo & 0xf)];
            lo >>>= 4;
        }
        return new String(out);
    }
}
