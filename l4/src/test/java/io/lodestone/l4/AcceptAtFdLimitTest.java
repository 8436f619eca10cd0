package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A frontend at the process's file descriptor limit: accepts fail with {@code EMFILE} while
 * connections wait in the backlog. The proxy runs in a child JVM started under {@code ulimit -n},
 * on the transport this run tests, and must not spin on the failing accepts: it pauses accepting
 * and logs the failure about once a second, as Netty's ServerBootstrap does after an accept error.
 */
class AcceptAtFdLimitTest {

    /** The child's file descriptor limit: the JVM's own files take some 40, the frontend the rest. */
    private static final int FD_LIMIT = 160;

    @Test
    void theAcceptLoopDoesNotSpinAtTheFileDescriptorLimit(@TempDir Path dir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path out = dir.resolve("child.log");
        try (ServerSocket backend = new ServerSocket(0, 1000, InetAddress.getLoopbackAddress())) {
            String cmd = "ulimit -n " + FD_LIMIT + " && exec '" + java + "' -Xmx64m -XX:TieredStopAtLevel=1"
                    + " -Dlodestone.transport=" + System.getProperty("lodestone.transport", "io_uring")
                    + " -cp '" + System.getProperty("java.class.path") + "' '" + FdLimitedProxy.class.getName() + "'"
                    + " " + backend.getLocalPort();
            Process p = new ProcessBuilder("sh", "-c", cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            List<Socket> clients = new ArrayList<>();
            try {
                int port = awaitPort(out, p);
                // more connections than the child has descriptors: the rest wait in its backlog
                for (int i = 0; i < FD_LIMIT + 40; i++) {
                    clients.add(new Socket("127.0.0.1", port));
                }
                Await.until(Duration.ofSeconds(10), "the child reached its limit", () -> read(out).contains("Too many open files"));
                long before = cpuTicks(p.pid());
                long start = System.nanoTime();
                // the window over which the child's CPU is measured, not a wait for an event
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
                double seconds = (cpuTicks(p.pid()) - before) / 100.0;
                double wall = (System.nanoTime() - start) / 1e9;
                assertThat(seconds / wall).as("the child's CPU share while its accepts fail").isLessThan(0.25);
                long failures = Files.readString(out).lines().filter(l -> l.contains("Too many open files")).count();
                assertThat(failures).as("accept failures logged").isLessThan(20);
            } finally {
                for (Socket s : clients) {
                    s.close();
                }
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static int awaitPort(Path out, Process p) {
        Await.until(Duration.ofSeconds(20), "the child printed its port", () -> {
            assertThat(p.isAlive()).as("the child runs: " + read(out)).isTrue();
            return read(out).lines().anyMatch(l -> l.startsWith("port "));
        });
        return read(out).lines().filter(l -> l.startsWith("port ")).mapToInt(l -> Integer.parseInt(l.substring(5).trim()))
                .findFirst().orElseThrow();
    }

    private static String read(Path out) {
        try {
            return Files.readString(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The process's user and system time in clock ticks (100 a second on Linux). */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** The child: a TCP frontend to the given port on 127.0.0.1, running until it is killed. */
    static final class FdLimitedProxy {
        public static void main(String[] args) throws Exception {
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named("b").server("s1", "127.0.0.1:" + args[0]))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))
                    .build();
            proxy.start();
            System.out.println("port " + proxy.port());
            System.out.flush();
            // runs until the test kills it
            new CountDownLatch(1).await();
        }
    }
}
