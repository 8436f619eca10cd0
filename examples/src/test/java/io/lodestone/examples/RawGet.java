package io.lodestone.examples;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One GET over a raw socket with {@code Connection: close}: the target and the Host header are sent
 * exactly as given (no client-side normalisation), and the response is read to the end of stream.
 */
public final class RawGet {

    /** The response: status, headers by lower-case name (last value wins) and body. */
    public record Response(int status, Map<String, String> headers, String body) {
        /** A header's value by case-insensitive name, or {@code null}. */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private RawGet() {
    }

    /** Sends {@code GET target} with {@code Host: host} to 127.0.0.1:port and reads the whole response. */
    public static Response get(int port, String host, String target) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            String raw = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            int end = raw.indexOf("\r\n\r\n");
            if (end < 0) {
                throw new IOException("incomplete response: " + raw);
            }
            String[] lines = raw.substring(0, end).split("\r\n");
            int status = Integer.parseInt(lines[0].split(" ", 3)[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
            byte[] body = raw.substring(end + 4).getBytes(StandardCharsets.ISO_8859_1);
            return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
        }
    }
}
