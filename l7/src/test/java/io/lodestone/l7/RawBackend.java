package io.lodestone.l7;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted raw-socket server for tests of what a Netty server would not do: interim responses,
 * dying mid-response, never answering. Each connection runs the script on its own thread.
 */
final class RawBackend implements AutoCloseable {

    /** Serves one connection. */
    @FunctionalInterface
    interface Script {
        void serve(Socket socket, int connection) throws IOException;
    }

    final ServerSocket server;
    final AtomicInteger connections = new AtomicInteger();
    final List<String> heads = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    RawBackend(Script script) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    if (server.isClosed()) {
                        // accepted while close() ran
                        s.close();
                        return;
                    }
                    sockets.add(s);
                    int id = connections.incrementAndGet();
                    Thread t = new Thread(() -> {
                        try (s) {
                            script.serve(s, id);
                        } catch (IOException ignored) {
                            // the test asserts on what the client saw
                        }
                    });
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Reads one request head (up to the blank line) and records it; null at end of stream. */
    String readHead(InputStream in) throws IOException {
        String head = nextHead(in);
        if (head != null) {
            heads.add(head);
        }
        return head;
    }

    /** Reads one request head, up to and with its blank line; null at end of stream. */
    static String nextHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            sb.append((char) c);
            if (c == '\n' && sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
                return sb.toString();
            }
        }
        return null;
    }

    /**
     * A backend that answers each connection's first request with {@code response} as soon as its
     * head is in, reading none of its body, then reads and drops whatever else comes.
     */
    static RawBackend answeringAfterTheHead(String response) throws IOException {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            int matched = 0;
            int c;
            while (matched < 4 && (c = in.read()) >= 0) {
                matched = c == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : c == '\r' ? 1 : 0;
            }
            write(s, response);
            in.transferTo(OutputStream.nullOutputStream());
        });
    }

    static void write(Socket s, String raw) throws IOException {
        s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        // the JDK frees a listening socket only once its acceptor has left accept (until then the
        // kernel still completes connects to it): wait for that before the connections close
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Socket s : sockets) {
            s.close();
        }
    }
}
