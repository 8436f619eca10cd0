package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMessageDecoderResult;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The strict decoders emit every message without a chunked body straight from the head scanner's
 * result instead of letting Netty parse the head a second time. Whatever path a message takes, the proxy must see exactly
 * what Netty's own decoder gives for the same bytes: this test decodes each message with both and
 * compares everything the proxy can read (message classes in order, with a whole request or response
 * counted as its head and its end, method, target, version, status
 * and reason, every header name and value in order, body bytes, trailers), and checks that the short
 * path was taken where it applies.
 */
class WholeMessageDecodeTest {

    private static final HttpDecoderConfig CONFIG = new HttpDecoderConfig().setMaxChunkSize(64 * 1024);

    @Test
    void handWrittenRequestsDecodeAsNettyDecodesThem() {
        String[] requests = {
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /x?y=1 HTTP/1.0\r\n\r\n",
            "GET /x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
            "HEAD /h HTTP/1.1\r\nHost: a\r\nAccept:   */*  \r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\nhello",
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
            "PUT /u HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\nabc",
            "DELETE /d HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "PATCH /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
            "PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET http://example.com/abs HTTP/1.1\r\nHost: example.com\r\n\r\n",
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n",
            "GET /obs HTTP/1.1\r\nHost: a\r\nX-Latin: caf\u00e9\r\n\r\n",
            "\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nzGET /c HTTP/1.1\r\nHost: a\r\n\r\n",
        };
        for (String r : requests) {
            assertSameAsNetty(true, r, !r.contains("PROPFIND"));
        }
    }

    @Test
    void aRequestWithoutABodyIsOneWholeMessage() {
        EmbeddedChannel ch = new EmbeddedChannel(new StrictRequestDecoder(CONFIG, 100, Long.MAX_VALUE));
        ch.writeInbound(Unpooled.copiedBuffer("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
                + "POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz", StandardCharsets.ISO_8859_1));
        List<Object> messages = new ArrayList<>();
        for (Object msg; (msg = ch.readInbound()) != null; ) {
            messages.add(msg);
        }
        assertThat(messages).hasSize(4);
        assertThat(messages.get(0)).isInstanceOfSatisfying(FullHttpRequest.class, r -> {
            assertThat(r.uri()).isEqualTo("/a");
            assertThat(r.content().readableBytes()).isZero();
            assertThat(r.trailingHeaders().isEmpty()).isTrue();
        });
        assertThat(messages.get(1)).isInstanceOfSatisfying(FullHttpRequest.class, r -> assertThat(r.uri()).isEqualTo("/b"));
        // a request with a body stays a head followed by its content, as Netty's decoder gives it
        assertThat(messages.get(2)).isInstanceOf(HttpRequest.class).isNotInstanceOf(HttpContent.class);
        assertThat(messages.get(3)).isInstanceOf(LastHttpContent.class);
        messages.forEach(ReferenceCountUtil::release);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aResponseWithItsWholeBodyIsOneWholeMessage() {
        EmbeddedChannel ch = new EmbeddedChannel(new StrictResponseDecoder(CONFIG, 100));
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                + "HTTP/1.1 204 No Content\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nwor", StandardCharsets.ISO_8859_1));
        ch.writeInbound(Unpooled.copiedBuffer("ld!", StandardCharsets.ISO_8859_1));
        List<Object> messages = new ArrayList<>();
        for (Object msg; (msg = ch.readInbound()) != null; ) {
            messages.add(msg);
        }
        assertThat(messages).hasSize(5);
        assertThat(messages.get(0)).isInstanceOfSatisfying(FullHttpResponse.class, r -> {
            assertThat(r.status().code()).isEqualTo(200);
            assertThat(r.content().toString(StandardCharsets.ISO_8859_1)).isEqualTo("hello");
            assertThat(r.trailingHeaders().isEmpty()).isTrue();
        });
        assertThat(messages.get(1)).isInstanceOfSatisfying(FullHttpResponse.class, r -> {
            assertThat(r.status().code()).isEqualTo(204);
            assertThat(r.content().readableBytes()).isZero();
        });
        // a body still arriving stays a head followed by its pieces, as Netty's decoder gives it
        assertThat(messages.get(2)).isInstanceOf(HttpResponse.class).isNotInstanceOf(HttpContent.class);
        assertThat(messages.get(3)).isInstanceOfSatisfying(HttpContent.class, c -> assertThat(c).isNotInstanceOf(LastHttpContent.class));
        assertThat(messages.get(4)).isInstanceOf(LastHttpContent.class);
        messages.forEach(ReferenceCountUtil::release);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void requestsWithLargerOrUnfinishedBodiesStreamAsNettyStreamsThem() {
        String[] requests = {
            "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 20000\r\n\r\n" + "b".repeat(20000),
            "POST /partial HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
            "POST /huge HTTP/1.1\r\nHost: a\r\nContent-Length: 150000\r\n\r\n" + "h".repeat(150000)
                    + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
        };
        for (String r : requests) {
            assertSameAsNetty(true, r, true);
        }
    }

