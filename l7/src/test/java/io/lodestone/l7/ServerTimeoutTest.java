package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server timeout counts quiet time, not exchange time: a server that keeps sending (or is kept
 * being sent to) for longer than the timeout in all is not cut off; one that goes quiet is, also on
 * a reused pooled connection.
 */
class ServerTimeoutTest {

    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final int PIECES = 8;
    private static final long GAP_MILLIS = 100;

    private Proxy proxy;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void close() {
        scheduler.shutdownNow();
        if (proxy != null) {
            proxy.close();
        }
    }

    private int start(String address) {
        Backend.Builder backend = Backend.named("app").server("s1", address).serverTimeout(TIMEOUT);
        proxy = Proxy.builder().backend(backend)
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
        proxy.start();
        return proxy.port();
    }

    /** Writes {@code piece} {@link #PIECES} times, {@link #GAP_MILLIS} apart, and returns when all are out. */
    private void trickle(OutputStream out, byte[] piece) throws IOException {
        CountDownLatch done = new CountDownLatch(PIECES);
        AtomicInteger failed = new AtomicInteger();
        scheduler.scheduleAtFixedRate(() -> {
            if (done.getCount() == 0) {
                return;
            }
            try {
                out.write(piece);
                out.flush();
            } catch (IOException e) {
                failed.incrementAndGet();
            }
            done.countDown();
        }, GAP_MILLIS, GAP_MILLIS, TimeUnit.MILLISECONDS);
        try {
            if (!done.await(10, TimeUnit.SECONDS)) {
                throw new IOException("trickle did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        if (failed.get() > 0) {
            throw new IOException("trickle write failed");
        }
    }

    @Test
    void aResponseThatKeepsComingLongerThanTheTimeoutIsRelayedWhole() throws Exception {
        try (RawBackend b = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            while (readHead(in)) {
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: " + PIECES * 4 + "\r\n\r\n");
                trickle(s.getOutputStream(), "abcd".getBytes(StandardCharsets.US_ASCII));
            }
        })) {
            int port = start(b.address());
            long start = System.nanoTime();
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /trickle HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("abcd".repeat(PIECES));
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(TIMEOUT);
        }
    }

    @Test
    void anUploadThatKeepsComingLongerThanTheTimeoutIsAnswered() throws Exception {
        try (RawBackend b = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            while (readHead(in)) {
                for (int i = 0; i < PIECES * 4; i++) {
                    if (in.read() < 0) {
                        return;
                    }
                }
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nreceived");
            }
        })) {
            int port = start(b.address());
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + PIECES * 4 + "\r\n\r\n");
                trickle(c.out, "wxyz".getBytes(StandardCharsets.US_ASCII));
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("received");
            }
        }
    }

    @Test
    void aReusedConnectionWhoseServerGoesQuietTimesOut() throws Exception {
        try (RawBackend b = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            if (readHead(in)) {
                RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            // the second request on this connection is never answered
            while (readHead(in)) {
                // keep reading until the proxy gives up and closes
            }
        })) {
            int port = start(b.address());
            try (RawHttp c = new RawHttp(port)) {
                assertThat(c.send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("ok");
                long start = System.nanoTime();
                RawHttp.Response r = c.send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(504);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(TIMEOUT.minusMillis(20));
            }
            assertThat(b.connections.get()).isEqualTo(1);
        }
    }

    private static boolean readHead(InputStream in) throws IOException {
        int state = 0;
        int c;
        while ((c = in.read()) >= 0) {
            state = c == '\n' && (state == 1 || state == 3) ? state + 1 : c == '\r' ? (state == 2 ? 3 : 1) : 0;
            if (state == 4) {
                return true;
            }
        }
        return false;
    }
}
