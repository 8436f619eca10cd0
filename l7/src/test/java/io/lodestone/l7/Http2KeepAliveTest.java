package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ClientTls;
import io.netty.pkitesting.X509Bundle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Keep-alive PINGs on HTTP/2 connections to servers ({@code Backend.Builder.http2KeepAlive}), over
 * real sockets to a Netty HTTP/2 server (h2c, and h2 over TLS), on a manual clock: the proxy's loop
 * runs its timers on it, and the server notes the clock's reading when each PING arrives. The clock
 * moves only when the test moves it, so a request made between two moves is received at the same
 * reading as a PING's acknowledgement before it: a request answered after a PING shows that the proxy
 * has read the acknowledgement (the server sends it first), without moving the keep-alive schedule.
 */
class Http2KeepAliveTest {

    private static final Duration INTERVAL = Duration.ofSeconds(10);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
        loop.close();
    }

    /**
     * A proxy on the manual clock and the test's one loop, frontend "web" in front of backend "app"
     * of one server {@code s1} at {@code b}, whose settings {@code backend} completes; server timeout
     * 60 s and a pool idle timeout of an hour, longer than any test runs its clock.
     */
    private void start(ProtocolBackend b, UnaryOperator<Backend.Builder> backend) {
        start(b, backend, Duration.ofHours(1));
    }

    private void start(ProtocolBackend b, UnaryOperator<Backend.Builder> backend, Duration poolIdleTimeout) {
        b.pingClock = clock::nanoTime;
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(backend.apply(Backend.named("app").server("s1", b.address())))
                .frontend(web(poolIdleTimeout))
                .build();
        proxy.start();
    }

    private static HttpFrontend.Builder web() {
        return web(Duration.ofHours(1));
    }

    private static HttpFrontend.Builder web(Duration poolIdleTimeout) {
        return HttpFrontend.bind("127.0.0.1:0").name("web").clientTimeout(Duration.ofMinutes(10))
                .backendPool(8, poolIdleTimeout).defaultBackend("app");
    }

    private static Backend.Builder h2c(Backend.Builder b) {
        return b.protocol(BackendProtocol.H2C);
    }

    private static Backend.Builder h2cKeptAlive(Backend.Builder b) {
        return b.protocol(BackendProtocol.H2C).http2KeepAlive(INTERVAL, TIMEOUT);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> getAsync(String path) {
        return client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request answered by the server: a 200 with the server's own body. */
    private void ok(String path) throws Exception {
        HttpResponse<String> r = get(path);
        assertThat(r.statusCode()).as("status of %s", path).isEqualTo(200);
        assertThat(r.body()).isEqualTo("h2:" + path);
    }

    private TrafficSnapshot s1() {
        return proxy.metrics().backend("app").server("s1").traffic();
    }

    /** The manual clock's reading {@code seconds} after {@code start}. */
    private static long at(long start, int seconds) {
        return start + TimeUnit.SECONDS.toNanos(seconds);
    }

    /**
     * An idle connection gets a PING each interval, counted from the last thing received (the
     * acknowledgement of the PING before), and stays while the server answers: three PINGs at 10, 20
     * and 30 s of clock after the request, none earlier, one connection throughout.
     */
    @Test
    void anIdlePooledConnectionIsPingedEachIntervalAndStaysWhileThePingsAreAnswered() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            start(b, Http2KeepAliveTest::h2cKeptAlive);
            ok("/plain/first");
            long start = clock.nanoTime();
            for (int k = 1; k <= 3; k++) {
                loop.advance(INTERVAL.minusSeconds(1));
                loop.advance(Duration.ofSeconds(1));
                int n = k;
                Await.until(Duration.ofSeconds(10), "PING " + k + " at the server", () -> b.pings.get() >= n);
                // answered after the PING's acknowledgement, on the same connection, at the same reading
                ok("/plain/after-ping-" + k);
                assertThat(b.pings.get()).as("PINGs after %d intervals", k).isEqualTo(k);
            }
            assertThat(b.pingTimes).containsExactly(at(start, 10), at(start, 20), at(start, 30));
            loop.advance(TIMEOUT.plusSeconds(1));
            assertThat(s1().currentConnections()).as("the connection, kept").isEqualTo(1);
            assertThat(b.connections).hasValue(1);
            assertThat(b.openConnections()).isEqualTo(1);
            assertThat(s1().errors().timeout()).isZero();
        }
    }

    /**
     * PINGs keep a connection alive, not in use: one no request has used for the pool's idle timeout
     * (30 s) still closes then, answered PINGs (every 10 s, an hour to answer each) or not.
     */
    @Test
    void answeredPingsDoNotKeepAnUnusedConnectionPastThePoolIdleTimeout() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            start(b, a -> a.protocol(BackendProtocol.H2C).http2KeepAlive(INTERVAL, Duration.ofHours(1)), Duration.ofSeconds(30));
            ok("/plain/first");
            loop.advance(INTERVAL);
            Await.until(Duration.ofSeconds(10), "a PING at the server", () -> b.pings.get() >= 1);
            loop.advance(Duration.ofSeconds(19));
            assertThat(s1().currentConnections()).as("open within the pool idle timeout").isEqualTo(1);
            loop.advance(Duration.ofSeconds(1));
            Await.until(Duration.ofSeconds(10), "the unused connection closed", () -> s1().currentConnections() == 0);
            assertThat(s1().errors().timeout()).as("an idle close, no timeout").isZero();
            ok("/plain/next");
            assertThat(b.connections).hasValue(2);
        }
    }

    /**
     * A connection that receives something at least once an interval gets no PING: a request every 5
     * s of clock for a minute, then none for 9 s.
     */
    @Test
    void aBusyConnectionSendsNoPing() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            start(b, Http2KeepAliveTest::h2cKeptAlive);
            for (int i = 0; i < 12; i++) {
                ok("/plain/busy-" + i);
                loop.advance(Duration.ofSeconds(5));
            }
            loop.advance(Duration.ofSeconds(4));
            // the server reads this request after any PING sent before it
            ok("/plain/last");
            assertThat(b.pings).hasValue(0);
            assertThat(b.connections).hasValue(1);
        }
    }

    /** Without the option (the default) no PING is sent, however long the connection idles. */
    @Test
    void withoutTheOptionAnIdleConnectionIsNeverPinged() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            start(b, Http2KeepAliveTest::h2c);
            ok("/plain/first");
            for (int i = 0; i < 10; i++) {
                loop.advance(INTERVAL);
            }
            ok("/plain/after-100-s");
            assertThat(b.pings).hasValue(0);
            assertThat(b.connections).hasValue(1);
        }
    }

    /**
     * A server that takes the PING and sends nothing back (it swallows PINGs, and nothing else is
     * asked of it) loses its connection at interval + timeout, not before: the pool forgets it, the
     * server counts one timeout error (no request was on it), and the next request succeeds on a new
     * connection.
     */
    @Test
    void aServerThatSwallowsPingsLosesItsIdleConnectionAfterIntervalPlusTimeout() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            b.answerPings = false;
            start(b, Http2KeepAliveTest::h2cKeptAlive);
            ok("/plain/first");
            loop.advance(INTERVAL);
            Await.until(Duration.ofSeconds(10), "the PING at the server", () -> b.pings.get() == 1);
            loop.advance(TIMEOUT.minusSeconds(1));
            assertThat(s1().currentConnections()).as("open within the timeout").isEqualTo(1);
            assertThat(b.openConnections()).isEqualTo(1);
            loop.advance(Duration.ofSeconds(1));
            Await.until(Duration.ofSeconds(10), "the silent connection closed", () -> s1().currentConnections() == 0);
            Await.until(Duration.ofSeconds(10), "the server saw the close", () -> b.openConnections() == 0);
            assertThat(s1().errors().timeout()).as("the connection's timeout").isEqualTo(1);
            ok("/plain/next");
            assertThat(b.connections).hasValue(2);
            assertThat(lines.lines()).as("no request ended with the connection").hasSize(2);
        }
    }

    /**
     * A request in flight when its connection's keep-alive times out ends as a server timeout: 504,
     * {@code sH}, the server's timeout counted once (the request's), not retried; the next request goes
     * to a new connection. The server holds its answer for a minute and swallows PINGs.
     */
    @Test
    void aRequestInFlightWhenTheKeepAliveTimesOutIsA504() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            b.answerPings = false;
            start(b, Http2KeepAliveTest::h2cKeptAlive);
            // a first exchange: what the server sends as the connection starts (its SETTINGS ACK) is read
            // before the clock moves, or, read later, it would count as an answer to the PING
            b.delayMillis = 0;
            ok("/plain/first");
            b.delayMillis = 60_000;
            CompletableFuture<HttpResponse<String>> held = getAsync("/plain/held");
            Await.until(Duration.ofSeconds(10), "the request at the server", () -> b.requests.size() == 2);
            loop.advance(INTERVAL);
            Await.until(Duration.ofSeconds(10), "the PING at the server", () -> b.pings.get() == 1);
            loop.advance(TIMEOUT.minusSeconds(1));
            assertThat(held).as("in flight within the timeout").isNotDone();
            loop.advance(Duration.ofSeconds(1));
            assertThat(held.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(504);
            assertThat(lines.await(l -> l.contains("/plain/held"))).contains(" 504 ", " sH ");
            Await.until(Duration.ofSeconds(10), "the silent connection closed", () -> s1().currentConnections() == 0);
            assertThat(s1().errors().timeout()).as("the request's timeout, the connection's not counted again").isEqualTo(1);
            assertThat(s1().errors().reset()).isZero();
            assertThat(b.requests).as("not sent again").hasSize(2);
            b.delayMillis = 0;
            ok("/plain/next");
            assertThat(b.connections).hasValue(2);
        }
    }

    /**
     * h2 over TLS: PINGs go through the TLS session like any frame, and a server that stops reading
     * (hung, or gone without a FIN) loses its connection at interval + timeout after its last answer.
     */
    @Test
    void overTlsAServerThatStopsReadingLosesItsConnection() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ProtocolBackend b = ProtocolBackend.h2(ProtocolBackend.serverTls(TlsPki.server(ca, "grpc.test"), null, "h2"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("grpc.test").alpn("h2").build();
            start(b, a -> a.tls(tls).protocol(BackendProtocol.H2).http2KeepAlive(INTERVAL, TIMEOUT));
            ok("/plain/first");
            loop.advance(INTERVAL);
            Await.until(Duration.ofSeconds(10), "PING 1 at the server", () -> b.pings.get() == 1);
            ok("/plain/after-ping");
            b.stopReadingOpenConnections();
            loop.advance(INTERVAL);
            loop.advance(TIMEOUT.minusSeconds(1));
            assertThat(s1().currentConnections()).as("open within the timeout").isEqualTo(1);
            loop.advance(Duration.ofSeconds(1));
            Await.until(Duration.ofSeconds(10), "the silent connection closed", () -> s1().currentConnections() == 0);
            assertThat(s1().errors().timeout()).isEqualTo(1);
            ok("/plain/next");
            assertThat(b.connections).hasValue(2);
            assertThat(b.pings).as("the second PING was never read").hasValue(1);
        }
    }

    /**
     * A reconfiguration that turns keep-alive PINGs on applies to the connection already open, its
     * interval counted from the reconfiguration; one that turns them off stops them.
     */
    @Test
    void aReconfigurationAppliesToTheConnectionsAlreadyOpen() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            start(b, Http2KeepAliveTest::h2c);
            ok("/plain/first");
            loop.advance(INTERVAL.multipliedBy(2));
            proxy.reconfigure(Proxy.builder().backend(h2cKeptAlive(Backend.named("app").server("s1", b.address()))).frontend(web()));
            // the pool takes the new settings on its loop, after the reconfiguration returns
            loop.awaitDueTimers();
            long reconfigured = clock.nanoTime();
            loop.advance(INTERVAL);
            Await.until(Duration.ofSeconds(10), "a PING on the connection already open", () -> b.pings.get() == 1);
            ok("/plain/after-ping");
            assertThat(b.pingTimes).containsExactly(at(reconfigured, 10));
            proxy.reconfigure(Proxy.builder().backend(h2c(Backend.named("app").server("s1", b.address()))).frontend(web()));
            loop.awaitDueTimers();
            for (int i = 0; i < 5; i++) {
                loop.advance(INTERVAL);
            }
            ok("/plain/after-off");
            assertThat(b.pings).as("no PING once turned off").hasValue(1);
            assertThat(b.connections).hasValue(1);
        }
    }
}
