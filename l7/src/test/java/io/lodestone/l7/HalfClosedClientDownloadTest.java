package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A client that ends its side (a FIN) right after its request and reads nothing until the proxy has
 * stopped taking a large response from the server still gets the whole response, on each transport:
 * the proxy's writes to that client block and resume with the client's input already ended. (When
 * such a write goes out as several buffers at once, Netty 4.2.18's io_uring loop never retried it;
 * {@code IoUringWithoutLostPollOutTest} in core reaches that case every time, this exchange only by
 * chance.)
 */
class HalfClosedClientDownloadTest {

    private static final int TOTAL = 16 << 20;
    private static final byte[] PATTERN = new byte[251 + 64 * 1024];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = (byte) (i % 251);
        }
    }

    @Test
    void aClientThatHalfClosesAfterItsRequestAndReadsLateGetsTheWholeResponse() throws Exception {
        AtomicLong written = new AtomicLong();
        try (RawBackend server = new RawBackend((s, n) -> answerWithPattern(s, written));
                Proxy proxy = Proxy.builder()
                        .backend(Backend.named("app").server("s1", server.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                        .build()) {
            proxy.start();
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                c.setSoTimeout(10_000);
                c.getOutputStream().write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                c.shutdownOutput();
                awaitTheServerBlocked(written);
                assertThat(written.get()).as("bytes the server wrote before the proxy stopped taking them").isLessThan(TOTAL);

                InputStream in = c.getInputStream();
                String head = RawBackend.nextHead(in);
                assertThat(head).startsWith("HTTP/1.1 200 ").containsIgnoringCase("content-length: " + TOTAL);
                byte[] buf = new byte[64 * 1024];
                long received = 0;
                for (int n; received < TOTAL && (n = in.read(buf)) >= 0; received += n) {
                    for (int i = 0; i < n; i++) {
                        if (buf[i] != (byte) ((received + i) % 251)) {
                            throw new AssertionError("body byte " + (received + i) + " differs from what the server sent");
                        }
                    }
                }
                assertThat(received).as("body bytes the half-closed client received").isEqualTo(TOTAL);
                assertThat(written.get()).isEqualTo(TOTAL);
            }
        }
    }

    /** Reads the request head and answers with {@link #TOTAL} pattern bytes, counting what it wrote. */
    private static void answerWithPattern(Socket s, AtomicLong written) throws IOException {
        RawBackend.nextHead(s.getInputStream());
        OutputStream out = s.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + TOTAL + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        int chunk = PATTERN.length - 251;
        for (long at = 0; at < TOTAL; at += chunk) {
            out.write(PATTERN, (int) (at % 251), chunk);
            written.set(at + chunk);
        }
    }

    /** Waits until the server has written nothing for 150 polls in a row: every buffer on the way is full. */
    private static void awaitTheServerBlocked(AtomicLong written) {
        long[] last = {-1};
        int[] still = {0};
        Await.until("the server blocked", () -> {
            long w = written.get();
            still[0] = w > 0 && w == last[0] ? still[0] + 1 : 0;
            last[0] = w;
            return still[0] >= 150;
        });
    }
}
