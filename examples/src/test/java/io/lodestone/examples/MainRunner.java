package io.lodestone.examples;

import io.lodestone.core.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link Main#run(String[], PrintStream, PrintStream, Lifetime)} as the command line would, on
 * its own thread, capturing standard output and error and the exit status; long-running commands
 * run until {@link #stop()}.
 */
public final class MainRunner implements AutoCloseable {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final Lifetime lifetime = Lifetime.untilStopped();
    private final CompletableFuture<Integer> status = new CompletableFuture<>();

    private MainRunner(String... args) {
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        Thread t = new Thread(() -> {
            try {
                status.complete(Main.run(args, o, e, lifetime));
            } catch (Throwable x) {
                status.completeExceptionally(x);
            }
        }, "main-runner");
        t.setDaemon(true);
        t.start();
    }

    /** Starts the command line in the background. */
    public static MainRunner start(String... args) {
        return new MainRunner(args);
    }

    /** Runs a command line that is expected to end by itself and returns the runner once it has. */
    public static MainRunner complete(String... args) {
        MainRunner r = new MainRunner(args);
        r.awaitStatus();
        return r;
    }

    /** What the command printed on standard output so far. */
    public String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    /** What the command printed on standard error so far. */
    public String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** Waits until standard output contains {@code text}; fails early when the command ends first. */
    public String awaitOut(String text) {
        return awaitOut(text, Duration.ofSeconds(15));
    }

    /** As {@link #awaitOut(String)}, waiting up to {@code timeout}. */
    public String awaitOut(String text, Duration timeout) {
        Await.until(timeout, "output containing '" + text + "'", () -> {
            if (status.isDone() && !out().contains(text)) {
                throw new AssertionError("command ended with " + status.join() + " before printing '" + text
                        + "'; out: " + out() + "; err: " + err());
            }
            return out().contains(text);
        });
        return out();
    }

    /** Waits for {@code marker} on standard output and returns the port of the {@code HOST:PORT} that follows it. */
    public int awaitPort(String marker) {
        return awaitPort(marker, Duration.ofSeconds(15));
    }

    /** As {@link #awaitPort(String)}, waiting up to {@code timeout}. */
    public int awaitPort(String marker, Duration timeout) {
        String o = awaitOut(marker, timeout);
        int at = o.indexOf(marker) + marker.length();
        int colon = o.indexOf(':', at);
        int end = colon + 1;
        while (end < o.length() && Character.isDigit(o.charAt(end))) {
            end++;
        }
        return Integer.parseInt(o.substring(colon + 1, end));
    }

    /** Waits for the command to end and returns its exit status. */
    public int awaitStatus() {
        try {
            return status.get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("command did not end: out: " + out() + "; err: " + err(), e);
        }
    }

    /** Ends the command's lifetime (as SIGTERM would) and returns its exit status. */
    public int stop() {
        lifetime.stop();
        return awaitStatus();
    }

    @Override
    public void close() {
        lifetime.stop();
        if (!status.isDone()) {
            awaitStatus();
        }
    }
}
