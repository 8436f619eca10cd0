package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.CapturingLogger;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Which idle timeout applies while the proxy holds bytes for a side that does not take them: that
 * side's, as HAProxy applies its client timeout to the writes toward a client, not the timeout of
 * the side the proxy stopped reading from because of it.
 */
class TcpSlowReaderTimeoutTest {

    /** A server that writes as fast as its client takes bytes, until the connection fails. */
    private static Thread streamingServer(ServerSocket server) {
        Thread t = new Thread(() -> {
            try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                byte[] chunk = new byte[16 * 1024];
                Arrays.fill(chunk, (byte) 's');
                while (true) {
                    out.write(chunk);
                }
            } catch (IOException e) {
                // the client or the proxy closed the connection: the stream ends
            }
        }, "streaming-server");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void aClientThatPausesReadingIsBoundByTheClientTimeoutNotByTheServerTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            streamingServer(server);
            String address = "127.0.0.1:" + server.getLocalPort();
            try (Proxy proxy = Proxy.builder()
                    .accessLog(AccessLog.text(lines))
                    .backend(Backend.named("b").server("stream", address).serverTimeout(Duration.ofMillis(200)))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b")
                            .clientTimeout(Duration.ofSeconds(30)))
                    .build()) {
                proxy.start();
                try (Socket c = new Socket()) {
                    c.setReceiveBufferSize(16 * 1024);
                    c.connect(new InetSocketAddress("127.0.0.1", proxy.port()));
                    c.setSoTimeout(5000);
                    // the pause is the scenario: the server keeps sending, the proxy's buffers toward
                    // the client fill and it stops reading from the server, for five server timeouts
                    Thread.sleep(1000);
                    InputStream in = c.getInputStream();
                    byte[] buf = new byte[64 * 1024];
                    long read = 0;
                    // more than every buffer between the server and this client can hold at the pause
                    while (read < 16L * 1024 * 1024) {
                        int n = in.read(buf);
                        assertThat(n).as("the stream after %d bytes (log: %s)", read, lines.lines()).isPositive();
                        read += n;
                    }
                }
                assertThat(lines.await(l -> l.contains(" tcp b/stream "))).doesNotContain(" sD ");
            }
        }
    }

    @Test
    void aServerThatPausesReadingIsBoundByTheServerTimeoutNotByTheClientTimeout() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            server.setReceiveBufferSize(16 * 1024);
            String address = "127.0.0.1:" + server.getLocalPort();
            try (Proxy proxy = Proxy.builder()
                    .accessLog(AccessLog.text(lines))
                    .backend(Backend.named("b").server("sink", address).serverTimeout(Duration.ofSeconds(30)))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("tcp").defaultBackend("b")
                            .clientTimeout(Duration.ofMillis(200)))
                    .build()) {
                proxy.start();
                Socket c = new Socket("127.0.0.1", proxy.port());
                Thread uploader = new Thread(() -> {
                    byte[] chunk = new byte[16 * 1024];
                    Arrays.fill(chunk, (byte) 'c');
                    try {
                        OutputStream out = c.getOutputStream();
                        while (true) {
                            out.write(chunk);
                        }
                    } catch (IOException e) {
                        // the test closed the connection, or the proxy did
                    }
                }, "uploader");
                uploader.setDaemon(true);
                uploader.start();
                try (Socket s = server.accept()) {
                    s.setSoTimeout(5000);
                    // the pause is the scenario: the client keeps sending, the proxy's buffers toward
                    // the server fill and it stops reading from the client, for five client timeouts
                    Thread.sleep(1000);
                    InputStream in = s.getInputStream();
                    byte[] buf = new byte[64 * 1024];
                    long read = 0;
                    while (read < 16L * 1024 * 1024) {
                        int n = in.read(buf);
                        assertThat(n).as("the upload after %d bytes (log: %s)", read, lines.lines()).isPositive();
                        read += n;
                    }
                } finally {
                    c.close();
                }
                assertThat(lines.await(l -> l.contains(" tcp b/sink "))).doesNotContain(" cD ");
            }
        }
    }
}
