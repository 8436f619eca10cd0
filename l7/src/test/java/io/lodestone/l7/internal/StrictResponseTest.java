package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link StrictResponseDecoder} on an {@link io.netty.channel.embedded.EmbeddedChannel}: what a backend may answer. */
class StrictResponseTest {

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", "200|body:hi|end"),
                Arguments.of("chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", "200|body:hi|end"),
                Arguments.of("maxHeaderCount trailer fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
                        + "X-T: v\r\n".repeat(DecoderSide.MAX_COUNT) + "\r\n", "200|body:hi|end"),
                Arguments.of("chunk extensions with BWS around ; and =", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "2;a=b ;c\r\nhi\r\n1 ;a\r\nx\r\n1\t;\ta\t=\t\"v\" ;b\r\ny\r\n0 ; z\r\n\r\n", "200|body:hixy|end"),
                Arguments.of("chunk size lines padded, as some servers write them (read leniently, as HAProxy and Go do)",
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nhi\r\n1;\r\nx\r\n1;a b \r\ny\r\n0\t\r\n\r\n",
                        "200|body:hixy|end"),
                Arguments.of("no reason phrase", "HTTP/1.1 204\r\n\r\n", "204|end"),
                Arguments.of("empty reason phrase", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", "200|end"),
                Arguments.of("HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "200|body:x|end"),
                Arguments.of("interim then final", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "100|end|200|end"),
                Arguments.of("two responses on one connection", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\n"
                        + "Content-Length: 1\r\n\r\nb", "200|body:a|end|404|body:b|end"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void passesValidResponses(String rule, String raw, String expected) {
        try (DecoderSide d = DecoderSide.responses()) {
            d.send(raw);
            assertThat(d.seen()).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void passesValidResponsesSentOneByteAtATime(String rule, String raw, String expected) {
        try (DecoderSide d = DecoderSide.responses()) {
            d.sendByteByByte(raw);
            assertThat(d.seen()).isEqualTo(expected);
        }
    }

    static Stream<Arguments> rejected() {
        String ok = "HTTP/1.1 200 OK\r\n";
        return Stream.of(
                Arguments.of("garbage", "hello there\r\n\r\n"),
                Arguments.of("an empty line before the status line", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("a space before the status line", " HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("a lower-case version", "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("garbage without line end", "x".repeat(DecoderSide.MAX_LINE + 2)),
                Arguments.of("non-numeric status", "HTTP/1.1 abc OK\r\n\r\n"),
                Arguments.of("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
                Arguments.of("status 600", "HTTP/1.1 600 What\r\n\r\n"),
                Arguments.of("foreign protocol", "FOO/1.1 200 OK\r\n\r\n"),
                Arguments.of("HTTP/2.0 status line", "HTTP/2.0 200 OK\r\n\r\n"),
                Arguments.of("two spaces before the status", "HTTP/1.1  200 OK\r\n\r\n"),
                Arguments.of("CL and TE", ok + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("differing Content-Lengths", ok + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
                Arguments.of("identical duplicate Content-Lengths", ok + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na"),
                Arguments.of("differing Content-Lengths on HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
                Arguments.of("signed Content-Length", ok + "Content-Length: +1\r\n\r\na"),
                Arguments.of("TE gzip", ok + "Transfer-Encoding: gzip\r\n\r\nab"),
                Arguments.of("TE gzip, chunked", ok + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("TE on HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("obs-fold", ok + "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("whitespace before colon", ok + "Content-Length : 0\r\n\r\n"),
                Arguments.of("NUL in a value", ok + "X-A: a\u0000b\r\nContent-Length: 0\r\n\r\n"),
                Arguments.of("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
                Arguments.of("header section too large", ok + "X-A: " + "a".repeat(DecoderSide.MAX_HEADER) + "\r\n\r\n"),
                Arguments.of("too many header fields", ok + "X-A: a\r\n".repeat(DecoderSide.MAX_COUNT + 1) + "\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void rejectsInvalidResponseHeadsAs502(String rule, String raw) {
        try (DecoderSide d = DecoderSide.responses()) {
            d.send(raw + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            assertThat(d.seen()).isEqualTo("rejected:502");
        }
    }

    @Test
    void aResponseNotStartingWithTheVersionIsRefusedAtItsFirstBytes() {
        try (DecoderSide d = DecoderSide.responses()) {
            // RFC 9112 2.2 lets a server skip empty lines before a request line; a client skips none
            d.send("\r\n");
            assertThat(d.seen()).isEqualTo("rejected:502");
        }
        try (DecoderSide d = DecoderSide.responses()) {
            d.send("HTT");
            d.send("p/1.1 200 OK\r\n");
            assertThat(d.seen()).isEqualTo("rejected:502");
        }
    }

    static Stream<Arguments> rejectedBodies() {
        String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        return Stream.of(
                Arguments.of("chunk size zz", chunked + "zz\r\nab\r\n0\r\n\r\n"),
                Arguments.of("chunk size 0x2", chunked + "0x2\r\nab\r\n0\r\n\r\n"),
                Arguments.of("chunk data without CRLF", chunked + "2\r\nabc\r\n0\r\n\r\n"),
                Arguments.of("chunk size followed by something other than ; or whitespace", chunked + "2 x\r\nab\r\n0\r\n\r\n"),
                Arguments.of("control character in a chunk extension", chunked + "2;a\u0001\r\nab\r\n0\r\n\r\n"),
                Arguments.of("bare CR in a chunk extension", chunked + "2;a\rb\r\nab\r\n0\r\n\r\n"),
                Arguments.of("bare LF after a chunk extension", chunked + "2;a\nab\r\n0\r\n\r\n"),
                Arguments.of("trailer line without a colon", chunked + "2\r\nab\r\n0\r\nX-T v\r\n\r\n"),
                Arguments.of("whitespace before a trailer's colon", chunked + "2\r\nab\r\n0\r\nX-T : v\r\n\r\n"),
                Arguments.of("trailer with an empty name", chunked + "2\r\nab\r\n0\r\n: v\r\n\r\n"),
                Arguments.of("trailer section starting with whitespace", chunked + "2\r\nab\r\n0\r\n X-T: v\r\n\r\n"),
                Arguments.of("control character in a trailer", chunked + "2\r\nab\r\n0\r\nX-T: a\u0001b\r\n\r\n"),
                Arguments.of("bare CR in a trailer", chunked + "2\r\nab\r\n0\r\nX-T: a\rb\r\n\r\n"),
                Arguments.of("bare LF ending a trailer", chunked + "2\r\nab\r\n0\r\nX-T: v\n\r\n"),
                Arguments.of("more trailer fields than maxHeaderCount", chunked + "2\r\nab\r\n0\r\n" + "X-T: v\r\n".repeat(DecoderSide.MAX_COUNT + 1) + "\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedBodies")
    void rejectsInvalidChunksAs502(String rule, String raw) {
        try (DecoderSide d = DecoderSide.responses()) {
            d.send(raw);
            assertThat(d.seen).first().isEqualTo("200");
            assertThat(d.seen).last().isEqualTo("rejected:502");
            assertThat(d.seen).doesNotContain("end");
        }
    }

    @Test
    void closeInsideAHeadIsRejected() {
        try (DecoderSide d = DecoderSide.responses()) {
            d.send("HTTP/1.1 200 OK\r\nContent-Le");
            d.channel.close();
            assertThat(d.seen()).isEqualTo("rejected:502");
        }
    }

    @Test
    void closeDelimitedBodyEndsWithTheConnection() {
        try (DecoderSide d = DecoderSide.responses()) {
            d.send("HTTP/1.1 200 OK\r\n\r\nabc");
            d.channel.close();
            assertThat(d.seen()).isEqualTo("200|body:abc|end");
        }
    }

    @Test
    void bytesAfterASwitchPassThrough() {
        try (DecoderSide d = DecoderSide.responses()) {
            d.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                    + "Sec-WebSocket-Accept: x\r\n\r\n\u0081\u0002hi");
            assertThat(d.seen()).isEqualTo("101|end|raw:\u0081\u0002hi");
        }
    }
}
