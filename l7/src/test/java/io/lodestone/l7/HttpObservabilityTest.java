package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.PrometheusChecker;
import io.lodestone.core.metrics.TrafficSnapshot;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.RefusingPort;
import io.lodestone.core.trace.Tracing;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP engine's metrics, access log and trace context after a known sequence of requests and
 * failures: 3 × 200, a 502 (the server closes without answering), a 504 (the server never
 * answers), a 502 for a refused connection and a 503 (no usable server), read from
 * {@code proxy.metrics()}, from the admin endpoint's {@code /metrics} and from the access log.
 */
class HttpObservabilityTest {

    private static final String TOKEN = "observability-token";
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private static RecordingBackend ok;
    private static RecordingBackend closing;
    private static RecordingBackend silent;
    private static Proxy proxy;
    private static final CapturingLogger LINES = new CapturingLogger();

    @BeforeAll
    static void start() throws IOException {
        ok = RecordingBackend.start("ok");
        closing = RecordingBackend.start("closing", (r, ctx) -> ctx.close());
        silent = RecordingBackend.start("silent", (r, ctx) -> { });
        proxy = Proxy.builder()
                .accessLog(AccessLog.text(LINES))
                .tracing(Tracing.start())
                .backend(Backend.named("app").server("ok", ok.address()))
                .backend(Backend.named("broken").server("closing", closing.address()).retries(0))
                .backend(Backend.named("slow").server("silent", silent.address()).retries(0)
                        .serverTimeout(Duration.ofMillis(200)))
                .backend(Backend.named("dead").server("refusing", RefusingPort.address()).retries(0))
                .backend(Backend.named("empty").server("off", ok.address()))
                .backend(Backend.named("traced").server("t1", ok.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                        .rule(Rule.when(Acl.pathBegins("/private")).deny(403)))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("broken").defaultBackend("broken"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("slow").defaultBackend("slow"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("dead").defaultBackend("dead"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("empty").defaultBackend("empty"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("traced").defaultBackend("traced"))
                .frontend(AdminFrontend.bind(0).token(TOKEN))
                .build();
        proxy.start();
        proxy.control().server("empty", "off").maintenance();

        for (int i = 0; i < 3; i++) {
            assertThat(get("web", "/ok/" + i, null).statusCode()).isEqualTo(200);
        }
        assertThat(get("broken", "/broken", null).statusCode()).isEqualTo(502);
        assertThat(get("slow", "/slow", null).statusCode()).isEqualTo(504);
        assertThat(get("dead", "/dead", null).statusCode()).isEqualTo(502);
        assertThat(get("empty", "/empty", null).statusCode()).isEqualTo(503);
        assertThat(get("web", "/private/x", null).statusCode()).isEqualTo(403);
        Await.until("every request logged", () -> LINES.lines().size() >= 8);
    }

    @AfterAll
    static void stop() throws Exception {
        proxy.close();
        ok.close();
        closing.close();
        silent.close();
    }

    private static HttpResponse<String> get(String frontend, String path, String traceparent) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port(frontend) + path))
                .timeout(Duration.ofSeconds(10));
        if (traceparent != null) {
            b.header("traceparent", traceparent).header("tracestate", "vendor=abc");
        }
        try {
            return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String line(String path) {
        return LINES.await(l -> l.contains(" " + path + " HTTP/1.1\""));
    }

    @Test
    void countsResponsesBytesAndLatenciesPerFrontendAndServer() {
        MetricsSnapshot m = proxy.metrics();
        TrafficSnapshot web = m.frontend("web").traffic();
        assertThat(web.requests()).isEqualTo(4);
        assertThat(web.responses().success()).isEqualTo(3);
        assertThat(web.responses().clientError()).isEqualTo(1);
        assertThat(web.errors().denied()).isEqualTo(1);
        assertThat(web.responses().serverError()).isZero();
        assertThat(web.totalConnections()).isGreaterThanOrEqualTo(1);
        assertThat(web.totalTime().count()).isEqualTo(4);
        // every response head the client got, the deny's included, from the request's start; the
        // frontend recorded none, so its first-byte summary stayed empty
        assertThat(web.firstByteTime().count()).isEqualTo(4);
        assertThat(web.firstByteTime().maxNanos()).isLessThanOrEqualTo(web.totalTime().maxNanos());
        // the body is "ok:" + the target, 8 bytes each, and the deny's "Forbidden\n"
        assertThat(web.bytesOut()).isEqualTo(3 * 8 + 10);

        TrafficSnapshot server = m.backend("app").server("ok").traffic();
        assertThat(server.requests()).isEqualTo(3);
        assertThat(server.responses().success()).isEqualTo(3);
        assertThat(server.bytesOut()).isEqualTo(3 * 8);
        assertThat(server.firstByteTime().count()).isEqualTo(3);
        assertThat(server.totalTime().count()).isEqualTo(3);
        // connect time is recorded for new connections only; the client's keep-alive connection reuses one
        assertThat(server.connectTime().count()).isBetween(1L, 3L);
        assertThat(server.totalConnections()).isEqualTo(server.connectTime().count());
        // the denied request reached no backend
        assertThat(m.backend("app").traffic().requests()).isEqualTo(3);
    }

    @Test
    void countsTheFailuresOnTheServersThatCausedThem() {
        MetricsSnapshot m = proxy.metrics();
        TrafficSnapshot closed = m.backend("broken").server("closing").traffic();
        assertThat(closed.responses().serverError()).isEqualTo(1);
        assertThat(closed.errors().reset()).isEqualTo(1);

        TrafficSnapshot timedOut = m.backend("slow").server("silent").traffic();
        assertThat(timedOut.responses().serverError()).isEqualTo(1);
        assertThat(timedOut.errors().timeout()).isEqualTo(1);

        TrafficSnapshot refused = m.backend("dead").server("refusing").traffic();
        assertThat(refused.errors().connect()).isEqualTo(1);
        assertThat(refused.responses().serverError()).isEqualTo(1);
        assertThat(refused.totalConnections()).isZero();

        // no server at all: the backend counts the 503 itself, with a connect error as the TCP engine
        // counts a connection it has no server for (SC; HAProxy's econ on the backend)
        assertThat(m.backend("empty").traffic().responses().serverError()).isEqualTo(1);
        assertThat(m.backend("empty").traffic().errors().connect()).isEqualTo(1);
        assertThat(m.frontend("empty").traffic().errors().connect()).as("the frontend counts none").isZero();
        assertThat(m.backend("empty").server("off").traffic().requests()).isZero();
        assertThat(m.frontend("empty").traffic().responses().serverError()).isEqualTo(1);
    }

    @Test
    void theAdminEndpointServesTheSameFiguresInPrometheusFormat() throws Exception {
        HttpRequest scrape = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("admin") + "/metrics"))
                .header("Authorization", "Bearer " + TOKEN).build();
        HttpResponse<String> r = CLIENT.send(scrape, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        PrometheusChecker p = PrometheusChecker.check(r.body());
        assertThat(p.value("lodestone_frontend_responses_total", "frontend", "web", "code", "2xx")).isEqualTo(3);
        assertThat(p.value("lodestone_server_responses_total", "backend", "app", "server", "ok", "code", "2xx")).isEqualTo(3);
        assertThat(p.value("lodestone_server_first_byte_time_seconds_count", "backend", "app", "server", "ok")).isEqualTo(3);
        assertThat(p.value("lodestone_server_errors_total", "backend", "broken", "server", "closing", "kind", "reset")).isEqualTo(1);
        assertThat(p.value("lodestone_server_errors_total", "backend", "slow", "server", "silent", "kind", "timeout")).isEqualTo(1);
        assertThat(p.value("lodestone_server_errors_total", "backend", "dead", "server", "refusing", "kind", "connect")).isEqualTo(1);
        assertThat(p.value("lodestone_backend_responses_total", "backend", "empty", "code", "5xx")).isEqualTo(1);
    }

    @Test
    void logsOneLinePerRequestWithItsTerminationIncludingADenial() {
        String success = line("/ok/0");
        assertThat(success).contains(" web app/ok ", " 200 0 8 -- \"GET /ok/0 HTTP/1.1\" ");
        // Tq, the time the request head took from its first byte, is measured (Tw is 0: no queue)
        assertThat(success).containsPattern(" web app/ok \\d+/0/");
        assertThat(line("/broken")).contains(" broken broken/closing ", " 502 ", " SH \"GET /broken HTTP/1.1\" ");
        assertThat(line("/slow")).contains(" slow slow/silent ", " 504 ", " sH \"GET /slow HTTP/1.1\" ");
        assertThat(line("/dead")).contains(" dead dead/refusing ", " 502 ", " SC \"GET /dead HTTP/1.1\" ");
        assertThat(line("/empty")).contains(" empty empty/- ", " 503 ", " SC \"GET /empty HTTP/1.1\" ");
        assertThat(line("/private/x")).containsPattern(" web -/- \\d+/-1/-1/-1/")
                .contains(" 403 0 10 PR \"GET /private/x HTTP/1.1\" ");
    }

    @Test
    void logsTheRequestIdTheServerReceived() {
        String id = ok.requests.get(0).header("x-request-id");
        assertThat(id).isNotEmpty();
        assertThat(line("/ok/0")).contains("\"GET /ok/0 HTTP/1.1\" " + id + " ");
    }

    @Test
    void startsATraceWhenNoneCameAndLogsItsId() {
        RecordingBackend.Recorded first = ok.requests.get(0);
        String traceparent = first.header("traceparent");
        assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        String traceId = traceparent.substring(3, 35);
        assertThat(line("/ok/0")).endsWith(" " + traceId);
    }

    @Test
    void joinsSeveralTracestateFieldsAndStartsANewTraceForTwoTraceparents() throws Exception {
        HttpResponse<String> joined = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("traced") + "/joined"))
                .timeout(Duration.ofSeconds(10)).header("traceparent", TRACEPARENT)
                .header("tracestate", "a=1").header("tracestate", "b=2").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(joined.statusCode()).isEqualTo(200);
        RecordingBackend.Recorded seen = ok.last();
        assertThat(seen.uri()).isEqualTo("/joined");
        assertThat(seen.header("traceparent")).isEqualTo(TRACEPARENT);
        assertThat(seen.headers().getAll("tracestate")).containsExactly("a=1,b=2");

        String other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        HttpResponse<String> twice = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port("traced") + "/twice"))
                .timeout(Duration.ofSeconds(10)).header("traceparent", TRACEPARENT).header("traceparent", other)
                .header("tracestate", "a=1").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(twice.statusCode()).isEqualTo(200);
        seen = ok.last();
        assertThat(seen.uri()).isEqualTo("/twice");
        assertThat(seen.headers().getAll("traceparent")).singleElement().asString()
                .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]")
                .doesNotContain("4bf92f3577b34da6a3ce929d0e0e4736").doesNotContain("0af7651916cd43dd8448eb211c80319c");
        assertThat(seen.headers().contains("tracestate")).as("no state of a trace that was not continued").isFalse();
    }

    @Test
    void passesAnIncomingTraceOnUnchangedAndLogsItsId() {
        HttpResponse<String> r = get("traced", "/traced", TRACEPARENT);
        assertThat(r.statusCode()).isEqualTo(200);
        RecordingBackend.Recorded seen = ok.last();
        assertThat(seen.uri()).isEqualTo("/traced");
        assertThat(seen.header("traceparent")).isEqualTo(TRACEPARENT);
        assertThat(seen.header("tracestate")).isEqualTo("vendor=abc");
        assertThat(line("/traced")).endsWith(" 4bf92f3577b34da6a3ce929d0e0e4736");
        List<String> lines = LINES.lines();
        assertThat(lines).filteredOn(l -> l.contains("/traced")).hasSize(1);
    }
}
