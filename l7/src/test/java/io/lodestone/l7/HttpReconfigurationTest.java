package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.AcceptQueue;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ClientTls;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Proxy#reconfigure} on a running HTTP frontend: same socket, new rules from the next request on. */
class HttpReconfigurationTest {

    private static final int THREADS = 2;
    private static final int REQUESTS = 300;

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    private static Proxy.Builder config(RecordingBackend b1, RecordingBackend b2, boolean xToB) {
        HttpFrontend.Builder web = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a");
        if (xToB) {
            web.rule(Rule.when(Acl.pathBegins("/x")).use("b"));
        }
        return Proxy.builder()
                .backend(Backend.named("a").server("s1", b1.address()))
                .backend(Backend.named("b").server("s2", b2.address()))
                .frontend(web);
    }

    /**
     * A backend reconfigured to speak TLS to its servers sends no request on a plaintext connection
     * pooled before: the next request opens a connection under the new settings (here its handshake
     * fails, the server speaking plaintext), where a pooled connection went on carrying requests in
     * plaintext for as long as traffic kept it from its idle timeout.
     */
    @Test
    void aBackendReconfiguredToTlsSendsNothingOnAPlaintextPooledConnection() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            HttpFrontend.Builder web = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app");
            proxy = Proxy.builder().ioThreads(1).backend(Backend.named("app").server("s1", b.address())).frontend(web).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port("web"))) {
                assertThat(c.send("GET /before HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(b.open).as("the plaintext connection pooled").hasSize(1);
                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("app").server("s1", b.address()).retries(0)
                                .connectTimeout(Duration.ofSeconds(2))
                                .tls(ClientTls.builder().insecureTrustAll().build()))
                        .frontend(web));
                assertThat(c.send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isIn(502, 504);
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).doesNotContain("/after");
        }
    }

    /**
     * The same for a backend spoken to in HTTP/2: a shared h2c connection made before the backend was
     * reconfigured to h2 over TLS takes none of its new streams.
     */
    @Test
    void aBackendReconfiguredToTlsOpensNoStreamOnAPlaintextHttp2Connection() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            HttpFrontend.Builder web = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app");
            proxy = Proxy.builder().ioThreads(1)
                    .backend(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)).frontend(web).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port("web"))) {
                assertThat(c.send("GET /plain/before HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2).retries(0)
                                .connectTimeout(Duration.ofSeconds(2))
                                .tls(ClientTls.builder().insecureTrustAll().alpn("h2").build()))
                        .frontend(web));
                assertThat(c.send("GET /plain/after HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isIn(502, 504);
            }
            assertThat(b.requests).extracting(ProtocolBackend.Seen::path).doesNotContain("/plain/after");
        }
    }

    /**
     * A proxy reconfigured before it starts binds, when started, the frontends of the last
     * configuration and routes by its rules, then closes (a close after such a reconfiguration threw
     * until 2026-12-07; nothing tested the start).
     */
    @Test
    void aProxyReconfiguredBeforeItStartsServesTheNewConfigurationOnceStarted() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = config(b1, b2, false).build();
            proxy.reconfigure(config(b1, b2, true));
            proxy.start();
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("web") + "/x/1")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.body()).isEqualTo("b2:/x/1");
        }
    }

    @Test
    void aReconfigurationUnderLoadDropsNoRequestAndRoutesTheNextRequestsByTheNewRules() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder slowOnB1 = (r, ctx) -> {
            if (r.uri().equals("/x/slow")) {
                release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "b1:slow", Map.of())));
            } else {
                RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
            }
        };
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowOnB1); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = config(b1, b2, false).build();
            proxy.start();
            int port = proxy.port();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x/slow")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);

            try (RawHttp keepAlive = new RawHttp(port)) {
                assertThat(keepAlive.send("GET /x/1 HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x/1");

                AtomicInteger done = new AtomicInteger();
                AtomicInteger afterSwitchOnOld = new AtomicInteger();
                ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                AtomicBoolean switched = new AtomicBoolean();
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    Thread thread = new Thread(() -> {
                        for (int i = 0; i < REQUESTS; i++) {
                            boolean after = switched.get();
                            try {
                                HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                                        URI.create("http://127.0.0.1:" + port + "/x/" + i)).timeout(Duration.ofSeconds(10)).build(),
                                        HttpResponse.BodyHandlers.ofString());
                                if (r.statusCode() != 200) {
                                    failures.add("status " + r.statusCode());
                                } else if (after && !r.body().startsWith("b2:")) {
                                    afterSwitchOnOld.incrementAndGet();
                                }
                            } catch (Exception e) {
                                failures.add(e.toString());
                            }
                            done.incrementAndGet();
                        }
                    }, "reconfig-client-" + t);
                    threads.add(thread);
                    thread.start();
                }
                Await.until(Duration.ofSeconds(20), "the load to be under way", () -> done.get() >= REQUESTS / 2);

                proxy.reconfigure(config(b1, b2, true));
                switched.set(true);

                assertThat(proxy.port()).as("the frontend kept its socket").isEqualTo(port);
                assertThat(keepAlive.send("GET /x/2 HTTP/1.1\r\nHost: h\r\n\r\n").read().body())
                        .as("the next request on an open keep-alive connection follows the new rule").isEqualTo("b2:/x/2");
                assertThat(keepAlive.send("GET /y HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/y");
                for (Thread thread : threads) {
                    thread.join(TimeUnit.SECONDS.toMillis(30));
                    assertThat(thread.isAlive()).isFalse();
                }
                assertThat(failures).as("every request of the load answered 200").isEmpty();
                assertThat(done.get()).isEqualTo(THREADS * REQUESTS);
                assertThat(afterSwitchOnOld.get()).as("requests sent after reconfigure returned, routed by the old rules").isZero();
                assertThat(b2.requests).hasSizeGreaterThan(1);
            }

            assertThat(inFlight).isNotDone();
            release.complete(null);
            HttpResponse<String> slow = inFlight.get(5, TimeUnit.SECONDS);
            assertThat(slow.statusCode()).as("the in-flight request finished on the old configuration").isEqualTo(200);
            assertThat(slow.body()).isEqualTo("b1:slow");
        }
    }

    @Test
    void aBadConfigurationIsRefusedWithTheReasonAndChangesNothing() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = config(b1, b2, false).build();
            proxy.start();
            int port = proxy.port();
            try (RawHttp keepAlive = new RawHttp(port)) {
                assertThat(keepAlive.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x");

                Proxy.Builder bad = Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a")
                                .rule(Rule.when(Acl.pathBegins("/x")).use("missing")));
                assertThatThrownBy(() -> proxy.reconfigure(bad))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("missing");

                assertThat(proxy.port()).isEqualTo(port);
                assertThat(proxy.backends()).containsOnlyKeys("a", "b");
                assertThat(keepAlive.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x");
            }
        }
    }

    /**
     * A frontend given another bind address keeps the socket of the one it still lists (no refused
     * connection there, its keep-alive connections follow the new rules), binds the new one before
     * taking over, and closes the socket of one it drops once it has; an address that cannot be bound
     * fails the reconfiguration and changes nothing. It failed with "Address already in use" (the
     * proxy's own socket) when an address was added to a frontend or dropped from it.
     */
    @Test
    void aFrontendGivenAnotherBindAddressKeepsTheSocketsItStillLists() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2");
                ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            proxy = config(b1, b2, false).build();
            proxy.start();
            int kept = proxy.port();
            try (RawHttp keepAlive = new RawHttp(kept)) {
                assertThat(keepAlive.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x");

                assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .backend(Backend.named("b").server("s2", b2.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:" + kept).bind("127.0.0.1:0")
                                .bind("127.0.0.1:" + taken.getLocalPort()).name("web").defaultBackend("a")
                                .rule(Rule.when(Acl.pathBegins("/x")).use("b")))))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("cannot start frontend 'web'");
                assertThat(proxy.localAddresses("web")).as("nothing changed").hasSize(1);
                assertThat(keepAlive.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x");

                // the port the OS chose, now listed, and a second address
                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .backend(Backend.named("b").server("s2", b2.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:" + kept).bind("127.0.0.1:0").name("web").defaultBackend("a")
                                .rule(Rule.when(Acl.pathBegins("/x")).use("b"))));

                assertThat(proxy.localAddresses("web")).hasSize(2);
                assertThat(proxy.port("web")).as("the first address kept its socket").isEqualTo(kept);
                int added = proxy.localAddresses("web").get(1).getPort();
                assertThat(keepAlive.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body())
                        .as("an open keep-alive connection follows the new rule").isEqualTo("b2:/x");
                try (RawHttp onAdded = new RawHttp(added)) {
                    assertThat(onAdded.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b2:/x");
                }

                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:" + added).name("web").defaultBackend("a")));

                assertThat(proxy.port("web")).isEqualTo(added);
                // NIO closes a listening socket in the kernel at its loop's next select, just after the close returns
                Await.until(Duration.ofSeconds(5), "the dropped address to stop accepting", () -> refuses(kept));
                try (RawHttp onAdded = new RawHttp(added)) {
                    assertThat(onAdded.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x");
                }
                assertThat(keepAlive.send("GET /y HTTP/1.1\r\nHost: h\r\n\r\n").read().body())
                        .as("a connection accepted on the dropped address goes on").isEqualTo("b1:/y");
            }
        }
    }

    /**
     * A connection that a frontend at its connection limit accepted on an address a reconfiguration
     * then drops waits for a slot like the others and is served once one frees; the limit keeps
     * counting right, so the frontend goes on accepting. It was handed, when a slot freed, to the
     * closed listening socket's pipeline, which dropped it: left open and never served, it kept its
     * slot for good, and with maxConnections(1) the frontend accepted nothing more.
     */
    @Test
    void aConnectionWaitingForASlotOnADroppedAddressIsServedAndFreesItsSlot() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").maxConnections(1).defaultBackend("a"))
                    .build();
            proxy.start();
            int kept = proxy.port();
            RawHttp first = new RawHttp(kept);
            assertThat(first.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/1");

            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:" + kept).bind("127.0.0.1:0").name("web").maxConnections(1)
                            .defaultBackend("a")));
            int added = proxy.localAddresses("web").get(1).getPort();
            try (RawHttp waiting = new RawHttp(added)) {
                waiting.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
                // accepted from the kernel by the frontend, which holds it until a slot frees
                Await.until(Duration.ofSeconds(5), "the connection on the added address to leave the backlog",
                        () -> AcceptQueue.length(added) == 0);

                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:" + kept).name("web").maxConnections(1).defaultBackend("a")));
                first.close();

                assertThat(waiting.read().body()).as("served once the slot freed").isEqualTo("b1:/2");
            }
            try (RawHttp next = new RawHttp(kept)) {
                assertThat(next.send("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n").read().body())
                        .as("the slot was given back").isEqualTo("b1:/3");
            }
        }
    }

    private static boolean refuses(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * A frontend renamed on the same sockets counts the next requests of its open keep-alive
     * connections under its new name, as its access log names it; the connections stay counted under
     * the name they were accepted with. Those requests were counted under the old name.
     */
    @Test
    void aRenamedFrontendCountsTheNextRequestsOfItsOpenConnectionsUnderItsNewName() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a"))
                    .build();
            proxy.start();
            int port = proxy.port();
            try (RawHttp keepAlive = new RawHttp(port)) {
                assertThat(keepAlive.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/1");

                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("www").defaultBackend("a")));

                assertThat(proxy.port("www")).isEqualTo(port);
                assertThat(keepAlive.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/2");
                Await.until(Duration.ofSeconds(5), "the second request to be counted",
                        () -> proxy.metrics().frontend("web").traffic().requests()
                                + proxy.metrics().frontend("www").traffic().requests() == 2);
                assertThat(proxy.metrics().frontend("www").traffic().requests()).isEqualTo(1);
                assertThat(proxy.metrics().frontend("web").traffic().requests()).isEqualTo(1);
                assertThat(proxy.metrics().frontend("web").traffic().currentConnections())
                        .as("the connection stays counted where it was accepted").isEqualTo(1);
            }
        }
    }

    @Test
    void aFrontendWithoutRulesTakesANewDefaultBackend() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = config(b1, b2, false).build();
            proxy.start();
            int port = proxy.port();
            try (RawHttp keepAlive = new RawHttp(port)) {
                assertThat(keepAlive.send("GET /z HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/z");
                proxy.reconfigure(Proxy.builder()
                        .backend(Backend.named("b").server("s2", b2.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("b")));
                assertThat(proxy.port()).isEqualTo(port);
                assertThat(keepAlive.send("GET /z HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b2:/z");
            }
        }
    }

    /**
     * A frontend a reconfiguration removes is drained; once its clients are gone its pooled server
     * connections close too, as {@code close()} closes them, instead of staying open until the pool's
     * idle timeout with the pool's sweep timer (and the whole retired listener) kept alive.
     */
    @Test
    void aRemovedFrontendClosesItsPooledServerConnectionsOnceDrained() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    // two ports, so that the new frontend, on one, does not take over its sockets
                    .frontend(HttpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("old").defaultBackend("a"))
                    .build();
            proxy.start();
            try (RawHttp client = new RawHttp(proxy.port("old"))) {
                assertThat(client.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/x");
            }
            Await.until(Duration.ofSeconds(5), "the server connection to be pooled", () -> b1.open.size() == 1);

            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("new").defaultBackend("a")));

            Await.until(Duration.ofSeconds(5), "the removed frontend's pooled server connection to close", () -> b1.open.isEmpty());
            int port = proxy.port("new");
            try (RawHttp client = new RawHttp(port)) {
                assertThat(client.send("GET /y HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/y");
            }
        }
    }

    /** What a removed frontend still has open at the drain timeout is closed, as the proxy's own close does. */
    @Test
    void aRemovedFrontendClosesWhatIsStillOpenAtTheDrainTimeout() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder never = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
        try (RecordingBackend b1 = RecordingBackend.start("b1", never)) {
            CompletableFuture<HttpResponse<String>> inFlight = inFlightOnARemovedFrontend(b1, AccessLog.off(), Duration.ofMillis(200));

            Await.until(Duration.ofSeconds(5), "the removed frontend's request to be closed after the drain timeout", inFlight::isDone);
            assertThat(inFlight).isCompletedExceptionally();
            Await.until(Duration.ofSeconds(5), "its server connection to close", () -> b1.open.isEmpty());
            release.complete(null);
        }
    }

    /**
     * A removed frontend whose connections are not closed yet when its close waits for them (their
     * event loop is busy) is closed whole: its response cache is unregistered. The close runs on
     * Netty's global executor, where it waited on the connection group's future, which throws there
     * (BlockingOperationException, swallowed by the scheduled task): the close stopped half-way, and
     * the cache stayed registered, and held, for the life of the proxy.
     */
    @Test
    void aRemovedFrontendWhoseConnectionsCloseLateIsClosedWhole() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder never = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
        // the connections on a loop of their own, which the test can hold without holding the accepts
        EventLoopGroup accept = Transport.best().newGroup(1, "reconf-accept");
        EventLoopGroup io = Transport.best().newGroup(1, "reconf-io");
        CountDownLatch letGo = new CountDownLatch(1);
        try (RecordingBackend b1 = RecordingBackend.start("b1", never)) {
            startOldWithACache(accept, io, b1);
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port("old"))) {
                client.setSoTimeout(5000);
                client.getOutputStream().write("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Await.until(Duration.ofSeconds(5), "the request to reach the server", () -> b1.requests.size() == 1);
                assertThat(proxy.metrics().caches()).extracting(c -> c.frontend()).containsExactly("old");

                hold(io, letGo);
                try {
                    removeOldAndAwaitItsClose(b1);
                } finally {
                    letGo.countDown();
                }
                assertThat(client.getInputStream().read()).as("the client's connection closed").isEqualTo(-1);
                Await.until(Duration.ofSeconds(5), "its server connection to close", () -> b1.open.isEmpty());
                Await.until(Duration.ofSeconds(5), "the removed frontend's cache unregistered", () -> proxy.metrics().caches().isEmpty());
            }
        } finally {
            release.complete(null);
            if (proxy != null) {
                proxy.close(Duration.ZERO);
                proxy = null;
            }
            accept.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            io.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * The proxy's close ends a frontend that a reconfiguration removed and that still drains as it
     * ends its own: its request cut by the stop is logged {@code KH} with no error, and its cache is
     * unregistered. Left to its own drain deadline, its connection was cut by the event loops'
     * shutdown (logged {@code CH}, or on NIO a 502 {@code SH} with a reset counted on the server) and
     * its close then failed on the stopped loops.
     */
    @Test
    void theProxysCloseEndsAFrontendARemovalStillDrains() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder never = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
        try (RecordingBackend b1 = RecordingBackend.start("b1", never)) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .drainTimeout(Duration.ofMinutes(5))
                    .backend(Backend.named("a").server("s1", b1.address()))
                    // two ports, so that the new frontend, on one, does not take over its sockets
                    .frontend(HttpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("old").defaultBackend("a")
                            .cache("a", ResponseCache.ofSize(1 << 20)))
                    .build();
            proxy.start();
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port("old"))) {
                client.setSoTimeout(5000);
                client.getOutputStream().write("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Await.until(Duration.ofSeconds(5), "the request to reach the server", () -> b1.requests.size() == 1);
                proxy.reconfigure(Proxy.builder().accessLog(AccessLog.text(lines))
                        .backend(Backend.named("a").server("s1", b1.address()))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("new").defaultBackend("a")));

                Proxy stopping = proxy;
                proxy = null;
                stopping.close(Duration.ZERO);
                assertThat(client.getInputStream().read()).as("the client's connection closed").isEqualTo(-1);
                assertThat(lines.await(l -> l.contains(" old "))).contains(" KH \"GET /x HTTP/1.1\"");
                assertThat(stopping.metrics().backend("a").server("s1").traffic().errors().total()).as("the server's errors").isZero();
                assertThat(stopping.metrics().caches()).as("the caches registered").isEmpty();
                Await.until(Duration.ofSeconds(5), "its server connection to close", () -> b1.open.isEmpty());
            }
        } finally {
            release.complete(null);
        }
    }

    /**
     * The proxy's close drains a frontend a reconfiguration removed as it drains those in service: a
     * request still in flight there finishes within the close's drain timeout. The close went on as
     * if the removed frontend were not there: it stopped the event loops at once, cutting that request
     * (the client's connection closed, the request logged CH as if the client had left), and the
     * retired frontend's own close ran later on the stopped loops (a warning with a
     * RejectedExecutionException).
     */
    @Test
    void theProxysCloseDrainsAFrontendAReconfigurationRemovedToo() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder held = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
        try (RecordingBackend b1 = RecordingBackend.start("b1", held)) {
            CompletableFuture<HttpResponse<String>> inFlight = inFlightOnARemovedFrontend(b1, AccessLog.off());
            int port = proxy.port("new");

            CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> proxy.close(Duration.ofSeconds(10)));
            Await.until(Duration.ofSeconds(5), "the close to stop accepting", () -> refuses(port));
            release.complete(null);

            HttpResponse<String> late = inFlight.get(5, TimeUnit.SECONDS);
            assertThat(late.statusCode()).as("finished within the close's drain timeout").isEqualTo(200);
            assertThat(late.body()).isEqualTo("late");
            closing.get(5, TimeUnit.SECONDS);
            proxy = null;
        }
    }

    /**
     * The proxy's close returns once a removed frontend whose close had already begun (at its drain's
     * deadline, on Netty's global executor) is closed whole. The close took only the frontends still
     * waiting to be closed: one whose close was under way was left to it, and {@code close} returned
     * with that frontend's connections still open and its response cache still registered, while
     * its close went on (here, held with its connections' event loop) after the proxy had closed.
     */
    @Test
    void theProxysCloseWaitsForARemovedFrontendsCloseUnderWay() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RecordingBackend.Responder never = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
        EventLoopGroup accept = Transport.best().newGroup(1, "reconf-accept");
        EventLoopGroup io = Transport.best().newGroup(1, "reconf-io");
        CountDownLatch letGo = new CountDownLatch(1);
        Thread closing = null;
        try (RecordingBackend b1 = RecordingBackend.start("b1", never)) {
            startOldWithACache(accept, io, b1);
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port("old"))) {
                client.setSoTimeout(5000);
                client.getOutputStream().write("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Await.until(Duration.ofSeconds(5), "the request to reach the server", () -> b1.requests.size() == 1);

                hold(io, letGo);
                CompletableFuture<List<String>> cachesAtClose = new CompletableFuture<>();
                try {
                    removeOldAndAwaitItsClose(b1);
                    Proxy p = proxy;
                    closing = new Thread(() -> {
                        p.close(Duration.ZERO);
                        cachesAtClose.complete(p.metrics().caches().stream().map(c -> c.frontend()).toList());
                    }, "proxy-close");
                    closing.start();
                    Thread closer = closing;
                    Await.until(Duration.ofSeconds(5), "the proxy's close to return or to wait for the removed frontend's",
                            () -> cachesAtClose.isDone() || waitsInCloseRetired(closer));
                } finally {
                    letGo.countDown();
                }
                assertThat(cachesAtClose.get(10, TimeUnit.SECONDS)).as("the response caches registered when close returned").isEmpty();
                assertThat(client.getInputStream().read()).as("the client's connection closed").isEqualTo(-1);
            }
        } finally {
            letGo.countDown();
            release.complete(null);
            if (closing != null) {
                closing.join(10_000);
            }
            proxy = null;
            accept.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            io.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** Whether {@code t} is parked inside {@code Proxy.closeRetired}, waiting for a removed frontend's close under way. */
    private static boolean waitsInCloseRetired(Thread t) {
        Thread.State state = t.getState();
        if (state != Thread.State.WAITING && state != Thread.State.TIMED_WAITING) {
            return false;
        }
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getClassName().equals(Proxy.class.getName()) && frame.getMethodName().equals("closeRetired")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Starts {@link #proxy} on {@code accept} and {@code io}, with a drain timeout of 0 and frontend
     * "old" on two ports (so that the new frontend, on one, does not take over its sockets) caching
     * backend "a" ({@code b1}).
     */
    private void startOldWithACache(EventLoopGroup accept, EventLoopGroup io, RecordingBackend b1) {
        proxy = Proxy.builder().eventLoopGroups(accept, io).drainTimeout(Duration.ZERO)
                .backend(Backend.named("a").server("s1", b1.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("old").defaultBackend("a")
                        .cache("a", ResponseCache.ofSize(1 << 20)))
                .build();
        proxy.start();
    }

    /** Holds the only loop of {@code io} until {@code letGo} (10 s at most); returns once it is held. */
    private static void hold(EventLoopGroup io, CountDownLatch letGo) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        io.execute(() -> {
            held.countDown();
            try {
                letGo.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(held.await(5, TimeUnit.SECONDS)).isTrue();
    }

    /**
     * Replaces "old" with "new" (one port); the drain timeout (0) is over at once, so the removed
     * frontend's close runs: returns once it waits for its connections, whose loop is held.
     */
    private void removeOldAndAwaitItsClose(RecordingBackend b1) {
        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("a").server("s1", b1.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("new").defaultBackend("a")));
        Await.until(Duration.ofSeconds(5), "the removed frontend's close to wait for its connections",
                HttpReconfigurationTest::globalExecutorWaitsForCloses);
    }

    /** Whether Netty's global executor is in {@code SocketClose}, where a retired listener's close waits for its connections. */
    private static boolean globalExecutorWaitsForCloses() {
        for (Map.Entry<Thread, StackTraceElement[]> t : Thread.getAllStackTraces().entrySet()) {
            if (t.getKey().getName().startsWith("globalEventExecutor")) {
                for (StackTraceElement frame : t.getValue()) {
                    if (frame.getClassName().equals(SocketClose.class.getName())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** {@link #inFlightOnARemovedFrontend(RecordingBackend, AccessLog, Duration)} with a drain timeout of 30 s. */
    private CompletableFuture<HttpResponse<String>> inFlightOnARemovedFrontend(RecordingBackend b1, AccessLog accessLog) {
        return inFlightOnARemovedFrontend(b1, accessLog, Duration.ofSeconds(30));
    }

    /**
     * Starts {@link #proxy} with frontend "old" (two ports) and {@code drainTimeout}, sends a request held
     * by the server, and replaces "old" with "new".
     */
    private CompletableFuture<HttpResponse<String>> inFlightOnARemovedFrontend(RecordingBackend b1, AccessLog accessLog, Duration drainTimeout) {
        proxy = Proxy.builder().accessLog(accessLog)
                .drainTimeout(drainTimeout)
                .backend(Backend.named("a").server("s1", b1.address()))
                // two ports, so that the new frontend, on one, does not take over its sockets
                .frontend(HttpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("old").defaultBackend("a"))
                .build();
        proxy.start();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("old") + "/held")).build(),
                HttpResponse.BodyHandlers.ofString());
        Await.until(Duration.ofSeconds(5), "the request to reach the server", () -> b1.requests.size() == 1);
        proxy.reconfigure(Proxy.builder()
                .backend(Backend.named("a").server("s1", b1.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("new").defaultBackend("a")));
        return inFlight;
    }

    /**
     * A new frontend that cannot bind (its port is taken) fails the reconfiguration with the frontend
     * and address named, and leaves everything as it was, the metrics included: the frontends bound
     * before it are closed, and no counters are left for frontends that never ran (they were listed,
     * at zero, on /metrics for the life of the proxy).
     */
    @Test
    void aFrontendThatCannotBindFailsTheReconfigurationAndLeavesNoTrace() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1");
                ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            proxy = Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a"))
                    .build();
            proxy.start();
            int port = proxy.port();
            String busy = "127.0.0.1:" + taken.getLocalPort();

            assertThatThrownBy(() -> proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a"))
                    // two ports, so that it does not take over the sockets of web
                    .frontend(HttpFrontend.bind("127.0.0.1:0").bind("127.0.0.1:0").name("first").defaultBackend("a"))
                    .frontend(HttpFrontend.bind(busy).name("second").defaultBackend("a"))))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot start frontend 'second' on " + busy);

            assertThat(proxy.frontends()).extracting(f -> f.name()).containsExactly("web");
            assertThat(proxy.metrics().frontends()).extracting(f -> f.name()).containsExactly("web");
            assertThat(proxy.port()).isEqualTo(port);
            try (RawHttp client = new RawHttp(port)) {
                assertThat(client.send("GET /z HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/z");
            }
        }
    }

    /**
     * A server a reconfiguration removes, alone or with its whole backend, has its idle pooled
     * connections closed at once, and one removed by {@code removeServer} at the pool's next sweep
     * (half the pool idle timeout), instead of their being kept for the whole idle timeout; the pool
     * forgets them (it kept an entry and a queue per removed server for the life of the proxy). A
     * server that stays keeps its pooled connection.
     */
    @Test
    void theIdlePooledConnectionsOfARemovedServerClose() throws Exception {
        ManualClock clock = new ManualClock();
        try (ManualClockLoop loop = new ManualClockLoop(clock);
                RecordingBackend b1 = RecordingBackend.start("b1");
                RecordingBackend b2 = RecordingBackend.start("b2");
                RecordingBackend b3 = RecordingBackend.start("b3")) {
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group())
                    .backend(Backend.named("a").server("s1", b1.address()).server("s2", b2.address()))
                    .backend(Backend.named("c").server("s3", b3.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a")
                            .rule(Rule.when(Acl.pathBegins("/c")).use("c")))
                    .build();
            proxy.start();
            try (RawHttp client = new RawHttp(proxy.port())) {
                // round robin: one request to each server of a, each leaving a pooled connection
                assertThat(client.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b1:/1");
                assertThat(client.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b2:/2");
                assertThat(client.send("GET /c HTTP/1.1\r\nHost: h\r\n\r\n").read().body()).isEqualTo("b3:/c");
            }
            assertThat(List.of(b1.open.size(), b2.open.size(), b3.open.size())).containsExactly(1, 1, 1);

            HttpFrontend web = HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("a").build();
            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("a").server("s1", b1.address()))
                    .frontend(web));

            Await.until(Duration.ofSeconds(5), "the removed server's pooled connection to close", () -> b2.open.isEmpty());
            Await.until(Duration.ofSeconds(5), "the removed backend's pooled connection to close", () -> b3.open.isEmpty());
            assertThat(b1.open).as("the pooled connection of the server that stays").hasSize(1);

            proxy.control().removeServer("a", "s1");
            loop.advance(web.poolIdleTimeout().dividedBy(2));
            Await.until(Duration.ofSeconds(5), "the pooled connection of a server removed at run time to close at the sweep",
                    () -> b1.open.isEmpty());
            // before the test's event loop stops
            proxy.close(Duration.ZERO);
            proxy = null;
        }
    }
}
