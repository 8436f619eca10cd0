package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link StrictRequestDecoder} on an {@link io.netty.channel.embedded.EmbeddedChannel}: every rule, smuggling shape and limit. */
class StrictRequestTest {

    private static final String H = "Host: example.com\r\n";

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("plain GET", "GET /a?b=c HTTP/1.1\r\n" + H + "\r\n", "GET /a?b=c|end"),
                Arguments.of("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "GET /|end"),
                Arguments.of("Content-Length body", "POST /p HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello",
                        "POST /p|body:hello|end"),
                Arguments.of("chunked body", "POST /p HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n", "POST /p|body:helloabc|end"),
                Arguments.of("chunk extensions as RFC 9112 allows them", "POST /p HTTP/1.1\r\n" + H
                        + "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n3;a\r\nabc\r\n2 ;a=\"q\"\r\nde\r\n"
                        + "2\t; b = c;d=\"x\\\"; y\";e\r\nfg\r\n000A;A-1=!#$%&'*+-.^_`|~\r\n0123456789\r\n0;last\r\n"
                        + "X-T: v\r\n\r\nGET /next HTTP/1.1\r\n" + H + "\r\n",
                        "POST /p|body:helloabcdefg0123456789|end|GET /next|end"),
                Arguments.of("maxHeaderCount trailer fields, one of them folded", "POST /p HTTP/1.1\r\n" + H
                        + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n" + "X-T: v\r\n".repeat(DecoderSide.MAX_COUNT)
                        + " folded\r\n\r\n", "POST /p|body:hi|end"),
                Arguments.of("chunk extensions with BWS around ; and =", "POST /p HTTP/1.1\r\n" + H
                        + "Transfer-Encoding: chunked\r\n\r\n5;a=b ;c\r\nhello\r\n1 ;a\r\nx\r\n1\t;\ta\t=\t\"v\" ;b\r\ny\r\n0 ; z\r\n\r\n",
                        "POST /p|body:helloxy|end"),
                Arguments.of("chunked, upper case, with OWS", "POST /p HTTP/1.1\r\n" + H
                        + "Transfer-Encoding: \t CHUNKED \r\n\r\n0\r\n\r\n", "POST /p|end"),
                Arguments.of("Content-Length with OWS", "POST /p HTTP/1.1\r\n" + H + "Content-Length:\t2 \r\n\r\nhi",
                        "POST /p|body:hi|end"),
                Arguments.of("empty lines before the request line", "\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n", "GET /|end"),
                Arguments.of("absolute form", "GET http://example.com/x HTTP/1.1\r\n" + H + "\r\n",
                        "GET http://example.com/x|end"),
                Arguments.of("absolute form with IPv6, port and a query only", "GET HTTPS://[::1]:8443?q HTTP/1.1\r\n" + H + "\r\n",
                        "GET HTTPS://[::1]:8443?q|end"),
                Arguments.of("asterisk form with OPTIONS", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", "OPTIONS *|end"),
                Arguments.of("Host with port and IPv6", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "GET /|end"),
                Arguments.of("Host forms of RFC 3986", "GET / HTTP/1.1\r\nHost: [2001:db8::10.0.0.1]\r\n\r\n"
                        + "GET /2 HTTP/1.1\r\nHost: [v1f.a:b!$]:1\r\n\r\nGET /3 HTTP/1.1\r\nHost: 10.0.0.1:\r\n\r\n"
                        + "GET /4 HTTP/1.1\r\nHost: my%2Dhost.example_1~!$&'()*+,;=\r\n\r\nGET /5 HTTP/1.1\r\nHost:\r\n\r\n"
                        + "GET /6 HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8]:08080\r\n\r\nGET /7 HTTP/1.1\r\nHost: [::]\r\n\r\n"
                        + "GET http://[1::]:80/8 HTTP/1.1\r\n" + H + "\r\nGET /9 HTTP/1.1\r\nHost: a:65535\r\n\r\n"
                        + "GET /10 HTTP/1.1\r\nHost: a:0000065535\r\n\r\n",
                        "GET /|end|GET /2|end|GET /3|end|GET /4|end|GET /5|end|GET /6|end|GET /7|end|GET http://[1::]:80/8|end"
                        + "|GET /9|end|GET /10|end"),
                Arguments.of("obs-text and tab in a value", "GET / HTTP/1.1\r\n" + H + "X-A: caf\u00e9\tok\r\n\r\n", "GET /|end"),
                Arguments.of("body exactly at the limit", "POST / HTTP/1.1\r\n" + H + "Content-Length: 100\r\n\r\n"
                        + "x".repeat(100), "POST /|body:" + "x".repeat(100) + "|end"),
                Arguments.of("pipelined requests", "GET /1 HTTP/1.1\r\n" + H + "\r\nPOST /2 HTTP/1.1\r\n" + H
                        + "Content-Length: 1\r\n\r\nzGET /3 HTTP/1.1\r\n" + H + "\r\n", "GET /1|end|POST /2|body:z|end|GET /3|end"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void passesValidRequests(String rule, String raw, String expected) {
        try (DecoderSide d = DecoderSide.requests()) {
            d.send(raw);
            assertThat(d.seen()).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void passesValidRequestsSentOneByteAtATime(String rule, String raw, String expected) {
        try (DecoderSide d = DecoderSide.requests()) {
            d.sendByteByByte(raw);
            assertThat(d.seen()).isEqualTo(expected);
        }
    }

    static Stream<Arguments> rejectedHeads() {
        String post = "POST / HTTP/1.1\r\n" + H;
        return Stream.of(
                // framing and smuggling shapes
                Arguments.of("CL then TE", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE then CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("CL with TE on HTTP/1.0", "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
                Arguments.of("differing Content-Lengths", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
                Arguments.of("identical duplicate Content-Lengths", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
                Arguments.of("Content-Length list", post + "Content-Length: 5, 5\r\n\r\nhello", 400),
                Arguments.of("differing Content-Lengths on HTTP/1.0", "POST / HTTP/1.0\r\nContent-Length: 1\r\nContent-Length: 6\r\n\r\nhello!", 400),
                Arguments.of("signed Content-Length", post + "Content-Length: +5\r\n\r\nhello", 400),
                Arguments.of("negative Content-Length", post + "Content-Length: -1\r\n\r\n", 400),
                Arguments.of("hex Content-Length", post + "Content-Length: 0x5\r\n\r\nhello", 400),
                Arguments.of("empty Content-Length", post + "Content-Length: \r\n\r\n", 400),
                Arguments.of("overflowing Content-Length", post + "Content-Length: 99999999999999999999\r\n\r\n", 400),
                Arguments.of("TE gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE chunked with a vertical tab", post + "Transfer-Encoding: chunked\u000b\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE chunked with a form feed before it", post + "Transfer-Encoding:\fchunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE identity", post + "Transfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n", 400),
                Arguments.of("duplicate TE headers", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE gzip then TE chunked", post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("space before colon on TE", post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("tab before colon on CL", post + "Content-Length\t: 5\r\n\r\nhello", 400),
                Arguments.of("obs-fold with a space", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n b\r\n\r\n", 400),
                Arguments.of("obs-fold with a tab", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n\tb\r\n\r\n", 400),
                Arguments.of("obs-fold hiding TE", post + "X-A: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                Arguments.of("first header line starting with whitespace", "GET / HTTP/1.1\r\n " + H + "\r\n", 400),
                Arguments.of("CR inside a value", "GET / HTTP/1.1\r\n" + H + "X-A: a\rb\r\n\r\n", 400),
                Arguments.of("NUL inside a value", "GET / HTTP/1.1\r\n" + H + "X-A: a\u0000b\r\n\r\n", 400),
                Arguments.of("control character inside a value", "GET / HTTP/1.1\r\n" + H + "X-A: a\u0001b\r\n\r\n", 400),
                Arguments.of("DEL inside a value", "GET / HTTP/1.1\r\n" + H + "X-A: a\u007fb\r\n\r\n", 400),
                Arguments.of("bare LF line endings", "GET / HTTP/1.1\n" + H.replace("\r", "") + "\n", 400),
                Arguments.of("bare LF inside the headers", "GET / HTTP/1.1\r\n" + H + "X-A: a\nX-B: b\r\n\r\n", 400),
                Arguments.of("bare LF before the request line", "\nGET / HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("invalid header name", "GET / HTTP/1.1\r\n" + H + "X(A): b\r\n\r\n", 400),
                Arguments.of("empty header name", "GET / HTTP/1.1\r\n" + H + ": b\r\n\r\n", 400),
                Arguments.of("header line without colon", "GET / HTTP/1.1\r\n" + H + "X-A b\r\n\r\n", 400),
                // Host
                Arguments.of("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
                Arguments.of("two Host headers", "GET / HTTP/1.1\r\n" + H + "Host: other.com\r\n\r\n", 400),
                Arguments.of("two Host headers on HTTP/1.0", "GET / HTTP/1.0\r\n" + H + "Host: other.com\r\n\r\n", 400),
                Arguments.of("Host with a slash", "GET / HTTP/1.1\r\nHost: a.com/b\r\n\r\n", 400),
                Arguments.of("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a.com\r\n\r\n", 400),
                Arguments.of("Host with a space", "GET / HTTP/1.1\r\nHost: a .com\r\n\r\n", 400),
                Arguments.of("Host with two colons", "GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", 400),
                Arguments.of("Host with an unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
                Arguments.of("Host with a bracket inside", "GET / HTTP/1.1\r\nHost: a[::1]\r\n\r\n", 400),
                Arguments.of("Host with text after the bracket", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400),
                Arguments.of("Host with a non-digit port", "GET / HTTP/1.1\r\nHost: a.com:8o\r\n\r\n", 400),
                Arguments.of("Host with a port above 65535", "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400),
                Arguments.of("Host with port 65536", "GET / HTTP/1.1\r\nHost: [::1]:65536\r\n\r\n", 400),
                Arguments.of("Host with a port past int's range", "GET / HTTP/1.1\r\nHost: a:4294967376\r\n\r\n", 400),
                Arguments.of("absolute form with a port above 65535", "GET http://a.com:70000/x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("Host with an empty host before a port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400),
                Arguments.of("Host with an empty IP literal", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400),
                Arguments.of("Host with a bad IPv6 address", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", 400),
                Arguments.of("Host with two :: in IPv6", "GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", 400),
                Arguments.of("Host with a five-digit IPv6 group", "GET / HTTP/1.1\r\nHost: [12345::1]\r\n\r\n", 400),
                Arguments.of("Host with a bad IPv4 tail", "GET / HTTP/1.1\r\nHost: [::1.2.3.256]\r\n\r\n", 400),
                Arguments.of("Host with IPv6 without brackets", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", 400),
                Arguments.of("Host with an IPvFuture without a dot", "GET / HTTP/1.1\r\nHost: [v1]\r\n\r\n", 400),
                Arguments.of("Host with a bad percent-encoding", "GET / HTTP/1.1\r\nHost: a%2g.com\r\n\r\n", 400),
                Arguments.of("Host with a truncated percent-encoding", "GET / HTTP/1.1\r\nHost: a.com%2\r\n\r\n", 400),
                Arguments.of("Host with a zone id", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400),
                // an absolute-form target's authority becomes the Host: the same characters only (RFC 9110 4.2)
                Arguments.of("absolute form with userinfo", "GET http://u:p@a.com/x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with an empty host", "GET http:///x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with an empty host before a query", "GET https://?x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with a backslash in the authority", "GET http://a.com\\b.com/x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with a quote in the authority", "GET http://a\"b/x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with a brace in the authority", "GET http://a{b}/x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with two colons in the authority", "GET http://a:b:c/x HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("absolute form with an unclosed bracket", "GET http://[::1/x HTTP/1.1\r\n" + H + "\r\n", 400),
                // request line
                Arguments.of("invalid method token", "G@T / HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("two spaces after the method", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("tab as separator", "GET\t/ HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("leading space", " GET / HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("trailing space", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400),
                Arguments.of("lower-case version", "GET / http/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("version without minor", "GET / HTTP/1\r\n" + H + "\r\n", 400),
                Arguments.of("missing version", "GET /\r\n" + H + "\r\n", 400),
                Arguments.of("version with junk", "GET / HTTP/1.1x\r\n" + H + "\r\n", 400),
                Arguments.of("HTTP/2.0 on an HTTP/1 connection", "GET / HTTP/2.0\r\n" + H + "\r\n", 505),
                Arguments.of("HTTP/1.2", "GET / HTTP/1.2\r\n" + H + "\r\n", 505),
                Arguments.of("fragment in the target", "GET /a#b HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("non-ASCII in the target", "GET /caf\u00e9 HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("relative target", "GET a/b HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("asterisk target with GET", "GET * HTTP/1.1\r\n" + H + "\r\n", 400),
                Arguments.of("garbage", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n", 400),
                // limits
                Arguments.of("request line too long", "GET /" + "a".repeat(DecoderSide.MAX_LINE) + " HTTP/1.1\r\n" + H + "\r\n", 414),
                Arguments.of("request line too long, still incomplete", "GET /" + "a".repeat(DecoderSide.MAX_LINE), 414),
                Arguments.of("header section too large", "GET / HTTP/1.1\r\n" + H + "X-A: " + "a".repeat(DecoderSide.MAX_HEADER) + "\r\n\r\n", 431),
                Arguments.of("header section too large, still incomplete", "GET / HTTP/1.1\r\n" + H + "X-A: " + "a".repeat(DecoderSide.MAX_HEADER), 431),
                Arguments.of("too many header fields", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n".repeat(DecoderSide.MAX_COUNT) + "\r\n", 431),
                Arguments.of("Content-Length over the body limit", post + "Content-Length: 101\r\n\r\n", 413),
                Arguments.of("Content-Length over the body limit with Expect", post + "Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n", 413));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedHeads")
    void rejectsAtTheHeadAndEmitsNothingElse(String rule, String raw, int status) {
        try (DecoderSide d = DecoderSide.requests()) {
            d.send(raw + "GET /next HTTP/1.1\r\n" + H + "\r\n");
            assertThat(d.seen()).isEqualTo("rejected:" + status);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedHeads")
    void rejectsAtTheHeadWhenSentOneByteAtATime(String rule, String raw, int status) {
        try (DecoderSide d = DecoderSide.requests()) {
            d.sendByteByByte(raw + "GET /next HTTP/1.1\r\n" + H + "\r\n");
            assertThat(d.seen()).isEqualTo("rejected:" + status);
        }
    }

    static Stream<Arguments> rejectedBodies() {
        String chunked = "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n";
        return Stream.of(
                Arguments.of("chunk size 0x10", chunked + "0x10\r\n" + "a".repeat(16) + "\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size -1", chunked + "-1\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size +5", chunked + "+5\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size overflow", chunked + "fffffffffffffffff1\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("empty chunk size", chunked + "\r\nabc\r\n0\r\n\r\n", 400),
                Arguments.of("chunk size with trailing space", chunked + "5 \r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("bare LF after chunk size", chunked + "5\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("bare LF in a chunk extension", chunked + "5;a\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("invalid chunk extension", chunked + "5;a@b=c\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension too long", chunked + "5;a=" + "b".repeat(DecoderSide.MAX_LINE) + "\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension of ; alone", chunked + "5;\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension of ; and a space", chunked + "5; \r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension without a name", chunked + "5;=x\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension with = and no value", chunked + "5;a=\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension ending in ;", chunked + "5;a=b;\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension followed by a space", chunked + "5;a \r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension value with an unclosed quote", chunked + "5;a=\"q\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("chunk extension value quoted then more", chunked + "5;a=\"q\"r\r\nhello\r\n0\r\n\r\n", 400),
                Arguments.of("last chunk with ; alone, after a valid chunk", chunked + "5\r\nhello\r\n0;\r\n\r\n", 400),
                Arguments.of("chunk data longer than its size", chunked + "5\r\nhelloX\r\n0\r\n\r\n", 400),
                Arguments.of("chunk data without CRLF", chunked + "5\r\nhello0\r\n\r\n", 400),
                Arguments.of("trailer line without a colon", chunked + "5\r\nhello\r\n0\r\nX-T v\r\n\r\n", 400),
                Arguments.of("whitespace before a trailer's colon", chunked + "5\r\nhello\r\n0\r\nX-T : v\r\n\r\n", 400),
                Arguments.of("trailer with an empty name", chunked + "5\r\nhello\r\n0\r\n: v\r\n\r\n", 400),
                Arguments.of("trailer section starting with whitespace", chunked + "5\r\nhello\r\n0\r\n X-T: v\r\n\r\n", 400),
                Arguments.of("control character in a trailer", chunked + "5\r\nhello\r\n0\r\nX-T: a\u0001b\r\n\r\n", 400),
                Arguments.of("bare CR in a trailer", chunked + "5\r\nhello\r\n0\r\nX-T: a\rb\r\n\r\n", 400),
                Arguments.of("more trailer fields than maxHeaderCount", chunked + "5\r\nhello\r\n0\r\n" + "X-T: v\r\n".repeat(DecoderSide.MAX_COUNT + 1) + "\r\n", 400),
                Arguments.of("chunked body over the limit", chunked + "40\r\n" + "a".repeat(64) + "\r\n40\r\n" + "b".repeat(64) + "\r\n0\r\n\r\n", 413));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedBodies")
    void rejectsInTheBodyAndNeverCompletesTheRequest(String rule, String raw, int status) {
        try (DecoderSide d = DecoderSide.requests()) {
            d.send(raw + "GET /next HTTP/1.1\r\n" + H + "\r\n");
            assertThat(d.seen).first().isEqualTo("POST /");
            assertThat(d.seen).last().isEqualTo("rejected:" + status);
            assertThat(d.seen).doesNotContain("end", "GET /next");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejectedBodies")
    void rejectsInTheBodyWhenSentOneByteAtATime(String rule, String raw, int status) {
        try (DecoderSide d = DecoderSide.requests()) {
            d.sendByteByByte(raw + "GET /next HTTP/1.1\r\n" + H + "\r\n");
            assertThat(d.seen).first().isEqualTo("POST /");
            assertThat(d.seen).last().isEqualTo("rejected:" + status);
            assertThat(d.seen).doesNotContain("end", "GET /next");
        }
    }

    @Test
    void rejectionAfterPipelinedRequestsKeepsTheEarlierOnes() {
        try (DecoderSide d = DecoderSide.requests()) {
            d.send("GET /1 HTTP/1.1\r\n" + H + "\r\nGET /2 HTTP/1.1\r\n" + H + "\r\nGET /3 HTTP/1.1\r\nX: a\r\n b\r\n\r\n"
                    + "GET /4 HTTP/1.1\r\n" + H + "\r\n");
            assertThat(d.seen()).isEqualTo("GET /1|end|GET /2|end|rejected:400");
        }
    }

    @Test
    void connectionClosedInsideAHeadIsRejected() {
        try (DecoderSide d = DecoderSide.requests()) {
            d.send("GET / HTTP/1.1\r\nHost: a");
            d.channel.close();
            assertThat(d.seen()).isEqualTo("rejected:400");
        }
    }

    @Test
    void connectionClosedBetweenRequestsIsQuiet() {
        try (DecoderSide d = DecoderSide.requests()) {
            d.send("GET / HTTP/1.1\r\n" + H + "\r\n");
            d.channel.close();
            assertThat(d.seen()).isEqualTo("GET /|end");
        }
    }

    @Test
    void invalidLimitsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> new StrictRequestDecoder(DecoderSide.config(), 0, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxHeaderCount: 0 (expected: > 0)");
        assertThatThrownBy(() -> new StrictRequestDecoder(DecoderSide.config(), 1, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxBodySize: -1 (expected: >= 0)");
        assertThatThrownBy(() -> new StrictResponseDecoder(DecoderSide.config(), -2))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxHeaderCount: -2 (expected: > 0)");
    }

    @Test
    void rejectionsMapNettyLimitsToTheirStatus() {
        assertThat(HttpRejection.of(new io.netty.handler.codec.http.TooLongHttpLineException("x")).status().code()).isEqualTo(414);
        assertThat(HttpRejection.of(new io.netty.handler.codec.http.TooLongHttpHeaderException("x")).status().code()).isEqualTo(431);
        assertThat(HttpRejection.of(new IllegalArgumentException("x")).status().code()).isEqualTo(400);
    }
    @Test
    void decodedHeadersSkipTheChecksOnlyForTheProxysOwnNamesAndValues() {
        io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(
                new StrictRequestDecoder(DecoderSide.config(), DecoderSide.MAX_COUNT, DecoderSide.MAX_BODY));
        try {
            ch.writeInbound(io.netty.buffer.Unpooled.copiedBuffer("GET / HTTP/1.1\r\n" + H + "X-A: b\r\n\r\n",
                    java.nio.charset.StandardCharsets.US_ASCII));
            io.netty.handler.codec.http.HttpRequest request = ch.readInbound();
            io.netty.handler.codec.http.HttpHeaders h = request.headers();
            assertThat(h.get("x-a")).isEqualTo("b");
            h.set(Headers.X_FORWARDED_PROTO, Headers.HTTP);
            assertThat(h.get("X-Forwarded-Proto")).isEqualTo("http");
            // names given as String (header edits, user code) are still checked, and every value is
            assertThatThrownBy(() -> h.set("X Bad", "v")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> h.add("X(A)", "v")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> h.set(Headers.X_REAL_IP, "a\r\nb")).isInstanceOf(IllegalArgumentException.class);
            io.netty.util.ReferenceCountUtil.release(ch.readInbound());
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void headsUseTheProxyChecksAndTrailersKeepNettysFullOnes() {
        io.netty.handler.codec.http.HttpDecoderConfig strict = HttpDecoders.strict(DecoderSide.config());
        var heads = (io.netty.handler.codec.http.DefaultHttpHeadersFactory) strict.getHeadersFactory();
        var trailers = (io.netty.handler.codec.http.DefaultHttpHeadersFactory) strict.getTrailersFactory();
        assertThat(heads.getNameValidator()).isSameAs(HttpDecoders.NAMES);
        assertThat(heads.getValueValidator()).isSameAs(HttpDecoders.VALUES);
        assertThat(trailers.getValueValidator())
                .isSameAs(io.netty.handler.codec.http.DefaultHttpHeadersFactory.trailersFactory().getValueValidator());
        assertThatThrownBy(() -> HttpDecoders.VALUES.validate("a\r\nb")).isInstanceOf(IllegalArgumentException.class);
        HttpDecoders.VALUES.validate("a value");
        assertThat(trailers.getNameValidator())
                .isSameAs(io.netty.handler.codec.http.DefaultHttpHeadersFactory.trailersFactory().getNameValidator());
        assertThatThrownBy(() -> HttpDecoders.NAMES.validateName("Bad Name")).isInstanceOf(IllegalArgumentException.class);
        HttpDecoders.NAMES.validateName(Headers.X_FORWARDED_FOR);
        HttpDecoders.NAMES.validateName("X-Good-Name");
    }
}
