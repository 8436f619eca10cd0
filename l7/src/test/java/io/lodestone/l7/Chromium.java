package io.lodestone.l7;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Headless Chromium for tests of HTML pages: finds Debian's {@code chromium}, installs it with
 * apt-get when absent (a one-time cost), and aborts the test with the reason when it cannot.
 */
final class Chromium {

    private static final List<String> CANDIDATES = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser");
    private static volatile String binary;

    private Chromium() {
    }

    /** The chromium binary, installed if needed; aborts the calling test (not a failure) when impossible. */
    static synchronized String binary() throws IOException, InterruptedException {
        if (binary != null) {
            return binary;
        }
        String found = find();
        if (found == null) {
            Path log = Files.createTempFile("chromium-install", ".log");
            int code = run(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"), log, 540);
            found = find();
            Assumptions.assumeTrue(found != null, () -> "chromium is not installed and `apt-get install -y chromium` failed"
                    + " (exit " + code + ", log " + log + "); the stats page was not rendered in a browser");
        }
        binary = found;
        return found;
    }

    private static String find() {
        for (String c : CANDIDATES) {
            if (new File(c).canExecute()) {
                return c;
            }
        }
        return null;
    }

    /** Renders {@code url} and returns the DOM after load. */
    static String dumpDom(String url) throws IOException, InterruptedException {
        Path out = Files.createTempFile("chromium-dom", ".html");
        Path profile = Files.createTempDirectory("chromium-profile");
        try {
            int code = run(command(profile, url, "--dump-dom"), out, 60);
            if (code != 0) {
                throw new AssertionError("chromium --dump-dom exited with " + code + ": "
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(out);
            deleteTree(profile);
        }
    }

    /** Renders {@code url} into a PNG screenshot of {@code width} x {@code height}. */
    static void screenshot(String url, Path png, int width, int height) throws IOException, InterruptedException {
        Files.deleteIfExists(png);
        Path log = Files.createTempFile("chromium-screenshot", ".log");
        Path profile = Files.createTempDirectory("chromium-profile");
        try {
            List<String> cmd = command(profile, url, "--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height,
                    "--hide-scrollbars");
            int code = run(cmd, log, 60);
            if (code != 0 || !Files.exists(png)) {
                throw new AssertionError("chromium --screenshot exited with " + code + ": " + Files.readString(log));
            }
        } finally {
            Files.deleteIfExists(log);
            deleteTree(profile);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static List<String> command(Path profile, String url, String... extra) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile));
        cmd.addAll(List.of(extra));
        cmd.add(url);
        return cmd;
    }

    /**
     * Runs a command with stdout to {@code out}; on a non-zero exit appends its stderr to
     * {@code out}. Kills it after {@code seconds}.
     */
    private static int run(List<String> cmd, Path out, int seconds) throws IOException, InterruptedException {
        Path err = Files.createTempFile("chromium", ".err");
        try {
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            } catch (IOException e) {
                Files.writeString(out, e.toString());
                return -1;
            }
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError(cmd.get(0) + " did not finish within " + seconds + " s");
            }
            int code = p.exitValue();
            if (code != 0) {
                Files.writeString(out, Files.readString(err), StandardOpenOption.APPEND);
            }
            return code;
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
