package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.isClosedByPeer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.RouteResult;
import io.lodestone.core.route.Routing;
import io.lodestone.core.route.Rule;
import io.lodestone.core.route.TestRequest;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.Stderr;
import io.lodestone.core.testing.TcpEchoServer;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Connection routing in the TCP engine over real sockets: source rules, reject, backup backends. */
class TcpRoutingTest {

    private TcpEchoServer internal;
    private TcpEchoServer external;

    @BeforeEach
    void startEchoes() {
        internal = TcpEchoServer.start();
        external = TcpEchoServer.start();
    }

    @AfterEach
    void stopEchoes() {
        internal.close();
        external.close();
    }

    private Proxy start(TcpFrontend.Builder frontend) {
        Proxy proxy = Proxy.builder()
                .backend(Backend.named("internal").server("i1", internal.address()))
                .backend(Backend.named("external").server("e1", external.address()))
                .frontend(frontend)
                .build();
        proxy.start();
        return proxy;
    }

    @Test
    void aSourceRuleSendsMatchingClientsToTheirBackend() throws IOException {
        try (Proxy proxy = start(TcpFrontend.bind("127.0.0.1:0")
                .acl("loopback", Acl.source("127.0.0.0/8", "::1/128"))
                .rule(Rule.whenNamed("loopback").use("internal"))
                .defaultBackend("external"));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "hello");
            assertThat(internal.accepted()).isEqualTo(1);
            assertThat(external.accepted()).isZero();
        }
    }

    @Test
    void clientsNoRuleMatchesGoToTheDefaultBackend() throws IOException {
        try (Proxy proxy = start(TcpFrontend.bind("127.0.0.1:0")
                .rule(Rule.when(Acl.source("10.0.0.0/8", "2001:db8::/32")).use("internal"))
                .defaultBackend("external"));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "hello");
            assertThat(external.accepted()).isEqualTo(1);
            assertThat(internal.accepted()).isZero();
        }
    }

    @Test
    void aRejectedConnectionIsClosedWithoutTouchingABackend() throws IOException {
        try (Proxy proxy = start(TcpFrontend.bind("127.0.0.1:0")
                .rule(Rule.when(Acl.source("127.0.0.1/32")).reject())
                .defaultBackend("external"))) {
            for (int i = 0; i < 3; i++) {
                try (Socket c = connect(proxy.port())) {
                    assertThat(isClosedByPeer(c)).isTrue();
                }
            }
            Await.until("rejected connections closed", () -> proxy.control().server("external", "e1").load() == 0);
            assertThat(external.accepted()).isZero();
            assertThat(internal.accepted()).isZero();
            assertThat(proxy.control().server("external", "e1").totalSelected()).isZero();
        }
    }

    @Test
    void withoutADefaultBackendAnUndecidedConnectionIsClosed() throws IOException {
        try (Proxy proxy = start(TcpFrontend.bind("127.0.0.1:0")
                .rule(Rule.when(Acl.source("10.0.0.0/8")).use("internal")));
             Socket c = connect(proxy.port())) {
            assertThat(isClosedByPeer(c)).isTrue();
            assertThat(internal.accepted() + external.accepted()).isZero();
        }
    }

    @Test
    void theBackupBackendTakesOverWhenThePrimaryHasNoUsableServer() throws IOException {
        try (Proxy proxy = start(TcpFrontend.bind("127.0.0.1:0").defaultBackend("internal", "external"))) {
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "one");
            }
            assertThat(internal.accepted()).isEqualTo(1);
            proxy.control().server("internal", "i1").state(ServerState.DOWN);
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "two");
            }
            assertThat(external.accepted()).isEqualTo(1);
            proxy.control().server("internal", "i1").state(ServerState.UP);
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "three");
            }
            assertThat(internal.accepted()).isEqualTo(2);
            assertThat(external.accepted()).isEqualTo(1);
        }
    }

    @Test
    void aWholeConnectionOnlyTableAndABackupRule() throws IOException {
        Routing routing = Routing.builder().connectionOnly()
                .rule(Rule.when(Acl.source("127.0.0.0/8")).use("internal", "external"))
                .rule(Rule.always().reject())
                .build();
        try (Proxy proxy = start(TcpFrontend.bind("127.0.0.1:0").routing(routing))) {
            proxy.control().server("internal", "i1").maintenance();
            try (Socket c = connect(proxy.port())) {
                assertEcho(c, "to the backup");
            }
            assertThat(external.accepted()).isEqualTo(1);
            assertThat(proxy.route(TestRequest.connection().source("192.0.2.1"))).isInstanceOf(Decision.Deny.class);
        }
    }

    @Test
    void proxyRouteAndPickNamesTheServerTheEngineConnectsTo() throws IOException {
        TcpEchoServer a = TcpEchoServer.start();
        TcpEchoServer b = TcpEchoServer.start();
        TcpEchoServer c = TcpEchoServer.start();
        Map<String, TcpEchoServer> byName = Map.of("a", a, "b", b, "c", c);
        try (Proxy proxy = Proxy.builder()
                .backend(Backend.named("hashed").balance(BalancingStrategy.sourceHash())
                        .server("a", a.address()).server("b", b.address()).server("c", c.address()))
                .backend(Backend.named("internal").server("i1", internal.address()))
                .frontend(TcpFrontend.bind("127.0.0.1:0")
                        .rule(Rule.when(Acl.source("10.0.0.0/8")).use("internal"))
                        .defaultBackend("hashed"))
                .build()) {
            proxy.start();
            for (String down : List.of("", "a", "b")) {
                if (!down.isEmpty()) {
                    proxy.control().server("hashed", down).state(ServerState.DOWN);
                }
                RouteResult expected = proxy.routeAndPick(TestRequest.connection().source("127.0.0.1"));
                assertThat(((Decision.Forward) expected.decision()).backend()).isEqualTo("hashed");
                TcpEchoServer target = byName.get(expected.serverName());
                int before = target.accepted();
                try (Socket s = connect(proxy.port())) {
                    assertEcho(s, "which server?");
                }
                assertThat(target.accepted()).as("after taking down '" + down + "'").isEqualTo(before + 1);
            }
        } finally {
            a.close();
            b.close();
            c.close();
        }
    }

    @Test
    void httpConditionsAndActionsAreRefusedAtBuild() {
        assertThatThrownBy(() -> TcpFrontend.bind(0).rule(Rule.when(Acl.pathBegins("/x")).use("a")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rule #0")
                .hasMessageContaining("connection ACLs only");
        assertThatThrownBy(() -> TcpFrontend.bind(0).rule(Rule.always().respond(200, "hi")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: use or reject");
        assertThatThrownBy(() -> TcpFrontend.bind(0).routing(Routing.builder().defaultBackend("a").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("connection-only");
        assertThatThrownBy(() -> TcpFrontend.bind(0).defaultBackend("a").routing(Routing.builder().connectionOnly().defaultBackend("b").build()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> Proxy.builder()
                .backend(Backend.named("a").server("s", "127.0.0.1:1"))
                .frontend(TcpFrontend.bind(0).name("db").rule(Rule.always().use("nope")).defaultBackend("a"))
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("frontend db rule #0 use: nope (no such backend");
    }

    /**
     * An ACL or a balancing strategy of the application's that throws closes that client, with a WARN
     * carrying the stack trace and {@code IR} or {@code IC} in the access log, as the HTTP engine
     * answers such a fault 500 and logs it; the next client is served. Until 2026-12-07 the TCP
     * engine reset the client and logged the exception at DEBUG alone.
     */
    @Test
    void anAclOrAStrategyThatThrowsClosesThatClientWithAWarningAndTheNextIsServed() throws Exception {
        AtomicInteger aclCalls = new AtomicInteger();
        Acl throwsFirst = view -> {
            if (aclCalls.incrementAndGet() == 1) {
                throw new IllegalStateException("acl bug");
            }
            return false;
        };
        AtomicInteger picks = new AtomicInteger();
        BalancingStrategy pickThrowsFirst = () -> (candidates, context) -> {
            if (picks.incrementAndGet() == 1) {
                throw new IllegalStateException("balancer bug");
            }
            return 0;
        };
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(Backend.named("internal").server("i1", internal.address()))
                .backend(Backend.named("external").server("e1", external.address()).balance(pickThrowsFirst))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("acl").rule(Rule.when(throwsFirst).reject()).defaultBackend("internal"))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("pick").defaultBackend("external"))
                .build()) {
            proxy.start();
            for (String frontend : new String[] {"acl", "pick"}) {
                int port = proxy.localAddresses(frontend).get(0).getPort();
                String log = Stderr.of(() -> {
                    try (Socket c = connect(port)) {
                        assertThat(isClosedByPeer(c)).isTrue();
                    }
                    lines.await(l -> l.contains(" " + frontend + " "));
                });
                assertThat(log).contains(frontend + ": client connection").contains("closed after an unexpected error")
                        .contains("java.lang.IllegalStateException: " + (frontend.equals("acl") ? "acl" : "balancer") + " bug");
                try (Socket c = connect(port)) {
                    assertEcho(c, "after");
                }
            }
            assertThat(lines.lines()).anySatisfy(l -> assertThat(l).contains(" acl -/- ").contains(" IR "));
            assertThat(lines.lines()).anySatisfy(l -> assertThat(l).contains(" pick external/- ").contains(" IC "));
            Await.until("both servers' connections closed", () -> proxy.control().server("internal", "i1").load() == 0
                    && proxy.control().server("external", "e1").load() == 0);
            assertThat(internal.accepted()).isEqualTo(1);
            assertThat(external.accepted()).isEqualTo(1);
        }
    }

    /** As above, for a strategy that throws on the pick made as a connection starts to wait in the queue. */
    @Test
    void aStrategyThatThrowsAsAConnectionQueuesClosesThatClientWithAWarning() throws Exception {
        AtomicInteger fullPicks = new AtomicInteger();
        BalancingStrategy throwsWhenQueued = () -> (candidates, context) -> {
            if (candidates.isAvailable(0)) {
                return 0;
            }
            if (fullPicks.incrementAndGet() > 1) {
                throw new IllegalStateException("balancer bug");
            }
            return -1;
        };
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(Backend.named("internal").server("i1", internal.address(), s -> s.maxConnections(1))
                        .balance(throwsWhenQueued).queueTimeout(Duration.ofSeconds(30)))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("queued").defaultBackend("internal"))
                .build()) {
            proxy.start();
            try (Socket first = connect(proxy.port())) {
                assertEcho(first, "holds the slot");
                String log = Stderr.of(() -> {
                    try (Socket c = connect(proxy.port())) {
                        assertThat(isClosedByPeer(c)).isTrue();
                    }
                    lines.await(l -> l.contains(" IQ "));
                });
                assertThat(log).contains("closed after an unexpected error").contains("java.lang.IllegalStateException: balancer bug");
                assertEcho(first, "still served");
            }
        }
    }

    /**
     * As above, for a strategy that throws on the pick a wake-up makes for a waiting connection (a
     * server in maintenance made ready wakes the queue without handing it a slot). That pick runs as a
     * task of the event loop: until 2026-12-07 Netty's task runner logged the exception and the
     * connection waited out its queue timeout (30 s here).
     */
    @Test
    void aStrategyThatThrowsWhenAWaitingConnectionIsWokenClosesThatClientWithAWarning() throws Exception {
        AtomicBoolean broken = new AtomicBoolean();
        AtomicInteger refusals = new AtomicInteger();
        BalancingStrategy breaksLater = () -> (candidates, context) -> {
            if (broken.get()) {
                throw new IllegalStateException("balancer bug");
            }
            if (candidates.isAvailable(0)) {
                return 0;
            }
            refusals.incrementAndGet();
            return -1;
        };
        CapturingLogger lines = new CapturingLogger();
        try (Proxy proxy = Proxy.builder()
                .accessLog(AccessLog.text(lines))
                .backend(Backend.named("internal").server("i1", internal.address(), s -> s.maxConnections(1))
                        .server("i2", internal.address()).balance(breaksLater).queueTimeout(Duration.ofSeconds(30)))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("queued").defaultBackend("internal"))
                .build()) {
            proxy.start();
            proxy.control().server("internal", "i2").maintenance();
            try (Socket first = connect(proxy.port())) {
                assertEcho(first, "holds the slot");
                try (Socket waiting = connect(proxy.port())) {
                    // its two picks, the one that finds every server full and the one made once it has queued,
                    // must both be over before the strategy breaks: the queue's count is visible between them
                    Await.until("the second connection to wait", () -> refusals.get() == 2);
                    assertThat(proxy.control().queuedRequests("internal")).isEqualTo(1);
                    broken.set(true);
                    String log = Stderr.of(() -> {
                        proxy.control().server("internal", "i2").ready();
                        assertThat(isClosedByPeer(waiting)).isTrue();
                        lines.await(l -> l.contains(" IQ "));
                    });
                    assertThat(log).contains("closed after an unexpected error").contains("java.lang.IllegalStateException: balancer bug");
                }
                assertThat(proxy.control().queuedRequests("internal")).isZero();
                assertEcho(first, "still served");
            }
        }
    }
}
