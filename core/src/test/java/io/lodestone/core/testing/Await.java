package io.lodestone.core.testing;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waits for asynchronous state with a bounded poll: never a bare sleep. */
public final class Await {

    private Await() {
    }

    /** Polls {@code condition} every millisecond until it holds; fails after {@code timeout}. */
    public static void until(Duration timeout, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    /** {@link #until(Duration, String, BooleanSupplier)} with a 10 second bound. */
    public static void until(String what, BooleanSupplier condition) {
        until(Duration.ofSeconds(10), what, condition);
    }
}
