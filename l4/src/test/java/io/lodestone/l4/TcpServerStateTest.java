package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static io.lodestone.l4.Sockets.startProxy;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Server states, per-server connection counts and limits as the TCP engine sees them. */
class TcpServerStateTest {

    @ParameterizedTest
    @EnumSource(value = ServerState.class, names = {"DRAIN", "MAINT", "DOWN"})
    void aServerOutOfRotationKeepsItsConnectionsAndGetsNoNewOnes(ServerState state) throws IOException {
        try (TcpEchoServer a = TcpEchoServer.start();
             TcpEchoServer b = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("app").server("a", a.address()).server("b", b.address()),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("app"))) {
            ServerControl sa = proxy.control().server("app", "a");
            ServerControl sb = proxy.control().server("app", "b");
            sb.maintenance();
            try (Socket existing = connect(proxy.port())) {
                assertEcho(existing, "on a");
                assertThat(a.accepted()).isEqualTo(1);

                sb.ready();
                sa.state(state);
                assertEcho(existing, "still on a after " + state);
                for (int i = 0; i < 3; i++) {
                    try (Socket fresh = connect(proxy.port())) {
                        assertEcho(fresh, "new " + i);
                    }
                }
                assertThat(a.accepted()).isEqualTo(1);
                assertThat(b.accepted()).isEqualTo(3);
                assertThat(sa.load()).isEqualTo(1);

                sb.state(state);
                try (Socket refused = connect(proxy.port())) {
                    assertThat(isClosedByPeer(refused)).isTrue();
                }
                assertEcho(existing, "still on a with no server in rotation");
            }
            Await.until("a's load released", () -> sa.load() == 0);
        }
    }

    private static Socket connectFrom(String from, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        s.setSoTimeout(5000);
        return s;
    }

    /** Opens a connection from {@code from}, echoes through it, closes it; returns the server that took it. */
    private static TcpEchoServer echoFrom(String from, Proxy proxy, TcpEchoServer a, TcpEchoServer b) throws IOException {
        int beforeA = a.accepted();
        int beforeB = b.accepted();
        try (Socket s = connectFrom(from, proxy.port())) {
            assertEcho(s, "from " + from);
        }
        assertThat(a.accepted() - beforeA + b.accepted() - beforeB).isEqualTo(1);
        return a.accepted() > beforeA ? a : b;
    }

    @Test
    void aSourceStuckClientKeepsItsDrainingOrWeightZeroServerAndMovesWhenItIsInMaintenanceOrDown() throws IOException {
        try (TcpEchoServer a = TcpEchoServer.start();
             TcpEchoServer b = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("app").server("a", a.address()).server("b", b.address())
                             .stickOnSource(Duration.ofMinutes(10), 100),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("app"))) {
            TcpEchoServer mine = echoFrom("127.0.0.1", proxy, a, b);
            TcpEchoServer other = mine == a ? b : a;
            ServerControl server = proxy.control().server("app", mine == a ? "a" : "b");
            ServerControl otherServer = proxy.control().server("app", mine == a ? "b" : "a");

            server.drain();
            for (int i = 0; i < 3; i++) {
                assertThat(echoFrom("127.0.0.1", proxy, a, b)).as("a draining server keeps its stuck clients").isSameAs(mine);
                assertThat(echoFrom("127.0.0.2", proxy, a, b)).as("a new client goes elsewhere").isSameAs(other);
            }
            server.ready();
            server.weight(0);
            for (int i = 0; i < 3; i++) {
                assertThat(echoFrom("127.0.0.1", proxy, a, b)).as("a server of weight 0 keeps its stuck clients").isSameAs(mine);
                assertThat(echoFrom("127.0.0.3", proxy, a, b)).isSameAs(other);
            }

            server.maintenance();
            assertThat(echoFrom("127.0.0.1", proxy, a, b)).as("a server in maintenance takes nobody").isSameAs(other);
            server.ready();
            server.weight(1);
            assertThat(echoFrom("127.0.0.1", proxy, a, b)).as("stuck to its new server").isSameAs(other);

            otherServer.state(ServerState.DOWN);
            assertThat(echoFrom("127.0.0.1", proxy, a, b)).as("a down server takes nobody").isSameAs(mine);
            otherServer.state(ServerState.UP);
            assertThat(echoFrom("127.0.0.1", proxy, a, b)).as("stuck to its new server").isSameAs(mine);
        }
    }

    @Test
    void leastConnectionsFollowsOpenConnectionCounts() throws IOException {
        List<TcpEchoServer> echoes = List.of(TcpEchoServer.start(), TcpEchoServer.start(), TcpEchoServer.start());
        Backend.Builder backend = Backend.named("app").balance(BalancingStrategy.leastConnections());
        for (int i = 0; i < echoes.size(); i++) {
            backend.server("s" + i, echoes.get(i).address());
        }
        List<Socket> clients = new ArrayList<>();
        List<Integer> serverOf = new ArrayList<>();
        Proxy proxy = startProxy(backend, TcpFrontend.bind("127.0.0.1:0").defaultBackend("app"));
        try {
            for (int i = 0; i < 6; i++) {
                clients.add(openAndLocate(proxy, echoes, serverOf));
            }
            assertThat(loads(proxy)).containsExactly(2, 2, 2);

            int emptied = serverOf.get(0);
            for (int i = 0; i < clients.size(); i++) {
                if (serverOf.get(i) == emptied) {
                    clients.get(i).close();
                }
            }
            Await.until("the emptied server's connections closed", () -> loads(proxy).get(emptied) == 0);
            for (int i = 0; i < 2; i++) {
                clients.add(openAndLocate(proxy, echoes, serverOf));
                assertThat(serverOf.get(serverOf.size() - 1)).isEqualTo(emptied);
            }
            assertThat(loads(proxy)).containsExactly(2, 2, 2);
        } finally {
            for (Socket c : clients) {
                c.close();
            }
            proxy.close();
            for (TcpEchoServer e : echoes) {
                e.close();
            }
        }
    }

    /** Opens a connection, proves it works and records which echo server accepted it. */
    private static Socket openAndLocate(Proxy proxy, List<TcpEchoServer> echoes, List<Integer> serverOf) throws IOException {
        int[] before = new int[echoes.size()];
        for (int i = 0; i < before.length; i++) {
            before[i] = echoes.get(i).accepted();
        }
        Socket c = connect(proxy.port());
        assertEcho(c, "hello");
        for (int i = 0; i < before.length; i++) {
            if (echoes.get(i).accepted() > before[i]) {
                serverOf.add(i);
                return c;
            }
        }
        throw new AssertionError("no echo server accepted the connection");
    }

    private static List<Integer> loads(Proxy proxy) {
        List<Integer> out = new ArrayList<>();
        for (ServerControl s : proxy.control().servers("app")) {
            out.add(s.load());
        }
        return out;
    }

    @Test
    void sourceHashKeepsAClientAddressOnOneServerWhateverItsPort() throws IOException {
        List<TcpEchoServer> echoes = List.of(TcpEchoServer.start(), TcpEchoServer.start(), TcpEchoServer.start());
        Backend.Builder backend = Backend.named("app").balance(BalancingStrategy.sourceHash());
        for (int i = 0; i < echoes.size(); i++) {
            backend.server("s" + i, echoes.get(i).address());
        }
        List<Integer> serverOf = new ArrayList<>();
        try (Proxy proxy = startProxy(backend, TcpFrontend.bind("127.0.0.1:0").defaultBackend("app"))) {
            for (int i = 0; i < 8; i++) {
                try (Socket c = openAndLocate(proxy, echoes, serverOf)) {
                    assertThat(c.getLocalPort()).isPositive();
                }
            }
            // eight connections from eight source ports of 127.0.0.1
            assertThat(new HashSet<>(serverOf)).hasSize(1);
        } finally {
            for (TcpEchoServer e : echoes) {
                e.close();
            }
        }
    }

    @Test
    void serverMaxConnectionsIsRespected() throws IOException {
        try (TcpEchoServer a = TcpEchoServer.start();
             TcpEchoServer b = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("app")
                             .server("a", a.address(), s -> s.maxConnections(1))
                             .server("b", b.address(), s -> s.maxConnections(2)),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("app"))) {
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    Socket c = connect(proxy.port());
                    clients.add(c);
                    assertEcho(c, "client " + i);
                }
                assertThat(loads(proxy)).containsExactly(1, 2);
                try (Socket over = connect(proxy.port())) {
                    assertThat(isClosedByPeer(over)).isTrue();
                }
                assertThat(a.accepted() + b.accepted()).isEqualTo(3);
                clients.remove(0).close();
                Await.until("a slot freed", () -> loads(proxy).stream().mapToInt(Integer::intValue).sum() == 2);
                Socket again = connect(proxy.port());
                clients.add(again);
                assertEcho(again, "after a slot freed");
                assertThat(loads(proxy)).containsExactly(1, 2);
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
            }
        }
    }
}
