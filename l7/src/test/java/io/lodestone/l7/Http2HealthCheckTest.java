package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.testing.Await;
import io.lodestone.tls.ClientTls;
import io.netty.pkitesting.X509Bundle;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An HTTP health check of a backend whose servers speak HTTP/2 speaks HTTP/2 to them (HAProxy's
 * checks of a server with {@code proto h2}), over real h2c and h2-over-TLS servers that speak nothing
 * else. It sent them an HTTP/1.1 request: every check failed ("invalid HTTP response: " and the
 * server's SETTINGS frame) and every server was marked down.
 */
class Http2HealthCheckTest {

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    /** Checks from DOWN (so only a passed check brings the server up), every 50 ms, rise and fall 1. */
    private static HealthCheck.Builder check(String path) {
        return HealthCheck.http(path).interval(Duration.ofMillis(50)).rise(1).fall(1).initialState(ServerState.DOWN);
    }

    private HealthCheckResult startAndAwaitFirstCheck(Backend backend) {
        proxy = Proxy.builder().backend(backend).frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
        proxy.start();
        Await.until(Duration.ofSeconds(10), "checked", () -> proxy.control().server("app", "s1").status().lastCheck() != null);
        return proxy.control().server("app", "s1").status().lastCheck();
    }

    @Test
    void anHttpCheckOfAnH2cServerIsAnHttp2Request() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)
                    .healthCheck(check("/plain/health").expectBody("h2:/plain/health")).build());
            assertThat(r.isHealthy()).as(r.detail()).isTrue();
            assertThat(r.detail()).isEqualTo("HTTP 200, body matches");
            // recorded once the state it leads to reads (d9eebd0 awaited the state here)
            assertThat(proxy.control().server("app", "s1").state()).isEqualTo(ServerState.UP);
            ProtocolBackend.Seen seen = b.requests.get(0);
            assertThat(seen.path()).isEqualTo("/plain/health");
            assertThat(seen.headers().get(":method")).isEqualTo("GET");
            assertThat(seen.headers().get(":scheme")).isEqualTo("http");
            assertThat(seen.headers().get(":authority")).isEqualTo(b.address());
            assertThat(seen.headers().get("user-agent")).isEqualTo("lodestone-health-check");
        }
    }

    @Test
    void anH2cServerAnsweringOutsideTheExpectedStatusesIsDown() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)
                    .healthCheck(check("/status/503")).build());
            assertThat(r.isHealthy()).isFalse();
            assertThat(r.detail()).isEqualTo("HTTP 503 (expected: 200..399)");
            assertThat(proxy.control().server("app", "s1").state()).isEqualTo(ServerState.DOWN);
        }
    }

    @Test
    void aBodyWithoutTheExpectedTextFailsTheCheck() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)
                    .healthCheck(check("/plain/health").expectBody("READY")).build());
            assertThat(r.isHealthy()).isFalse();
            assertThat(r.detail()).isEqualTo("HTTP 200, body does not contain the expected text");
        }
    }

    @Test
    void aStreamTheServerResetsFailsTheCheck() throws Exception {
        try (ProtocolBackend b = ProtocolBackend.h2c(0)) {
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", b.address()).protocol(BackendProtocol.H2C)
                    .healthCheck(check("/reset")).build());
            assertThat(r.isHealthy()).isFalse();
            assertThat(r.detail()).isEqualTo("stream reset by the server (error 2)");
        }
    }

    @Test
    void anHttpCheckOfAnH2ServerOverTlsIsAnHttp2Request() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ProtocolBackend b = ProtocolBackend.h2(ProtocolBackend.serverTls(TlsPki.server(ca, "grpc.test"), null, "h2"))) {
            ClientTls tls = ClientTls.builder().trust(List.of(ca.getCertificate())).serverName("grpc.test").alpn("h2").build();
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", b.address()).tls(tls).protocol(BackendProtocol.H2)
                    .healthCheck(check("/plain/health")).build());
            assertThat(r.isHealthy()).as(r.detail()).isTrue();
            assertThat(r.detail()).isEqualTo("HTTP 200");
            assertThat(b.applicationProtocols).contains("h2");
            assertThat(b.requests.get(0).headers().get(":scheme")).isEqualTo("https");
            // recorded once the state it leads to reads (d9eebd0 awaited the state here)
            assertThat(proxy.control().server("app", "s1").state()).isEqualTo(ServerState.UP);
        }
    }

    /** A check port of its own speaks HTTP/1.1 in plain text, as for any backend: a management port. */
    @Test
    void aCheckPortOfItsOwnSpeaksHttp1() throws Exception {
        try (ProtocolBackend h2 = ProtocolBackend.h2c(0); ProtocolBackend management = ProtocolBackend.http1(null)) {
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", h2.address()).protocol(BackendProtocol.H2C)
                    .healthCheck(check("/plain/health").address("s1", management.address())).build());
            assertThat(r.isHealthy()).as(r.detail()).isTrue();
            assertThat(management.requests).extracting(ProtocolBackend.Seen::path).contains("/plain/health");
            assertThat(h2.requests).isEmpty();
        }
    }

    /** A reconfiguration that turns the backend's servers to HTTP/2 restarts its unchanged check in HTTP/2. */
    @Test
    void aReconfigurationToHttp2ChecksInHttp2() throws Exception {
        try (ProtocolBackend http1 = ProtocolBackend.http1(null); ProtocolBackend h2 = ProtocolBackend.h2c(0)) {
            HealthCheck c = check("/plain/health").build();
            HealthCheckResult r = startAndAwaitFirstCheck(Backend.named("app").server("s1", http1.address()).healthCheck(c).build());
            assertThat(r.isHealthy()).as(r.detail()).isTrue();
            proxy.reconfigure(Proxy.builder()
                    .backend(Backend.named("app").server("s1", h2.address()).protocol(BackendProtocol.H2C).healthCheck(c))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")));
            Await.until(Duration.ofSeconds(10), "checked over HTTP/2", () -> !h2.requests.isEmpty()
                    && proxy.control().server("app", "s1").status().lastCheck() != null
                    && proxy.control().server("app", "s1").status().lastCheck().isHealthy()
                    && proxy.control().server("app", "s1").state() == ServerState.UP);
        }
    }
}
