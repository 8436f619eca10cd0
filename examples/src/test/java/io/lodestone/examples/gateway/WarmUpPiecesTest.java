package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The warm-up's request heads in two pieces, sent to a raw server on 127.0.0.1 that records each of
 * its reads: every request arrives whole once its pieces are put together, in order, and the first
 * client's first pieces arrive on their own.
 */
class WarmUpPiecesTest {

    private static final String RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: " + WarmUp.SMALL_BODY + "\r\n\r\n"
            + "x".repeat(WarmUp.SMALL_BODY);

    /** What one connection of the raw server read: the size of each read and every request head. */
    private record Reads(List<Integer> sizes, List<String> heads) {
    }

    @Test
    void everyHeadArrivesWholeAndTheFirstPiecesArriveOnTheirOwn() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(3);
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            // the warm-up opens both connections before it writes: the first accepted is the first client
            CompletableFuture<Socket[]> accepted = CompletableFuture.supplyAsync(() -> acceptTwo(server), threads);
            CompletableFuture<Reads> a = accepted.thenApplyAsync(s -> serve(s[0]), threads);
            CompletableFuture<Reads> b = accepted.thenApplyAsync(s -> serve(s[1]), threads);

            new WarmUp(new InetSocketAddress(server.getInetAddress(), server.getLocalPort())).headsInPieces();

            Reads ra = a.get(10, TimeUnit.SECONDS);
            Reads rb = b.get(10, TimeUnit.SECONDS);
            String request = ra.heads().get(0);
            assertThat(request).startsWith("GET /small HTTP/1.1\r\nHost: ").endsWith("\r\n\r\n");
            // the first client's heads, each in two pieces, twice per round; the second's whole, once
            assertThat(ra.heads()).hasSize(2 * WarmUp.PIECES).containsOnly(request);
            assertThat(rb.heads()).hasSize(WarmUp.PIECES).containsOnly(request);
            assertThat(ra.sizes()).contains(WarmUp.PIECE);
        } finally {
            threads.shutdownNow();
        }
    }

    /** Accepts the warm-up's two connections, in the order they were opened. */
    private static Socket[] acceptTwo(ServerSocket server) {
        try {
            Socket first = server.accept();
            return new Socket[] {first, server.accept()};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads request heads until the client closes, answering each with a 200 of the small body's length. */
    private static Reads serve(Socket socket) {
        List<Integer> sizes = new ArrayList<>();
        List<String> heads = new ArrayList<>();
        try (Socket s = socket) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) > 0; ) {
                sizes.add(n);
                pending.write(buffer, 0, n);
                String text = pending.toString(StandardCharsets.US_ASCII);
                int end;
                while ((end = text.indexOf("\r\n\r\n")) >= 0) {
                    heads.add(text.substring(0, end + 4));
                    out.write(RESPONSE.getBytes(StandardCharsets.US_ASCII));
                    text = text.substring(end + 4);
                }
                pending.reset();
                pending.write(text.getBytes(StandardCharsets.US_ASCII));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Reads(sizes, heads);
    }
}
