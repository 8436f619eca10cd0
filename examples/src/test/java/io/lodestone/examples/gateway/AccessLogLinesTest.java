package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The launcher's access log lines: written by their own thread, dropped and counted when the output stalls. */
class AccessLogLinesTest {

    private static final int LINES = 20_000;

    @Test
    void anOutputThatStallsDropsLinesInsteadOfBlockingTheCaller() throws Exception {
        CountDownLatch open = new CountDownLatch(1);
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream stalled = new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                try {
                    // a full pipe: the write returns only once the reader comes back
                    open.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                written.write(b, off, len);
            }
        };
        AccessLogLines log = new AccessLogLines("lodestone.access", new PrintStream(stalled, false, StandardCharsets.UTF_8));
        long start = System.nanoTime();
        for (int i = 0; i < LINES; i++) {
            log.info("line {}", i);
        }
        // the caller (an event loop) never waited for the stalled output
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000);
        long dropped = log.dropped();
        assertThat(dropped).isBetween((long) LINES - AccessLogLines.CAPACITY - 1, (long) LINES - AccessLogLines.CAPACITY);

        open.countDown();
        log.close();
        String[] out = written.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(out.length + dropped).isEqualTo(LINES);
        // the first lines fill the queue before any is dropped; the few that found room later (the
        // writer thread, started late, took a line only once the queue was full) come after them
        for (int i = 0; i < AccessLogLines.CAPACITY; i++) {
            assertThat(out[i]).isEqualTo("line " + i);
        }
        for (int i = AccessLogLines.CAPACITY; i < out.length; i++) {
            assertThat(Integer.parseInt(out[i].substring("line ".length()))).isGreaterThan(Integer.parseInt(out[i - 1].substring("line ".length())));
        }
    }

    @Test
    void closeWritesEveryLineQueuedBeforeIt() {
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        AccessLogLines log = new AccessLogLines("lodestone.access", new PrintStream(written, false, StandardCharsets.UTF_8));
        for (int i = 0; i < 1_000; i++) {
            log.info("line {}", i);
        }
        log.close();
        assertThat(written.toString(StandardCharsets.UTF_8).lines()).hasSize(1_000).startsWith("line 0").endsWith("line 999");
        assertThat(log.dropped()).isZero();
    }
}
