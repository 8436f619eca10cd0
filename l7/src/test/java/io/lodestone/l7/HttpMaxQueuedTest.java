package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The bound on a backend's queue ({@code Backend.Builder.maxQueued}, HAProxy's {@code maxqueue}), over
 * real sockets: a request that finds every server full and the queue at its bound is answered 503 at
 * once, logged {@code SQ}, and takes neither a slot nor a place from those waiting.
 */
class HttpMaxQueuedTest {

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final CapturingLogger lines = new CapturingLogger();
    /** Requests whose path is a key here are answered once its future completes; others at once. */
    private final Map<String, CompletableFuture<Void>> held = new ConcurrentHashMap<>();
    private final RecordingBackend.Responder holding = (r, ctx) -> {
        CompletableFuture<Void> hold = held.get(r.uri());
        if (hold == null) {
            RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of());
        } else {
            hold.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "b1:" + r.uri(), Map.of())));
        }
    };
    private Proxy proxy;

    @AfterEach
    void close() {
        held.values().forEach(f -> f.complete(null));
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    private CompletableFuture<Void> hold(String path) {
        return held.computeIfAbsent(path, p -> new CompletableFuture<>());
    }

    private Proxy.Builder bounded(RecordingBackend b1, int maxQueued) {
        return Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1))
                        .queueTimeout(Duration.ofSeconds(30)).maxQueued(maxQueued))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").h2c(true).defaultBackend("app"));
    }

    private int start(RecordingBackend b1, int maxQueued) {
        proxy = bounded(b1, maxQueued).build();
        proxy.start();
        return proxy.port();
    }

    private CompletableFuture<HttpResponse<String>> send(int port, String path) {
        return client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> queued(int port, String path, int depth) {
        CompletableFuture<HttpResponse<String>> f = send(port, path);
        Await.until(Duration.ofSeconds(5), path + " to queue", () -> proxy.control().queuedRequests("app") == depth);
        return f;
    }

    private ErrorCounts errors() {
        return proxy.metrics().backend("app").traffic().errors();
    }

    @Test
    void aRequestThatFindsTheQueueFullGets503AtOnceAndTheQueueTakesOthersOnceBelowItsBound() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", holding)) {
            hold("/hold1");
            hold("/hold2");
            int port = start(b1, 2);
            CompletableFuture<HttpResponse<String>> hold1 = send(port, "/hold1");
            Await.until(Duration.ofSeconds(5), "/hold1 at b1", () -> b1.requests.size() == 1);
            CompletableFuture<HttpResponse<String>> hold2 = queued(port, "/hold2", 1);
            CompletableFuture<HttpResponse<String>> c = queued(port, "/c", 2);

            HttpResponse<String> refused = send(port, "/d").get(5, TimeUnit.SECONDS);
            assertThat(refused.statusCode()).isEqualTo(503);
            String line = lines.await(l -> l.contains(" 503 "));
            assertThat(line).contains(" web app/- ", " SQ ");
            // Tw -1: refused before it entered the queue, as HAProxy logs a maxqueue refusal (and SC)
            assertThat(line).matches(".* web app/- \\d+/-1/-1/-1/\\d+ 503 .*");
            assertThat(errors().connect()).as("SQ: a connect error on the backend, as SC counts a full backend").isEqualTo(1);
            assertThat(errors().timeout()).isZero();
            assertThat(proxy.control().queuedRequests("app")).isEqualTo(2);
            assertThat(proxy.metrics().backend("app").traffic().currentQueue()).isEqualTo(2);
            assertThat(proxy.control().server("app", "s1").load()).isEqualTo(1);

            held.get("/hold1").complete(null);
            assertThat(hold1.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/hold1");
            Await.until(Duration.ofSeconds(5), "/hold2 at b1", () -> b1.requests.size() == 2);
            assertThat(proxy.control().queuedRequests("app")).isEqualTo(1);
            CompletableFuture<HttpResponse<String>> e = queued(port, "/e", 2);
            assertThat(send(port, "/f").get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
            assertThat(errors().connect()).isEqualTo(2);

            held.get("/hold2").complete(null);
            assertThat(hold2.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/hold2");
            assertThat(c.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/c");
            assertThat(e.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/e");
            assertThat(b1.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/hold1", "/hold2", "/c", "/e");
            assertThat(proxy.control().queuedRequests("app")).isZero();
            Await.until(Duration.ofSeconds(5), "the server's load back to 0", () -> proxy.control().server("app", "s1").load() == 0);
            assertThat(proxy.metrics().backend("app").traffic().currentQueue()).isZero();
        }
    }

    /** The 503 of a full queue is the one a full backend without a queue gives: same status line and fields, the connection kept. */
    @Test
    void theAnswerOfAFullQueueIsThatOfAFullBackend() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", holding)) {
            hold("/hold");
            int port = start(b1, 1);
            CompletableFuture<HttpResponse<String>> first = send(port, "/hold");
            Await.until(Duration.ofSeconds(5), "/hold at b1", () -> b1.requests.size() == 1);
            CompletableFuture<HttpResponse<String>> waiting = queued(port, "/w", 1);
            RawHttp.Response full;
            try (RawHttp raw = new RawHttp(port)) {
                full = raw.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(raw.send("GET /y HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).as("kept alive").isEqualTo(503);
            }
            proxy.reconfigure(Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b1.address(), s -> s.maxConnections(1)))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").h2c(true).defaultBackend("app")));
            RawHttp.Response noQueue = RawHttp.get(port, "/x");
            assertThat(full.status()).isEqualTo(503);
            assertThat(noQueue.status()).isEqualTo(503);
            assertThat(full.headers().keySet()).isEqualTo(noQueue.headers().keySet());
            for (String name : full.headers().keySet()) {
                // the request id is each request's own, and the two answers may fall in different seconds
                if (!name.equals("x-request-id") && !name.equals("date")) {
                    assertThat(full.headers().get(name)).as(name).isEqualTo(noQueue.headers().get(name));
                }
            }
            assertThat(full.body()).isEqualTo(noQueue.body());
            Await.until(Duration.ofSeconds(5), "three 503s logged", () -> lines.lines().stream().filter(l -> l.contains(" 503 ")).count() == 3);
            assertThat(lines.lines()).filteredOn(l -> l.contains(" 503 ")).extracting(l -> l.contains(" SQ ") ? "SQ" : l.contains(" SC ") ? "SC" : l)
                    .containsExactly("SQ", "SQ", "SC");
            held.get("/hold").complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(waiting.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/w");
        }
    }

    /** HTTP/2 streams count in the queue as requests do: one over the bound is answered 503 while its sibling waits. */
    @Test
    void anHttp2StreamThatFindsTheQueueFullGets503WhileItsSiblingsWait() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", holding)) {
            hold("/hold");
            int port = start(b1, 1);
            DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder();
            try (Socket s = Http2Test.h2c(port)) {
                OutputStream out = s.getOutputStream();
                out.write(h2cGet(1, "/hold"));
                Await.until(Duration.ofSeconds(5), "stream 1 at b1", () -> b1.requests.size() == 1);
                out.write(h2cGet(3, "/waits"));
                Await.until(Duration.ofSeconds(5), "stream 3 to queue", () -> proxy.control().queuedRequests("app") == 1);
                out.write(h2cGet(5, "/refused"));
                assertThat(Http2Test.statusesOrResets(s.getInputStream(), hpack, 5)).containsEntry(5, "503");
                assertThat(lines.await(l -> l.contains(" 503 "))).contains(" SQ ");
                assertThat(proxy.control().queuedRequests("app")).isEqualTo(1);

                held.get("/hold").complete(null);
                assertThat(Http2Test.statusesOrResets(s.getInputStream(), hpack, 1, 3)).containsEntry(1, "200").containsEntry(3, "200");
                out.write(h2cGet(7, "/after"));
                assertThat(Http2Test.statusesOrResets(s.getInputStream(), hpack, 7)).containsEntry(7, "200");
            }
            assertThat(b1.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/hold", "/waits", "/after");
            assertThat(errors().connect()).isEqualTo(1);
            Await.until(Duration.ofSeconds(5), "the server's load back to 0", () -> proxy.control().server("app", "s1").load() == 0);
        }
    }

    /** {@code reconfigure} changes the bound: raised, more wait; lowered, those waiting stay and new ones are refused. */
    @Test
    void aReconfigurationChangesTheBound() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1", holding)) {
            hold("/hold");
            int port = start(b1, 1);
            CompletableFuture<HttpResponse<String>> first = send(port, "/hold");
            Await.until(Duration.ofSeconds(5), "/hold at b1", () -> b1.requests.size() == 1);
            CompletableFuture<HttpResponse<String>> a = queued(port, "/a", 1);
            assertThat(send(port, "/no1").get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);

            proxy.reconfigure(bounded(b1, 2));
            CompletableFuture<HttpResponse<String>> b = queued(port, "/b", 2);
            assertThat(send(port, "/no2").get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);

            proxy.reconfigure(bounded(b1, 1));
            assertThat(proxy.control().queuedRequests("app")).as("those waiting stay").isEqualTo(2);
            assertThat(send(port, "/no3").get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
            assertThat(errors().connect()).isEqualTo(3);

            held.get("/hold").complete(null);
            assertThat(first.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(a.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/a");
            assertThat(b.get(5, TimeUnit.SECONDS).body()).isEqualTo("b1:/b");
            assertThat(b1.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/hold", "/a", "/b");
        }
    }

    /** HEADERS for GET http://h{@code path}, ending the stream (HPACK literals). */
    private static byte[] h2cGet(int stream, String path) {
        return Http2Test.frame(stream, 1, 0x5, Http2Test.literals(":method", "GET", ":scheme", "http", ":path", path, ":authority", "h"));
    }
}
