package io.lodestone.l4;

import static io.lodestone.l4.Sockets.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.internal.Transport;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * After the client half-closes, the server answers with more than the sockets can hold while the
 * client reads in bursts, so the proxy's write to the client blocks, drains and blocks again with the
 * client side's input already ended. Every byte must arrive, on each transport. (Netty 4.2.18's epoll
 * lost the channel at the second block; see {@code EpollWithoutEmptyInterest}.)
 */
class TcpHalfCloseTransportTest {

    private static final int TOTAL = 48 << 20;
    private static final int BURST = 8 << 20;
    private static final Duration STALL = Duration.ofMillis(150);

    @ParameterizedTest
    @EnumSource(Transport.class)
    void theAnswerAfterAHalfCloseArrivesWholeThoughTheClientReadsInBursts(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " does not load on this platform");
        EventLoopGroup group = transport.newGroup(1, "half-close-" + transport);
        AtomicLong written = new AtomicLong();
        CompletableFuture<Long> requestBytes = new CompletableFuture<>();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread answering = new Thread(() -> answerAfterEof(server, written, requestBytes), "half-close-server");
            answering.setDaemon(true);
            answering.start();
            Proxy proxy = Proxy.builder()
                    .eventLoopGroups(group, group)
                    .backend(Backend.named("b").server("s1", "127.0.0.1:" + server.getLocalPort()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"))
                    .build();
            proxy.start();
            try (proxy; Socket c = connect(proxy.port())) {
                c.setSoTimeout(10_000);
                c.getOutputStream().write("send it all".getBytes());
                c.shutdownOutput();

                InputStream in = c.getInputStream();
                byte[] buf = new byte[64 * 1024];
                long received = 0;
                int blocks = 0;
                int n;
                while (true) {
                    if (written.get() < TOTAL && received % BURST == 0 && waitUntilTheServerStalls(written)) {
                        blocks++;
                    }
                    int want = (int) Math.min(buf.length, BURST - received % BURST);
                    if ((n = in.read(buf, 0, want)) < 0) {
                        break;
                    }
                    for (int i = 0; i < n; i++) {
                        if (buf[i] != patternByte(received + i)) {
                            throw new AssertionError("byte " + (received + i) + " differs from what the server sent");
                        }
                    }
                    received += n;
                }
                assertThat(requestBytes.get(10, TimeUnit.SECONDS)).isEqualTo("send it all".length());
                assertThat(received).as("bytes the client received after its half-close").isEqualTo(TOTAL);
                assertThat(blocks).as("times the server stalled because the client did not read").isGreaterThanOrEqualTo(2);
            }
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** Reads the request to its end, then writes {@link #TOTAL} pattern bytes and closes. */
    private static void answerAfterEof(ServerSocket server, AtomicLong written, CompletableFuture<Long> requestBytes) {
        try (Socket s = server.accept()) {
            long n = 0;
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                n++;
            }
            requestBytes.complete(n);
            OutputStream out = s.getOutputStream();
            byte[] chunk = new byte[64 * 1024];
            for (long at = 0; at < TOTAL; at += chunk.length) {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = patternByte(at + i);
                }
                out.write(chunk);
                written.set(at + chunk.length);
            }
        } catch (Exception e) {
            requestBytes.completeExceptionally(e);
        }
    }

    /**
     * Waits until the server has written nothing for a while, so that everything between it and the
     * client is full and the proxy's write to the client is blocked; false when the server finished.
     */
    private static boolean waitUntilTheServerStalls(AtomicLong written) {
        return Sockets.awaitNoProgress(written, STALL, Duration.ofSeconds(10), () -> { }) < TOTAL;
    }

    private static byte patternByte(long i) {
        return (byte) ((i * 31 + (i >>> 13)) % 251);
    }
}
