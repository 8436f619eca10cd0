package io.lodestone.examples;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How long a long-running command runs. On the command line: until the process is asked to stop
 * (SIGTERM, SIGINT/Ctrl-C), when it closes gracefully and exits with status 0. In tests: until
 * {@link #stop()}.
 */
public abstract class Lifetime {

    Lifetime() {
    }

    /** Until the JVM shuts down; the shutdown hook closes what runs. */
    public static Lifetime untilShutdown() {
        return new UntilShutdown();
    }

    /** Until {@link #stop()} is called; for tests and for embedding the commands. */
    public static Lifetime untilStopped() {
        return new UntilStopped();
    }

    /** Blocks until the lifetime ends and {@code running} has been closed; returns the exit status. */
    public abstract int hold(Running running);

    /**
     * Ends the lifetime: what {@link #hold(Running)} holds is closed and {@code hold} returns. Idempotent;
     * a lifetime that has been stopped before {@code hold} closes at once.
     */
    public abstract void stop();

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One full collection once everything has started, so that the objects that live as long as the
     * process (configuration, Netty's and Lodestone's tables, loaded code's data) move to the old
     * generation at once. Left in the young generation, they are copied from survivor space to survivor
     * space at each of the first fifteen or so young collections under load; with Serial GC (what the
     * JVM picks on one or two CPUs) that made those pauses 5–12 ms against about 0.5 ms after, measured
     * on the gateway with 50 keep-alive clients. A JVM started with {@code -XX:+DisableExplicitGC}
     * skips it.
     */
    private static void settleStartupHeap() {
        System.gc();
    }

    /**
     * SIGTERM and SIGINT end the lifetime: the first closes what runs gracefully and the process exits
     * with status 0 (the JVM's own handling would exit with 143 or 130, which a service manager reports
     * as a failure); a second one during the graceful close halts at once, with the JVM's status. Where
     * the JVM does not let these signals be handled, a shutdown hook closes what runs instead.
     */
    private static final class UntilShutdown extends Lifetime {
        private final CountDownLatch stopRequested = new CountDownLatch(1);
        private final CountDownLatch closed = new CountDownLatch(1);
        private final AtomicBoolean closing = new AtomicBoolean();
        /** Whether the signals are handled here; from the start, so that one arriving while the command starts counts too. */
        private final boolean handled;

        UntilShutdown() {
            handled = handle("TERM") | handle("INT");
        }

        @Override
        public int hold(Running running) {
            // any other end of the JVM (SIGHUP, System.exit elsewhere) still closes what runs
            Runtime.getRuntime().addShutdownHook(new Thread(() -> close(running), "lodestone-shutdown"));
            settleStartupHeap();
            if (handled) {
                awaitUninterruptibly(stopRequested);
                close(running);
            }
            awaitUninterruptibly(closed);
            return 0;
        }

        private void close(Running running) {
            if (closing.compareAndSet(false, true)) {
                try {
                    running.close();
                } finally {
                    closed.countDown();
                }
            }
        }

        @SuppressWarnings("sunapi")
        private boolean handle(String name) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> {
                    if (stopRequested.getCount() == 0) {
                        Runtime.getRuntime().halt(128 + signal.getNumber());
                    }
                    stopRequested.countDown();
                });
                return true;
            } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
                return false;
            }
        }

        @Override
        public void stop() {
            throw new UnsupportedOperationException("a JVM lifetime ends with the JVM (SIGTERM, Ctrl-C)");
        }
    }

    private static final class UntilStopped extends Lifetime {
        private final CountDownLatch stopped = new CountDownLatch(1);

        @Override
        public int hold(Running running) {
            awaitUninterruptibly(stopped);
            running.close();
            return 0;
        }

        @Override
        public void stop() {
            stopped.countDown();
        }
    }
}
