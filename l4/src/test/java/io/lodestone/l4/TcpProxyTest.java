package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.readExactly;
import static io.lodestone.l4.Sockets.startProxy;
import static io.lodestone.l4.Sockets.staysSilent;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The TCP engine end to end over real sockets: relaying, half-close, idle timeouts, frontend maxconn. */
class TcpProxyTest {

    private TcpEchoServer echo;

    @BeforeEach
    void startEcho() {
        echo = TcpEchoServer.start();
    }

    @AfterEach
    void stopEcho() {
        echo.close();
    }

    @Test
    void relaysManyExchangesOnOneConnection() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
             Socket c = connect(proxy.port())) {
            for (int i = 0; i < 50; i++) {
                assertEcho(c, "message " + i);
            }
            assertThat(proxy.control().server("echo", "e1").load()).isEqualTo(1);
        }
    }

    @Test
    void servesManyConcurrentConnections() throws IOException {
        int n = 200;
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"))) {
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    clients.add(connect(proxy.port()));
                }
                for (int i = 0; i < n; i++) {
                    clients.get(i).getOutputStream().write(("client " + i + ";").getBytes(StandardCharsets.US_ASCII));
                }
                for (int i = 0; i < n; i++) {
                    String expected = "client " + i + ";";
                    byte[] got = readExactly(clients.get(i).getInputStream(), expected.length());
                    assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo(expected);
                }
                assertThat(echo.maxOpenConnections()).isEqualTo(n);
                assertThat(proxy.control().server("echo", "e1").load()).isEqualTo(n);
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
            }
            Await.until("every server connection closed", () -> echo.openConnections() == 0);
            Await.until("every server load released", () -> proxy.control().server("echo", "e1").load() == 0);
        }
    }

    @Test
    void clientHalfCloseStillGetsTheServersReply() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"));
             Socket c = connect(proxy.port())) {
            byte[] payload = new byte[300_000];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = (byte) (i * 31);
            }
            c.getOutputStream().write(payload);
            c.shutdownOutput();
            // the echo server reads to the end (it saw the FIN), has echoed everything, then closes its side
            assertThat(c.getInputStream().readAllBytes()).isEqualTo(payload);
        }
    }

    @Test
    void serverHalfCloseStillCarriesTheClientsBytes() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept()) {
                    s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                    s.shutdownOutput();
                    return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Proxy proxy = startProxy(Backend.named("b").server("s1", "127.0.0.1:" + server.getLocalPort()),
                    TcpFrontend.bind("127.0.0.1:0").defaultBackend("b"));
                 Socket c = connect(proxy.port())) {
                InputStream in = c.getInputStream();
                assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hello");
                // the client saw the server's FIN and may still talk
                c.getOutputStream().write("world".getBytes(StandardCharsets.US_ASCII));
                c.shutdownOutput();
                assertThat(received.get(5, TimeUnit.SECONDS)).isEqualTo("world");
            }
        }
    }

    @Test
    void clientIdleTimeoutClosesBothSides() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo").clientTimeout(Duration.ofMillis(200)));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "before idle");
            long start = System.nanoTime();
            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
            Await.until("the server side closed too", () -> echo.openConnections() == 0);
            Await.until("the server's load released", () -> proxy.control().server("echo", "e1").load() == 0);
        }
    }

    @Test
    void serverIdleTimeoutClosesBothSides() throws IOException {
        try (Proxy proxy = startProxy(
                Backend.named("echo").server("e1", echo.address()).serverTimeout(Duration.ofMillis(200)),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo").clientTimeout(Duration.ZERO));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "before idle");
            long start = System.nanoTime();
            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
            Await.until("the server side closed too", () -> echo.openConnections() == 0);
        }
    }

    @Test
    void activeTrafficKeepsAConnectionPastItsIdleTimeout() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo").clientTimeout(Duration.ofMillis(300)));
             Socket c = connect(proxy.port())) {
            long end = System.nanoTime() + Duration.ofMillis(900).toNanos();
            int exchanges = 0;
            while (System.nanoTime() < end) {
                assertEcho(c, "still here " + exchanges++);
            }
            assertThat(exchanges).isGreaterThan(1);
            assertEcho(c, "after three idle timeouts worth of traffic");
        }
    }

    @Test
    void frontendMaxConnectionsHoldsTheNextOneUntilASlotFrees() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo").maxConnections(2));
             Socket c1 = connect(proxy.port());
             Socket c2 = connect(proxy.port())) {
            assertEcho(c1, "one");
            assertEcho(c2, "two");
            try (Socket c3 = connect(proxy.port())) {
                c3.getOutputStream().write("three".getBytes(StandardCharsets.US_ASCII));
                assertThat(staysSilent(c3, 300)).isTrue();
                assertThat(echo.accepted()).isEqualTo(2);
                c1.close();
                assertThat(new String(readExactly(c3.getInputStream(), 5), StandardCharsets.US_ASCII)).isEqualTo("three");
                assertThat(echo.accepted()).isEqualTo(3);
                assertEcho(c2, "two still works");
            }
        }
    }

    @Test
    void closesTheClientWhenNoServerIsUsable() throws IOException {
        try (Proxy proxy = startProxy(Backend.named("echo").server("e1", echo.address()),
                TcpFrontend.bind("127.0.0.1:0").defaultBackend("echo"))) {
            proxy.control().server("echo", "e1").maintenance();
            try (Socket c = connect(proxy.port())) {
                assertThat(isClosedByPeer(c)).isTrue();
            }
            assertThat(echo.accepted()).isZero();
        }
    }

    @Test
    void listensOnSeveralAddresses() throws IOException {
        TcpFrontend frontend = TcpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("two").defaultBackend("echo").build();
        try (Proxy proxy = Proxy.builder().backend(Backend.named("echo").server("e1", echo.address())).frontend(frontend).build()) {
            proxy.start();
            assertThat(proxy.localAddresses("two")).hasSize(2);
            for (var address : proxy.localAddresses("two")) {
                try (Socket c = connect(address.getPort())) {
                    assertEcho(c, "via " + address.getPort());
                }
            }
        }
    }
}
