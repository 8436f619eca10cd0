package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.PrepareGate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A server whose state reads UP takes the next request: the servers in rotation that the engine picks
 * from follow a state change before {@code state()} reports it. A {@link PrepareGate} holds the thread
 * that made the change between the change and the new rotation, and the test reads the state and
 * sends a real request then. Until 2026-12-07 the state was UP at that moment and the request got 503.
 * (StateAndRotationOrderTest in core has the same moments through {@code routeAndPick}.)
 */
class StateAndRotationOnTheWireTest {

    private final PrepareGate gate = new PrepareGate();
    private final BlockingQueue<CompletableFuture<HealthCheckResult>> probes = new LinkedBlockingQueue<>();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofSeconds(2));
        }
    }

    private int start(Backend.Builder backend) {
        proxy = Proxy.builder().backend(backend).frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
        proxy.start();
        return proxy.port();
    }

    private static int status(int port) {
        try {
            return RawHttp.get(port, "/").status();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aServerWhoseStateReadsUpAfterAPassingCheckTakesTheNextRequest() throws Exception {
        try (RecordingBackend s1 = RecordingBackend.start("s1")) {
            // probes the test completes on its own thread: the monitor then runs the verdict there
            HealthCheck.Builder check = HealthCheck.custom(target -> {
                CompletableFuture<HealthCheckResult> probe = new CompletableFuture<>();
                probes.add(probe);
                return probe;
            }).interval(Duration.ofHours(1)).fastInterval(Duration.ofHours(1)).jitter(Duration.ZERO).rise(1).fall(1)
                    .initialState(ServerState.DOWN);
            int port = start(Backend.named("app").balance(gate).server("s1", s1.address()).healthCheck(check));
            ServerControl server = proxy.control().server("app", "s1");
            CompletableFuture<HealthCheckResult> probe = probes.poll(10, TimeUnit.SECONDS);
            assertThat(probe).as("the first probe").isNotNull();
            Await.until("the monitor waits for the probe", () -> probe.getNumberOfDependents() > 0);
            assertThat(status(port)).isEqualTo(503);
            String seen = gate.during(() -> probe.complete(HealthCheckResult.healthy("ok")), () -> server.state() + " " + status(port));
            assertThat(seen).as("the state, then a request, while the rotation with s1 is being made").isIn("DOWN 503", "UP 200");
            assertThat(server.state()).isEqualTo(ServerState.UP);
            assertThat(status(port)).isEqualTo(200);
        }
    }

    @Test
    void aServerWhoseStateReadsUpAfterReadyTakesTheNextRequest() throws Exception {
        try (RecordingBackend s1 = RecordingBackend.start("s1")) {
            int port = start(Backend.named("app").balance(gate).server("s1", s1.address()));
            ServerControl server = proxy.control().server("app", "s1");
            server.maintenance();
            assertThat(status(port)).isEqualTo(503);
            String seen = gate.during(server::ready, () -> server.state() + " " + status(port));
            assertThat(seen).isIn("MAINT 503", "UP 200");
            assertThat(status(port)).isEqualTo(200);
        }
    }
}
