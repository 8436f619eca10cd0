package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/** Small blocking-socket helpers for the L4 tests; everything talks to 127.0.0.1. */
final class Sockets {

    private Sockets() {
    }

    /** Builds and starts a proxy with one backend and one TCP frontend on 127.0.0.1, port 0. */
    static Proxy startProxy(Backend.Builder backend, TcpFrontend.Builder frontend) {
        Proxy proxy = Proxy.builder().backend(backend).frontend(frontend).build();
        proxy.start();
        return proxy;
    }

    /** Connects to 127.0.0.1:port with a 5 s read timeout. */
    static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(5000);
        s.setTcpNoDelay(true);
        return s;
    }

    /** Writes a message and expects it back (through an echo server). */
    static void assertEcho(Socket s, String message) throws IOException {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(bytes);
        assertThat(new String(readExactly(s.getInputStream(), bytes.length), StandardCharsets.UTF_8)).isEqualTo(message);
    }

    static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] out = new byte[n];
        int at = 0;
        while (at < n) {
            int r = in.read(out, at, n - at);
            if (r < 0) {
                throw new EOFException("EOF after " + at + " of " + n + " bytes");
            }
            at += r;
        }
        return out;
    }

    /**
     * Waits until {@code progress} has not moved for {@code quiet} (the writer behind it is blocked
     * because nobody reads), polling every millisecond and running {@code eachPoll} meanwhile.
     *
     * @return the value it settled at
     * @throws AssertionError when it keeps moving for {@code limit}
     */
    static long awaitNoProgress(AtomicLong progress, Duration quiet, Duration limit, Runnable eachPoll) {
        long deadline = System.nanoTime() + limit.toNanos();
        long last = progress.get();
        long stableSince = System.nanoTime();
        while (System.nanoTime() - stableSince < quiet.toNanos()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("the writer never stalled while nobody read: it reached " + progress.get());
            }
            LockSupport.parkNanos(1_000_000L);
            eachPoll.run();
            long now = progress.get();
            if (now != last) {
                last = now;
                stableSince = System.nanoTime();
            }
        }
        return last;
    }

    /** Whether the peer closed the connection: end of stream or a reset, within the socket's read timeout. */
    static boolean isClosedByPeer(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true;
        }
    }

    /** Whether nothing arrives within {@code millis}: a read times out. */
    static boolean staysSilent(Socket s, int millis) throws IOException {
        int old = s.getSoTimeout();
        s.setSoTimeout(millis);
        try {
            int r = s.getInputStream().read();
            throw new AssertionError("expected silence but read " + (r < 0 ? "EOF" : "a byte"));
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            s.setSoTimeout(old);
        }
    }

    /** Whether a new connection to the port is refused. */
    static boolean refuses(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return false;
        } catch (IOException e) {
            return true;
        }
    }
}
