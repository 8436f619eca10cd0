package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HeadScanner} on heads larger than the piece it copies at a time: line ends on, before and
 * after a piece boundary, heads arriving in slices, and rule breaks found in a later piece.
 */
class HeadScannerPiecesTest {

    private static HeadScanner scanner() {
        return new HeadScanner(true, 8192, 16384, 100, Long.MAX_VALUE);
    }

    /** A request head whose first header line ends with its CR at {@code crOffset}, then Content-Length: 42. */
    private static String head(int crOffset) {
        String line = "GET /pieces HTTP/1.1\r\nHost: example.com\r\nX-Pad: ";
        String pad = "p".repeat(crOffset - line.length());
        return line + pad + "\r\n" + "X-More: " + "m".repeat(1500) + "\r\nContent-Length: 42\r\n\r\n";
    }

    private static ByteBuf buffer(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    @ParameterizedTest(name = "CR at {0}")
    @ValueSource(ints = {1021, 1022, 1023, 1024, 1025, 2047, 2048})
    void findsTheEndOfAHeadThatSpansSeveralPieces(int crOffset) {
        String raw = head(crOffset) + "body";
        ByteBuf in = buffer(raw);
        try {
            HeadScanner s = scanner();
            assertThat(s.scan(in)).isTrue();
            assertThat(s.contentLength).isEqualTo(42);
            assertThat(in.readerIndex()).isZero();
            assertThat(s.inProgress()).isFalse();
        } finally {
            in.release();
        }
    }

    /**
     * Scanners of one thread share their working arrays: two connections whose heads arrive in
     * alternating slices (one much longer than a piece, so the shared array also grows) each get their
     * own head back, fields and all, and a line-end error in one is still found after the other ran.
     */
    @ParameterizedTest(name = "slices of {0}")
    @ValueSource(ints = {1, 7, 700, 1500})
    void scannersOfOneThreadTakeTurnsWithoutMixingTheirHeads(int slice) {
        String a = "GET /a HTTP/1.1\r\nHost: a.example\r\nX-A: " + "a".repeat(3000) + "\r\nContent-Length: 1\r\n\r\n";
        String b = "PUT /b HTTP/1.1\r\nHost: b.example\r\nX-B: bbb\r\nX-B2: " + "b".repeat(200) + "\r\nContent-Length: 2\r\n\r\n";
        String bad = "GET /c HTTP/1.1\r\nHost: c\r\nX-C: " + "c".repeat(500) + "\nX-D: d\r\n\r\n";
        HeadScanner sa = scanner();
        HeadScanner sb = scanner();
        HeadScanner sc = scanner();
        ByteBuf ina = Unpooled.buffer();
        ByteBuf inb = Unpooled.buffer();
        ByteBuf inc = Unpooled.buffer();
        try {
            boolean doneA = false;
            boolean doneB = false;
            boolean rejectedC = false;
            for (int at = 0; !doneA || !doneB || !rejectedC; at += slice) {
                if (!doneA && at < a.length()) {
                    ina.writeCharSequence(a.substring(at, Math.min(a.length(), at + slice)), StandardCharsets.ISO_8859_1);
                    if (sa.scan(ina)) {
                        doneA = true;
                        HttpRequest request = sa.request(DefaultHttpHeadersFactory.headersFactory());
                        assertThat(request.uri()).isEqualTo("/a");
                        assertThat(request.headers().get("x-a")).isEqualTo("a".repeat(3000));
                        assertThat(request.headers().get("host")).isEqualTo("a.example");
                        assertThat(sa.contentLength).isEqualTo(1);
                    }
                }
                if (!doneB && at < b.length()) {
                    inb.writeCharSequence(b.substring(at, Math.min(b.length(), at + slice)), StandardCharsets.ISO_8859_1);
                    if (sb.scan(inb)) {
                        doneB = true;
                        HttpRequest request = sb.request(DefaultHttpHeadersFactory.headersFactory());
                        assertThat(request.method().name()).isEqualTo("PUT");
                        assertThat(request.headers().getAll("x-b")).containsExactly("bbb");
                        assertThat(request.headers().get("x-b2")).isEqualTo("b".repeat(200));
                        assertThat(sb.contentLength).isEqualTo(2);
                    }
                }
                if (!rejectedC && at < bad.length()) {
                    inc.writeCharSequence(bad.substring(at, Math.min(bad.length(), at + slice)), StandardCharsets.ISO_8859_1);
                    try {
                        assertThat(sc.scan(inc)).isFalse();
                    } catch (HttpRejection e) {
                        assertThat(e.getMessage()).contains("line ending without CR");
                        rejectedC = true;
                    }
                }
                assertThat(at).as("every head ends").isLessThan(a.length() + slice);
            }
        } finally {
            ina.release();
            inb.release();
            inc.release();
        }
    }

    @ParameterizedTest(name = "slices of {0}")
    @ValueSource(ints = {1, 700, 1024, 1500})
    void findsTheEndOfAHeadArrivingInSlices(int slice) {
        String raw = head(1023);
        ByteBuf in = Unpooled.buffer();
        try {
            HeadScanner s = scanner();
            for (int at = 0; at < raw.length(); at += slice) {
                int end = Math.min(raw.length(), at + slice);
                in.writeCharSequence(raw.substring(at, end), StandardCharsets.ISO_8859_1);
                assertThat(s.scan(in)).as("complete after %d of %d bytes", end, raw.length()).isEqualTo(end == raw.length());
            }
            assertThat(s.contentLength).isEqualTo(42);
        } finally {
            in.release();
        }
    }

    @ParameterizedTest(name = "bare LF at {0}")
    @ValueSource(ints = {1023, 1024, 1025, 3000})
    void rejectsABareLineFeedInALaterPiece(int lfOffset) {
        String prefix = "GET / HTTP/1.1\r\nHost: example.com\r\nX-Pad: ";
        String raw = prefix + "p".repeat(lfOffset - prefix.length()) + "\nX-B: b\r\n\r\n";
        ByteBuf in = buffer(raw);
        try {
            assertThatThrownBy(() -> scanner().scan(in)).isInstanceOf(HttpRejection.class)
                    .hasMessageContaining("line ending without CR");
        } finally {
            in.release();
        }
    }

    @ParameterizedTest(name = "{0} bytes at once")
    @ValueSource(ints = {20000, 100000})
    void rejectsAnOversizedHeaderSectionBeforeItEnds(int size) {
        String raw = "GET / HTTP/1.1\r\nHost: example.com\r\nX-Big: " + "b".repeat(size);
        ByteBuf in = buffer(raw);
        try {
            assertThatThrownBy(() -> scanner().scan(in)).isInstanceOf(HttpRejection.class)
                    .hasMessageContaining("header section larger than 16384");
        } finally {
            in.release();
        }
    }
}
