package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.l7.Compression;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The compressor in memory: coding choice by q-values, what is left alone, and answers to no request. */
class CompressorTest {

    private static final String TEXT = "the quick brown fox jumps over the lazy dog\n".repeat(100);

    private EmbeddedChannel ch;

    @AfterEach
    void close() {
        if (ch != null) {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void choosesTheAcceptedCodingWithTheHighestQ() {
        assertThat(Compressor.choose("gzip", false)).isEqualTo("gzip");
        assertThat(Compressor.choose("deflate", false)).isEqualTo("deflate");
        assertThat(Compressor.choose("gzip, deflate, br", false)).isEqualTo("gzip");
        assertThat(Compressor.choose("gzip, deflate, br", true)).isEqualTo("br");
        assertThat(Compressor.choose("gzip;q=0.5, deflate;q=0.8", false)).isEqualTo("deflate");
        assertThat(Compressor.choose("GZIP ; Q=0.9 , deflate;q=0.1", false)).isEqualTo("gzip");
        assertThat(Compressor.choose("br;q=0.2, gzip;q=0.9", true)).isEqualTo("gzip");
        assertThat(Compressor.choose("x-gzip", false)).isEqualTo("gzip");
        assertThat(Compressor.choose("deflate, gzip", false)).as("tie: gzip preferred").isEqualTo("gzip");
    }

    @Test
    void qZeroRefusesACodingAndIdentityRankedAboveKeepsTheBody() {
        assertThat(Compressor.choose("gzip;q=0", false)).isNull();
        assertThat(Compressor.choose("gzip;q=0.000", false)).isNull();
        assertThat(Compressor.choose("gzip;q=0, deflate", false)).isEqualTo("deflate");
        assertThat(Compressor.choose("br;q=0, gzip", true)).isEqualTo("gzip");
        assertThat(Compressor.choose("identity;q=1, gzip;q=0.5", false)).isNull();
        assertThat(Compressor.choose("identity;q=0.5, gzip", false)).isEqualTo("gzip");
        assertThat(Compressor.choose("identity;q=0, gzip;q=0", false)).as("nothing acceptable: the body as it is").isNull();
        assertThat(Compressor.choose("identity", false)).isNull();
        assertThat(Compressor.choose("", false)).isNull();
        assertThat(Compressor.choose("compress, zstd", false)).isNull();
    }

    @Test
    void starGivesItsQToTheCodingsNotNamed() {
        assertThat(Compressor.choose("*", false)).isEqualTo("gzip");
        assertThat(Compressor.choose("*", true)).isEqualTo("br");
        assertThat(Compressor.choose("*;q=0", false)).isNull();
        assertThat(Compressor.choose("gzip;q=0, *", false)).isEqualTo("deflate");
        assertThat(Compressor.choose("*;q=0.1, deflate;q=0.5", false)).isEqualTo("deflate");
    }

    @Test
    void malformedQValuesAreIgnored() {
        assertThat(Compressor.choose("gzip;q=abc, deflate", false)).isEqualTo("deflate");
        assertThat(Compressor.choose("gzip;q=2", false)).isNull();
        assertThat(Compressor.choose("gzip;q=1.0", false)).isEqualTo("gzip");
        assertThat(Compressor.choose(",,, gzip ,", false)).isEqualTo("gzip");
    }

    @Test
    void compressesAWholeResponseAndSetsVaryAndAWeakETag() throws Exception {
        ch = new EmbeddedChannel(new Compressor(Compression.builder().brotli(false).build()));
        ch.writeInbound(request(HttpMethod.GET, "gzip"));
        ReferenceCountUtil.release(ch.readInbound());
        FullHttpResponse r = text(TEXT);
        r.headers().set(HttpHeaderNames.ETAG, "\"v1\"");
        r.headers().set(HttpHeaderNames.VARY, "Origin");
        ch.writeOutbound(r);
        HttpResponse head = ch.readOutbound();
        assertThat(head.headers().get(HttpHeaderNames.CONTENT_ENCODING)).isEqualTo("gzip");
        assertThat(head.headers().get(HttpHeaderNames.VARY)).isEqualTo("Origin, Accept-Encoding");
        assertThat(head.headers().get(HttpHeaderNames.ETAG)).isEqualTo("W/\"v1\"");
        assertThat(gunzip(body())).isEqualTo(TEXT);
    }

    @Test
    void aResponseToNoRequestPassesUntouched() {
        ch = new EmbeddedChannel(new Compressor(Compression.builder().minSize(0).build()));
        FullHttpResponse timeout = text(TEXT);
        ch.writeOutbound(timeout);
        FullHttpResponse out = ch.readOutbound();
        assertThat(out.headers().contains(HttpHeaderNames.CONTENT_ENCODING)).isFalse();
        assertThat(out.content().toString(StandardCharsets.UTF_8)).isEqualTo(TEXT);
        out.release();
        // and the next exchange is still paired with its own request
        ch.writeInbound(request(HttpMethod.GET, "gzip"));
        ReferenceCountUtil.release(ch.readInbound());
        ch.writeOutbound(text(TEXT));
        HttpResponse head = ch.readOutbound();
        assertThat(head.headers().get(HttpHeaderNames.CONTENT_ENCODING)).isEqualTo("gzip");
    }

    @Test
    void alreadyEncodedPartialNoTransformAndHttp10ResponsesPassUntouched() {
        ch = new EmbeddedChannel(new Compressor(Compression.builder().minSize(0).build()));
        FullHttpResponse encoded = text(TEXT);
        encoded.headers().set(HttpHeaderNames.CONTENT_ENCODING, "br");
        FullHttpResponse partial = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT,
                Unpooled.copiedBuffer(TEXT, StandardCharsets.UTF_8));
        partial.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        partial.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes 0-" + (TEXT.length() - 1) + "/9999");
        FullHttpResponse noTransform = text(TEXT);
        noTransform.headers().set(HttpHeaderNames.CACHE_CONTROL, "public, No-Transform");
        FullHttpResponse toHttp10 = text(TEXT);
        for (FullHttpResponse r : new FullHttpResponse[] {encoded, partial, noTransform, toHttp10}) {
            HttpRequest req = request(HttpMethod.GET, "gzip, deflate, br");
            if (r == toHttp10) {
                req.setProtocolVersion(HttpVersion.HTTP_1_0);
            }
            ch.writeInbound(req);
            ReferenceCountUtil.release(ch.readInbound());
            String encodingBefore = r.headers().get(HttpHeaderNames.CONTENT_ENCODING);
            ch.writeOutbound(r);
            FullHttpResponse out = ch.readOutbound();
            assertThat(out.headers().get(HttpHeaderNames.CONTENT_ENCODING)).isEqualTo(encodingBefore);
            assertThat(out.content().readableBytes()).isEqualTo(TEXT.length());
            out.release();
        }
    }

    @Test
    void aStreamedResponseIsCompressedPieceByPiece() throws Exception {
        ch = new EmbeddedChannel(new Compressor(Compression.builder().brotli(false).build()));
        ch.writeInbound(request(HttpMethod.GET, "gzip"));
        ReferenceCountUtil.release(ch.readInbound());
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        head.headers().set(HttpHeaderNames.CONTENT_LENGTH, 3 * TEXT.length());
        ch.writeOutbound(head);
        HttpResponse outHead = ch.readOutbound();
        assertThat(outHead.headers().contains(HttpHeaderNames.CONTENT_LENGTH)).isFalse();
        assertThat(outHead.headers().get(HttpHeaderNames.TRANSFER_ENCODING)).isEqualTo("chunked");
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        for (int i = 0; i < 3; i++) {
            ch.writeOutbound(i < 2 ? new DefaultHttpContent(Unpooled.copiedBuffer(TEXT, StandardCharsets.UTF_8))
                    : new DefaultLastHttpContent(Unpooled.copiedBuffer(TEXT, StandardCharsets.UTF_8)));
            // each piece comes out at once, before the next goes in
            assertThat((Object) ch.readOutbound()).as("output for piece " + i).isNotNull().satisfies(o -> {
                HttpContent c = (HttpContent) o;
                byte[] bytes = new byte[c.content().readableBytes()];
                c.content().readBytes(bytes);
                compressed.writeBytes(bytes);
                c.release();
            });
            drain(compressed);
        }
        assertThat(gunzip(compressed.toByteArray())).isEqualTo(TEXT.repeat(3));
    }

    private void drain(ByteArrayOutputStream to) {
        Object o;
        while ((o = ch.readOutbound()) != null) {
            HttpContent c = (HttpContent) o;
            byte[] bytes = new byte[c.content().readableBytes()];
            c.content().readBytes(bytes);
            to.writeBytes(bytes);
            c.release();
        }
    }

    private byte[] body() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        drain(out);
        return out.toByteArray();
    }

    private static HttpRequest request(HttpMethod method, String acceptEncoding) {
        HttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, "/");
        r.headers().set(HttpHeaderNames.ACCEPT_ENCODING, acceptEncoding);
        return r;
    }

    private static FullHttpResponse text(String body) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return r;
    }

    static String gunzip(byte[] bytes) throws Exception {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
