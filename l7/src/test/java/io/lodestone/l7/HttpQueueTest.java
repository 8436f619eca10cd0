package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.core.testing.Stderr;
import io.lodestone.tls.ServerTls;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.pkitesting.X509Bundle;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Per-server maxconn with the backend's queue (HAProxy's {@code maxconn} and {@code timeout queue}), over real sockets. */
class HttpQueueTest {

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final CompletableFuture<Void> release = new CompletableFuture<>();
    private final RecordingBackend.Responder slowFirst = (r, ctx) -> {
        if (r.uri().equals("/slow")) {
            release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "b1:slow", Map.of())));
        } else {
            RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
        }
    };
    private Proxy proxy;

    @AfterEach
    void close() {
        release.complete(null);
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    private int start(RecordingBackend b1, Duration queueTimeout) {
        proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1)).queueTimeout(queueTimeout))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    private CompletableFuture<HttpResponse<String>> send(int port, String path) {
        return client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A slow request on b1, then /a and /b waiting in the backend's queue, in that order. */
    private record Queued(CompletableFuture<HttpResponse<String>> first, CompletableFuture<HttpResponse<String>> a,
            CompletableFuture<HttpResponse<String>> b) {
    }

    private Queued slowThenTwoQueued(int port, RecordingBackend b1) {
        CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
        Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);
        CompletableFuture<HttpResponse<String>> a = send(port, "/a");
        Await.until(Duration.ofSeconds(5), "/a to queue", () -> proxy.control().queuedRequests("app") == 1);
        CompletableFuture<HttpResponse<String>> b = send(port, "/b");
        Await.until(Duration.ofSeconds(5), "/b to queue", () -> proxy.control().queuedRequests("app") == 2);
        return new Queued(first, a, b);
    }

    @Test
    void aRequestThatFindsTheServerFullWaitsAndIsServedWhenASlotFrees() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            int port = start(b1, Duration.ofSeconds(10));
            CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);

            CompletableFuture<HttpResponse<String>> second = send(port, "/next");
            Await.until(Duration.ofSeconds(5), "the second request to queue", () -> proxy.control().queuedRequests("app") == 1);
            assertThat(second).isNotDone();
            assertThat(b1.requests).hasSize(1);
            assertThat(proxy.metrics().backend("app").traffic().currentQueue()).as("the queue depth in the metrics").isEqualTo(1);
            assertThat(proxy.control().server("app", "s1").load()).isEqualTo(1);

            release.complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:slow");
            HttpResponse<String> served = second.get(5, TimeUnit.SECONDS);
            assertThat(served.statusCode()).isEqualTo(200);
            assertThat(served.body()).isEqualTo("b1:/next");
            assertThat(proxy.control().queuedRequests("app")).isZero();
            Await.until(Duration.ofSeconds(5), "the server's load to return to 0", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    /** HAProxy hands a server that comes back the backend's queue: waiting requests need not wait for a release. */
    @Test
    void aServerThatComesBackServesTheWaitingRequestsAtOnce() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                            .server("s2", b2.address()).queueTimeout(Duration.ofSeconds(30)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            proxy.control().server("app", "s2").maintenance();
            Queued q = slowThenTwoQueued(port, b1);
            CompletableFuture<HttpResponse<String>> first = q.first();
            CompletableFuture<HttpResponse<String>> a = q.a();
            CompletableFuture<HttpResponse<String>> b = q.b();

            proxy.control().server("app", "s2").ready();
            assertThat(a.get(5, TimeUnit.SECONDS).body()).isEqualTo("b2:/a");
            assertThat(b.get(5, TimeUnit.SECONDS).body()).isEqualTo("b2:/b");
            assertThat(first).as("s1 still holds its request").isNotDone();
            assertThat(proxy.control().queuedRequests("app")).isZero();
            release.complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:slow");
        }
    }

    /**
     * A reconfiguration that removes the backend leaves its queued requests nothing to wait for: they
     * are answered 503 at once, logged SC as when no server is usable, instead of at the queue timeout
     * (30 s here); the request
     * in flight on its server finishes there.
     */
    @Test
    void requestsQueuedForABackendAReconfigurationRemovesGet503AtOnce() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                            .queueTimeout(Duration.ofSeconds(30)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            Queued q = slowThenTwoQueued(port, b1);

            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("other").server("s2", b2.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("other")));

            assertThat(q.a().get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
            assertThat(q.b().get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
            List<String> logged = lines.awaitCount(2);
            assertThat(logged).allSatisfy(line -> assertThat(line).contains(" 503 ", " SC "));
            assertThat(send(port, "/next").get(5, TimeUnit.SECONDS).body()).isEqualTo("b2:/next");
            release.complete(null);
            assertThat(q.first().get(5, TimeUnit.SECONDS).body()).as("the request in flight finished on its server").isEqualTo("b1:slow");
            assertThat(b1.requests).hasSize(1);
        }
    }

    @Test
    void aRequestThatWaitsLongerThanTheQueueTimeoutGets503() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            int port = start(b1, Duration.ofMillis(200));
            CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);

            HttpResponse<String> refused = send(port, "/next").get(5, TimeUnit.SECONDS);
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(proxy.control().queuedRequests("app")).isZero();
            assertThat(b1.requests).hasSize(1);
            ErrorCounts errors = proxy.metrics().backend("app").traffic().errors();
            assertThat(errors.timeout()).as("sQ: a timeout error on the backend, as HAProxy counts one (econ)").isEqualTo(1);
            assertThat(errors.connect()).isZero();
            assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().timeout()).as("not the server's").isZero();

            release.complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            HttpResponse<String> after = send(port, "/after").get(5, TimeUnit.SECONDS);
            assertThat(after.body()).as("the freed slot serves the next request").isEqualTo("b1:/after");
        }
    }

    /**
     * The access log's Tw is the time the request waited in the queue however the wait ended, as
     * HAProxy 2.6 logs it ({@code 0/1002/-1/-1/1002 503 ... sQ--} with {@code timeout queue 1s}) and as
     * the TCP engine does; it was -1 for a request that no server took ({@code 0/-1/-1/-1/5000}).
     */
    @Test
    void aRequestThatWaitedOutTheQueueTimeoutLogsItsWait() throws Exception {
        ManualClock clock = new ManualClock();
        CapturingLogger lines = new CapturingLogger();
        try (ManualClockLoop loop = new ManualClockLoop(clock); RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(5)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);
            CompletableFuture<HttpResponse<String>> next = send(port, "/next");
            Await.until(Duration.ofSeconds(5), "/next to queue", () -> proxy.control().queuedRequests("app") == 1);

            loop.advance(Duration.ofSeconds(5));
            assertThat(next.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
            assertThat(lines.await(l -> l.contains("/next"))).contains(" web app/- 0/5000/-1/-1/5000 503 ", " sQ ");
            release.complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(lines.await(l -> l.contains("/slow"))).contains(" web app/s1 0/0/");
            proxy.close(Duration.ofSeconds(2));
            proxy = null;
        }
    }

    private static HttpRequest h2Request(int port, String path) {
        return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build();
    }

    /**
     * The streams of one HTTP/2 connection wait in the queue as HTTP/1.1 requests do: the second
     * stream waits for the first's slot and is served once it frees, and the loads and the queue
     * return to 0.
     */
    @Test
    void anHttp2StreamWaitsForTheSlotOfAnotherStreamOfItsConnection() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"));
             RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(10)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").tls(tls).defaultBackend("app"))
                    .build();
            proxy.start();
            HttpClient h2 = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca)).version(HttpClient.Version.HTTP_2).build();
            assertThat(h2.send(h2Request(proxy.port(), "/warm"), HttpResponse.BodyHandlers.ofString()).version())
                    .isEqualTo(HttpClient.Version.HTTP_2);
            CompletableFuture<HttpResponse<String>> slow = h2.sendAsync(h2Request(proxy.port(), "/slow"), HttpResponse.BodyHandlers.ofString());
            Await.until(Duration.ofSeconds(5), "the slow stream at b1", () -> b1.requests.size() == 2);
            CompletableFuture<HttpResponse<String>> next = h2.sendAsync(h2Request(proxy.port(), "/next"), HttpResponse.BodyHandlers.ofString());
            Await.until(Duration.ofSeconds(5), "the second stream queued", () -> proxy.control().queuedRequests("app") == 1);
            assertThat(next).isNotDone();

            release.complete(null);
            assertThat(slow.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:slow");
            HttpResponse<String> served = next.get(5, TimeUnit.SECONDS);
            assertThat(served.body()).isEqualTo("b1:/next");
            assertThat(served.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(proxy.control().queuedRequests("app")).isZero();
            Await.until(Duration.ofSeconds(5), "the server's load back to 0", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    @Test
    void withoutAQueueTimeoutAFullServerMeans503AtOnce() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            int port = start(b1, Duration.ZERO);
            CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);
            assertThat(send(port, "/next").get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
            assertThat(proxy.metrics().backend("app").traffic().errors().connect()).as("SC: no server free").isEqualTo(1);
            release.complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void waitingRequestsAreServedInArrivalOrder() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            int port = start(b1, Duration.ofSeconds(10));
            Queued q = slowThenTwoQueued(port, b1);
            CompletableFuture<HttpResponse<String>> first = q.first();
            CompletableFuture<HttpResponse<String>> a = q.a();
            CompletableFuture<HttpResponse<String>> b = q.b();

            release.complete(null);
            assertThat(a.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/a");
            assertThat(b.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/b");
            assertThat(first.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(b1.requests.stream().map(r -> r.uri()).toList()).containsExactly("/slow", "/a", "/b");
        }
    }

    /**
     * A slot a server frees goes to the request that waited longest, not to one that came later:
     * here the requests a client pipelined behind the one that held the slot, which start the moment
     * its response ends, on that loop. HAProxy serves /w second; until 2026-12-07 they took the slot
     * each time before the woken request reached it, which went back to the end of the queue, and
     * a client that kept pipelining (or a busy HTTP/2 connection) could hold it there to its
     * queue timeout.
     */
    @Test
    void aFreedSlotGoesToTheWaitingRequestBeforeLaterOnes() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            int port = start(b1, Duration.ofSeconds(10));
            StringBuilder pipelined = new StringBuilder("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
            for (int i = 1; i <= 10; i++) {
                pipelined.append("GET /p").append(i).append(" HTTP/1.1\r\nHost: h\r\n\r\n");
            }
            try (RawHttp holder = new RawHttp(port)) {
                holder.send(pipelined.toString());
                Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);
                CompletableFuture<HttpResponse<String>> waiting = send(port, "/w");
                Await.until(Duration.ofSeconds(5), "/w to queue", () -> proxy.control().queuedRequests("app") == 1);

                release.complete(null);
                assertThat(waiting.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/w");
                for (int i = 0; i <= 10; i++) {
                    assertThat(holder.read().status()).isEqualTo(200);
                }
            }
            assertThat(b1.requests.stream().map(r -> r.uri()).limit(3).toList()).containsExactly("/slow", "/w", "/p1");
            assertThat(proxy.control().queuedRequests("app")).isZero();
            Await.until(Duration.ofSeconds(5), "the server's load to return to 0", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    /**
     * A request whose pooled server connection turns out stale is sent again on a fresh one with the
     * slot it holds, even while another request waits for that slot: until the hand-off it took the
     * slot back before the woken request could, and after it, without keeping the slot, it would
     * have found the server full and answered 502.
     */
    @Test
    void aRequestResentOnAFreshConnectionKeepsItsSlotWhileOthersWait() throws Exception {
        CompletableFuture<Void> reset = new CompletableFuture<>();
        Map<Integer, Integer> seen = new ConcurrentHashMap<>();
        RecordingBackend.Responder resetsSecond = (r, ctx) -> {
            if (seen.merge(r.connection(), 1, Integer::sum) == 2) {
                // the second request of a connection: the server had closed it, as a stale one is
                reset.thenRun(() -> ctx.executor().execute(() -> {
                    ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                    ctx.channel().close();
                }));
            } else {
                RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
            }
        };
        try (RecordingBackend b1 = RecordingBackend.start("b1", resetsSecond)) {
            int port = start(b1, Duration.ofSeconds(10));
            assertThat(send(port, "/first").get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/first");
            Await.until(Duration.ofSeconds(5), "the slot to be free", () -> proxy.control().server("app", "s1").load() == 0);
            CompletableFuture<HttpResponse<String>> resent = send(port, "/resent");
            Await.until(Duration.ofSeconds(5), "/resent to reach b1 on the pooled connection", () -> b1.requests.size() == 2);
            CompletableFuture<HttpResponse<String>> waiting = send(port, "/w");
            Await.until(Duration.ofSeconds(5), "/w to queue", () -> proxy.control().queuedRequests("app") == 1);

            reset.complete(null);
            HttpResponse<String> r = resent.get(5, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("b1:/resent");
            assertThat(waiting.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/w");
            Await.until(Duration.ofSeconds(5), "the server's load to return to 0", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }
    /** Server b2: answers {@code /slow} once {@code release} completes, anything else at once. */
    private static RecordingBackend.Responder answersSlowWhen(CompletableFuture<Void> release) {
        return (r, ctx) -> {
            if (r.uri().equals("/slow")) {
                release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "b2:slow", Map.of())));
            } else {
                RecordingBackend.ok(ctx, "b2:" + r.uri(), Map.of());
            }
        };
    }

    /**
     * A waiting request woken for a slot it cannot use keeps its place at the head of the queue. A
     * draining server that finishes a request frees its slot and wakes the oldest waiter, which finds
     * every server still full or draining; until 2026-12-07 it queued again behind every other
     * waiter, so each request a drained server finished (a rolling update under load) sent the
     * oldest waiter to the back: here /w2 and /w3 were served before /w1.
     */
    @Test
    void aWaiterWokenForASlotItCannotUseKeepsItsPlace() throws Exception {
        CompletableFuture<Void> release2 = new CompletableFuture<>();
        RecordingBackend.Responder slowOnB2 = answersSlowWhen(release2);
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst); RecordingBackend b2 = RecordingBackend.start("b2", slowOnB2)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                            .server("s2", b2.address(), s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(10)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "the first slow request to reach a server", () -> b1.requests.size() + b2.requests.size() == 1);
            boolean firstOnB1 = b1.requests.size() == 1;
            CompletableFuture<HttpResponse<String>> second = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "a slow request on each server", () -> b1.requests.size() == 1 && b2.requests.size() == 1);
            CompletableFuture<HttpResponse<String>> slow1 = firstOnB1 ? first : second;
            CompletableFuture<HttpResponse<String>> slow2 = firstOnB1 ? second : first;
            List<CompletableFuture<HttpResponse<String>>> waiting = new java.util.ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                waiting.add(send(port, "/w" + i));
                int n = i;
                Await.until(Duration.ofSeconds(5), "/w" + i + " to queue", () -> proxy.control().queuedRequests("app") == n);
            }

            proxy.control().server("app", "s2").drain();
            release2.complete(null);
            assertThat(slow2.get(5, TimeUnit.SECONDS).body()).isEqualTo("b2:slow");
            Await.until(Duration.ofSeconds(5), "s2 to be idle and /w1 to wait again",
                    () -> proxy.control().server("app", "s2").load() == 0 && proxy.control().queuedRequests("app") == 3);

            release.complete(null);
            assertThat(slow1.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:slow");
            for (CompletableFuture<HttpResponse<String>> w : waiting) {
                assertThat(w.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
            assertThat(b1.requests.stream().map(r -> r.uri()).toList()).containsExactly("/slow", "/w1", "/w2", "/w3");
            assertThat(b2.requests).hasSize(1);
        }
    }

    /** HEADERS for GET http://h{@code path}, ending the stream (HPACK literals). */
    private static byte[] h2cGet(int stream, String path) {
        return Http2Test.frame(stream, 1, 0x5, Http2Test.literals(":method", "GET", ":scheme", "http", ":path", path, ":authority", "h"));
    }

    /**
     * A stream that the client resets while it waits in the queue leaves it, as an HTTP/1.1 client
     * that goes away does: the next request queued takes the freed slot, the reset one never reaches
     * the server, and the loads and the queue return to 0. The same connection's other streams go on.
     */
    @Test
    void anHttp2StreamResetWhileQueuedLeavesTheQueueAndReachesNoServer() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(30)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").h2c(true).defaultBackend("app"))
                    .build();
            proxy.start();
            DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder();
            try (Socket s = Http2Test.h2c(proxy.port())) {
                OutputStream out = s.getOutputStream();
                out.write(h2cGet(1, "/slow"));
                Await.until(Duration.ofSeconds(5), "the slow stream at b1", () -> b1.requests.size() == 1);
                out.write(h2cGet(3, "/reset"));
                Await.until(Duration.ofSeconds(5), "stream 3 to queue", () -> proxy.control().queuedRequests("app") == 1);
                // RST_STREAM CANCEL
                out.write(Http2Test.frame(3, 3, 0, new byte[] {0, 0, 0, 8}));
                Await.until(Duration.ofSeconds(5), "stream 3 to leave the queue", () -> proxy.control().queuedRequests("app") == 0);
                out.write(h2cGet(5, "/next"));
                Await.until(Duration.ofSeconds(5), "stream 5 to queue", () -> proxy.control().queuedRequests("app") == 1);

                release.complete(null);
                assertThat(Http2Test.statusesOrResets(s.getInputStream(), hpack, 1, 5)).containsEntry(1, "200").containsEntry(5, "200");
            }
            assertThat(b1.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/slow", "/next");
            Await.until(Duration.ofSeconds(5), "the server's load back to 0", () -> proxy.control().server("app", "s1").load() == 0);
            assertThat(proxy.control().queuedRequests("app")).isZero();
        }
    }

    /** A connection to the proxy from {@code source} (any 127.x address is the loopback on Linux) that sends GET {@code path}. */
    private static RawHttp getFrom(String source, int port, String path) throws Exception {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        return new RawHttp(s).send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n");
    }

    /**
     * A draining server still serves the clients stuck to it by source, so the slot it frees goes to
     * the oldest request waiting that is stuck to it, as HAProxy serves a persistent request queued
     * on its server: until 2026-12-07 the slot of a server out of rotation woke nobody, the request
     * waited for another server (here until its queue timeout), and a request of the same client
     * that came later took the slot at once.
     */
    @Test
    void aDrainingServerHandsItsSlotToAWaitingRequestStuckToIt() throws Exception {
        CompletableFuture<Void> release2 = new CompletableFuture<>();
        RecordingBackend.Responder slowOnB2 = answersSlowWhen(release2);
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst); RecordingBackend b2 = RecordingBackend.start("b2", slowOnB2)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                            .server("s2", b2.address(), s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(10))
                            .stickOnSource(Duration.ofMinutes(30), 1000))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            try (RawHttp a = getFrom("127.0.0.11", port, "/slow")) {
                Await.until(Duration.ofSeconds(5), "a's slow request at a server", () -> b1.requests.size() + b2.requests.size() == 1);
                boolean aOnB1 = b1.requests.size() == 1;
                String aServer = aOnB1 ? "s1" : "s2";
                try (RawHttp other = getFrom("127.0.0.12", port, "/slow")) {
                    Await.until(Duration.ofSeconds(5), "a slow request on each server", () -> b1.requests.size() == 1 && b2.requests.size() == 1);
                    try (RawHttp waiting = getFrom("127.0.0.11", port, "/q")) {
                        Await.until(Duration.ofSeconds(5), "a's second request to queue", () -> proxy.control().queuedRequests("app") == 1);
                        waiting.socket.setSoTimeout(5000);

                        proxy.control().server("app", aServer).drain();
                        (aOnB1 ? release : release2).complete(null);
                        assertThat(a.read().status()).isEqualTo(200);
                        RawHttp.Response served = waiting.read();
                        assertThat(served.body()).as("served by a's draining server, the other still busy").isEqualTo((aOnB1 ? "b1" : "b2") + ":/q");
                        assertThat(proxy.control().queuedRequests("app")).isZero();

                        (aOnB1 ? release2 : release).complete(null);
                        assertThat(other.read().status()).isEqualTo(200);
                    }
                }
            }
            Await.until(Duration.ofSeconds(5), "the loads back to 0", () -> proxy.control().server("app", "s1").load() == 0
                    && proxy.control().server("app", "s2").load() == 0);
        }
    }

    /**
     * A balancing strategy (application code) that throws on the pick a waiting request's wake-up makes
     * (here a server made ready, which wakes the queue without handing it a slot): that pick runs as a
     * task of the event loop, outside the pipeline. The request gets 500 at once, logged IQ with the
     * WARN of any unexpected error; until 2026-12-07 Netty's task runner logged the exception and the
     * request waited out its queue timeout (30 s here) for a 503.
     */
    @Test
    void aStrategyThatThrowsOnAWaitingRequestsWokenPickGets500AtOnce() throws Exception {
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
        try (RecordingBackend b1 = RecordingBackend.start("b1", slowFirst); RecordingBackend b2 = RecordingBackend.start("b2")) {
            proxy = Proxy.builder()
                    .accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                            .server("s2", b2.address()).balance(breaksLater).queueTimeout(Duration.ofSeconds(30)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                    .build();
            proxy.start();
            int port = proxy.port();
            proxy.control().server("app", "s2").maintenance();
            CompletableFuture<HttpResponse<String>> first = send(port, "/slow");
            Await.until(Duration.ofSeconds(5), "the slow request to reach b1", () -> b1.requests.size() == 1);
            CompletableFuture<HttpResponse<String>> waiting = send(port, "/w");
            // both its picks, the one that finds every server full and the one made once it has queued, must be
            // over before the strategy breaks: the queue's count is visible between them
            Await.until(Duration.ofSeconds(5), "/w to queue", () -> refusals.get() == 2);
            assertThat(proxy.control().queuedRequests("app")).isEqualTo(1);

            broken.set(true);
            String log = Stderr.of(() -> {
                proxy.control().server("app", "s2").ready();
                assertThat(waiting.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(500);
                lines.await(l -> l.contains(" IQ "));
            });
            assertThat(log).contains("closed after an unexpected error").contains("java.lang.IllegalStateException: balancer bug");
            assertThat(proxy.control().queuedRequests("app")).isZero();
            assertThat(b2.requests).isEmpty();
            release.complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:slow");
        }
    }
}

