package io.lodestone.core.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.ServerState;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Setters check their argument, build() checks the whole, messages name the field and value. */
class HealthCheckConfigTest {

    @Test
    void defaultsFollowHaproxy() {
        HealthCheck c = HealthCheck.http("/status").build();
        assertThat(c.type()).isEqualTo(HealthCheck.Type.HTTP);
        assertThat(c.method()).isEqualTo("GET");
        assertThat(c.interval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.fastInterval()).isEqualTo(c.interval());
        assertThat(c.rise()).isEqualTo(2);
        assertThat(c.fall()).isEqualTo(3);
        assertThat(c.minStatus()).isEqualTo(200);
        assertThat(c.maxStatus()).isEqualTo(399);
        assertThat(c.initialState()).isEqualTo(ServerState.UP);
        assertThat(c.expectedBody()).isNull();
    }

    @Test
    void badValuesAreRefusedAtTheSetter() {
        assertThatThrownBy(() -> HealthCheck.http("status")).hasMessage("health check path: status (expected: a path starting with '/')");
        assertThatThrownBy(() -> HealthCheck.http("/a b")).hasMessageContaining("health check path: /a b");
        assertThatThrownBy(() -> HealthCheck.tcp().rise(0)).hasMessage("health check rise: 0 (expected: 1..1000)");
        assertThatThrownBy(() -> HealthCheck.tcp().fall(-1)).hasMessage("health check fall: -1 (expected: 1..1000)");
        assertThatThrownBy(() -> HealthCheck.tcp().interval(Duration.ZERO)).hasMessage("health check interval: PT0S (expected: > 0)");
        assertThatThrownBy(() -> HealthCheck.tcp().port(70000)).hasMessage("health check port: 70000 (expected: 1..65535)");
        assertThatThrownBy(() -> HealthCheck.tcp().initialState(ServerState.DRAIN)).hasMessage("health check initialState: DRAIN (expected: UP or DOWN)");
        assertThatThrownBy(() -> HealthCheck.tcp().expectStatus(200)).hasMessageContaining("expected: an HTTP check; this is a TCP check");
        assertThatThrownBy(() -> HealthCheck.http("/").expectStatus(200, 150)).hasMessage("health check expectStatus max: 150 (expected: 200..599)");
        assertThatThrownBy(() -> HealthCheck.http("/").method("get")).hasMessageContaining("health check method: get");
        assertThatThrownBy(() -> HealthCheck.http("/").expectBody("")).hasMessageContaining("health check expectBody");
        assertThatThrownBy(() -> HealthCheck.custom(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> OutlierDetection.consecutiveFailures(0)).hasMessage("outlier detection consecutiveFailures: 0 (expected: 1..1000)");
        assertThatThrownBy(() -> OutlierDetection.consecutiveFailures(5).maxEjectionPercent(101))
                .hasMessage("outlier detection maxEjectionPercent: 101 (expected: 0..100)");
    }

    @Test
    void buildChecksTheWhole() {
        assertThatThrownBy(() -> HealthCheck.tcp().interval(Duration.ofSeconds(1)).fastInterval(Duration.ofMillis(100))
                .jitter(Duration.ofMillis(100)).build())
                .hasMessage("health check jitter: PT0.1S (expected: < PT0.1S, the shortest interval)");
        assertThatThrownBy(() -> OutlierDetection.consecutiveFailures(5).baseEjectionTime(Duration.ofSeconds(60))
                .maxEjectionTime(Duration.ofSeconds(30)).build())
                .hasMessage("outlier detection maxEjectionTime: PT30S (expected: >= baseEjectionTime PT1M)");
        assertThatThrownBy(() -> Backend.named("app").server("web1", "127.0.0.1:80")
                .healthCheck(HealthCheck.tcp().address("web9", "127.0.0.1:81")).build())
                .hasMessage("backend app health check address server: web9 (no such server)");
        assertThatThrownBy(() -> Backend.named("app").slowStart(Duration.ofSeconds(-1)))
                .hasMessage("backend app slowStart: PT-1S (expected: >= 0)");
    }

    @Test
    void theCheckAddressReplacesTheServerAddressOrPort() {
        HealthCheck c = HealthCheck.tcp().port(9000).address("web2", "10.0.0.9:7000").build();
        assertThat(c.addressFor("web1", new InetSocketAddress("10.0.0.1", 8080))).isEqualTo(new InetSocketAddress("10.0.0.1", 9000));
        assertThat(c.addressFor("web2", new InetSocketAddress("10.0.0.2", 8080))).isEqualTo(new InetSocketAddress("10.0.0.9", 7000));
        assertThat(c.addressFor("db", InetSocketAddress.createUnresolved("db.local", 5432)))
                .isEqualTo(InetSocketAddress.createUnresolved("db.local", 9000));
    }

    @Test
    void theEjectionTimeGrowsAndIsCapped() {
        OutlierDetection od = OutlierDetection.consecutiveFailures(5).baseEjectionTime(Duration.ofSeconds(30))
                .maxEjectionTime(Duration.ofSeconds(100)).maxEjectionPercent(20).build();
        assertThat(od.ejectionTime(1)).isEqualTo(Duration.ofSeconds(30));
        assertThat(od.ejectionTime(3)).isEqualTo(Duration.ofSeconds(90));
        assertThat(od.ejectionTime(4)).isEqualTo(Duration.ofSeconds(100));
        assertThat(od.maxEjected(10)).isEqualTo(2);
        assertThat(od.maxEjected(3)).isEqualTo(1);
    }

    /** Checks built alike are equal, so a reconfiguration can tell an unchanged check from a changed one. */
    @Test
    void checksWithTheSameSettingsAreEqual() {
        HealthCheck a = HealthCheck.http("/status").interval(Duration.ofSeconds(2)).rise(2).fall(3).expectStatus(200, 299).build();
        HealthCheck b = HealthCheck.http("/status").interval(Duration.ofSeconds(2)).rise(2).fall(3).expectStatus(200, 299).build();
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a).isNotEqualTo(HealthCheck.http("/status").interval(Duration.ofSeconds(3)).rise(2).fall(3).expectStatus(200, 299).build());
        assertThat(a).isNotEqualTo(HealthCheck.http("/status").interval(Duration.ofSeconds(2)).rise(2).fall(3).expectStatus(200, 299)
                .expectBody("OK").build());
        assertThat(HealthCheck.tcp().build()).isEqualTo(HealthCheck.tcp().build()).isNotEqualTo(a);
        HealthChecker checker = target -> null;
        assertThat(HealthCheck.custom(checker).build()).isEqualTo(HealthCheck.custom(checker).build())
                .isNotEqualTo(HealthCheck.custom(target -> null).build());
    }
}
