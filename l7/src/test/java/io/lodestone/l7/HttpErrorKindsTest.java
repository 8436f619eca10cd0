package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.PrometheusFormat;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP engine counts the frontend's errors by the termination code of the access log line, as
 * the TCP engine and the TLS handshake do: {@code PR} a {@code denied} error for a rule's deny or a
 * {@code CONNECT}, an {@code invalid} error for a malformed request or one over a limit (HAProxy's
 * {@code ereq} apart from {@code dreq}), {@code cR} (408) a {@code timeout}, {@code CD} (the
 * client gone during its response) a {@code reset}. Read from the metrics API and their Prometheus
 * text after real requests, malformed ones on raw sockets; the 408 comes from moving the manual
 * clock past the client timeout.
 */
class HttpErrorKindsTest {

    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(30);

    private final ManualClock clock = new ManualClock();
    private final ManualClockLoop loop = new ManualClockLoop(clock);
    private final CapturingLogger lines = new CapturingLogger();
    private RecordingBackend backend;
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
        loop.close();
        if (backend != null) {
            backend.close();
        }
    }

    private int start(String server) {
        proxy = Proxy.builder().clock(clock).eventLoopGroups(loop.group(), loop.group()).accessLog(AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", server))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").clientTimeout(CLIENT_TIMEOUT)
                        .maxHeaderSize(1024)
                        .rule(Rule.when(Acl.pathBegins("/private")).deny(403)))
                .build();
        proxy.start();
        return proxy.port();
    }

    private ErrorCounts errors() {
        return proxy.metrics().frontend("web").traffic().errors();
    }

    private static int status(int port, String raw) throws java.io.IOException {
        try (RawHttp c = new RawHttp(port)) {
            return c.send(raw).read().status();
        }
    }

    @Test
    void aRuleDenialCountsDeniedAndAMalformedOrOverLimitRequestCountsInvalid() throws Exception {
        backend = RecordingBackend.start("app");
        int port = start(backend.address());
        assertThat(status(port, "GET /private/x HTTP/1.1\r\nHost: a\r\n\r\n")).isEqualTo(403);
        assertThat(status(port, "GET /bad HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")).isEqualTo(400);
        assertThat(status(port, "GET /big HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(2000) + "\r\n\r\n")).isEqualTo(431);
        assertThat(status(port, "POST /chunk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n"))
                .isEqualTo(400);
        assertThat(status(port, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")).isEqualTo(501);
        assertThat(status(port, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")).isEqualTo(200);

        assertThat(status(port, "GET /v HTTP/2.0\r\nHost: a\r\n\r\n")).isEqualTo(505);

        assertThat(lines.awaitCount(7)).filteredOn(l -> l.contains(" PR ")).hasSize(6);
        assertThat(errors().denied()).as("the rule's 403 and the CONNECT").isEqualTo(2);
        assertThat(errors().invalid()).as("the bad header, the large header, the bad chunk, the version").isEqualTo(4);
        assertThat(errors().total()).isEqualTo(6);
        PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
        assertThat(p.value("lodestone_frontend_errors_total", "frontend", "web", "kind", "denied")).isEqualTo(2);
        assertThat(p.value("lodestone_frontend_errors_total", "frontend", "web", "kind", "invalid")).isEqualTo(4);
    }

    @Test
    void a408CountsATimeoutErrorAsATlsHandshakeTimeoutDoes() throws Exception {
        backend = RecordingBackend.start("app");
        int port = start(backend.address());
        try (RawHttp slow = new RawHttp(port)) {
            slow.send("GET /slow HTTP/1.1\r\nHost: a\r\n");
            Await.until("the connection accepted", () -> proxy.metrics().frontend("web").traffic().totalConnections() == 1);
            loop.awaitDueTimers();
            loop.advance(CLIENT_TIMEOUT);
            assertThat(slow.read().status()).isEqualTo(408);
        }
        assertThat(lines.await(l -> l.contains(" 408 "))).contains(" cR ");
        assertThat(errors().timeout()).isEqualTo(1);
        assertThat(errors().total()).isEqualTo(1);
        PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
        assertThat(p.value("lodestone_frontend_errors_total", "frontend", "web", "kind", "timeout")).isEqualTo(1);
    }

    /** The client resets its connection once its response has begun: {@code CD}, a reset on the frontend as at L4. */
    @Test
    void aClientGoneDuringItsResponseCountsAResetErrorAsATcpClientDoes() throws Exception {
        CountDownLatch ended = new CountDownLatch(1);
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            RawBackend.nextHead(in);
            RawBackend.write(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
            in.transferTo(OutputStream.nullOutputStream());
            ended.countDown();
        })) {
            int port = start(server.address());
            RawHttp c = new RawHttp(port);
            c.send("GET /cut HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(c.readLine()).isEqualTo("HTTP/1.1 200 OK");
            c.socket.setSoLinger(true, 0);
            c.close();
            assertThat(ended.await(10, TimeUnit.SECONDS)).as("the server connection closed").isTrue();
            assertThat(lines.await(l -> l.contains("/cut"))).contains(" 200 0 ", " CD \"GET /cut HTTP/1.1\" ");
            Await.until("the reset counted", () -> errors().reset() == 1);
            assertThat(errors().total()).isEqualTo(1);
            assertThat(proxy.metrics().backend("app").server("s1").traffic().errors().total()).as("the server's errors").isZero();
        }
    }

    /**
     * A server's response the proxy refuses, its head (a 502) or a chunk after its head (the client
     * connection closed): a {@code response} error of the server and its backend, HAProxy's
     * {@code eresp}, and none of the frontend's, whose client did nothing wrong.
     */
    @Test
    void anInvalidServerResponseCountsAResponseErrorOnTheServerNotTheFrontend() throws Exception {
        try (RawBackend server = new RawBackend((s, n) -> {
            InputStream in = s.getInputStream();
            if (RawBackend.nextHead(in) != null) {
                RawBackend.write(s, n == 1 ? "HTTP/1.1 2xx OK\r\nContent-Length: 0\r\n\r\n"
                        : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n");
                in.transferTo(OutputStream.nullOutputStream());
            }
        })) {
            int port = start(server.address());
            assertThat(status(port, "GET /head HTTP/1.1\r\nHost: a\r\n\r\n")).isEqualTo(502);
            try (java.net.Socket c = new java.net.Socket("127.0.0.1", port)) {
                c.setSoTimeout(10_000);
                c.getOutputStream().write("GET /chunk HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                String got = new String(c.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertThat(got).as("closed before the bad chunk").doesNotContain("zz");
            }
            Await.until("both counted", () -> proxy.metrics().backend("app").server("s1").traffic().errors().response() == 2);
            ErrorCounts s1 = proxy.metrics().backend("app").server("s1").traffic().errors();
            assertThat(s1.total()).isEqualTo(2);
            assertThat(proxy.metrics().backend("app").traffic().errors().response()).isEqualTo(2);
            assertThat(errors().total()).as("the frontend's errors").isZero();
            PrometheusChecker p = PrometheusChecker.check(PrometheusFormat.text(proxy.metrics()));
            assertThat(p.value("lodestone_server_errors_total", "backend", "app", "server", "s1", "kind", "response")).isEqualTo(2);
        }
    }
}
