package io.lodestone.l7;

import static io.lodestone.l7.RawHttp.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.RefusingPort;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ServerLoadAccountingTest {

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private int start(Backend.Builder backend, Consumer<HttpFrontend.Builder> frontend) {
        proxy = OneBackendProxy.start(backend, frontend);
        return proxy.port();
    }

    private void awaitIdle(String... servers) {
        for (String s : servers) {
            ServerControl c = proxy.control().server("app", s);
            Await.until(Duration.ofSeconds(5), s + " to have no request in flight", () -> c.load() == 0);
        }
    }

    @Test
    void aThousandSequentialRequestsUseOneServerConnectionPerServer() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", b1.address()).server("s2", b2.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 1000; i++) {
                    assertThat(c.send("GET /r" + i + " HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
                }
            }
            assertThat(b1.requests.size() + b2.requests.size()).isEqualTo(1000);
            assertThat(b1.connections.get()).isEqualTo(1);
            assertThat(b2.connections.get()).isEqualTo(1);
            awaitIdle("s1", "s2");
        }
    }

    @Test
    void aServerTimeoutGivesTheLoadBack() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> { })) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", b.address()).serverTimeout(Duration.ofMillis(200)), f -> { });
            assertThat(get(port, "/").status()).isEqualTo(504);
            awaitIdle("s1");
        }
    }

    @Test
    void aServerClosingBeforeItsAnswerGivesTheLoadBack() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> ctx.close())) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", b.address()).retries(0), f -> { });
            assertThat(get(port, "/").status()).isEqualTo(502);
            awaitIdle("s1");
        }
    }

    @Test
    void aRetriedConnectFailureGivesEveryLoadBack() throws Exception {
        try (RecordingBackend live = RecordingBackend.start("live")) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("dead", RefusingPort.address()).server("dead2", RefusingPort.address())
                    .server("live", live.address()).retries(1), f -> { });
            Map<Integer, Integer> statuses = new HashMap<>();
            for (int i = 0; i < 6; i++) {
                statuses.merge(get(port, "/r" + i).status(), 1, Integer::sum);
            }
            assertThat(statuses.keySet()).isSubsetOf(200, 502);
            awaitIdle("dead", "dead2", "live");
        }
    }

    @Test
    void aClientResetWhileItsRequestWaitsGivesTheLoadBack() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> { })) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", b.address()), f -> { });
            Socket s = new Socket("127.0.0.1", port);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: h\r\n\r\n".getBytes());
            s.getOutputStream().flush();
            Await.until(Duration.ofSeconds(5), "the request at the server", () -> b.requests.size() == 1);
            assertThat(proxy.control().server("app", "s1").load()).isEqualTo(1);
            s.setSoLinger(true, 0);
            s.close();
            awaitIdle("s1");
        }
    }

    @Test
    void backupServersServeOnlyWhenEveryPrimaryIsDown() throws Exception {
        try (RecordingBackend p1 = RecordingBackend.start("p1"); RecordingBackend p2 = RecordingBackend.start("p2");
                RecordingBackend spare = RecordingBackend.start("spare")) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("p1", p1.address()).server("p2", p2.address())
                    .server("spare", spare.address(), s -> s.backup()), f -> { });
            for (int i = 0; i < 6; i++) {
                assertThat(get(port, "/a" + i).status()).isEqualTo(200);
            }
            proxy.control().server("app", "p1").maintenance();
            for (int i = 0; i < 4; i++) {
                assertThat(get(port, "/b" + i).body()).isEqualTo("p2:/b" + i);
            }
            proxy.control().server("app", "p2").maintenance();
            for (int i = 0; i < 4; i++) {
                assertThat(get(port, "/c" + i).body()).isEqualTo("spare:/c" + i);
            }
            proxy.control().server("app", "p2").ready();
            assertThat(get(port, "/d").body()).isEqualTo("p2:/d");
            assertThat(spare.requests).hasSize(4);
        }
    }

    @Test
    void aServerOfWeightZeroGetsNoRequest() throws Exception {
        try (RecordingBackend p1 = RecordingBackend.start("p1"); RecordingBackend zero = RecordingBackend.start("zero")) {
            for (BalancingStrategy strategy : new BalancingStrategy[] {BalancingStrategy.leastConnections(), BalancingStrategy.roundRobin()}) {
                int port = start(Backend.named("app").balance(strategy)
                        .server("p1", p1.address()).server("zero", zero.address(), s -> s.weight(0)), f -> { });
                for (int i = 0; i < 6; i++) {
                    assertThat(get(port, "/a" + i).body()).isEqualTo("p1:/a" + i);
                }
                proxy.control().server("app", "p1").maintenance();
                assertThat(get(port, "/b").status()).isEqualTo(503);
                proxy.close();
                proxy = null;
            }
            assertThat(zero.requests).isEmpty();
        }
    }
    @Test
    void aWebSocketTunnelIsInFlightUntilItEnds() throws Exception {
        try (RawBackend server = new RawBackend((s, n) -> {
            java.io.InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            RawBackend.write(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
            while (in.read() >= 0) {
                // until the client's FIN, passed on by the proxy
            }
        })) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", server.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(101);
                assertThat(proxy.control().server("app", "s1").load()).as("the tunnel in flight").isEqualTo(1);
                c.socket.shutdownOutput();
                assertThat(c.closedByPeer()).isTrue();
            }
            awaitIdle("s1");
        }
    }

    @Test
    void aQueuedRequestWhoseClientResetsGivesNothingBack() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> {
            if (!r.uri().equals("/hold")) {
                RecordingBackend.ok(ctx, "b:" + r.uri(), Map.of());
            }
        })) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", b.address(), s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(30))
                    .serverTimeout(Duration.ofSeconds(30)), f -> { });
            try (RawHttp holder = new RawHttp(port)) {
                holder.send("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n");
                Await.until(Duration.ofSeconds(5), "the held request at the server", () -> b.requests.size() == 1);
                Socket waiter = new Socket("127.0.0.1", port);
                waiter.getOutputStream().write("GET /queued HTTP/1.1\r\nHost: h\r\n\r\n".getBytes());
                Await.until(Duration.ofSeconds(5), "the request queued",
                        () -> proxy.control().queuedRequests("app") == 1);
                waiter.setSoLinger(true, 0);
                waiter.close();
                Await.until(Duration.ofSeconds(5), "the queue empty", () -> proxy.control().queuedRequests("app") == 0);
                assertThat(proxy.control().server("app", "s1").load()).isEqualTo(1);
                // a reset, not a FIN: without abortOnClose a FIN leaves the held request at its server
                holder.socket.setSoLinger(true, 0);
            }
            awaitIdle("s1");
            assertThat(get(port, "/next").status()).isEqualTo(200);
            awaitIdle("s1");
        }
    }

    @Test
    void anHttp2StreamResetByItsClientGivesTheLoadBack() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> { })) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("s1", b.address()), f -> f.h2c(true));
            try (Socket s = Http2Test.h2c(port)) {
                s.getOutputStream().write(Http2Test.headers(1, true));
                s.getOutputStream().write(Http2Test.headers(3, true));
                s.getOutputStream().flush();
                Await.until(Duration.ofSeconds(5), "both requests at the server", () -> b.requests.size() == 2);
                assertThat(proxy.control().server("app", "s1").load()).isEqualTo(2);
                // RST_STREAM CANCEL on stream 1
                s.getOutputStream().write(Http2Test.frame(1, 3, 0, new byte[] {0, 0, 0, 8}));
                s.getOutputStream().flush();
                Await.until(Duration.ofSeconds(5), "one request left in flight",
                        () -> proxy.control().server("app", "s1").load() == 1);
                // the connection ends with a reset, which ends its other stream at once; a FIN would leave
                // that stream waiting for the server's answer (without abortOnClose), and a close with the
                // proxy's frames unread is a reset only if they have arrived by then
                s.setSoLinger(true, 0);
            }
            awaitIdle("s1");
        }
    }
}
