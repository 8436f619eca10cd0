package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TcpEchoSmokeTest {

    @Test
    void echoesThroughTheProxy() throws Exception {
        try (ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (Socket s = echo.accept()) {
                    s.getInputStream().transferTo(s.getOutputStream());
                } catch (Exception ignored) {
                    // the test's assertions report failures
                }
            });
            t.setDaemon(true);
            t.start();
            try (Proxy proxy = Proxy.builder()
                    .backend(Backend.named("echo").server("e1", "127.0.0.1:" + echo.getLocalPort()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"))
                    .build()) {
                proxy.start();
                try (Socket c = new Socket("127.0.0.1", proxy.port())) {
                    c.setSoTimeout(5000);
                    OutputStream out = c.getOutputStream();
                    out.write("hello lodestone".getBytes(StandardCharsets.US_ASCII));
                    c.shutdownOutput();
                    InputStream in = c.getInputStream();
                    assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hello lodestone");
                }
            }
        }
    }

    @Test
    void echoesForAServerGivenByHostNameOnEveryConnection() throws Exception {
        // a server given by host name is connected through a resolving bootstrap whose handler every
        // new server connection shares: each connection, not only the first, must get through
        try (ServerSocket echo = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Thread t = new Thread(() -> {
                while (!echo.isClosed()) {
                    try (Socket s = echo.accept()) {
                        s.getInputStream().transferTo(s.getOutputStream());
                    } catch (Exception ignored) {
                        // closed at the end of the test; the assertions report failures
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            try (Proxy proxy = Proxy.builder()
                    .backend(Backend.named("echo").server("e1", "localhost:" + echo.getLocalPort()).retries(0))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"))
                    .build()) {
                proxy.start();
                for (int i = 0; i < 3; i++) {
                    try (Socket c = new Socket("127.0.0.1", proxy.port())) {
                        c.setSoTimeout(5000);
                        c.getOutputStream().write(("hello " + i).getBytes(StandardCharsets.US_ASCII));
                        c.shutdownOutput();
                        assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                                .as("connection %d", i).isEqualTo("hello " + i);
                    }
                }
            }
        }
    }
}
