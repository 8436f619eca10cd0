package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.FdLimitedJvm;
import io.lodestone.core.testing.TcpEchoServer;
import io.lodestone.tls.ClientTls;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A TCP frontend whose process has no file descriptor left for the socket of a server connection
 * ({@code socket()} fails with {@code EMFILE}): the proxy runs in a child JVM under {@code ulimit -n}
 * that takes every descriptor but one, which the client's connection then takes. The client must be
 * closed at once, the attempt counted as a connect error on the server and tried again on the other
 * server (retries 1), the session logged {@code RC} (a resource of the proxy ran out, as HAProxy
 * logs it), and the servers' load given back; once descriptors are free again the proxy serves as
 * before. For servers given by IP address (the socket is made directly) and by host name (through a
 * resolving bootstrap, where Netty fails the connect with the future of a placeholder channel whose
 * listeners run on its global executor).
 */
class TcpConnectAtFdLimitTest {

    /** The child's file descriptor limit: the JVM's own files take some 40. */
    private static final int FD_LIMIT = 256;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "localhost"})
    void aConnectWithNoSocketLeftClosesTheClientAndReleasesTheServers(String host) throws Exception {
        try (TcpEchoServer s1 = TcpEchoServer.start(); TcpEchoServer s2 = TcpEchoServer.start();
                FdLimitedJvm child = FdLimitedJvm.start(Child.class, FD_LIMIT, dir, host + ":" + s1.port(),
                        host + ":" + s2.port())) {
            echoOnce(child.port());
            assertThat(child.command("fill").get(0)).startsWith("filled ");
            try (Socket client = new Socket("127.0.0.1", child.port())) {
                client.setSoTimeout((int) FdLimitedJvm.PATIENCE.toMillis());
                client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                // closed by the proxy at once (a reset is as good); before, a server given by host
                // name left it open, and this read timed out
                assertThat(readToEnd(client.getInputStream())).as("what the client received").isEmpty();
            }
            child.command("free");
            List<String> stats = child.command("stats");
            assertThat(stats).as("the servers' load").contains("s1 load 0", "s2 load 0");
            assertThat(count(stats, "connect errors 1")).as("one connect error on each server: " + stats).isEqualTo(2);
            assertThat(count(stats, "redispatches 1")).as("one redispatch: " + stats).isEqualTo(1);
            List<String> log = child.awaitLines("log", 2);
            assertThat(log.get(1)).contains(" RC ");
            echoOnce(child.port());
        }
    }

    /**
     * A health check with no socket left fails as a failed connect, saying why (HAProxy's check
     * reports a socket error): before, a check of a backend with TLS failed with "checker failed:
     * java.lang.IllegalStateException: channel not registered to an event loop", as the TLS step was
     * set up on the placeholder channel Netty's bootstrap returns.
     */
    @Test
    void aHealthCheckWithNoSocketLeftSaysSo() throws Exception {
        try (TcpEchoServer s1 = TcpEchoServer.start();
                FdLimitedJvm child = FdLimitedJvm.start(CheckedChild.class, FD_LIMIT, dir, "localhost:" + s1.port())) {
            Await.until(FdLimitedJvm.PATIENCE, "a first check", () -> !command(child, "check").get(0).equals("none"));
            List<List<String>> last = new ArrayList<>(List.of(List.of()));
            // each round takes the descriptor a check in flight gave back since
            Await.until(FdLimitedJvm.PATIENCE, "a check that met the limit", () -> {
                command(child, "exhaust");
                last.set(0, command(child, "check"));
                return last.get(0).get(0).contains("Too many open files");
            });
            assertThat(last.get(0).get(0)).startsWith("DOWN? connect failed: ");
            child.command("free");
        }
    }

    private static List<String> command(FdLimitedJvm child, String command) {
        try {
            return child.command(command);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int count(List<String> lines, String part) {
        return (int) lines.stream().filter(l -> l.contains(part)).count();
    }

    private static void echoOnce(int port) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) FdLimitedJvm.PATIENCE.toMillis());
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readToEnd(s.getInputStream()), StandardCharsets.US_ASCII)).isEqualTo("ping");
        }
    }

    private static byte[] readToEnd(InputStream in) throws Exception {
        try {
            return in.readAllBytes();
        } catch (java.net.SocketException reset) {
            return new byte[0];
        }
    }

    /** The child: a TCP frontend to a server spoken to over TLS, checked by a TCP check every 20 ms. */
    static final class CheckedChild {
        public static void main(String[] args) throws Exception {
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named("b").server("s1", args[0])
                            .tls(ClientTls.builder().insecureTrustAll().build())
                            .healthCheck(HealthCheck.tcp().interval(Duration.ofMillis(20))))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))
                    .build();
            proxy.start();
            FdLimitedJvm.serve(proxy, command -> {
                if (!command.equals("check")) {
                    return List.of("unknown command " + command);
                }
                HealthCheckResult r = proxy.control().server("b", "s1").status().lastCheck();
                return List.of(r == null ? "none" : (r.isHealthy() ? "UP? " : "DOWN? ") + r.detail());
            });
        }
    }

    /** The child: a TCP frontend to two servers (retries 1) with its access log kept in memory. */
    static final class Child {
        public static void main(String[] args) throws Exception {
            CapturingLogger lines = new CapturingLogger();
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named("b").server("s1", args[0]).server("s2", args[1]).retries(1))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))
                    .accessLog(AccessLog.text(lines))
                    .build();
            proxy.start();
            FdLimitedJvm.serveServerStats(proxy, "b", lines);
        }
    }
}
