package io.lodestone.l4;

import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.startProxy;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.TcpEchoServer;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * One GiB each way through the proxy, byte-exact, with the proxy's pooled direct memory bounded
 * throughout, including while the client stops reading. Asserts on memory and content, not on time.
 */
class TcpBulkTransferTest {

    private static final long TOTAL = 1L << 30;
    /** The stream is this prime-sized random block repeated, so a lost, doubled or reordered chunk shows. */
    private static final int PATTERN = 1_048_573;
    private static final int CHUNK = 256 * 1024;
    private static final long MEMORY_BOUND = 64L << 20;
    private static final long IN_FLIGHT_BOUND = 256L << 20;
    /** How long the writer must make no progress while the client does not read, to count as stalled. */
    private static final Duration STALL = Duration.ofMillis(200);

    @Test
    void oneGibibyteBothWaysIsByteExactWithBoundedMemoryEvenWhenTheClientStopsReading() throws Exception {
        byte[] pattern = new byte[PATTERN];
        new SplittableRandom(20261122L).nextBytes(pattern);
        try (TcpEchoServer echo = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
             Socket c = connect(proxy.port())) {
            c.setSoTimeout(30_000);
            AtomicLong sent = new AtomicLong();
            CompletableFuture<Void> writer = new CompletableFuture<>();
            Thread writerThread = new Thread(() -> {
                try {
                    OutputStream out = c.getOutputStream();
                    long pos = 0;
                    while (pos < TOTAL) {
                        int offset = (int) (pos % PATTERN);
                        int len = (int) Math.min(Math.min(CHUNK, PATTERN - offset), TOTAL - pos);
                        out.write(pattern, offset, len);
                        pos += len;
                        sent.set(pos);
                    }
                    c.shutdownOutput();
                    writer.complete(null);
                } catch (Throwable t) {
                    writer.completeExceptionally(t);
                }
            }, "bulk-writer");
            writerThread.setDaemon(true);
            writerThread.start();

            InputStream in = c.getInputStream();
            byte[] buf = new byte[CHUNK];
            long received = 0;
            long maxUsed = usedDirectMemory();
            long nextSample = 0;
            boolean paused = false;
            int n;
            while ((n = in.read(buf)) >= 0) {
                assertSameAsPattern(buf, n, received, pattern);
                received += n;
                if (received >= nextSample) {
                    maxUsed = Math.max(maxUsed, usedDirectMemory());
                    nextSample += 4L << 20;
                }
                if (!paused && received >= TOTAL / 4) {
                    paused = true;
                    maxUsed = Math.max(maxUsed, pauseUntilTheWriterStalls(sent, received));
                }
            }
            writer.get(30, TimeUnit.SECONDS);
            assertThat(received).isEqualTo(TOTAL);
            System.out.printf("transferred %d MiB each way; proxy pooled direct memory up to %d MiB%n", received >> 20, maxUsed >> 20);
            assertThat(maxUsed).as("the proxy's pooled direct memory, sampled during the transfer")
                    .isLessThan(MEMORY_BOUND);
        }
    }

    /**
     * Stops reading until the writer has made no progress for a while (the proxy stopped reading
     * from the client because the path back to it is full), sampling the proxy's memory meanwhile.
     *
     * @return the most pooled direct memory seen during the pause
     */
    private static long pauseUntilTheWriterStalls(AtomicLong sent, long received) {
        long[] maxUsed = {0};
        Sockets.awaitNoProgress(sent, STALL, Duration.ofSeconds(30),
                () -> maxUsed[0] = Math.max(maxUsed[0], usedDirectMemory()));
        long inFlight = sent.get() - received;
        System.out.printf("paused at %d MiB received: writer stalled at %d MiB sent, %d MiB in flight, proxy pooled direct memory up to %d MiB%n",
                received >> 20, sent.get() >> 20, inFlight >> 20, maxUsed[0] >> 20);
        assertThat(sent.get()).as("bytes sent while the client did not read").isLessThan(TOTAL);
        assertThat(inFlight).as("bytes buffered between writer and reader (sockets and proxy)").isLessThan(IN_FLIGHT_BOUND);
        return maxUsed[0];
    }

    private static long usedDirectMemory() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    private static void assertSameAsPattern(byte[] buf, int n, long streamOffset, byte[] pattern) {
        int p = (int) (streamOffset % PATTERN);
        int i = 0;
        while (i < n) {
            int len = Math.min(n - i, PATTERN - p);
            int at = Arrays.mismatch(buf, i, i + len, pattern, p, p + len);
            if (at >= 0) {
                throw new AssertionError("byte " + (streamOffset + i + at) + " differs from what was sent");
            }
            i += len;
            p = 0;
        }
    }
}
