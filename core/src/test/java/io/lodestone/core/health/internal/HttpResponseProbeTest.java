package io.lodestone.core.health.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.health.HealthCheckResult;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The hand-written response parser of the HTTP checker, byte by byte and with garbage. */
class HttpResponseProbeTest {

    private static HealthCheckResult feed(HttpResponseProbe probe, String... parts) {
        for (String part : parts) {
            ByteBuf buf = Unpooled.copiedBuffer(part, StandardCharsets.ISO_8859_1);
            try {
                HealthCheckResult r = probe.feed(buf);
                if (r != null) {
                    return r;
                }
            } finally {
                buf.release();
            }
        }
        return probe.end();
    }

    @Test
    void aStatusLineSplitAcrossReadsIsParsed() {
        HttpResponseProbe p = new HttpResponseProbe(200, 399, null);
        assertThat(feed(p, "HT", "TP/1.1 2", "00 OK", "\r\n")).isEqualTo(HealthCheckResult.healthy("HTTP 200"));
    }

    @Test
    void aBareLineFeedAndAnEmptyReasonAreAccepted() {
        assertThat(feed(new HttpResponseProbe(200, 399, null), "HTTP/1.0 301\n").isHealthy()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"HTTP/2 200 OK\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 abc OK\r\n",
            "HTTP/1.1 099 X\r\n", "HTTP/1.1 700 X\r\n", "http/1.1 200 OK\r\n", "HTTP/1.1 200 O\u0001K\r\n",
            "<html>hello</html>\r\n", "\u0000\u0001\u0002\u0003"})
    void garbageIsRejected(String response) {
        HealthCheckResult r = feed(new HttpResponseProbe(200, 399, null), response);
        assertThat(r.isHealthy()).isFalse();
        assertThat(r.detail()).startsWith("invalid HTTP");
    }

    @Test
    void anEndlessStatusLineIsRejected() {
        HealthCheckResult r = feed(new HttpResponseProbe(200, 399, null), "HTTP/1.1 200 " + "x".repeat(2000));
        assertThat(r.detail()).isEqualTo("invalid HTTP response: status line too long");
    }

    @Test
    void theBodyIsReadUpToItsContentLength() {
        HttpResponseProbe p = new HttpResponseProbe(200, 299, "UP");
        assertThat(feed(p, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "DOWNUP").isHealthy()).isFalse();
        HttpResponseProbe q = new HttpResponseProbe(200, 299, "UP");
        assertThat(feed(q, "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nstat", "us UP").isHealthy()).isTrue();
    }

    @Test
    void theExpectedTextMaySpanTwoReads() {
        HttpResponseProbe p = new HttpResponseProbe(200, 299, "READY");
        assertThat(feed(p, "HTTP/1.1 200 OK\r\n\r\nstate=RE", "ADY").isHealthy()).isTrue();
    }

    @Test
    void badHeadersAreRejected() {
        assertThat(feed(new HttpResponseProbe(200, 299, "x"), "HTTP/1.1 200 OK\r\nno colon here\r\n\r\nx").detail())
                .startsWith("invalid HTTP header line");
        assertThat(feed(new HttpResponseProbe(200, 299, "x"), "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx").detail())
                .startsWith("invalid HTTP Content-Length");
    }

    @Test
    void theBodyIsNotReadWhenTheStatusFails() {
        HealthCheckResult r = feed(new HttpResponseProbe(200, 299, "UP"), "HTTP/1.1 500 Oops\r\n");
        assertThat(r.detail()).isEqualTo("HTTP 500 (expected: 200..299)");
    }
}
