package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.tls.ServerTls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.pkitesting.X509Bundle;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.InflaterInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Response compression through the proxy, over real sockets, with the JDK's HTTP client and raw sockets. */
class CompressionTest {

    private static final String PAGE = "<p>Lodestone compresses what clients accept.</p>\n".repeat(200);
    private static final Compression GZIP_ONLY = Compression.builder().brotli(false).build();

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private Proxy proxy;
    private RecordingBackend backend;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
        if (backend != null) {
            backend.close();
        }
    }

    private void start(Compression compression, RecordingBackend.Responder responder) {
        start(HttpFrontend.bind("127.0.0.1:0").compression(compression), responder);
    }

    private void start(HttpFrontend.Builder frontend, RecordingBackend.Responder responder) {
        backend = RecordingBackend.start("b", responder);
        proxy = Proxy.builder()
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(frontend.defaultBackend("app"))
                .build();
        proxy.start();
    }

    private static RecordingBackend.Responder serve(String contentType, String body, Map<String, String> headers) {
        return (r, ctx) -> {
            java.util.HashMap<String, String> h = new java.util.HashMap<>(headers);
            h.put("Content-Type", contentType);
            RecordingBackend.ok(ctx, body, h);
        };
    }

    private java.net.http.HttpResponse<byte[]> get(String path, String acceptEncoding) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10));
        if (acceptEncoding != null) {
            b.header("Accept-Encoding", acceptEncoding);
        }
        return client.send(b.build(), BodyHandlers.ofByteArray());
    }

    /**
     * The access log and the frontend count the bytes the client got, compressed, as HAProxy's
     * {@code %B} and nginx's {@code $body_bytes_sent} do; the server and its backend the bytes the
     * server sent.
     */
    @Test
    void theLogAndTheFrontendCountTheCompressedBytesTheServerItsOwn() throws Exception {
        io.lodestone.core.testing.CapturingLogger lines = new io.lodestone.core.testing.CapturingLogger();
        backend = RecordingBackend.start("b", serve("text/html", PAGE, Map.of()));
        proxy = Proxy.builder()
                .accessLog(io.lodestone.core.log.AccessLog.text(lines))
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").compression(GZIP_ONLY).defaultBackend("app"))
                .build();
        proxy.start();
        int compressed = get("/a", "gzip").body().length;
        assertThat(compressed).isLessThan(PAGE.length() / 10);
        assertThat(get("/b", null).body().length).isEqualTo(PAGE.length());
        int again = get("/c", "gzip").body().length;
        List<String> logged = lines.awaitCount(3);
        assertThat(logged.get(0)).contains(" 200 0 " + compressed + " ");
        assertThat(logged.get(1)).contains(" 200 0 " + PAGE.length() + " ");
        assertThat(logged.get(2)).contains(" 200 0 " + again + " ");
        assertThat(proxy.metrics().frontend("web").traffic().bytesOut()).isEqualTo((long) compressed + again + PAGE.length());
        assertThat(proxy.metrics().backend("app").server("s1").traffic().bytesOut()).isEqualTo(3L * PAGE.length());
    }

    @Test
    void gzipRoundTripThroughTheJdkClient() throws Exception {
        start(GZIP_ONLY, serve("text/html; charset=utf-8", PAGE, Map.of("ETag", "\"page-1\"")));
        java.net.http.HttpResponse<byte[]> r = get("/page", "gzip");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-encoding")).contains("gzip");
        assertThat(r.headers().allValues("vary")).containsExactly("Accept-Encoding");
        assertThat(r.headers().firstValue("etag")).contains("W/\"page-1\"");
        assertThat(r.body().length).isLessThan(PAGE.length() / 10);
        assertThat(gunzip(r.body())).isEqualTo(PAGE);
        // the server still sees what the client accepts
        assertThat(backend.last().header("accept-encoding")).isEqualTo("gzip");
    }

    @Test
    void aCompressedResponseKeepsNoValidatorThatCannotBeWeakened() throws Exception {
        // nginx drops such an ETag when it compresses, HAProxy does not compress: the tag would stand
        // for the server's bytes, and an If-Range with it would splice them into the compressed ones
        start(GZIP_ONLY, (req, ctx) -> RecordingBackend.ok(ctx, PAGE,
                Map.of("Content-Type", "text/plain", "ETag", req.uri().equals("/weak") ? "W/\"v1\"" : "v1")));
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (String method : new String[] {"GET", "HEAD"}) {
                c.send(method + " /unquoted HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
                RawHttp.Response r = c.read(method.equals("HEAD"));
                assertThat(r.header("content-encoding")).as(method).isEqualTo("gzip");
                assertThat(r.header("etag")).as(method).isNull();
                c.send(method + " /weak HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
                assertThat(c.read(method.equals("HEAD")).header("etag")).as(method).isEqualTo("W/\"v1\"");
                // not compressed: the server's validator is the client's
                c.send(method + " /unquoted HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(c.read(method.equals("HEAD")).header("etag")).as(method).isEqualTo("v1");
            }
        }
    }

    @Test
    void aCompressedResponseAdvertisesNoByteRanges() throws Exception {
        // nginx's gzip filter clears Accept-Ranges: the server's ranges are of its own bytes, so a client that
        // resumes a compressed download by range (If-Range with the Last-Modified date) gets them in a 206,
        // which passes uncompressed, spliced into the compressed ones
        start(GZIP_ONLY, (req, ctx) -> {
            Map<String, String> h = Map.of("Content-Type", "text/plain", "Accept-Ranges", "bytes", "ETag", "\"x\"");
            if (req.header("If-None-Match") != null) {
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", h);
            } else {
                RecordingBackend.ok(ctx, PAGE, h);
            }
        });
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (String method : new String[] {"GET", "HEAD"}) {
                c.send(method + " /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
                RawHttp.Response compressed = c.read(method.equals("HEAD"));
                assertThat(compressed.header("content-encoding")).as(method).isEqualTo("gzip");
                assertThat(compressed.header("accept-ranges")).as(method).isNull();
                // not compressed for this client: the server's ranges are its bytes
                c.send(method + " /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip;q=0\r\n\r\n");
                RawHttp.Response identity = c.read(method.equals("HEAD"));
                assertThat(identity.header("content-encoding")).as(method).isNull();
                assertThat(identity.header("accept-ranges")).as(method).isEqualTo("bytes");
            }
            // nor does the 304 that confirms the compressed response, whose fields the client's cache takes in
            c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: W/\"x\"\r\n\r\n");
            RawHttp.Response notModified = c.read();
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("etag")).isEqualTo("W/\"x\"");
            assertThat(notModified.header("accept-ranges")).isNull();
        }
    }

    @Test
    void deflateRoundTrip() throws Exception {
        start(GZIP_ONLY, serve("application/json", PAGE, Map.of()));
        java.net.http.HttpResponse<byte[]> r = get("/data", "deflate");
        assertThat(r.headers().firstValue("content-encoding")).contains("deflate");
        try (InflaterInputStream in = new InflaterInputStream(new ByteArrayInputStream(r.body()))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(PAGE);
        }
    }

    @Test
    void brotliWhereTheBindingLoadsGzipOtherwise() throws Exception {
        start(Compression.defaults(), serve("text/plain", PAGE, Map.of()));
        java.net.http.HttpResponse<byte[]> r = get("/text", "br, gzip");
        if (Compression.brotliAvailable()) {
            assertThat(r.headers().firstValue("content-encoding")).contains("br");
            com.aayushatharva.brotli4j.decoder.DirectDecompress d =
                    com.aayushatharva.brotli4j.decoder.Decoder.decompress(r.body());
            assertThat(new String(d.getDecompressedData(), StandardCharsets.UTF_8)).isEqualTo(PAGE);
        } else {
            assertThat(r.headers().firstValue("content-encoding")).contains("gzip");
            assertThat(gunzip(r.body())).isEqualTo(PAGE);
        }
    }

    @Test
    void anAlreadyEncodedResponseIsNotCompressedAgain() throws Exception {
        byte[] gz = gzip(PAGE);
        start(GZIP_ONLY, (req, ctx) -> {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(gz));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/html");
            res.headers().set(HttpHeaderNames.CONTENT_ENCODING, "gzip");
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, gz.length);
            ctx.writeAndFlush(res);
        });
        java.net.http.HttpResponse<byte[]> r = get("/pre", "gzip, deflate");
        assertThat(r.headers().allValues("content-encoding")).containsExactly("gzip");
        assertThat(r.headers().firstValue("content-length")).contains(Integer.toString(gz.length));
        assertThat(r.body()).isEqualTo(gz);
        assertThat(gunzip(r.body())).isEqualTo(PAGE);
    }

    @Test
    void smallBodiesPassUntouched() throws Exception {
        start(GZIP_ONLY, serve("text/plain", "short and sweet", Map.of()));
        java.net.http.HttpResponse<byte[]> r = get("/small", "gzip");
        assertThat(r.headers().firstValue("content-encoding")).isEmpty();
        assertThat(r.headers().firstValue("vary")).isEmpty();
        assertThat(r.headers().firstValue("content-length")).contains("15");
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("short and sweet");
    }

    @Test
    void onlyTheConfiguredContentTypesAreCompressed() throws Exception {
        Compression jsonOnly = Compression.builder().brotli(false).contentTypes("application/json", "text/*").build();
        start(jsonOnly, (req, ctx) -> {
            String type = switch (req.uri()) {
                case "/png" -> "image/png";
                case "/json" -> "Application/JSON; charset=utf-8";
                case "/css" -> "text/css";
                default -> "application/octet-stream";
            };
            RecordingBackend.ok(ctx, PAGE, Map.of("Content-Type", type));
        });
        assertThat(get("/png", "gzip").headers().firstValue("content-encoding")).isEmpty();
        assertThat(get("/bin", "gzip").headers().firstValue("content-encoding")).isEmpty();
        assertThat(get("/json", "gzip").headers().firstValue("content-encoding")).contains("gzip");
        assertThat(get("/css", "gzip").headers().firstValue("content-encoding")).contains("gzip");
    }

    @Test
    void qZeroAndIdentityAreHonoured() throws Exception {
        start(GZIP_ONLY, serve("text/plain", PAGE, Map.of()));
        java.net.http.HttpResponse<byte[]> refused = get("/", "gzip;q=0");
        assertThat(refused.headers().firstValue("content-encoding")).isEmpty();
        assertThat(new String(refused.body(), StandardCharsets.UTF_8)).isEqualTo(PAGE);
        // not compressed for this client, yet it varies by Accept-Encoding
        assertThat(refused.headers().firstValue("vary")).contains("Accept-Encoding");
        assertThat(get("/", "gzip;q=0, deflate").headers().firstValue("content-encoding")).contains("deflate");
        assertThat(get("/", "identity, gzip;q=0.5").headers().firstValue("content-encoding")).isEmpty();
        assertThat(get("/", null).headers().firstValue("content-encoding")).isEmpty();
    }

    @Test
    void notModifiedAndPartialResponsesPassUntouched() throws Exception {
        start(GZIP_ONLY, (req, ctx) -> {
            if (req.uri().equals("/304")) {
                FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED);
                res.headers().set(HttpHeaderNames.ETAG, "\"x\"");
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
                ctx.writeAndFlush(res);
            } else if (req.uri().equals("/206")) {
                String part = PAGE.substring(0, 2000);
                FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT,
                        Unpooled.copiedBuffer(part, StandardCharsets.UTF_8));
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
                res.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes 0-1999/" + PAGE.length());
                res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 2000);
                ctx.writeAndFlush(res);
            } else {
                RecordingBackend.ok(ctx, PAGE, Map.of("Content-Type", "text/plain"));
            }
        });
        try (RawHttp c = new RawHttp(proxy.port())) {
            // a HEAD has no body to compress, but is told what GET would get
            c.send("HEAD /head HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response head = c.read(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("content-encoding")).isEqualTo("gzip");
            assertThat(head.header("content-length")).isNull();

            c.send("GET /304 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: \"x\"\r\n\r\n");
            RawHttp.Response notModified = c.read();
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("content-encoding")).isNull();
            assertThat(notModified.header("etag")).isEqualTo("\"x\"");

            c.send("GET /206 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nRange: bytes=0-1999\r\n\r\n");
            RawHttp.Response partial = c.read();
            assertThat(partial.status()).isEqualTo(206);
            assertThat(partial.header("content-encoding")).isNull();
            assertThat(partial.header("content-range")).isEqualTo("bytes 0-1999/" + PAGE.length());
            assertThat(partial.body()).isEqualTo(PAGE.substring(0, 2000));

            // the connection is still in step: a compressible response after them is compressed
            c.send("GET /after HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response after = c.read();
            assertThat(after.header("content-encoding")).isEqualTo("gzip");
        }
    }

    @Test
    void aHeadAnswerHasTheFieldsOfTheAnswerToGetWithTheSameAcceptEncoding() throws Exception {
        start(GZIP_ONLY, (req, ctx) -> RecordingBackend.ok(ctx, req.uri().equals("/small") ? "tiny" : PAGE,
                Map.of("Content-Type", "text/plain", "ETag", "\"v1\"")));
        try (RawHttp c = new RawHttp(proxy.port())) {
            for (String acceptEncoding : new String[] {"Accept-Encoding: gzip\r\n", "Accept-Encoding: br;q=1, gzip;q=0.5\r\n",
                    "Accept-Encoding: gzip;q=0\r\n", ""}) {
                c.send("GET /p HTTP/1.1\r\nHost: h\r\n" + acceptEncoding + "\r\n");
                RawHttp.Response get = c.read();
                c.send("HEAD /p HTTP/1.1\r\nHost: h\r\n" + acceptEncoding + "\r\n");
                RawHttp.Response head = c.read(true);
                assertThat(head.status()).isEqualTo(200);
                for (String name : new String[] {"content-encoding", "vary", "etag", "content-type"}) {
                    assertThat(head.headers().get(name)).as(acceptEncoding + name).isEqualTo(get.headers().get(name));
                }
                // the compressed length is only known once compressed (a GET may have it when the body came whole)
                assertThat(head.header("content-length")).as(acceptEncoding)
                        .isEqualTo(get.header("content-encoding") == null ? Integer.toString(PAGE.length()) : null);
            }
            // what GET gets, for a body too small to compress, and for an HTTP/1.0 client: nothing added
            c.send("HEAD /small HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response small = c.read(true);
            assertThat(small.header("vary")).isNull();
            assertThat(small.header("etag")).isEqualTo("\"v1\"");
            assertThat(small.header("content-length")).isEqualTo("4");
            c.send("HEAD /p HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response old = c.read(true);
            assertThat(old.header("content-encoding")).isNull();
            assertThat(old.header("etag")).isEqualTo("\"v1\"");
            assertThat(old.header("content-length")).isEqualTo(Integer.toString(PAGE.length()));
        }
    }

    @Test
    void aHeadAnsweredFromTheCacheHasTheFieldsOfTheAnswerToGet() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0").compression(GZIP_ONLY)
                .cache("app", ResponseCache.builder().maxBytes(1 << 20).statusHeader("X-Cache").build()),
                serve("text/plain", PAGE, Map.of("ETag", "\"v1\"", "Cache-Control", "max-age=60")));
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response get = c.read();
            assertThat(get.header("x-cache")).isEqualTo("MISS");
            c.send("HEAD /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response head = c.read(true);
            assertThat(head.header("x-cache")).isEqualTo("HIT");
            assertThat(head.header("content-encoding")).isEqualTo("gzip");
            assertThat(head.headers().get("vary")).isEqualTo(get.headers().get("vary")).containsExactly("Accept-Encoding");
            assertThat(head.header("etag")).isEqualTo(get.header("etag")).isEqualTo("W/\"v1\"");
            assertThat(head.header("content-length")).isNull();
            // the connection is still in step
            c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response hit = c.read();
            assertThat(hit.header("x-cache")).isEqualTo("HIT");
            assertThat(hit.header("content-encoding")).isEqualTo("gzip");
        }
        assertThat(backend.requests).hasSize(1);
    }

    @Test
    void aNotModifiedFromTheCacheCarriesTheETagAndVaryOfTheResponseItStandsFor() throws Exception {
        ManualClock clock = new ManualClock(System.currentTimeMillis());
        backend = RecordingBackend.start("b", (r, ctx) -> {
            Map<String, String> h = Map.of("Content-Type", "text/plain", "ETag", "\"v1\"", "Cache-Control", "max-age=10");
            if ("\"v1\"".equals(r.header("If-None-Match"))) {
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", h);
            } else {
                RecordingBackend.ok(ctx, r.uri().equals("/small") ? "tiny" : PAGE, h);
            }
        });
        proxy = Proxy.builder().clock(clock)
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").compression(GZIP_ONLY).defaultBackend("app")
                        .cache("app", ResponseCache.builder().maxBytes(1 << 20).statusHeader("X-Cache").build()))
                .build();
        proxy.start();
        try (RawHttp c = new RawHttp(proxy.port())) {
            // a miss whose fresh 200 meets the client's condition
            RawHttp.Response filled = c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: W/\"v1\"\r\n\r\n").read();
            assertThat(filled.status()).isEqualTo(304);
            assertThat(filled.header("x-cache")).isEqualTo("MISS");
            assertNotModifiedAsCompressed(filled);
            // a hit
            RawHttp.Response hit = c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: W/\"v1\"\r\n\r\n").read();
            assertThat(hit.status()).isEqualTo(304);
            assertThat(hit.header("x-cache")).isEqualTo("HIT");
            assertNotModifiedAsCompressed(hit);
            // a stale entry revalidated with the server
            clock.advance(Duration.ofSeconds(11));
            RawHttp.Response revalidated = c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: W/\"v1\"\r\n\r\n").read();
            assertThat(revalidated.status()).isEqualTo(304);
            assertThat(revalidated.header("x-cache")).isEqualTo("REVALIDATED");
            assertNotModifiedAsCompressed(revalidated);
            // a client that accepts no coding: the 200 would be identity, strong ETag, Vary all the same
            RawHttp.Response identity = c.send("GET /p HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"v1\"\r\n\r\n").read();
            assertThat(identity.status()).isEqualTo(304);
            assertThat(identity.header("etag")).isEqualTo("\"v1\"");
            assertThat(identity.headers().get("vary")).containsExactly("Accept-Encoding");
            // a body too small to compress: neither
            c.send("GET /small HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n").read();
            RawHttp.Response small = c.send("GET /small HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: \"v1\"\r\n\r\n").read();
            assertThat(small.status()).isEqualTo(304);
            assertThat(small.header("x-cache")).isEqualTo("HIT");
            assertThat(small.header("etag")).isEqualTo("\"v1\"");
            assertThat(small.header("vary")).isNull();
            // and the 200 the 304s stand for
            RawHttp.Response whole = c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n").read();
            assertThat(whole.status()).isEqualTo(200);
            assertThat(whole.header("content-encoding")).isEqualTo("gzip");
            assertNotModifiedAsCompressed(whole);
        }
    }

    /** A server that answers any If-None-Match with 304 (a weak comparison with its strong "x"), else the 200. */
    private static RecordingBackend.Responder notModifiedServer() {
        return (r, ctx) -> {
            Map<String, String> h = switch (r.uri()) {
                case "/vary-language" -> Map.of("ETag", "\"x\"", "Vary", "Accept-Language");
                case "/vary-encoding" -> Map.of("ETag", "\"x\"", "Vary", "accept-encoding");
                default -> Map.of("ETag", "\"x\"");
            };
            if (r.header("If-None-Match") != null) {
                RecordingBackend.respond(ctx, HttpResponseStatus.NOT_MODIFIED, "", h);
            } else {
                java.util.HashMap<String, String> full = new java.util.HashMap<>(h);
                full.put("Content-Type", "text/plain");
                RecordingBackend.ok(ctx, PAGE, full);
            }
        };
    }

    private static RawHttp.Response conditional(RawHttp c, String path, String ifNoneMatch) throws IOException {
        return c.send("GET " + path + " HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nIf-None-Match: " + ifNoneMatch + "\r\n\r\n")
                .read();
    }

    @Test
    void aNotModifiedFromTheServerToTheWeakETagOfACompressedResponseCarriesThatETagAndVary() throws Exception {
        start(GZIP_ONLY, notModifiedServer());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response whole = c.send("GET /p HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n").read();
            assertThat(whole.header("content-encoding")).isEqualTo("gzip");
            assertThat(whole.header("etag")).isEqualTo("W/\"x\"");

            // the client revalidates what it holds, the compressed 200
            RawHttp.Response weak = conditional(c, "/p", "W/\"x\"");
            assertThat(weak.status()).isEqualTo(304);
            assertThat(weak.header("etag")).isEqualTo("W/\"x\"");
            assertThat(weak.headers().get("vary")).containsExactly("Accept-Encoding");
            assertThat(backend.last().header("if-none-match")).as("forwarded as it is").isEqualTo("W/\"x\"");
            RawHttp.Response among = conditional(c, "/p", "\"y\", W/\"x\"");
            assertThat(among.header("etag")).isEqualTo("W/\"x\"");
            // an existing Vary is added to, once
            RawHttp.Response language = conditional(c, "/vary-language", "W/\"x\"");
            assertThat(language.header("etag")).isEqualTo("W/\"x\"");
            assertThat(language.headers().get("vary")).containsExactly("Accept-Language, Accept-Encoding");
            RawHttp.Response encoding = conditional(c, "/vary-encoding", "W/\"x\"");
            assertThat(encoding.header("etag")).isEqualTo("W/\"x\"");
            assertThat(encoding.headers().get("vary")).containsExactly("accept-encoding");

            // the strong "x" listed: the client holds an identity 200 (too), the 304 stays as it is
            RawHttp.Response strong = conditional(c, "/p", "\"x\"");
            assertThat(strong.status()).isEqualTo(304);
            assertThat(strong.header("etag")).isEqualTo("\"x\"");
            assertThat(strong.header("vary")).isNull();
            RawHttp.Response both = conditional(c, "/p", "W/\"x\", \"x\"");
            assertThat(both.header("etag")).isEqualTo("\"x\"");
            assertThat(both.header("vary")).isNull();
            RawHttp.Response any = conditional(c, "/p", "*");
            assertThat(any.header("etag")).isEqualTo("\"x\"");
            RawHttp.Response other = conditional(c, "/p", "W/\"xx\", W/\"\"");
            assertThat(other.header("etag")).isEqualTo("\"x\"");
            assertThat(other.header("vary")).isNull();
        }
    }

    @Test
    void withoutCompressionANotModifiedFromTheServerIsUntouched() throws Exception {
        start(HttpFrontend.bind("127.0.0.1:0"), notModifiedServer());
        try (RawHttp c = new RawHttp(proxy.port())) {
            RawHttp.Response weak = conditional(c, "/p", "W/\"x\"");
            assertThat(weak.status()).isEqualTo(304);
            assertThat(weak.header("etag")).isEqualTo("\"x\"");
            assertThat(weak.header("vary")).isNull();
        }
    }

    @Test
    void anHttp2NotModifiedFromTheServerToTheWeakETagCarriesThatETagAndVary() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"))) {
            start(HttpFrontend.bind("127.0.0.1:0").tls(tls).compression(GZIP_ONLY), notModifiedServer());
            HttpClient h2 = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            for (String ifNoneMatch : List.of("W/\"x\"", "\"x\"")) {
                HttpRequest req = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/p"))
                        .header("Accept-Encoding", "gzip").header("If-None-Match", ifNoneMatch).timeout(Duration.ofSeconds(10)).build();
                java.net.http.HttpResponse<byte[]> r = h2.send(req, BodyHandlers.ofByteArray());
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(r.statusCode()).isEqualTo(304);
                assertThat(r.headers().firstValue("etag")).contains(ifNoneMatch);
                assertThat(r.headers().allValues("vary")).isEqualTo(ifNoneMatch.startsWith("W/") ? List.of("Accept-Encoding") : List.of());
            }
        }
    }

    private static void assertNotModifiedAsCompressed(RawHttp.Response r) {
        assertThat(r.header("etag")).isEqualTo("W/\"v1\"");
        assertThat(r.headers().get("vary")).containsExactly("Accept-Encoding");
    }

    @Test
    void noTransformAndHttp10ClientsAreLeftAlone() throws Exception {
        start(GZIP_ONLY, (req, ctx) -> RecordingBackend.ok(ctx, PAGE, req.uri().equals("/nt")
                ? Map.of("Content-Type", "text/plain", "Cache-Control", "no-transform")
                : Map.of("Content-Type", "text/plain")));
        assertThat(get("/nt", "gzip").headers().firstValue("content-encoding")).isEmpty();
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /old HTTP/1.0\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response r = c.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("content-encoding")).isNull();
            assertThat(r.body()).isEqualTo(PAGE);
        }
    }

    @Test
    void pipelinedRequestsEachGetTheirOwnCoding() throws Exception {
        start(GZIP_ONLY, serve("text/plain", PAGE, Map.of()));
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /1 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n"
                    + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "GET /3 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: deflate\r\n\r\n");
            assertThat(c.read().header("content-encoding")).isEqualTo("gzip");
            RawHttp.Response plain = c.read();
            assertThat(plain.header("content-encoding")).isNull();
            assertThat(plain.body()).isEqualTo(PAGE);
            assertThat(c.read().header("content-encoding")).isEqualTo("deflate");
        }
    }

    @Test
    void theProxysOwnAnswersWorkWithTheCompressor() throws Exception {
        String big = "denied, and here is a long explanation why.\n".repeat(100);
        start(HttpFrontend.bind("127.0.0.1:0").compression(GZIP_ONLY).clientTimeout(Duration.ofMillis(300))
                .rule(Rule.when(Acl.pathBegins("/deny")).deny(403, big)), serve("text/plain", PAGE, Map.of()));
        // a local answer with a large text body is compressed like any other
        java.net.http.HttpResponse<byte[]> denied = get("/deny", "gzip");
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(denied.headers().firstValue("content-encoding")).contains("gzip");
        assertThat(gunzip(denied.body())).isEqualTo(big);
        // 408 to a request head that never completes: a response that answers no request
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /slow HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n");
            RawHttp.Response timeout = c.read();
            assertThat(timeout.status()).isEqualTo(408);
            assertThat(timeout.header("content-encoding")).isNull();
            assertThat(c.closedByPeer()).as("closed after the 408").isTrue();
        }
        // 408 after a compressed exchange on the same connection
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /first HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            assertThat(c.read().header("content-encoding")).isEqualTo("gzip");
            c.send("GET /slow HTTP/1.1\r\nHost: h\r\n");
            assertThat(c.read().status()).isEqualTo(408);
        }
        // 503 when no server is usable: small, untouched
        backend.close();
        java.net.http.HttpResponse<byte[]> failed = get("/gone", "gzip");
        assertThat(failed.statusCode()).isIn(502, 503);
        assertThat(failed.headers().firstValue("content-encoding")).isEmpty();
    }

    @Test
    void malformedRequestsAreStillAnswered() throws Exception {
        start(GZIP_ONLY, serve("text/plain", PAGE, Map.of()));
        try (RawHttp c = new RawHttp(proxy.port())) {
            c.send("GET /ok HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
            assertThat(c.read().header("content-encoding")).isEqualTo("gzip");
            c.send("GET /no-host HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
            RawHttp.Response bad = c.read();
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.header("content-encoding")).isNull();
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    @Test
    void aWebSocketUpgradeStillBecomesATunnel() throws Exception {
        try (RawBackend ws = new RawBackend((socket, n) -> {
            java.io.InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                head.append((char) b);
            }
            RawBackend.write(socket, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
            byte[] buf = new byte[5];
            int got = in.readNBytes(buf, 0, 5);
            socket.getOutputStream().write(buf, 0, got);
            socket.getOutputStream().flush();
        })) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", ws.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").compression(GZIP_ONLY).defaultBackend("app"))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                c.send("GET /ws HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
                RawHttp.Response switched = c.read();
                assertThat(switched.status()).isEqualTo(101);
                c.send("hello");
                assertThat(new String(c.in.readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("hello");
            }
        }
    }

    @Test
    void aLargeStreamedBodyIsCompressedAsItArrives() throws Exception {
        int piece = 64 * 1024;
        int firstPart = 16;      // 1 MiB before the backend waits
        int total = 128;         // 8 MiB in all
        CountDownLatch clientGotFirstPart = new CountDownLatch(1);
        start(GZIP_ONLY, (req, ctx) -> {
            HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            HttpUtil.setTransferEncodingChunked(res, true);
            ctx.writeAndFlush(res);
            Thread t = new Thread(() -> {
                try {
                    for (int i = 0; i < total; i++) {
                        if (i == firstPart && !clientGotFirstPart.await(20, TimeUnit.SECONDS)) {
                            ctx.close();
                            return;
                        }
                        ByteBuf b = Unpooled.copiedBuffer(pieceText(i, piece), StandardCharsets.US_ASCII);
                        ctx.writeAndFlush(new DefaultHttpContent(b)).sync();
                    }
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            t.setDaemon(true);
            t.start();
        });
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/stream"))
                .header("Accept-Encoding", "gzip").timeout(Duration.ofSeconds(30)).build();
        java.net.http.HttpResponse<InputStream> r = client.send(req, BodyHandlers.ofInputStream());
        assertThat(r.headers().firstValue("content-encoding")).contains("gzip");
        AtomicLong wire = new AtomicLong();
        try (InputStream counted = new FilterInputStream(r.body()) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    if (n > 0) {
                        wire.addAndGet(n);
                    }
                    return n;
                }
            };
             GZIPInputStream in = new GZIPInputStream(counted, 8192)) {
            // the first MiB decompresses while the backend still holds back the rest
            for (int i = 0; i < firstPart; i++) {
                assertThat(new String(in.readNBytes(piece), StandardCharsets.US_ASCII)).isEqualTo(pieceText(i, piece));
            }
            clientGotFirstPart.countDown();
            for (int i = firstPart; i < total; i++) {
                assertThat(new String(in.readNBytes(piece), StandardCharsets.US_ASCII)).isEqualTo(pieceText(i, piece));
            }
            assertThat(in.read()).isEqualTo(-1);
        }
        assertThat(wire.get()).as("bytes on the wire").isLessThan((long) total * piece / 4);
    }

    @Test
    void http2ClientsGetCompressedResponses() throws Exception {
        X509Bundle ca = TlsPki.ca();
        try (ServerTls tls = TlsPki.serverTls(List.of("h2", "http/1.1"), TlsPki.server(ca, "www.example"))) {
            start(HttpFrontend.bind("127.0.0.1:0").tls(tls).compression(GZIP_ONLY), (req, ctx) -> {
                if (req.uri().equals("/chunked")) {
                    HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                    res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
                    HttpUtil.setTransferEncodingChunked(res, true);
                    ctx.write(res);
                    for (int i = 0; i < 8; i++) {
                        ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer(PAGE, StandardCharsets.UTF_8)));
                    }
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                } else {
                    RecordingBackend.ok(ctx, PAGE, Map.of("Content-Type", "text/html"));
                }
            });
            HttpClient h2 = HttpClient.newBuilder().sslContext(TlsPki.clientContext(ca))
                    .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            for (String path : List.of("/full", "/chunked", "/full")) {
                HttpRequest req = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                        .header("Accept-Encoding", "gzip").timeout(Duration.ofSeconds(10)).build();
                java.net.http.HttpResponse<byte[]> r = h2.send(req, BodyHandlers.ofByteArray());
                assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("content-encoding")).contains("gzip");
                assertThat(r.headers().firstValue("vary")).contains("Accept-Encoding");
                assertThat(gunzip(r.body())).isEqualTo(path.equals("/chunked") ? PAGE.repeat(8) : PAGE);
            }
            HttpRequest plain = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/full"))
                    .timeout(Duration.ofSeconds(10)).build();
            java.net.http.HttpResponse<String> r = h2.send(plain, BodyHandlers.ofString());
            assertThat(r.headers().firstValue("content-encoding")).isEmpty();
            assertThat(r.body()).isEqualTo(PAGE);
        }
    }

    private static String pieceText(int i, int size) {
        StringBuilder sb = new StringBuilder(size);
        String line = "piece " + i + " of a long streamed body, compressible text\n";
        while (sb.length() < size) {
            sb.append(line);
        }
        sb.setLength(size);
        return sb.toString();
    }

    static String gunzip(byte[] bytes) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static byte[] gzip(String s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(s.getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }
}
