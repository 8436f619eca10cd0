package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
