package io.lodestone.core.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** What code writes to System.err, where slf4j-simple, the tests' logging provider, writes. */
public final class Stderr {

    private Stderr() {
    }

    /** A block of test code that may throw. */
    public interface Block {
        void run() throws Exception;
    }

    /** Runs {@code block} and returns what it (and any other thread meanwhile) wrote to System.err. */
    public static String of(Block block) throws Exception {
        PrintStream saved = System.err;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            block.run();
        } finally {
            System.setErr(saved);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
