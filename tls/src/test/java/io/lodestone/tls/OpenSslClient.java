package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The {@code openssl s_client} command line tool as a client, for what the JDK's client will not
 * send (a server name with a trailing dot). Debian's {@code openssl} is installed with apt when it is
 * missing, as the browser test installs chromium; a machine where neither works aborts the calling
 * test (not a failure).
 */
final class OpenSslClient {

    private static final String BINARY = "/usr/bin/openssl";

    private OpenSslClient() {
    }

    /** The openssl binary, installed if needed. */
    private static synchronized String binary() throws IOException, InterruptedException {
        if (!new File(BINARY).canExecute()) {
            int code;
            try {
                Process install = new ProcessBuilder(List.of("apt-get", "install", "-y", "-q", "openssl"))
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                code = install.waitFor(300, TimeUnit.SECONDS) ? install.exitValue() : -2;
            } catch (IOException e) {
                code = -1;
            }
            int exit = code;
            Assumptions.assumeTrue(new File(BINARY).canExecute(),
                    () -> "openssl is not installed and `apt-get install -y openssl` failed (exit " + exit + ")");
        }
        return BINARY;
    }

    /**
     * Handshakes with 127.0.0.1:{@code port} sending {@code serverName} as SNI, closes, and returns the
     * subject of the certificate presented ({@code CN = api.example.com}).
     */
    static String peerSubject(int port, String serverName) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(binary(), "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", serverName)).redirectErrorStream(true).start();
        // end of input: s_client closes once the handshake is done
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("openssl s_client exits").isTrue();
        for (String line : out.split("\n")) {
            if (line.startsWith("subject=")) {
                return line.substring("subject=".length()).trim();
            }
        }
        throw new AssertionError("no certificate subject in the output of openssl s_client:\n" + out);
    }
}
