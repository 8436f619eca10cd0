package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code --pool-max-idle}, {@code --pool-idle-timeout}, {@code --pool-max-requests} and
 * {@code --keepalive-requests} over the wire: an origin that counts the
 * connections it accepts and the ones the gateway closes shows whether server connections are reused,
 * opened per request, or closed once idle.
 */
class GatewayPoolTest {

    private CountingOrigin origin;

    @BeforeEach
    void startOrigin() throws IOException {
        origin = new CountingOrigin();
    }

    @AfterEach
    void stopOrigin() throws IOException {
        origin.close();
    }

    @Test
    void byDefaultOneServerConnectionCarriesEveryRequest() throws Exception {
        assertThat(threeRequests(() -> { })).isEqualTo(1);
    }

    @Test
    void poolMaxIdleZeroOpensAServerConnectionPerRequestAndClosesIt() throws Exception {
        assertThat(threeRequests(() -> assertThat(origin.closedByGateway.await(10, TimeUnit.SECONDS))
                .as("three server connections closed").isTrue(), "--pool-max-idle", "0")).isEqualTo(3);
    }

    @Test
    void poolIdleTimeoutClosesAnIdleServerConnection() throws Exception {
        // the client keeps its own connection open; only the pool's idle timeout closes the origin's
        assertThat(threeRequests(() -> assertThat(origin.firstClosed.await(10, TimeUnit.SECONDS))
                .as("idle server connection closed").isTrue(), "--pool-idle-timeout", "200ms")).isEqualTo(1);
    }

    @Test
    void poolMaxRequestsClosesAServerConnectionAfterItsNthResponse() throws Exception {
        // requests 1 and 2 on the first connection, 3 on a second one
        assertThat(threeRequests(() -> assertThat(origin.firstClosed.await(10, TimeUnit.SECONDS))
                .as("the full server connection closed").isTrue(), "--pool-max-requests", "2")).isEqualTo(2);
    }

    @Test
    void keepAliveRequestsClosesTheClientConnectionAfterItsNthResponse() throws Exception {
        String[] args = {"gateway", "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + origin.port(),
            "--keepalive-requests", "2"};
        try (MainRunner r = MainRunner.start(args)) {
            int port = r.awaitPort("gateway: listening on ");
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
                        + "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                // two answers, the second saying close, then the end of the stream
                assertThat(all.split("HTTP/1.1 200 OK", -1)).hasSize(3);
                assertThat(all).endsWith("ok");
                assertThat(all.substring(all.lastIndexOf("HTTP/1.1 200 OK")).toLowerCase(Locale.ROOT))
                        .contains("connection: close");
            }
            assertThat(r.stop()).isZero();
        }
    }

    /** A check made after the requests, while the gateway still runs (its stop closes every connection). */
    private interface WhileRunning {
        void check() throws Exception;
    }

    /**
     * Sends three requests over one client connection, then runs {@code whileRunning}; returns the
     * connections the origin accepted for the three requests.
     */
    private int threeRequests(WhileRunning whileRunning, String... poolFlags) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String[] args = {"gateway", "--mode", "http", "--listen", "127.0.0.1:0", "--backend", "127.0.0.1:" + origin.port()};
        String[] all = new String[args.length + poolFlags.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(poolFlags, 0, all, args.length, poolFlags.length);
        try (MainRunner r = MainRunner.start(all)) {
            int port = r.awaitPort("gateway: listening on ");
            for (int i = 0; i < 3; i++) {
                HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/r" + i))
                        .timeout(Duration.ofSeconds(10)).build();
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).isEqualTo("ok");
            }
            int accepted = origin.accepted.get();
            whileRunning.check();
            assertThat(r.stop()).isZero();
            return accepted;
        }
    }

    /** A keep-alive HTTP/1.1 origin answering {@code ok} to every request, one thread per connection. */
    private static final class CountingOrigin implements AutoCloseable {
        final AtomicInteger accepted = new AtomicInteger();
        /** Counts down when the gateway has closed three connections. */
        final CountDownLatch closedByGateway = new CountDownLatch(3);
        /** Counts down when the gateway has closed a connection. */
        final CountDownLatch firstClosed = new CountDownLatch(1);
        private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());

        CountingOrigin() throws IOException {
            Thread acceptor = new Thread(this::acceptLoop, "counting-origin");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private void acceptLoop() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    accepted.incrementAndGet();
                    Thread t = new Thread(() -> serve(s), "counting-origin-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                while (readHead(in)) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                // end of stream: the gateway closed this server connection
                closedByGateway.countDown();
                firstClosed.countDown();
            } catch (IOException e) {
                // a reset also means the gateway let the connection go
                closedByGateway.countDown();
                firstClosed.countDown();
            }
        }

        /** Reads one request head (the gateway sends GETs without a body); false at end of stream. */
        private static boolean readHead(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                matched = b == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : b == '\r' ? 1 : 0;
                if (matched == 4) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
