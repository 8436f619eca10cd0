package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which idle timeout applies while the proxy holds bytes for a side that does not take them: that
 * side's, as HAProxy applies its client timeout to the writes toward a client, not the timeout of
 * the side the proxy stopped reading from because of it. The proxy runs on the manual clock: each
 * test waits until the side that streams is blocked (the proxy stopped reading it), moves the clock
 * past several timeouts of that side, and then reads the whole stream.
 */
class TcpSlowReaderTimeoutTest {

    private static final Duration SHORT = Duration.ofSeconds(10);
    private static final Duration LONG = Duration.ofMinutes(30);
    /** More than every buffer between the streaming side and the paused one can hold. */
    private static final long STREAM = 16L * 1024 * 1024;

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();

    @AfterEach
    void closeLoop() {
        loop.close();
    }

    @Test
    void aClientThatPausesReadingIsBoundByTheClientTimeoutNotByTheServerTimeout() throws Exception {
        AtomicLong written = new AtomicLong();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread streaming = writer("streaming-server", written, () -> server.accept());
            try (Proxy proxy = proxy("127.0.0.1:" + server.getLocalPort(), LONG, SHORT)) {
                try (Socket c = new Socket()) {
                    c.setReceiveBufferSize(16 * 1024);
                    c.connect(new InetSocketAddress("127.0.0.1", proxy.port()));
                    c.setSoTimeout(5000);
                    awaitBlocked("the server's stream", written);
                    // the client has read nothing: three server timeouts pass while the proxy holds
                    // what it has for the client and reads nothing from the server
                    advance(SHORT.multipliedBy(3));
                    readAll(c.getInputStream(), "the stream");
                }
                assertThat(lines.await(l -> l.contains(" tcp b/s1 "))).doesNotContain(" sD ");
            }
            streaming.join(5000);
        }
    }

    @Test
    void aServerThatPausesReadingIsBoundByTheServerTimeoutNotByTheClientTimeout() throws Exception {
        AtomicLong written = new AtomicLong();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            server.setReceiveBufferSize(16 * 1024);
            try (Proxy proxy = proxy("127.0.0.1:" + server.getLocalPort(), SHORT, LONG)) {
                Socket c = new Socket("127.0.0.1", proxy.port());
                Thread uploader = writer("uploader", written, () -> c);
                try (Socket s = server.accept()) {
                    s.setSoTimeout(5000);
                    awaitBlocked("the client's upload", written);
                    // the server has read nothing: three client timeouts pass while the proxy holds
                    // what it has for the server and reads nothing from the client
                    advance(SHORT.multipliedBy(3));
                    readAll(s.getInputStream(), "the upload");
                } finally {
                    c.close();
                }
                uploader.join(5000);
                assertThat(lines.await(l -> l.contains(" tcp b/s1 "))).doesNotContain(" cD ");
            }
        }
    }

    private Proxy proxy(String server, Duration clientTimeout, Duration serverTimeout) {
        Proxy proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(Backend.named("b").server("s1", server).serverTimeout(serverTimeout))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b").clientTimeout(clientTimeout))
                .build();
        proxy.start();
        return proxy;
    }

    /** Opens a socket. */
    private interface SocketSource {
        Socket open() throws IOException;
    }

    /** A thread that writes to the socket as fast as it is taken, counting the bytes, until the connection fails. */
    private static Thread writer(String name, AtomicLong written, SocketSource source) {
        Thread t = new Thread(() -> {
            byte[] chunk = new byte[16 * 1024];
            Arrays.fill(chunk, (byte) 'x');
            try (Socket s = source.open(); OutputStream out = s.getOutputStream()) {
                while (written.get() < 4 * STREAM) {
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // the test or the proxy closed the connection: the stream ends
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Waits until the writer has been blocked for 200 polls in a row (about 200 ms): the buffers
     * between it and the side that does not read are full, and the proxy stopped reading it.
     */
    private static void awaitBlocked(String what, AtomicLong written) {
        long[] last = {-1};
        int[] still = {0};
        Await.until(what + " blocked", () -> {
            long w = written.get();
            still[0] = w > 0 && w == last[0] ? still[0] + 1 : 0;
            last[0] = w;
            return still[0] >= 200;
        });
    }

    /** Moves the clock a second at a time, so that the relay's checks each run at their time. */
    private void advance(Duration total) {
        for (Duration left = total; !left.isNegative() && !left.isZero(); left = left.minusSeconds(1)) {
            loop.advance(Duration.ofSeconds(1));
        }
    }

    private void readAll(InputStream in, String what) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long read = 0;
        while (read < STREAM) {
            int n = in.read(buf);
            assertThat(n).as("%s after %d bytes (log: %s)", what, read, lines.lines()).isPositive();
            read += n;
        }
    }
}
