package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.lodestone.core.Backend;
import io.lodestone.core.Frontend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.l7.HttpFrontend;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * A backend that an HTTP and a TCP frontend both use has one queue: with its one server at
 * {@code maxConnections(1)}, a TCP connection and an HTTP request that wait for it are served in the
 * order they came, whichever frontend each came through.
 */
class SharedQueueTest {

    @Test
    void tcpConnectionsAndHttpRequestsWaitInOneQueueInArrivalOrder() throws Exception {
        HeldOrigin origin = new HeldOrigin(path -> path.equals("/slow"));
        List<String> served = origin.served;
        CompletableFuture<Void> release = origin.release;
        String address = origin.address();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", address, s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(30)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("app"))
                .build()) {
            proxy.start();
            URI web = URI.create("http://127.0.0.1:" + proxy.port("web"));
            CompletableFuture<HttpResponse<String>> slow = client.sendAsync(HttpRequest.newBuilder(web.resolve("/slow")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Await.until("the slow request at the server", () -> served.size() == 1);

            CompletableFuture<HttpResponse<String>> after;
            try (Socket tcp = new Socket(InetAddress.getLoopbackAddress(), proxy.port("tcp"))) {
                tcp.setSoTimeout(10_000);
                tcp.getOutputStream().write("GET /tcp HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Await.until("the TCP connection queued", () -> proxy.control().queuedRequests("app") == 1);
                after = client.sendAsync(
                        HttpRequest.newBuilder(web.resolve("/after")).build(), HttpResponse.BodyHandlers.ofString());
                Await.until("the HTTP request queued behind it", () -> proxy.control().queuedRequests("app") == 2);

                release.complete(null);
                assertThat(slow.get(10, TimeUnit.SECONDS).body()).isEqualTo("served /slow");
                assertThat(readUntil(tcp.getInputStream(), "served /tcp")).startsWith("HTTP/1.1 200");
                assertThat(after).as("waits for the TCP connection's slot").isNotDone();
            }
            // the TCP connection closed: its slot goes to the HTTP request
            assertThat(after.get(10, TimeUnit.SECONDS).body()).isEqualTo("served /after");
            assertThat(served).containsExactly("/slow", "/tcp", "/after");
            assertThat(proxy.control().queuedRequests("app")).isZero();
        } finally {
            origin.close();
        }
    }

    /**
     * The proxy's stop closes the TCP frontend before the HTTP one: the relayed TCP connection gives its
     * slot to the HTTP request waiting in the queue, which must end with the stop ({@code KQ}), not be
     * sent to the server in the middle of it. It was sent (logged on s1, the server saw it): only a TCP
     * listener knew that it was closing, and only its own.
     */
    @Test
    void theStopSendsNoWaitingRequestToTheServer() throws Exception {
        HeldOrigin origin = new HeldOrigin(path -> true);
        List<String> served = origin.served;
        CapturingLogger lines = new CapturingLogger();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Proxy proxy = stopTestProxy(origin, lines, true);
        try (Socket tcp = new Socket(InetAddress.getLoopbackAddress(), proxy.port("tcp"))) {
            tcp.getOutputStream().write("GET /tcp HTTP/1.1\r\nHost: db\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Await.until("the TCP connection's request at the server", () -> served.size() == 1);
            CompletableFuture<HttpResponse<String>> waiting = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("web") + "/waiting")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Await.until("the HTTP request queued", () -> proxy.control().queuedRequests("app") == 1);

            proxy.close(Duration.ZERO);
            assertThat(lines.await(l -> l.contains(" web app/"))).contains(" web app/- ", " KQ ", "/waiting");
            assertThat(waiting).failsWithin(Duration.ofSeconds(10));
            assertThat(served).as("the waiting request never reached the server").containsExactly("/tcp");
            assertThat(proxy.control().queuedRequests("app")).isZero();
            assertThat(proxy.control().server("app", "s1").load()).isZero();
        } finally {
            proxy.close(Duration.ZERO);
            origin.close();
        }
    }

    /**
     * The mirror of {@link #theStopSendsNoWaitingRequestToTheServer}: the HTTP frontend is closed first,
     * and its request's slot goes to the TCP connection waiting on the other frontend, which must be
     * closed ({@code KQ}), not connected to the server. It was connected (logged on s1, {@code KC} or
     * {@code KD}): a TCP listener knew of the stop only once its own close began.
     */
    @Test
    void theStopSendsNoWaitingConnectionToTheServer() throws Exception {
        HeldOrigin origin = new HeldOrigin(path -> true);
        List<String> served = origin.served;
        CapturingLogger lines = new CapturingLogger();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Proxy proxy = stopTestProxy(origin, lines, false);
        CompletableFuture<HttpResponse<String>> first = client.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("web") + "/first")).build(),
                HttpResponse.BodyHandlers.ofString());
        Await.until("the HTTP request at the server", () -> served.size() == 1);
        try (Socket tcp = new Socket(InetAddress.getLoopbackAddress(), proxy.port("tcp"))) {
            tcp.getOutputStream().write("GET /tcp HTTP/1.1\r\nHost: db\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Await.until("the TCP connection queued", () -> proxy.control().queuedRequests("app") == 1);

            proxy.close(Duration.ZERO);
            assertThat(lines.await(l -> l.contains(" tcp app/"))).contains(" tcp app/- ", " KQ ");
            assertThat(first).failsWithin(Duration.ofSeconds(10));
            assertThat(served).as("the waiting connection never reached the server").containsExactly("/first");
            assertThat(proxy.control().queuedRequests("app")).isZero();
            assertThat(proxy.control().server("app", "s1").load()).isZero();
        } finally {
            proxy.close(Duration.ZERO);
            origin.close();
        }
    }

    /**
     * An HTTP origin that records each request's path and holds those {@code held} accepts until
     * {@link #release} completes, then answers {@code served <path>}.
     */
    private static final class HeldOrigin implements AutoCloseable {
        final List<String> served = new CopyOnWriteArrayList<>();
        final CompletableFuture<Void> release = new CompletableFuture<>();
        private final ExecutorService threads = Executors.newCachedThreadPool();
        private final HttpServer server;

        HeldOrigin(Predicate<String> held) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
            server.setExecutor(threads);
            server.createContext("/", exchange -> {
                String path = exchange.getRequestURI().getPath();
                served.add(path);
                if (held.test(path)) {
                    release.join();
                }
                byte[] body = ("served " + path).getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
        }

        String address() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            release.complete(null);
            server.stop(0);
            threads.shutdownNow();
        }
    }

    /**
     * A started proxy for the stop tests: one backend of one server at {@code maxConnections(1)} with a
     * queue, a TCP and an HTTP frontend, the TCP one first (closed first at the stop) when {@code tcpFirst}.
     */
    private static Proxy stopTestProxy(HeldOrigin origin, CapturingLogger lines, boolean tcpFirst) {
        Frontend tcp = TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("app").build();
        Frontend web = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").build();
        Proxy proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", origin.address(), s -> s.maxConnections(1))
                        .queueTimeout(Duration.ofSeconds(30)))
                .frontend(tcpFirst ? tcp : web)
                .frontend(tcpFirst ? web : tcp)
                .build();
        proxy.start();
        return proxy;
    }

    /** Reads until what was read ends with {@code end} (the server keeps the connection open after it). */
    private static String readUntil(InputStream in, String end) throws IOException {
        StringBuilder read = new StringBuilder();
        while (!read.toString().endsWith(end)) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("EOF after " + read);
            }
            read.append((char) b);
        }
        return read.toString();
    }
}
