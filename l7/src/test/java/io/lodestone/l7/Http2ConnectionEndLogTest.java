package io.lodestone.l7;

import static io.lodestone.l7.RefusedRequestLogTest.hpack;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 streams under way when the proxy itself ends their connection are logged with the proxy's
 * reason, not as client aborts: {@code K} when the proxy stops (its drain timeout over), {@code P}
 * when the connection ends over another stream's or the connection's protocol error. A request
 * held for its next frame is in its request ({@code KR}, {@code PR}); one waiting for its server's
 * answer in the response head ({@code KH}, {@code PH}). Raw frames on an h2c connection.
 */
class Http2ConnectionEndLogTest {

    /** Connections, one after the other, of the test of a race that went either way. */
    private static final int ROUNDS = 10;

    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close(Duration.ZERO);
        }
    }

    private int start(String server) {
        proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", server))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").h2c(true).defaultBackend("app"))
                .build();
        proxy.start();
        return proxy.port();
    }

    /** A server that reads each request head, counts it, and never answers. */
    private static RawBackend silent(CountDownLatch heads) throws java.io.IOException {
        return new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            heads.countDown();
            in.transferTo(OutputStream.nullOutputStream());
        });
    }

    /** Opens stream 1 with a GET /held held for its next frame and stream 3 with a GET /waiting its server never answers. */
    private static Socket heldAndWaiting(int port, CountDownLatch heads) throws Exception {
        Socket s = Http2Test.h2c(port);
        OutputStream out = s.getOutputStream();
        out.write(Http2Test.frame(1, 1, 0x4, hpack("a", "/held")));
        out.write(Http2Test.frame(3, 1, 0x5, hpack("a", "/waiting")));
        out.flush();
        assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /waiting").isTrue();
        return s;
    }

    /**
     * A client that resets its connection while the proxy drains (it has sent GOAWAY and waits for the
     * streams in flight) ends them at once, logged as its abort ({@code CH}), and the stop is not held
     * to its drain timeout. On epoll and NIO the reset came as a read error that Netty passes on as
     * the end of the client's input; the codec's graceful close then waited for the streams, and with
     * GOAWAY already sent no write of the proxy's failed to end them, so they waited for the drain timeout.
     */
    @Test
    void aClientResetWhileTheProxyDrainsEndsItsStreamsAtOnce() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        try (RawBackend server = silent(heads)) {
            int port = start(server.address());
            Proxy stopping = proxy;
            proxy = null;
            Thread closing = new Thread(() -> stopping.close(Duration.ofSeconds(60)));
            try (Socket s = Http2Test.h2c(port)) {
                OutputStream out = s.getOutputStream();
                out.write(Http2Test.frame(1, 1, 0x5, hpack("a", "/waiting")));
                out.flush();
                assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /waiting").isTrue();
                closing.start();
                assertThat(Http2Test.readUntilFrame(s.getInputStream(), 7, 0)).as("GOAWAY").isTrue();
                s.setSoLinger(true, 0);
            }
            assertThat(lines.awaitCount(1)).singleElement().asString().contains(" CH \"GET /waiting HTTP/2.0\" ");
            closing.join(10_000);
            assertThat(closing.isAlive()).as("the stop did not wait for its drain timeout").isFalse();
        }
    }

    @Test
    void streamsUnderWayWhenTheProxyStopsAreLoggedKilled() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        try (RawBackend server = silent(heads); Socket s = heldAndWaiting(start(server.address()), heads)) {
            Proxy stopping = proxy;
            proxy = null;
            stopping.close(Duration.ofMillis(100));
            assertThat(Http2Test.readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
            List<String> logged = lines.awaitCount(2);
            assertThat(logged).filteredOn(l -> l.contains("/held")).singleElement().asString().contains(" KR \"GET /held HTTP/2.0\" ");
            assertThat(logged).filteredOn(l -> l.contains("/waiting")).singleElement().asString()
                    .contains(" KH \"GET /waiting HTTP/2.0\" ");
        }
    }

    /**
     * The same holds for an HTTP/1.1 request waiting for its server's answer, and the request
     * pipelined behind it is dropped {@code KQ}; the server is not blamed either.
     */
    @Test
    void anHttp1RequestUnderWayWhenTheProxyStopsIsLoggedKilled() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        try (RawBackend server = silent(heads)) {
            RawHttp c = new RawHttp(start(server.address()));
            c.send("GET /waiting HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /waiting").isTrue();
            Proxy stopping = proxy;
            proxy = null;
            stopping.close(Duration.ofMillis(100));
            assertThat(lines.awaitCount(2)).satisfiesExactly(
                    l -> assertThat(l).contains(" KH \"GET /waiting HTTP/1.1\" "),
                    l -> assertThat(l).contains(" KQ \"GET /next HTTP/1.1\" "));
            assertThat(stopping.metrics().backend("app").server("s1").traffic().errors().total()).isZero();
            c.socket.close();
        }
    }

    /**
     * While the proxy drains, a request that itself asked for the close ({@code Connection: close})
     * closes its connection as it would at any time: the request the client pipelined behind it is
     * dropped {@code PQ}, as the README has it, not {@code KQ}; the stop did not end it.
     */
    @Test
    void aRequestThatAskedForTheCloseDropsTheOneBehindItPqWhileTheProxyDrains() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            heads.countDown();
            try {
                answer.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            in.transferTo(OutputStream.nullOutputStream());
        })) {
            int port = start(server.address());
            RawHttp c = new RawHttp(port);
            c.send("GET /close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(heads.await(10, TimeUnit.SECONDS)).as("the server got /close").isTrue();
            Proxy draining = proxy;
            proxy = null;
            Thread closing = new Thread(() -> draining.close(Duration.ofSeconds(30)));
            closing.start();
            Await.until("the proxy drains (no longer accepts)", () -> {
                try (Socket probe = new Socket("127.0.0.1", port)) {
                    return false;
                } catch (java.io.IOException refused) {
                    return true;
                }
            });
            answer.countDown();
            assertThat(c.read().status()).isEqualTo(200);
            assertThat(lines.awaitCount(2)).satisfiesExactly(
                    l -> assertThat(l).contains(" -- \"GET /close HTTP/1.1\" "),
                    l -> assertThat(l).contains(" PQ \"GET /next HTTP/1.1\" "));
            c.socket.close();
            closing.join(30_000);
        }
    }

    @Test
    void streamsUnderWayWhenTheConnectionEndsOverAProtocolErrorAreLoggedAsTheProxys() throws Exception {
        CountDownLatch heads = new CountDownLatch(1);
        try (RawBackend server = silent(heads); Socket s = heldAndWaiting(start(server.address()), heads)) {
            long invalid = proxy.metrics().frontend("web").traffic().errors().invalid();
            // DATA on stream 0: a connection error (PROTOCOL_ERROR), GOAWAY and the close
            OutputStream out = s.getOutputStream();
            out.write(Http2Test.frame(0, 0, 0, new byte[] {'x'}));
            out.flush();
            assertThat(Http2Test.readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
            List<String> logged = lines.awaitCount(2);
            assertThat(logged).filteredOn(l -> l.contains("/held")).singleElement().asString().contains(" PR \"GET /held HTTP/2.0\" ");
            assertThat(logged).filteredOn(l -> l.contains("/waiting")).singleElement().asString()
                    .contains(" PH \"GET /waiting HTTP/2.0\" ");
            // the held request counts as an invalid one, as a stream refused as malformed does; the other none
            assertThat(proxy.metrics().frontend("web").traffic().errors().invalid() - invalid).isEqualTo(1);
            assertThat(proxy.metrics().frontend("web").traffic().errors().denied()).isZero();
        }
    }

    /**
     * A client that ends its side right behind the frame that breaks the protocol (here a FIN) does not
     * make the streams the proxy ends with the connection its aborts: the FIN reached a stream inside
     * its request body, or one held for its next frame, before the proxy's close did, and they were
     * logged {@code CR} (in most runs) instead of {@code PR}, as when the close comes first. Repeated on a
     * fresh connection, as the race went either way.
     */
    @Test
    void streamsInsideTheirRequestWhenTheClientEndsRightBehindAProtocolErrorAreLoggedAsTheProxys() throws Exception {
        CountDownLatch heads = new CountDownLatch(ROUNDS);
        try (RawBackend server = silent(heads)) {
            int port = start(server.address());
            for (int round = 0; round < ROUNDS; round++) {
                try (Socket s = Http2Test.h2c(port)) {
                    OutputStream out = s.getOutputStream();
                    // stream 1: POST /body with two bytes of a body that has more to come; stream 3 held
                    out.write(Http2Test.frame(1, 1, 0x4, post("/body" + round)));
                    out.write(Http2Test.frame(1, 0, 0, new byte[] {'a', 'b'}));
                    out.write(Http2Test.frame(3, 1, 0x4, hpack("a", "/held" + round)));
                    out.flush();
                    long left = ROUNDS - round - 1;
                    Await.until("the server got /body" + round, () -> heads.getCount() <= left);
                    // DATA on stream 0, a connection error, and the FIN right behind it
                    out.write(Http2Test.frame(0, 0, 0, new byte[] {'x'}));
                    out.flush();
                    s.shutdownOutput();
                    assertThat(Http2Test.readsToEnd(s.getInputStream())).as("the proxy closed the connection").isTrue();
                }
                List<String> logged = lines.awaitCount(2 * round + 2);
                String body = "/body" + round;
                String held = "/held" + round;
                assertThat(logged).filteredOn(l -> l.contains(body)).singleElement().asString()
                        .contains(" PR \"POST " + body + " HTTP/2.0\" ");
                assertThat(logged).filteredOn(l -> l.contains(held)).singleElement().asString()
                        .contains(" PR \"GET " + held + " HTTP/2.0\" ");
            }
            // both count as invalid requests, as when the close reaches them first
            assertThat(proxy.metrics().frontend("web").traffic().errors().invalid()).isEqualTo(2L * ROUNDS);
        }
    }

    /** HPACK for :method POST, :scheme http, then {@code path} and :authority a. */
    private static byte[] post(String path) {
        return RefusedRequestLogTest.concat(new byte[] {(byte) 0x83, (byte) 0x86},
                RefusedRequestLogTest.indexedName(4, path), RefusedRequestLogTest.indexedName(1, "a"));
    }
}
