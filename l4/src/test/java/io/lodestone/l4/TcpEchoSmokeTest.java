package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TcpEchoSmokeTest {

    @Test
    void echoesThroughTheProxy() throws Exception {
        try (ServerSocket echo = echoServer();
             Proxy proxy = echoProxy("127.0.0.1:" + echo.getLocalPort())) {
            assertEchoes(proxy, "hello lodestone");
        }
    }

    @Test
    void echoesForAServerGivenByHostNameOnEveryConnection() throws Exception {
        // a server given by host name is connected through a resolving bootstrap whose handler every
        // new server connection shares: each connection, not only the first, must get through
        try (ServerSocket echo = echoServer();
             Proxy proxy = echoProxy("localhost:" + echo.getLocalPort())) {
            for (int i = 0; i < 3; i++) {
                assertEchoes(proxy, "hello " + i);
            }
        }
    }

    /** A server on 127.0.0.1 that echoes each connection's bytes until its client half-closes. */
    private static ServerSocket echoServer() throws Exception {
        ServerSocket echo = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
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
        return echo;
    }

    private static Proxy echoProxy(String serverAddress) {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("echo").server("e1", serverAddress).retries(0))
                .frontend(TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"))
                .build();
        proxy.start();
        return proxy;
    }

    /** One connection through the proxy: {@code text} sent, the output half-closed, the same read back. */
    private static void assertEchoes(Proxy proxy, String text) throws Exception {
        try (Socket c = new Socket("127.0.0.1", proxy.port())) {
            c.setSoTimeout(5000);
            c.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            c.shutdownOutput();
            assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo(text);
        }
    }
}
