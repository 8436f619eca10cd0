package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.AcceptQueue;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.TcpEchoServer;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Proxy#reconfigure} on a running TCP frontend: same socket, open connections untouched, new ones routed anew. */
class TcpReconfigurationTest {

    private TcpEchoServer first;
    private TcpEchoServer second;
    private Proxy proxy;

    @BeforeEach
    void startEchoes() {
        first = TcpEchoServer.start();
        second = TcpEchoServer.start();
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
        first.close();
        second.close();
    }

    private Proxy.Builder config(TcpFrontend.Builder frontend) {
        return Proxy.builder()
                .backend(Backend.named("first").server("f1", first.address()))
                .backend(Backend.named("second").server("s1", second.address()))
                .frontend(frontend);
    }

    @Test
    void openConnectionsStayOnTheOldBackendAndNewOnesFollowTheNewDefault() throws Exception {
        proxy = config(TcpFrontend.bind("127.0.0.1:0").name("db").defaultBackend("first")).build();
        proxy.start();
        int port = proxy.port();
        try (Socket before = connect(port)) {
            assertEcho(before, "one");
            assertThat(first.accepted()).isEqualTo(1);

            proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:0").name("db").defaultBackend("second")));

            assertThat(proxy.port()).as("the frontend kept its socket").isEqualTo(port);
            assertEcho(before, "still open");
            try (Socket after = connect(port)) {
                assertEcho(after, "two");
                assertThat(second.accepted()).isEqualTo(1);
            }
            assertThat(first.accepted()).isEqualTo(1);
            assertEcho(before, "and still");
        }
        Await.until(Duration.ofSeconds(5), "the proxy's connections to close", () -> first.openConnections() == 0);
    }