    @Test
    void requestsTheShortPathLeavesToNettyDecodeAsBefore() {
        String[] requests = {
            "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
            "GET /hixie HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key1: 1\r\nSec-WebSocket-Key2: 2\r\n\r\n12345678",
        };
        for (String r : requests) {
            assertSameAsNetty(true, r, false);
        }
    }

    @Test
    void responsesDecodeAsNettyDecodesThem() {
        String[] responses = {
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello",
            "HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
            "HTTP/1.1 201 Created\r\nContent-Length: 003\r\n\r\nabc",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nno",
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 10\r\n\r\n",
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusyHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2",
        };
        for (String r : responses) {
            assertSameAsNetty(false, r, true);
        }
        String[] viaNetty = {
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
        };
        for (String r : viaNetty) {
            assertSameAsNetty(false, r, false);
        }
        String[] streamed = {
            "HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n" + "r".repeat(30000),
            "HTTP/1.1 200 OK\r\nContent-Length: 150000\r\n\r\n" + "s".repeat(150000) + "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ncut",
        };
        for (String r : streamed) {
            assertSameAsNetty(false, r, true);
        }
    }

    @Test
    void bodiesArrivingInPiecesAreCutWhereNettyCutsThem() {
        Random random = new Random(20261204);
        for (int i = 0; i < 60; i++) {
            boolean request = random.nextBoolean();
            int body = 1 + random.nextInt(random.nextBoolean() ? 300 : 200_000);
            String head = request ? "PUT /p" + i + " HTTP/1.1\r\nHost: a\r\nContent-Length: " + body + "\r\n\r\n"
                    : "HTTP/1.1 200 OK\r\nX-I: " + i + "\r\nContent-Length: " + body + "\r\n\r\n";
            String next = request ? "GET /after HTTP/1.1\r\nHost: a\r\n\r\n" : "HTTP/1.1 304 Not Modified\r\n\r\n";
            String text = head + "x".repeat(body) + next;
            int[] cuts = new int[1 + random.nextInt(12)];
            for (int c = 0; c < cuts.length; c++) {
                cuts[c] = random.nextInt(text.length());
            }
            byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
            List<String> fromStrict = new ArrayList<>();
            boolean shortPath = decode(request ? new StrictRequestDecoder(CONFIG, 100, Long.MAX_VALUE) : new StrictResponseDecoder(CONFIG, 100), bytes, cuts, fromStrict);
            List<String> fromNetty = new ArrayList<>();
            decode(request ? new HttpRequestDecoder(HttpDecoders.strict(CONFIG)) : new HttpResponseDecoder(HttpDecoders.strict(CONFIG)), bytes, cuts, fromNetty);
            assertThat(fromStrict).as("message %d, cut at %s", i, Arrays.toString(cuts)).isEqualTo(fromNetty).hasSizeGreaterThan(2);
            assertThat(shortPath).isTrue();
        }
    }

