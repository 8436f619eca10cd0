package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HttpFrontendBuilderTest {

    @Test
    void defaults() {
        HttpFrontend f = HttpFrontend.bind(8080).defaultBackend("app").build();
        assertThat(f.name()).isEqualTo("http-8080");
        assertThat(f.clientTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(f.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(f.tunnelTimeout()).isEqualTo(Duration.ofHours(1));
        assertThat(f.maxInitialLineLength()).isEqualTo(8192);
        assertThat(f.maxHeaderSize()).isEqualTo(16384);
        assertThat(f.maxHeaderCount()).isEqualTo(100);
        assertThat(f.maxBodySize()).isZero();
        assertThat(f.requestIdHeader()).isEqualTo("X-Request-ID");
        assertThat(f.forwardedFor()).isTrue();
        assertThat(f.forwarded()).isFalse();
        assertThat(f.via()).isNull();
        assertThat(f.retryBudgetRatio()).isEqualTo(0.2);
        assertThat(f.minRetryConcurrency()).isEqualTo(3);
        assertThat(f.maxIdlePerServer()).isEqualTo(64);
        assertThat(f.backendNames()).containsExactly("app");
    }

    @Test
    void invalidSettingsNameTheFieldAndValue() {
        HttpFrontend.Builder b = HttpFrontend.bind(8080);
        assertThatThrownBy(() -> b.clientTimeout(Duration.ZERO)).hasMessage("frontend clientTimeout: PT0S (expected: > 0)");
        assertThatThrownBy(() -> b.maxHeaderCount(0)).hasMessage("frontend maxHeaderCount: 0 (expected: >= 1)");
        assertThatThrownBy(() -> b.maxBodySize(-1)).hasMessage("frontend maxBodySize: -1 (expected: >= 0)");
        assertThatThrownBy(() -> b.retryBudget(1.5, 3)).hasMessage("frontend retryBudget ratio: 1.5 (expected: 0..1)");
        assertThatThrownBy(() -> b.via("two words")).hasMessageContaining("frontend via: two words");
        assertThatThrownBy(() -> b.requestIdHeader("bad:name")).hasMessageContaining("frontend requestIdHeader: bad:name");
        assertThatThrownBy(() -> HttpFrontend.bind(70000)).hasMessage("bind: 70000 (expected: a port in 0..65535)");
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("defaultBackend: null");
    }
}