    @Test
    void newRulesApplyToTheNextConnectionAndABadConfigurationChangesNothing() throws Exception {
        proxy = config(TcpFrontend.bind("127.0.0.1:0").name("db").defaultBackend("first")).build();
        proxy.start();
        int port = proxy.port();

        assertThatThrownBy(() -> proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:0").name("db").defaultBackend("nowhere"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nowhere");
        try (Socket s = connect(port)) {
            assertEcho(s, "unchanged");
        }
        assertThat(first.accepted()).isEqualTo(1);

        proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:0").name("db").defaultBackend("first")
                .rule(Rule.when(Acl.source("127.0.0.0/8")).use("second"))));
        assertThat(proxy.port()).isEqualTo(port);
        try (Socket s = connect(port)) {
            assertEcho(s, "routed");
        }
        assertThat(second.accepted()).isEqualTo(1);
        assertThat(first.accepted()).isEqualTo(1);
    }

    /**
     * A frontend given another bind address keeps the socket of the one it still lists: its port
     * never refuses a connection and its open sessions go on; the new address is bound before the
     * reconfiguration takes over, and one dropped stops accepting once it has. It failed with
     * "Address already in use" (the proxy's own socket), both when an address was added and when one
     * was dropped.
     */
    @Test
    void aFrontendGivenAnotherBindAddressKeepsTheSocketsItStillLists() throws Exception {
        proxy = config(TcpFrontend.bind("127.0.0.1:0").name("db").defaultBackend("first")).build();
        proxy.start();
        int kept = proxy.port();
        try (Socket before = connect(kept)) {
            assertEcho(before, "one");

            // the port the OS chose, now listed, and a second address
            proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:" + kept).bind("127.0.0.1:0").name("db").defaultBackend("second")));

            assertThat(proxy.localAddresses("db")).hasSize(2);
            assertThat(proxy.port("db")).as("the first address kept its socket").isEqualTo(kept);
            int added = proxy.localAddresses("db").get(1).getPort();
            assertEcho(before, "still open");
            try (Socket a = connect(kept); Socket b = connect(added)) {
                assertEcho(a, "on the kept port");
                assertEcho(b, "on the new port");
            }
            assertThat(second.accepted()).as("new connections on both ports follow the new default").isEqualTo(2);

            proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:" + added).name("db").defaultBackend("first")));

            assertThat(proxy.port("db")).isEqualTo(added);
            // NIO closes a listening socket in the kernel at its loop's next select, just after the close returns
            Await.until(Duration.ofSeconds(5), "the dropped address to stop accepting", () -> Sockets.refuses(kept));
            try (Socket c = connect(added)) {
                assertEcho(c, "on the port that stays");
            }
            assertEcho(before, "a session accepted on the dropped address goes on");
            assertThat(first.accepted()).isEqualTo(2);
        }
    }

    /**
     * The proxy's close drains a frontend a reconfiguration removed with those in service: a session
     * still open there at the close's drain timeout is killed by the close and logged KD. The close
     * used to stop the event loops without it, which closed the session as if one side had.
     */
    @Test
    void theProxysCloseKillsASessionOfAFrontendAReconfigurationRemovedAndLogsItKd() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        proxy = Proxy.builder().accessLog(AccessLog.text(lines)).drainTimeout(Duration.ofSeconds(30))
                .backend(Backend.named("first").server("f1", first.address()))
                .frontend(TcpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("old").defaultBackend("first"))
                .build();
        proxy.start();
        try (Socket c = connect(proxy.port("old"))) {
            assertEcho(c, "relayed");
            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("first").server("f1", first.address()))
                    .frontend(TcpFrontend.bind("127.0.0.1:0").name("new").defaultBackend("first")));
            assertEcho(c, "still relayed while the removed frontend drains");

            proxy.close(Duration.ofMillis(100));
            proxy = null;

            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(lines.await(l -> l.contains(" old "))).contains(" old first/f1 ").contains(" KD ");
        }
    }

    /**
     * A connection that a frontend at its connection limit accepted on an address a reconfiguration
     * then drops waits for a slot like the others and is served once one frees, and the limit keeps
     * counting right. It was handed, when the slot freed, to the closed listening socket's pipeline,
     * which dropped it: never served, it kept its slot for good, and with maxConnections(1) the
     * frontend accepted nothing more.
     */
    @Test
    void aConnectionWaitingForASlotOnADroppedAddressIsServedAndFreesItsSlot() throws Exception {
        proxy = config(TcpFrontend.bind("127.0.0.1:0").name("db").maxConnections(1).defaultBackend("first")).build();
        proxy.start();
        int kept = proxy.port();
        try (Socket holder = connect(kept)) {
            assertEcho(holder, "holds the slot");

            proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:" + kept).bind("127.0.0.1:0").name("db").maxConnections(1)
                    .defaultBackend("first")));
            int added = proxy.localAddresses("db").get(1).getPort();
            try (Socket waiting = connect(added)) {
                // accepted from the kernel by the frontend, which holds it until a slot frees
                Await.until(Duration.ofSeconds(5), "the connection on the added address to leave the backlog",
                        () -> AcceptQueue.length(added) == 0);

                proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:" + kept).name("db").maxConnections(1)
                        .defaultBackend("first")));
                holder.close();

                assertEcho(waiting, "served once the slot freed");
            }
        }
        try (Socket next = connect(kept)) {
            assertEcho(next, "the slot was given back");
        }
    }

    /** A connection still open on a frontend a reconfiguration removed is closed at the drain timeout. */
    @Test
    void aRemovedFrontendClosesItsConnectionsAtTheDrainTimeout() throws Exception {
        proxy = config(TcpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("old").defaultBackend("first"))
                .drainTimeout(Duration.ofMillis(200))
                .build();
        proxy.start();
        try (Socket open = connect(proxy.port("old"))) {
            assertEcho(open, "before");

            // one port, so that the new frontend does not take over the old one's two sockets
            proxy.reconfigure(config(TcpFrontend.bind("127.0.0.1:0").name("new").defaultBackend("second")));

            assertThat(isClosedByPeer(open)).as("closed within the socket's 5 s read timeout").isTrue();
            Await.until(Duration.ofSeconds(5), "the server side to close", () -> first.openConnections() == 0);
        }
    }
}
