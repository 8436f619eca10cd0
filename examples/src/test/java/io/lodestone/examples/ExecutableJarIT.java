package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.internal.Transport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The shaded {@code lodestone-examples.jar} as a user starts it ({@code java -jar}), on the JVM that
 * runs the tests. Runs in the {@code verify} phase, after the jar is built (the examples module's
 * {@code executable-jar} surefire execution; the tag keeps it out of the {@code test} phase).
 */
@Tag("executable-jar")
class ExecutableJarIT {

    private static final Path JAR = Path.of("target", "lodestone-examples.jar");

    @Test
    void theManifestEnablesNativeAccessForTheClassPath() throws Exception {
        assertThat(JAR).exists();
        try (JarFile jar = new JarFile(JAR.toFile())) {
            Attributes main = jar.getManifest().getMainAttributes();
            assertThat(main.getValue("Main-Class")).isEqualTo(Main.class.getName());
            assertThat(main.getValue("Enable-Native-Access")).isEqualTo("ALL-UNNAMED");
        }
    }

    /**
     * On Java 22 and later the JVM warns when a class-path library first loads a native library
     * (Netty's io_uring or epoll transport here) unless native access is enabled; the jar's manifest
     * enables it, so the gateway starts without a {@code WARNING:} line. On Java 17 to 21 there is no
     * such warning either way.
     */
    @Test
    void theGatewayStartsWithoutJvmWarningsOnTheTransportThisMachineOffers() throws Exception {
        assertThat(JAR).exists();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String expected = Transport.best().name().toLowerCase();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<String> command = new ArrayList<>(List.of(java));
            String asked = System.getProperty("lodestone.transport");
            if (asked != null) {
                command.add("-Dlodestone.transport=" + asked);
            }
            command.addAll(List.of("-jar", JAR.toString(),
                    "gateway", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + server.getLocalPort()));
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            try {
                BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                List<String> startUp = new ArrayList<>();
                String line;
                while ((line = lines.readLine()) != null) {
                    startUp.add(line);
                    if (line.contains("listening on")) {
                        break;
                    }
                }
                assertThat(line).as("the gateway started: %s", startUp).isNotNull();
                assertThat(startUp).as("start-up output").noneMatch(l -> l.startsWith("WARNING:"))
                        .anyMatch(l -> l.contains("lodestone started (" + expected + " transport)"));
                p.destroy();
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the gateway stopped").isTrue();
                assertThat(p.exitValue()).isZero();
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
