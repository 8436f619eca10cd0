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

    /** Stops accepting and closes every open connection. */
    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing a listening socket does not fail in a way a test could act on
        }
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }
}
