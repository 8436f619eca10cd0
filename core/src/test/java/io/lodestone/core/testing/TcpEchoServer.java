package io.lodestone.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A blocking TCP echo server on 127.0.0.1 with an ephemeral port, one thread per connection, for
 * tests of any engine. It echoes every byte; when the client half-closes it finishes echoing, then
 * half-closes too and closes. It counts connections so that tests can see which server got traffic
 * and whether a proxy closed its side.
 *
 * <pre>{@code
 * try (TcpEchoServer echo = TcpEchoServer.start()) {
 *     Backend.named("echo").server("e1", echo.address());
 *     ...
 *     Await.until("echo saw the connection close", () -> echo.openConnections() == 0);
 * }
 * }</pre>
 */
public final class TcpEchoServer implements AutoCloseable {

    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger maxOpen = new AtomicInteger();
    private final Thread acceptor;

    private TcpEchoServer(ServerSocket server) {
        this.server = server;
        this.acceptor = new Thread(this::acceptLoop, "echo-accept-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Starts an echo server on 127.0.0.1 and an ephemeral port. */
    public static TcpEchoServer start() {
        try {
            return new TcpEchoServer(new ServerSocket(0, 256, InetAddress.getLoopbackAddress()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts an echo server on 127.0.0.1 and a port below the system's ephemeral range, for a test
     * that closes it and then needs a connect to its port refused. An ephemeral port, once closed, can
     * be taken by any socket bound to port 0 meanwhile (another test's listener); one outside the range
     * only by a socket bound to it by number, and no connect's own source port is ever one of them.
     */
    public static TcpEchoServer startOutsideTheEphemeralRange() {
        int low = 32768;
        try {
            // a stream, not Files.readString: that sizes its read by the file's size, which procfs gives as 0
            String range;
            try (InputStream in = java.nio.file.Files.newInputStream(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
                range = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
            }
            low = Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: the range's usual start
        }
        int from = Math.max(1024, Math.min(10000, low / 2));
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        IOException last = null;
        for (int i = 0; i < 100 && low - from > 0; i++) {
            ServerSocket s = null;
            try {
                s = new ServerSocket();
                s.setReuseAddress(false);
                s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), from + random.nextInt(low - from)), 256);
                return new TcpEchoServer(s);
            } catch (IOException e) {
                last = e;
                if (s != null) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // it never listened
                    }
                }
            }
        }
        throw new UncheckedIOException("no free port below the ephemeral range", last != null ? last : new IOException("empty range"));
    }

    /** The port it listens on. */
    public int port() {
        return server.getLocalPort();
    }

    /** {@code 127.0.0.1:PORT}, as a server address for a backend. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Connections accepted since start. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections open now (accepted and not yet ended by either side). */
    public int openConnections() {
        return open.get();
    }

    /** The most connections that were open at once. */
    public int maxOpenConnections() {
        return maxOpen.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            if (server.isClosed()) {
                // accepted while close() ran: the server is gone for the test, so is this connection
                closeQuietly(s);
                return;
            }
            accepted.incrementAndGet();
            maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
            sockets.add(s);
            Thread t = new Thread(() -> echo(s), "echo-" + s.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    private void echo(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        } catch (IOException e) {
            // the peer reset or the server closed: the connection is over either way
        } finally {
            sockets.remove(s);
            open.decrementAndGet();
        }
    }

    /**
     * Stops accepting, then closes every open connection. It returns the listening socket to the
     * system before it closes any connection: the JDK releases a listening socket that a thread is
     * blocked accepting on only when that thread leaves {@code accept}, and until then the kernel
     * still completes connects to it. A proxy that reconnects as soon as it sees a connection end
     * would otherwise reach a server the test has closed (as {@code TcpQueueTest}'s refused-connect
     * case did in CI runs).
     */
    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a listening socket does not fail in a way a test could act on
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Socket s : sockets) {
            closeQuietly(s);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
