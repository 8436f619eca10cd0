package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code openssl s_client} command line tool as a client, for what the JDK's client will not
 * send (a server name with a trailing dot).
 */
final class OpenSslClient {

    private OpenSslClient() {
    }

    /**
     * Handshakes with 127.0.0.1:{@code port} sending {@code serverName} as SNI, closes, and returns the
     * subject of the certificate presented ({@code CN = api.example.com}).
     */
    static String peerSubject(int port, String serverName) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
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
