package io.lodestone.core.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TracingTest {

    private static final String VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    private static final String INVALID = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";

    @Test
    void offLeavesHeadersAlone() {
        Tracing off = Tracing.off();
        assertThat(off.isEnabled()).isFalse();
        assertThat(off.onRequest(VALID, null)).isNull();
        assertThatThrownBy(off::withHopSpans).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void propagatePassesValidHeadersUnchangedAndDropsInvalidOnes() {
        Tracing t = Tracing.propagate();
        assertThat(t.isEnabled()).isTrue();
        assertThat(t.startsTraces()).isFalse();
        TraceContext passed = t.onRequest(VALID, "rojo=1");
        assertThat(passed.traceparent()).isEqualTo(VALID);
        assertThat(passed.traceState()).isEqualTo("rojo=1");
        assertThat(t.onRequest(VALID, "Bad=1").traceState()).isNull();
        assertThat(t.onRequest(INVALID, "rojo=1")).isNull();
        assertThat(t.onRequest(null, null)).isNull();
    }

    @Test
    void startBeginsATraceWhenThereIsNone() {
        Tracing t = Tracing.start();
        TraceContext started = t.onRequest(null, "rojo=1");
        assertThat(started.isSampled()).isTrue();
        assertThat(started.traceState()).isNull();
        assertThat(t.onRequest(INVALID, null).traceId()).isNotEqualTo("00000000000000000000000000000000");
        assertThat(t.onRequest(VALID, null).traceparent()).isEqualTo(VALID);
        assertThat(Tracing.start(false).onRequest(null, null).isSampled()).isFalse();
    }

    @Test
    void hopSpansGiveForwardedRequestsTheProxysSpan() {
        Tracing t = Tracing.propagate().withHopSpans();
        assertThat(t.hopSpans()).isTrue();
        TraceContext forwarded = t.onRequest(VALID, null);
        assertThat(forwarded.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(forwarded.parentId()).isNotEqualTo("00f067aa0ba902b7");
        assertThat(Tracing.start().withHopSpans().startsTraces()).isTrue();
        assertThat(Tracing.start().withHopSpans().toString()).isEqualTo("Tracing(start, sampled true, hop spans)");
    }
}
