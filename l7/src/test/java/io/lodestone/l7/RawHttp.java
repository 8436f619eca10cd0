package io.lodestone.l7;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A raw-socket HTTP/1.1 client for tests: writes bytes as given, parses responses strictly. */
final class RawHttp implements AutoCloseable {

    /** One parsed response. */
    record Response(int status, Map<String, List<String>> headers, String body) {
        String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? null : v.get(0);
        }
    }

    final Socket socket;
    final InputStream in;
    final OutputStream out;

    RawHttp(int port) throws IOException {
        this("127.0.0.1", port);
    }

    /** A client connected from and to {@code host}, an address literal ({@code ::1} for the IPv6 loopback). */
    RawHttp(String host, int port) throws IOException {
        this(new Socket(host, port));
    }

    /** A client on {@code socket}, connected already (from a source address of the test's choice, say). */
    RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        // each send goes out at once, as a browser's or a load generator's writes do: with Nagle's
        // algorithm a second small send waits for the ACK of the first, up to the peer's 40 ms delayed ACK
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Sends {@code GET path} with {@code Host: h} on a connection of its own and reads the response. */
    static Response get(int port, String path) throws IOException {
        try (RawHttp c = new RawHttp(port)) {
            return c.send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n").read();
        }
    }

    RawHttp send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return this;
    }

    Response read() throws IOException {
        return read(false);
    }

    /** Reads one response; {@code head} when it answers a HEAD request (no body whatever the headers). */
    Response read(boolean head) throws IOException {
        String status = line();
        if (status == null) {
            throw new IOException("connection closed before a response");
        }
        String[] parts = status.split(" ", 3);
        int code = Integer.parseInt(parts[1]);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String l;
        while (!(l = line()).isEmpty()) {
            int colon = l.indexOf(':');
            headers.computeIfAbsent(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(l.substring(colon + 1).trim());
        }
        Response partial = new Response(code, headers, "");
        if (head || code < 200 || code == 204 || code == 304) {
            return partial;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        String cl = partial.header("content-length");
        String te = partial.header("transfer-encoding");
        if (te != null && te.equalsIgnoreCase("chunked")) {
            while (true) {
                int size = Integer.parseInt(line().trim(), 16);
                if (size == 0) {
                    while (!line().isEmpty()) {
                        // trailers
                    }
                    break;
                }
                body.write(in.readNBytes(size));
                line();
            }
        } else if (cl != null) {
            int n = Integer.parseInt(cl);
            byte[] b = in.readNBytes(n);
            if (b.length < n) {
                throw new IOException("connection closed after " + b.length + " of " + n + " body bytes");
            }
            body.write(b);
        } else {
            body.write(in.readAllBytes());
        }
        return new Response(code, headers, body.toString(StandardCharsets.UTF_8));
    }

    /** Reads one line without its line end; null at end of stream. */
    String readLine() throws IOException {
        return line();
    }

    /** Reads one chunk of a chunked body, its size line, data and line end; "" for the last chunk, whose trailers are left unread. */
    String readChunk() throws IOException {
        int size = Integer.parseInt(line().trim(), 16);
        if (size == 0) {
            return "";
        }
        String data = new String(in.readNBytes(size), StandardCharsets.ISO_8859_1);
        line();
        return data;
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int n = sb.length();
                if (n > 0 && sb.charAt(n - 1) == '\r') {
                    sb.setLength(n - 1);
                }
                return sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    /**
     * Whether the proxy closed the connection: the next read sees end of stream, or a reset (the
     * kernel answers with a reset when bytes the client still wrote reach a socket the proxy closed).
     */
    boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
