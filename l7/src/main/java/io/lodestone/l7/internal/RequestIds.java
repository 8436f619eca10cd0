package io.lodestone.l7.internal;

import io.netty.util.AsciiString;
import java.util.concurrent.ThreadLocalRandom;

/** Generates request ids: 32 random hex digits, as ASCII bytes that header encoding copies as they are. */
final class RequestIds {

    private static final byte[] HEX = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

    private RequestIds() {
    }

    static AsciiString next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long hi = random.nextLong();
        long lo = random.nextLong();
        byte[] out = new byte[32];
        for (int i = 15; i >= 0; i--) {
            out[i] = HEX[(int) (hi & 0xf)];
            hi >>>= 4;
            out[i + 16] = HEX[(int) (lo & 0xf)];
            lo >>>= 4;
        }
        return new AsciiString(out, false);
    }
}
