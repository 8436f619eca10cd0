package io.lodestone.core.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TraceContextTest {

    private static final String VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Test
    void parsesTheSpecificationsExample() {
        TraceContext t = TraceContext.parse(VALID, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        assertThat(t).isNotNull();
        assertThat(t.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(t.parentId()).isEqualTo("00f067aa0ba902b7");
        assertThat(t.flags()).isEqualTo(1);
        assertThat(t.isSampled()).isTrue();
        assertThat(t.traceState()).isEqualTo("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        assertThat(t.traceparent()).isEqualTo(VALID);
        assertThat(TraceContext.parse(" \t" + VALID + " ")).isEqualTo(TraceContext.parse(VALID));
        assertThat(TraceContext.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").isSampled()).isFalse();
        assertThat(TraceContext.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff").flags()).isEqualTo(255);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "00",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",                // short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",              // version 00 with more
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",         // version 00 with more
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",               // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",               // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",               // zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",               // forbidden version
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",               // bad version
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",               // bad separator
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",               // not hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bx-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",              // later version: more must start with '-'
        "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",               // fields shifted
    })
    void rejectsInvalidTraceparents(String header) {
        assertThat(TraceContext.parse(header, "rojo=1")).isNull();
    }

    @Test
    void readsALaterVersionAsVersion00() {
        TraceContext t = TraceContext.parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
        assertThat(t).isNotNull();
        assertThat(t.traceparent()).isEqualTo(VALID);
        assertThat(TraceContext.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).isNotNull();
        assertThat(TraceContext.parse(null)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "rojo=00f067aa0ba902b7",
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        " rojo=1 , congo=2 ",
        "rojo=1,,congo=2",
        "fw529a3039@dt=abc",
        "1tenant@sys=x",
        "a_b-c*d/e=value with spaces",
        "k=!\"#$%&'()*+-./:;<>?@[]^_`{|}~",
    })
    void acceptsValidTracestates(String state) {
        assertThat(TraceContext.isValidTraceState(state)).isTrue();
        assertThat(TraceContext.parse(VALID, state).traceState()).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "Rojo=1",                    // upper-case key
        "1rojo=1",                   // simple key must start with a letter
        "rojo",                      // no value
        "rojo=",                     // empty value
        "rojo=a=b",                  // '=' in value
        "rojo=a\u0001",              // control character
        "rojo=é",                    // not ASCII
        "rojo=1,rojo=2",             // duplicate key
        "@sys=1",                    // empty tenant
        "tenant@=1",                 // empty system
        "tenant@Sys=1",              // system must start with a lower-case letter
        "tenant@systemmuchtoolong=1",
        "a@b@c=1",
    })
    void rejectsInvalidTracestates(String state) {
        assertThat(TraceContext.isValidTraceState(state)).isFalse();
        TraceContext t = TraceContext.parse(VALID, state);
        assertThat(t).isNotNull();
        assertThat(t.traceState()).isNull();
    }

    @Test
    void limitsTracestateToThirtyTwoMembers() {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            s.append(i == 0 ? "" : ",").append("k").append(i).append("=v");
        }
        assertThat(TraceContext.isValidTraceState(s)).isTrue();
        assertThat(TraceContext.isValidTraceState(s + ",k32=v")).isFalse();
        assertThat(TraceContext.isValidTraceState("k=" + "v".repeat(256))).isTrue();
        assertThat(TraceContext.isValidTraceState("k=" + "v".repeat(257))).isFalse();
    }

    @Test
    void newRootsAreValidRandomAndCarryTheSampledFlag() {
        Set<String> traces = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            TraceContext t = TraceContext.newRoot(i % 2 == 0);
            assertThat(TraceContext.parse(t.traceparent())).isEqualTo(t);
            assertThat(t.isSampled()).isEqualTo(i % 2 == 0);
            assertThat(t.traceState()).isNull();
            traces.add(t.traceId());
        }
        assertThat(traces).hasSize(1000);
    }

    @Test
    void childKeepsTheTraceAndGetsItsOwnSpan() {
        TraceContext parent = TraceContext.parse(VALID, "rojo=1");
        TraceContext child = parent.child();
        assertThat(child.traceId()).isEqualTo(parent.traceId());
        assertThat(child.parentId()).isNotEqualTo(parent.parentId()).matches("[0-9a-f]{16}").isNotEqualTo("0000000000000000");
        assertThat(child.flags()).isEqualTo(parent.flags());
        assertThat(child.traceState()).isEqualTo("rojo=1");
        assertThat(child.traceparent()).matches("00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01");
        assertThat(child.withTraceState(null).traceState()).isNull();
        assertThat(child.toString()).isEqualTo(child.traceparent() + " rojo=1");
    }
}
