package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.RollingUpdate;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.testing.Await;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Health checks, drain, run-time weights and graceful close, over real sockets. */
class HttpOperationsTest {

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    private int start(Backend.Builder backend) {
        proxy = Proxy.builder()
                .backend(backend)
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** Sends {@code n} requests; returns how many each backend answered, by the prefix of the body. */
    private Map<String, Integer> split(int port, int n) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = get(port, "/r");
            assertThat(r.statusCode()).isEqualTo(200);
            counts.merge(r.body().substring(0, r.body().indexOf(':')), 1, Integer::sum);
        }
        return counts;
    }

    /**
     * Least connections with weights 3 and 1 and one request at a time: every server is idle at each
     * pick, and idle servers take turns whatever their weights, as with HAProxy 2.6's leastconn (16
     * curl requests in a row: ABAB...). Before, the heavier server took all of them.
     */
    @Test
    void leastConnectionsSendsRequestsThatComeOneAtATimeToEveryServerInTurn() throws Exception {
        try (RecordingBackend heavy = RecordingBackend.start("heavy"); RecordingBackend light = RecordingBackend.start("light")) {
            int port = start(Backend.named("app").balance(BalancingStrategy.leastConnections())
                    .server("heavy", heavy.address(), s -> s.weight(3))
                    .server("light", light.address(), s -> s.weight(1)));
            assertThat(split(port, 8)).containsEntry("heavy", 4).containsEntry("light", 4);
        }
    }

    @Test
    void aKilledServerGetsNoRequestOnceItsChecksMarkItDown() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            int port = start(Backend.named("app")
                    .server("s1", b1.address())
                    .server("s2", b2.address())
                    .healthCheck(HealthCheck.http("/status").interval(Duration.ofMillis(50)).timeout(Duration.ofMillis(500)).rise(1).fall(1)));
            Await.until(Duration.ofSeconds(5), "both servers checked", () -> b1.requests.stream().anyMatch(r -> r.uri().equals("/status"))
                    && b2.requests.stream().anyMatch(r -> r.uri().equals("/status")));
            assertThat(split(port, 10)).containsOnlyKeys("b1", "b2");

            b2.close();
            ServerControl s2 = proxy.control().server("app", "s2");
            Await.until(Duration.ofSeconds(5), "s2 to be marked down", () -> s2.state() == ServerState.DOWN);
            long selected = s2.totalSelected();
            long failures = s2.failures();
            assertThat(split(port, 50)).containsOnly(Map.entry("b1", 50));
            assertThat(s2.totalSelected()).as("no request was even tried on s2").isEqualTo(selected);
            assertThat(s2.failures()).isEqualTo(failures);
        }
    }

    @Test
    void drainLetsAnInFlightRequestFinishAndSendsTheNextRequestsElsewhere() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder slow = (r, ctx) -> {
            if (r.uri().equals("/slow")) {
                release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "b1:slow", Map.of())));
            } else {
                RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
            }
        };
        try (RecordingBackend b1 = RecordingBackend.start("b1", slow); RecordingBackend b2 = RecordingBackend.start("b2")) {
            int port = start(Backend.named("app").server("s1", b1.address()).server("s2", b2.address(), s -> s.weight(0)));
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/slow")).build(), HttpResponse.BodyHandlers.ofString());
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);
            ServerControl s1 = proxy.control().server("app", "s1");
            proxy.control().server("app", "s2").weight(1);

            CompletableFuture<Void> drained = s1.drain();
            assertThat(drained).isNotDone();
            assertThat(s1.state()).isEqualTo(ServerState.DRAIN);
            try (RawHttp keepAlive = new RawHttp(port)) {
                for (int i = 0; i < 5; i++) {
                    RawHttp.Response r = keepAlive.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n").read();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.body()).isEqualTo("b2:/next");
                }
            }
            assertThat(drained).isNotDone();

            release.complete(null);
            HttpResponse<String> r = inFlight.get(5, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("b1:slow");
            drained.get(5, TimeUnit.SECONDS);
            assertThat(s1.load()).isZero();
            assertThat(b1.requests).hasSize(1);
        }
    }

    @Test
    void weightsChangedAtRunTimeChangeTheSplit() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            int port = start(Backend.named("app")
                    .server("stable", b1.address(), s -> s.weight(80))
                    .server("canary", b2.address(), s -> s.weight(20)));
            assertShare(split(port, 200), 80);

            proxy.control().server("app", "stable").weight(50);
            proxy.control().server("app", "canary").weight(50);
            assertShare(split(port, 200), 50);

            proxy.control().server("app", "stable").weight(100);
            proxy.control().server("app", "canary").weight(0);
            assertThat(split(port, 200)).containsOnly(Map.entry("b1", 200));
        }
    }

    private static void assertShare(Map<String, Integer> counts, int stablePercent) {
        int total = counts.values().stream().mapToInt(Integer::intValue).sum();
        double stable = 100.0 * counts.getOrDefault("b1", 0) / total;
        assertThat(stable).as("stable share of %s", counts).isBetween(stablePercent - 2.0, stablePercent + 2.0);
    }

    @Test
    void closeFinishesAnInFlightRequestAndClosesIdleKeepAliveConnectionsAtOnce() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        CompletableFuture<ChannelHandlerContext> slowArrived = new CompletableFuture<>();
        RecordingBackend.Responder slow = (r, ctx) -> {
            if (r.uri().equals("/slow")) {
                slowArrived.complete(ctx);
                release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "slow done", Map.of())));
            } else {
                RecordingBackend.ok(ctx, "b:" + r.uri(), Map.of());
            }
        };
        try (RecordingBackend b = RecordingBackend.start("b", slow)) {
            int port = start(Backend.named("app").server("s1", b.address()));
            try (RawHttp idle = new RawHttp(port); RawHttp busy = new RawHttp(port)) {
                assertThat(idle.send("GET /once HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
                busy.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
                slowArrived.get(5, TimeUnit.SECONDS);

                Proxy closing = proxy;
                CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> closing.close(Duration.ofSeconds(10)));
                idle.socket.setSoTimeout(2_000);
                assertThat(idle.closedByPeer()).as("the idle keep-alive connection is closed at once").isTrue();
                assertThat(closed).isNotDone();
                Await.until(Duration.ofSeconds(5), "the proxy to stop accepting", () -> !accepts(port));

                release.complete(null);
                RawHttp.Response r = busy.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("slow done");
                assertThat(r.header("connection")).isEqualToIgnoringCase("close");
                closed.get(5, TimeUnit.SECONDS);
                assertThat(busy.closedByPeer()).isTrue();
            }
        }
    }

    private static boolean accepts(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * HAProxy's frontend {@code maxconn}: connections beyond the limit wait, unserved, until one
     * closes, even when they arrive together (the transport accepts a burst of them in one read).
     */
    @Test
    void frontendMaxConnectionsHoldsABurstBeyondItUntilSlotsFree() throws Exception {
        record Held(String uri, ChannelHandlerContext ctx) {
        }
        LinkedBlockingQueue<Held> held = new LinkedBlockingQueue<>();
        AtomicInteger seen = new AtomicInteger();
        try (RecordingBackend b1 = RecordingBackend.start("b1", (r, ctx) -> {
            seen.incrementAndGet();
            held.add(new Held(r.uri(), ctx));
        })) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").maxConnections(2).defaultBackend("app"))
                    .build();
            proxy.start();
            int n = 8;
            Map<String, RawHttp> clients = new HashMap<>();
            try {
                for (int i = 0; i < n; i++) {
                    clients.put("/c" + i, new RawHttp(proxy.port()));
                }
                for (Map.Entry<String, RawHttp> c : clients.entrySet()) {
                    c.getValue().send("GET " + c.getKey() + " HTTP/1.1\r\nHost: h\r\n\r\n");
                }
                for (int round = 0; round < n; round++) {
                    Held h = held.poll(10, TimeUnit.SECONDS);
                    assertThat(h).as("a request reaches the server in round %d", round).isNotNull();
                    // `round` clients have left, so at most two more have been let in
                    assertThat(seen.get()).as("requests let in after %d clients left", round).isLessThanOrEqualTo(Math.min(n, round + 2));
                    RecordingBackend.ok(h.ctx(), "done", Map.of());
                    RawHttp client = clients.get(h.uri());
                    assertThat(client.read().body()).isEqualTo("done");
                    client.close();
                }
                assertThat(seen.get()).isEqualTo(n);
                assertThat(proxy.metrics().frontend("web").traffic().totalConnections()).isEqualTo(n);
            } finally {
                for (RawHttp c : clients.values()) {
                    c.close();
                }
            }
        }
    }
    /**
     * A rolling update whose action is still running when the proxy closes ends there: its future
     * completes at the close, not succeeded, at that server; a new one is refused. Its timers ran on
     * the proxy's scheduler, which the close stops: the future never completed, and the backend
     * stayed taken ("already running").
     */
    @Test
    void aRollingUpdateRunningWhenTheProxyClosesEndsThere() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            start(Backend.named("app").server("s1", b1.address()).server("s2", b2.address()));
            CompletableFuture<Void> action = new CompletableFuture<>();
            AtomicInteger calls = new AtomicInteger();
            CompletableFuture<RollingUpdate.Result> update = proxy.control().rollingUpdate(RollingUpdate.builder("app", s -> {
                calls.incrementAndGet();
                return action;
            }).build());
            Await.until("the update action called", () -> calls.get() == 1);

            proxy.close(Duration.ZERO);
            assertThat(update).as("the update's future, at the close").isDone();
            RollingUpdate.Result result = update.join();
            assertThat(result.succeeded()).isFalse();
            assertThat(result.failedServer()).isEqualTo("s1");
            assertThat(result.reason()).isEqualTo("the proxy closed");
            action.complete(null);
            assertThat(calls).as("actions run").hasValue(1);
            assertThatThrownBy(() -> proxy.control().rollingUpdate(RollingUpdate.builder("app",
                    s -> CompletableFuture.completedFuture(null)).build()))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("the proxy is closed");
        }
    }

    /**
     * A rolling update waiting for a server to be idle when the proxy closes runs no action on it
     * when the close ends its last connection: it ran the application's update on a server of a proxy
     * that had stopped, and its future never completed.
     */
    @Test
    void aRollingUpdateWaitingForAServerToBeIdleRunsNoActionWhenTheProxyClosesIt() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder held = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
        try (RecordingBackend b1 = RecordingBackend.start("b1", held); RecordingBackend b2 = RecordingBackend.start("b2")) {
            int port = start(Backend.named("app").server("s1", b1.address()).server("s2", b2.address()));
            // round robin: the first request goes to s1, and is held there
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/held")).build(), HttpResponse.BodyHandlers.ofString());
            Await.until("the request held by s1", () -> b1.requests.size() == 1);
            AtomicInteger calls = new AtomicInteger();
            CompletableFuture<RollingUpdate.Result> update = proxy.control().rollingUpdate(RollingUpdate.builder("app", s -> {
                calls.incrementAndGet();
                return CompletableFuture.completedFuture(null);
            }).drainTimeout(Duration.ofMinutes(5)).build());
            Await.until("s1 drained by the update", () -> proxy.control().server("app", "s1").state() == ServerState.DRAIN);

            // returns once the connections are closed and the event loops stopped
            proxy.close(Duration.ZERO);
            assertThat(update).as("the update's future, at the close").isDone();
            assertThat(update.join().failedServer()).isEqualTo("s1");
            assertThat(update.join().reason()).isEqualTo("the proxy closed");
            assertThat(proxy.control().server("app", "s1").load()).as("s1's load, after the close").isZero();
            assertThat(calls).as("actions run").hasValue(0);
            assertThat(inFlight).failsWithin(Duration.ofSeconds(5));
        } finally {
            release.complete(null);
        }
    }
    /**
     * The drain closes idle HTTP/1.1 connections, but not one whose next request head has begun to
     * arrive: the request is answered when its head is whole, with {@code Connection: close}, as
     * HAProxy's soft stop does, and the close returns once that connection has ended. It was closed
     * under the request (logged {@code KQ "<BADREQ>"}), and the client got no answer.
     */
    @Test
    void aRequestWhoseHeadHasBegunWhenTheProxyDrainsIsAnswered() throws Exception {
        // the connections on a loop the test can wait for, so that the drain comes after the first bytes are read
        EventLoopGroup io = Transport.best().newGroup(1, "drain-io");
        try (RecordingBackend b1 = RecordingBackend.start("b1")) {
            proxy = Proxy.builder().eventLoopGroups(io, io)
                    .backend(Backend.named("app").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                    .build();
            proxy.start();
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                c.setSoTimeout(5000);
                OutputStream out = c.getOutputStream();
                out.write("GET /begun HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                // the bytes are in the proxy's socket once accepted: its loop reads them in its next turns
                Await.until("the connection accepted", () -> proxy.metrics().frontend("web").traffic().currentConnections() == 1);
                turns(io, 3);

                Proxy stopping = proxy;
                Thread closer = new Thread(() -> stopping.close(Duration.ofSeconds(30)), "closer");
                closer.start();
                // the close waits on its drain latch once every connection has been told to drain; the
                // loop then runs that before a task given after
                Await.until("the close to wait for the drain, or to return", () -> closer.getState() == Thread.State.TIMED_WAITING || !closer.isAlive());
                turns(io, 3);
                String answer;
                try {
                    out.write("st: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    answer = new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                } catch (IOException e) {
                    answer = e.toString();
                }
                assertThat(answer).startsWith("HTTP/1.1 200 ").containsIgnoringCase("connection: close").endsWith("b1:/begun");
                closer.join(10_000);
                assertThat(closer.isAlive()).as("the close still waiting").isFalse();
            }
        } finally {
            if (proxy != null) {
                proxy.close(Duration.ZERO);
                proxy = null;
            }
            io.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** Waits for {@code n} turns of the single loop of {@code group}, one task after another: I/O ready before them is handled. */
    private static void turns(EventLoopGroup group, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            group.submit(() -> { }).get(5, TimeUnit.SECONDS);
        }
    }
}
