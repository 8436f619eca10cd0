package io.lodestone.core.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.testing.CapturingLogger;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** What reaches the logger, and that nothing is formatted when it is disabled. */
class AccessLogLoggerTest {

    private static AccessLogEntry entry() {
        return new AccessLogEntry().start(0).client(new InetSocketAddress("10.1.2.3", 5555)).frontend("web")
                .request("GET", "/", "HTTP/1.1").status(200);
    }

    @Test
    void disabledLoggerFormatsNothing() {
        AtomicInteger formatted = new AtomicInteger();
        CapturingLogger logger = new CapturingLogger(false);
        AccessLog log = new AccessLog(AccessLog.Format.TEXT, logger, (e, out) -> formatted.incrementAndGet());

        assertThat(log.isEnabled()).isFalse();
        log.log(entry());
        assertThat(formatted).hasValue(0);
        assertThat(logger.lines()).isEmpty();

        logger.infoEnabled(true);
        assertThat(log.isEnabled()).isTrue();
        log.log(entry());
        assertThat(formatted).hasValue(1);
        assertThat(logger.lines()).hasSize(1);
    }

    @Test
    void enabledLoggerGetsOneInfoLinePerEntry() {
        CapturingLogger logger = new CapturingLogger(true);
        AccessLog log = new AccessLog(AccessLog.Format.JSON, logger, JsonFormat.INSTANCE);
        log.log(entry());
        log.log(entry().status(503).termination(TerminationCause.SERVER_ABORT, TerminationPhase.QUEUE));

        assertThat(logger.levels()).containsExactly(Level.INFO, Level.INFO);
        assertThat(logger.lines().get(0)).startsWith("{\"time\":\"1970-01-01T00:00:00.000Z\",\"client_ip\":\"10.1.2.3\",\"client_port\":5555,")
                .contains("\"status\":200");
        assertThat(logger.lines().get(1)).contains("\"status\":503", "\"termination\":\"SQ\"");
    }

    @Test
    void aLongLineDoesNotKeepAHugeBufferAndTheNextLineIsClean() {
        CapturingLogger logger = new CapturingLogger(true);
        AccessLog log = new AccessLog(AccessLog.Format.TEXT, logger, TextFormat.INSTANCE);
        log.log(entry().request("GET", "/" + "x".repeat(20_000), "HTTP/1.1"));
        log.log(entry());
        assertThat(logger.lines().get(0)).hasSizeGreaterThan(20_000);
        assertThat(logger.lines().get(1)).endsWith("\"GET / HTTP/1.1\" - -").hasSizeLessThan(200);
    }

    @Test
    void offIsNeverEnabledAndFormatsNothing() {
        AccessLog off = AccessLog.off();
        assertThat(off.isEnabled()).isFalse();
        assertThat(off.format()).isEqualTo(AccessLog.Format.OFF);
        StringBuilder sb = new StringBuilder();
        off.format(entry(), sb);
        assertThat(sb).isEmpty();
        off.log(entry());
    }

    @Test
    void formatsByName() {
        assertThat(AccessLog.of("text").format()).isEqualTo(AccessLog.Format.TEXT);
        assertThat(AccessLog.of("JSON").format()).isEqualTo(AccessLog.Format.JSON);
        assertThat(AccessLog.of("off")).isSameAs(AccessLog.off());
        assertThatThrownBy(() -> AccessLog.of("xml")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("access log format: xml (expected: text, json or off)");
        // slf4j-simple, the test binding, logs INFO by default: the real logger is enabled
        assertThat(AccessLog.text().isEnabled()).isTrue();
    }

    @Test
    void resetClearsEveryField() {
        AccessLogEntry e = entry().backend("app").server("s").bytes(1, 2).totalTime(5).requestId("x").traceId("y")
                .termination(TerminationCause.KILLED, TerminationPhase.DATA).reset();
        StringBuilder sb = new StringBuilder();
        AccessLog.text().format(e, sb);
        assertThat(sb.toString()).isEqualTo("- [1970-01-01T00:00:00.000Z] - -/- -1/-1/-1/-1/-1 - 0 0 -- \"-\" - -");
    }
}