    @Test
    void randomMessagesDecodeAsNettyDecodesThem() {
        Random random = new Random(20261203);
        for (int i = 0; i < 400; i++) {
            boolean request = random.nextBoolean();
            StringBuilder sb = new StringBuilder();
            int body = random.nextInt(4) == 0 ? 0 : random.nextInt(300);
            if (request) {
                String[] methods = {"GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "REPORT"};
                sb.append(methods[random.nextInt(methods.length)]).append(" /").append(token(random, 12))
                        .append(random.nextBoolean() ? "?q=" + token(random, 5) : "")
                        .append(random.nextInt(5) == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
                sb.append(random.nextBoolean() ? "Host" : "host").append(": h").append(random.nextInt(9)).append("\r\n");
            } else {
                int[] codes = {200, 201, 204, 301, 304, 404, 500, 502};
                int code = codes[random.nextInt(codes.length)];
                sb.append("HTTP/1.1 ").append(code).append(random.nextBoolean() ? " Reason " + token(random, 4) : " OK").append("\r\n");
                if (code == 204 || code == 304) {
                    body = 0;
                }
            }
            int fields = random.nextInt(12);
            for (int f = 0; f < fields; f++) {
                sb.append(random.nextBoolean() ? "X-" : "x-").append(token(random, 1 + random.nextInt(10))).append(':')
                        .append(random.nextBoolean() ? " " : "").append(value(random)).append(random.nextInt(4) == 0 ? " \t" : "")
                        .append("\r\n");
            }
            sb.append(random.nextBoolean() ? "Content-Length" : "content-length").append(": ")
                    .append(random.nextInt(6) == 0 ? "0" : "").append(body).append("\r\n\r\n");
            sb.append("b".repeat(body));
            assertSameAsNetty(request, sb.toString(), true);
        }
    }

    private static String token(Random random, int length) {
        String chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append(chars.charAt(random.nextInt(chars.length())));
        }
        return sb.toString();
    }

    private static String value(Random random) {
        StringBuilder sb = new StringBuilder();
        int n = random.nextInt(30);
        for (int i = 0; i < n; i++) {
            int c = 0x20 + random.nextInt(0x5F);
            sb.append(random.nextInt(20) == 0 ? (char) (0xA0 + random.nextInt(0x5F)) : (char) c);
        }
        return sb.toString().trim();
    }

    private static void assertSameAsNetty(boolean request, String text, boolean shortPath) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        ChannelHandler strict = request ? new StrictRequestDecoder(CONFIG, 100, Long.MAX_VALUE) : new StrictResponseDecoder(CONFIG, 100);
        ChannelHandler netty = request ? new HttpRequestDecoder(HttpDecoders.strict(CONFIG)) : new HttpResponseDecoder(HttpDecoders.strict(CONFIG));
        List<String> fromStrict = new ArrayList<>();
        boolean sawAscii = decode(strict, bytes, fromStrict);
        List<String> fromNetty = new ArrayList<>();
        decode(netty, bytes, fromNetty);
        assertThat(fromStrict).as("decoded %s", text).isEqualTo(fromNetty);
        assertThat(fromStrict).as("decoded %s", text).isNotEmpty().noneMatch(s -> s.startsWith("failure"));
        if (shortPath) {
            assertThat(sawAscii).as("short path taken for %s", text).isTrue();
        }
    }

    /** Decodes {@code bytes} in one buffer and renders every message; returns whether a head came from the short path (Netty's own parse leaves its sizes in the decoder result). */
    private static boolean decode(ChannelHandler decoder, byte[] bytes, List<String> out) {
        return decode(decoder, bytes, new int[0], out);
    }

    /** As {@link #decode(ChannelHandler, byte[], List)}, with the bytes written in pieces that end at {@code cuts}. */
    private static boolean decode(ChannelHandler decoder, byte[] bytes, int[] cuts, List<String> out) {
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        int[] ends = Arrays.copyOf(cuts, cuts.length + 1);
        ends[cuts.length] = bytes.length;
        Arrays.sort(ends);
        int start = 0;
        for (int end : ends) {
            if (end > start) {
                ch.writeInbound(Unpooled.copiedBuffer(bytes, start, end - start));
                start = end;
            }
        }
        ch.finish();
        boolean ascii = false;
        for (Object msg; (msg = ch.readInbound()) != null; ) {
            try {
                if (msg instanceof HttpMessage m) {
                    if (m.decoderResult().isFailure()) {
                        out.add("failure " + m.decoderResult().cause());
                        continue;
                    }
                    ascii |= !(m.decoderResult() instanceof HttpMessageDecoderResult);
                    // a request without a body, or a response whose whole body came with its head, is one
                    // whole message from the strict decoder, a head and its last content from Netty's:
                    // rendered alike, the whole one as its head and then its end
                    String kind = m instanceof FullHttpRequest ? "DefaultHttpRequest"
                            : m instanceof FullHttpResponse ? "DefaultHttpResponse" : m.getClass().getSimpleName();
                    StringBuilder sb = new StringBuilder(kind).append(' ').append(m.protocolVersion());
                    if (m instanceof HttpRequest r) {
                        sb.append(' ').append(r.method()).append(' ').append(r.uri());
                    }
                    if (m instanceof HttpResponse r) {
                        sb.append(' ').append(r.status().code()).append(" [").append(r.status().reasonPhrase()).append(']');
                    }
                    for (Map.Entry<CharSequence, CharSequence> e : (Iterable<Map.Entry<CharSequence, CharSequence>>) m.headers()::iteratorCharSequence) {
                        sb.append("\n").append(e.getKey()).append("=[").append(e.getValue()).append(']');
                    }
                    out.add(sb.toString());
                }
                if (msg instanceof HttpContent c) {
                    out.add((msg instanceof LastHttpContent ? "last " : "content ") + c.content().toString(StandardCharsets.ISO_8859_1)
                            + (msg instanceof LastHttpContent l ? " trailers " + l.trailingHeaders().entries() : ""));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
        return ascii;
    }
}
