package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.support.EmbeddedHttpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

class MainTest {

    @Test
    void aGatewayProcessStopsGracefullyOnSigtermWithStatusZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "gateway", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + server.getLocalPort())
                    .redirectErrorStream(true).start();
            try {
                BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String line;
                while ((line = lines.readLine()) != null && !line.contains("listening on")) {
                    // the start-up lines before it
                }
                assertThat(line).as("the gateway started").isNotNull();
                p.destroy();
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the gateway stopped").isTrue();
                assertThat(p.exitValue()).isZero();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void listNamesTheRunnableExamples() {
        MainRunner r = MainRunner.complete("list");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).startsWith("demo ").contains("round-robin gateway")
                .contains("\nchecks ").contains("\nrolling ").contains("\ncanary ").contains("\nha ");
        assertThat(r.out().lines()).hasSameSizeAs(Main.examples());
        assertThat(r.out()).contains("\nnginx-paths ", "\nhaproxy-seed ", "\nvhosts ", "\nhttps ", "\nsni-passthrough ", "\nstatic-cache ");
        int summaryColumn = r.out().lines().findFirst().orElseThrow().indexOf("two embedded");
        assertThat(r.out().lines()).allSatisfy(line -> assertThat(line.charAt(summaryColumn - 1)).isEqualTo(' ')
                .satisfies(c -> assertThat(line.charAt(summaryColumn)).isNotEqualTo(' ')));
        assertThat(r.err()).isEmpty();
    }

    @Test
    void helpPrintsUsageOnStandardOutput() {
        for (String flag : new String[] {"--help", "-h", "help"}) {
            MainRunner r = MainRunner.complete(flag);
            assertThat(r.awaitStatus()).isZero();
            assertThat(r.out()).startsWith("usage: java -jar lodestone-examples.jar").contains("gateway ARGS").contains("list");
            assertThat(r.err()).isEmpty();
        }
    }

    @Test
    void unknownCommandPrintsUsageOnStandardErrorAndExits2() {
        MainRunner r = MainRunner.complete("frobnicate");
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).startsWith("unknown command: frobnicate").contains("usage: java -jar lodestone-examples.jar");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void listTakesNoArgument() {
        MainRunner r = MainRunner.complete("list", "extra");
        assertThat(r.awaitStatus()).isEqualTo(2);
        assertThat(r.err()).startsWith("list: unexpected argument: extra");
    }

    @Test
    void runNeedsAKnownExampleName() {
        MainRunner missing = MainRunner.complete("run");
        assertThat(missing.awaitStatus()).isEqualTo(2);
        assertThat(missing.err()).startsWith("run: missing example name (one of: demo, nginx-paths, haproxy-seed, vhosts, checks, rolling, canary, ha, https, sni-passthrough, static-cache)");

        MainRunner unknown = MainRunner.complete("run", "nope");
        assertThat(unknown.awaitStatus()).isEqualTo(2);
        assertThat(unknown.err()).startsWith("run: unknown example: nope (one of: demo, nginx-paths, haproxy-seed, vhosts, checks, rolling, canary, ha, https, sni-passthrough, static-cache)");
    }

    @Test
    void runDemoHelpListsItsOptions() {
        MainRunner r = MainRunner.complete("run", "demo", "--help");
        assertThat(r.awaitStatus()).isZero();
        assertThat(r.out()).startsWith("usage: run demo [OPTIONS]").contains("--port N");
    }

    @Test
    void runDemoRejectsABadPort() {
        MainRunner bad = MainRunner.complete("run", "demo", "--port", "eighty");
        assertThat(bad.awaitStatus()).isEqualTo(2);
        assertThat(bad.err()).startsWith("demo: --port: eighty (expected: a port in 0..65535)");

        MainRunner range = MainRunner.complete("run", "demo", "--port=70000");
        assertThat(range.awaitStatus()).isEqualTo(2);
        assertThat(range.err()).startsWith("demo: --port: 70000 (expected: a port in 0..65535)");

        MainRunner missing = MainRunner.complete("run", "demo", "--port");
        assertThat(missing.awaitStatus()).isEqualTo(2);
        assertThat(missing.err()).startsWith("demo: --port: missing value");

        MainRunner unknown = MainRunner.complete("run", "demo", "--colour");
        assertThat(unknown.awaitStatus()).isEqualTo(2);
        assertThat(unknown.err()).startsWith("demo: unknown argument: --colour");
    }

    @Test
    void runDemoServesBothBackendsThroughTheGatewayUntilStopped() throws Exception {
        int port;
        try (MainRunner r = MainRunner.start("run", "demo", "--port", "0")) {
            port = r.awaitPort("a gateway on ");
            String out = r.awaitOut("Ctrl-C");
            assertThat(out).contains("curl http://127.0.0.1:" + port + "/");

            Set<String> servedBy = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = Http.get("http://127.0.0.1:" + port + "/demo/" + i);
                assertThat(response.statusCode()).isEqualTo(200);
                String server = response.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow();
                assertThat(response.body()).isEqualTo("hello from " + server + ": GET /demo/" + i + "\n");
                servedBy.add(server);
            }
            assertThat(servedBy).containsExactlyInAnyOrder("backend-1", "backend-2");

            assertThat(r.stop()).isZero();
            assertThat(r.out()).contains("demo: stopping (graceful close)");
        }
        Http.assertRefused(port);
    }

    @Test
    void noArgumentRunsTheDemoOnItsDefaultPort() {
        try (MainRunner r = MainRunner.start()) {
            // port 8080 may be taken on this machine: then the demo says so, which still shows it was the one run
            Assertions.assertThat(r).satisfiesAnyOf(
                    x -> assertThat(x.awaitOut("Ctrl-C")).startsWith("Lodestone demo: a gateway on 127.0.0.1:8080 "),
                    x -> {
                        assertThat(x.awaitStatus()).isEqualTo(1);
                        assertThat(x.err()).startsWith("demo: cannot start:");
                    });
        }
    }

    @Test
    void runDemoOnAPortInUseExits1() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            MainRunner r = MainRunner.complete("run", "demo", "--port", String.valueOf(taken.getLocalPort()));
            assertThat(r.awaitStatus()).isEqualTo(1);
            assertThat(r.err()).startsWith("demo: cannot start:");
        }
    }
}
