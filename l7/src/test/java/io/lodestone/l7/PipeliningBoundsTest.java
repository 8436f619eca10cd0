package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that pipelines many small requests and does not wait for their answers: the proxy holds
 * at most its queue's 64 of them decoded, whatever one read of its connection brings (a read of
 * 64 KiB holds some 2,000 requests of 30 bytes, each some 400 bytes of heap once decoded); the rest
 * stay as the bytes they came as until the queue has room.
 */
class PipeliningBoundsTest {

    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void pipelinedRequestsBeyondTheQueueStayUndecoded() throws Exception {
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            if (RawBackend.nextHead(in) != null) {
                first.countDown();
                try {
                    done.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        })) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", server.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                    .build();
            proxy.start();
            StringBuilder many = new StringBuilder();
            for (int i = 0; i < 3000; i++) {
                many.append("GET /").append(i).append(" HTTP/1.1\r\nHost: a\r\n\r\n");
            }
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send(many.toString());
                assertThat(first.await(10, TimeUnit.SECONDS)).as("the server got /0").isTrue();
                // the client resets, then the server closes without an answer: every request the proxy
                // decoded and queued gets its line as dropped while it waited its turn (phase Q)
                c.socket.setSoLinger(true, 0);
                c.close();
            }
            done.countDown();
            lines.await(l -> l.contains("\"GET /1 "));
            Await.until("the client connection closed",
                    () -> proxy.metrics().frontend("web").traffic().currentConnections() == 0);
            long queued = lines.lines().stream().filter(l -> l.matches(".* [CSPKI]Q \".*")).count();
            assertThat(queued).as("pipelined requests decoded and dropped at the reset: %s", lines.lines().subList(0, Math.min(4, lines.lines().size()))).isBetween(1L, 64L);
        }
    }
}
