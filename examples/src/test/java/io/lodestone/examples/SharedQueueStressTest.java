package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.l7.HttpFrontend;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Many clients of a TCP and an HTTP frontend over four event loops wait in one backend's queue, and
 * leave it every way there is while slots are handed on: served, reset, half-closed (with
 * abortOnClose), timed out, while a server is drained and made ready again. Once every client is
 * done, every server's load and the queue are back to 0, and nothing leaked a connection. Bounded:
 * 160 clients, each done within a few seconds.
 */
class SharedQueueStressTest {

    private static final int CLIENTS = 160;

    @Test
    void theLoadsAndTheQueueReturnToZeroWhateverTheWaitersDo() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(32);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ThreadLocalRandom.current().nextInt(1, 15)));
            byte[] body = "ok".getBytes(StandardCharsets.US_ASCII);
            exchange.getResponseHeaders().set("Connection", "close");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        String address = "127.0.0.1:" + server.getAddress().getPort();
        ExecutorService clients = Executors.newFixedThreadPool(48);
        AtomicInteger served = new AtomicInteger();
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = Proxy.builder().ioThreads(4).accessLog(AccessLog.text(lines))
                .backend(Backend.named("app")
                        .server("s1", address, s -> s.maxConnections(2))
                        .server("s2", address, s -> s.maxConnections(2))
                        .queueTimeout(Duration.ofMillis(150)).abortOnClose(true))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("app"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                .build()) {
            proxy.start();
            int[] ports = {proxy.port("tcp"), proxy.port("web")};
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int port = ports[i % 2];
                done.add(clients.submit(() -> {
                    client(port, served);
                    return null;
                }));
                if (i == CLIENTS / 2) {
                    ServerControl s2 = proxy.control().server("app", "s2");
                    s2.drain();
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                    s2.ready();
                }
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            Await.until(Duration.ofSeconds(10), "every client connection closed",
                    () -> proxy.metrics().frontend("tcp").traffic().currentConnections() == 0
                            && proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            Await.until(Duration.ofSeconds(10), "every slot released",
                    () -> proxy.control().server("app", "s1").load() == 0 && proxy.control().server("app", "s2").load() == 0);
            assertThat(proxy.control().queuedRequests("app")).isZero();
            assertThat(proxy.metrics().backend("app").traffic().currentQueue()).isZero();
            assertThat(served.get()).as("some were served").isPositive();
            assertThat(lines.lines()).as("some left the queue without a server").anyMatch(l -> l.contains(" sQ ") || l.contains(" CQ "));
        } finally {
            clients.shutdownNow();
            server.stop(0);
            threads.shutdownNow();
        }
    }

    /** Sends a request, then reads the answer, resets, half-closes or gives up at a random moment. */
    private static void client(int port, AtomicInteger served) throws IOException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            int how = random.nextInt(4);
            if (how > 0) {
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(random.nextInt(30_000)));
            }
            switch (how) {
                case 1 -> {
                    s.setSoLinger(true, 0);
                    return;
                }
                case 2 -> s.shutdownOutput();
                default -> {
                    // reads whatever comes: the answer, a 503, or the close
                }
            }
            InputStream in = s.getInputStream();
            byte[] all = in.readAllBytes();
            if (new String(all, StandardCharsets.US_ASCII).endsWith("ok")) {
                served.incrementAndGet();
            }
        } catch (IOException e) {
            // a reset by the proxy after the client's own reset or half-close: one of the outcomes
        }
    }
}
