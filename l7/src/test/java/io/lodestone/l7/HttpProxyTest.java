package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.buffer.Unpooled;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpProxyTest {

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private int start(Backend.Builder backend, Consumer<HttpFrontend.Builder> frontend) {
        proxy = OneBackendProxy.start(backend, frontend);
        return proxy.port();
    }

    @Test
    void keepAliveReusesOneServerConnectionPerServerFor1000Requests() throws Exception {
        try (RecordingBackend b1 = RecordingBackend.start("b1"); RecordingBackend b2 = RecordingBackend.start("b2")) {
            int port = start(Backend.named("app").server("s1", b1.address()).server("s2", b2.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                for (int i = 0; i < 1000; i++) {
                    RawHttp.Response r = c.send("GET /r" + i + " HTTP/1.1\r\nHost: example.com\r\n\r\n").read();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.body()).endsWith(":/r" + i);
                }
            }
            assertThat(b1.requests.size() + b2.requests.size()).isEqualTo(1000);
            assertThat(b1.requests).isNotEmpty();
            assertThat(b2.requests).isNotEmpty();
            assertThat(b1.connections.get()).isEqualTo(1);
            assertThat(b2.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                        + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                        + "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(c.read().body()).isEqualTo("b:/1");
                assertThat(c.read().body()).isEqualTo("b:/2");
                assertThat(c.read().body()).isEqualTo("b:/3");
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/1", "/2", "/3");
            assertThat(b.requests.get(1).body()).isEqualTo("hello");
        }
    }

    @Test
    void expectContinueIsPassedToTheServerAndItsInterimResponseRelayed() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
                RawHttp.Response interim = c.read();
                assertThat(interim.status()).isEqualTo(100);
                c.send("hello");
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("b:/up");
            }
            assertThat(b.last().header("expect")).isEqualTo("100-continue");
            assertThat(b.last().body()).isEqualTo("hello");
        }
    }

    @Test
    void headAnd204And304HaveNoBodyAndKeepTheConnectionInSync() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> {
            switch (r.uri()) {
                case "/204" -> RecordingBackend.respond(ctx, HttpResponseStatus.NO_CONTENT, "", Map.of());
                case "/304" -> {
                    DefaultHttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED);
                    res.headers().set("ETag", "\"x\"");
                    ctx.write(res);
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                }
                default -> RecordingBackend.ok(ctx, "0123456789", Map.of());
            }
        })) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response head = c.send("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n").read(true);
                assertThat(head.status()).isEqualTo(200);
                assertThat(head.header("content-length")).isEqualTo("10");
                RawHttp.Response noContent = c.send("GET /204 HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(noContent.status()).isEqualTo(204);
                RawHttp.Response notModified = c.send("GET /304 HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(notModified.status()).isEqualTo(304);
                assertThat(notModified.header("etag")).isEqualTo("\"x\"");
                RawHttp.Response get = c.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(get.body()).isEqualTo("0123456789");
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::method).containsExactly("HEAD", "GET", "GET", "GET");
        }
    }

    @Test
    void hopByHopHeadersAreRemovedBothWaysAndForwardingHeadersSet() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> RecordingBackend.ok(ctx, "ok", Map.of(
                "Connection", "X-Resp-Hop", "X-Resp-Hop", "1", "Keep-Alive", "timeout=5", "Upgrade", "foo",
                "Trailer", "X-T", "Proxy-Connection", "keep-alive", "X-End", "kept")))) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.forwarded(true).via("lodestone"));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /h HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Hop\r\n"
                        + "X-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
                        + "Trailer: X-T\r\nUpgrade: h2c\r\nX-Forwarded-For: 10.0.0.1\r\nX-Real-IP: 6.6.6.6\r\n"
                        + "X-Keep: yes\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.headers()).doesNotContainKeys("x-resp-hop", "keep-alive", "upgrade", "trailer", "proxy-connection", "connection");
                assertThat(r.header("x-end")).isEqualTo("kept");
                assertThat(r.header("via")).isEqualTo("1.1 lodestone");
            }
            RecordingBackend.Recorded seen = b.last();
            assertThat(seen.headers().names()).map(String::toLowerCase)
                    .doesNotContain("x-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "connection");
            assertThat(seen.header("x-keep")).isEqualTo("yes");
            assertThat(seen.header("host")).isEqualTo("example.com");
            assertThat(seen.header("x-forwarded-for")).isEqualTo("10.0.0.1, 127.0.0.1");
            assertThat(seen.header("x-real-ip")).isEqualTo("127.0.0.1");
            assertThat(seen.header("x-forwarded-proto")).isEqualTo("http");
            assertThat(seen.header("x-forwarded-host")).isEqualTo("example.com");
            assertThat(seen.header("x-forwarded-port")).isEqualTo(Integer.toString(port));
            assertThat(seen.header("forwarded")).isEqualTo("for=127.0.0.1;host=\"example.com\";proto=http");
            assertThat(seen.header("via")).isEqualTo("1.1 lodestone");
        }
    }

    /**
     * An empty {@code Host} (RFC 9112 3.2: what a client sends for a target without an authority) is
     * forwarded as it came, but names no host to forward: the server gets no {@code X-Forwarded-Host},
     * not even the client's own, and a {@code Forwarded} element without {@code host}. So does an
     * HTTP/1.0 request without {@code Host}.
     */
    @Test
    void anEmptyHostGivesNoForwardedHost() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.forwarded(true));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /empty HTTP/1.1\r\nHost:\r\nX-Forwarded-Host: evil\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
            }
            RecordingBackend.Recorded seen = b.last();
            assertThat(seen.uri()).isEqualTo("/empty");
            assertThat(seen.headers().getAll("host")).containsExactly("");
            assertThat(seen.headers().contains("x-forwarded-host")).isFalse();
            assertThat(seen.header("forwarded")).isEqualTo("for=127.0.0.1;proto=http");
            assertThat(seen.header("x-forwarded-proto")).isEqualTo("http");
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /none HTTP/1.0\r\nX-Forwarded-Host: evil\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
            }
            seen = b.last();
            assertThat(seen.uri()).isEqualTo("/none");
            assertThat(seen.headers().contains("x-forwarded-host")).isFalse();
            assertThat(seen.header("forwarded")).isEqualTo("for=127.0.0.1;proto=http");
        }
    }

    @Test
    void requestIdIsGeneratedPassedOnAndReturned() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/id")).build(),
                    HttpResponse.BodyHandlers.ofString());
            String id = r.headers().firstValue("x-request-id").orElseThrow();
            assertThat(id).matches("[0-9a-f]{32}");
            assertThat(b.last().header("x-request-id")).isEqualTo(id);

            HttpResponse<String> given = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/id"))
                    .header("X-Request-ID", "abc-123").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(given.headers().firstValue("x-request-id")).contains("abc-123");
            assertThat(b.last().header("x-request-id")).isEqualTo("abc-123");
        }
    }

    /**
     * A client on the IPv6 loopback: the forwarding headers and the access log write its address in the
     * RFC 5952 form ({@code ::1}), as a PROXY header does, not the JDK's {@code 0:0:0:0:0:0:0:1};
     * {@code Forwarded} quotes it in brackets (RFC 7239, 6).
     */
    @Test
    void anIpv6ClientIsWrittenInItsShortFormToTheForwardingHeadersAndTheAccessLog() throws Exception {
        CapturingLogger text = new CapturingLogger();
        try (RecordingBackend b = RecordingBackend.start("b")) {
            proxy = Proxy.builder().accessLog(AccessLog.text(text))
                    .backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("[::1]:0").forwarded(true).defaultBackend("app"))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp("::1", proxy.port())) {
                assertThat(c.send("GET /six HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 2001:db8::7\r\n\r\n").read().status())
                        .isEqualTo(200);
                assertThat(b.last().header("x-forwarded-for")).isEqualTo("2001:db8::7, ::1");
                assertThat(b.last().header("x-real-ip")).isEqualTo("::1");
                assertThat(b.last().header("forwarded")).isEqualTo("for=\"[::1]\";host=\"h\";proto=http");
                assertThat(text.await(l -> l.contains("/six"))).startsWith("[::1]:" + c.socket.getLocalPort() + " [");
                // the same per-connection text for the next request on the connection
                c.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(b.last().header("x-forwarded-for")).isEqualTo("::1");
            }
        }
    }

    @Test
    void ofSeveralRequestIdFieldsTheFirstWithAValueIsForwardedReturnedAndLoggedAlone() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (RecordingBackend b = RecordingBackend.start("b")) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines)).backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response r = c.send("GET /two HTTP/1.1\r\nHost: h\r\nX-Request-ID: first\r\nAccept: */*\r\n"
                        + "x-request-id: second\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.headers().get("x-request-id")).containsExactly("first");
                assertThat(b.last().headers().getAll("x-request-id")).containsExactly("first");
                assertThat(lines.await(l -> l.contains(" /two HTTP/1.1\""))).contains("\"GET /two HTTP/1.1\" first ");

                // an empty field is no id: the first one with a value is kept
                r = c.send("GET /empty-first HTTP/1.1\r\nHost: h\r\nX-Request-ID:\r\nX-Request-ID: second\r\n"
                        + "X-Request-ID: third\r\n\r\n").read();
                assertThat(r.headers().get("x-request-id")).containsExactly("second");
                assertThat(b.last().headers().getAll("x-request-id")).containsExactly("second");
                assertThat(lines.await(l -> l.contains(" /empty-first HTTP/1.1\""))).contains("\"GET /empty-first HTTP/1.1\" second ");

                // no field with a value: one generated id replaces them all
                r = c.send("GET /all-empty HTTP/1.1\r\nHost: h\r\nX-Request-ID:\r\nX-Request-ID: \r\n\r\n").read();
                String id = r.header("x-request-id");
                assertThat(id).matches("[0-9a-f]{32}");
                assertThat(r.headers().get("x-request-id")).hasSize(1);
                assertThat(b.last().headers().getAll("x-request-id")).containsExactly(id);
                assertThat(lines.await(l -> l.contains(" /all-empty HTTP/1.1\""))).contains("\"GET /all-empty HTTP/1.1\" " + id + " ");
            }
        }
    }

    @Test
    void aClientCannotStripTheRequestIdWithConnectionAndRefusedHeadsGetOneToo() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /a HTTP/1.1\r\nHost: h\r\nConnection: X-Request-ID\r\n\r\n").read();
                assertThat(r.header("x-request-id")).matches("[0-9a-f]{32}");
                assertThat(b.last().header("x-request-id")).isEqualTo(r.header("x-request-id"));

                c.send("GET /b HTTP/1.1\r\nHost: h\r\nX-Request-ID: mine\r\nConnection: keep-alive, x-request-id\r\n\r\n").read();
                assertThat(b.last().header("x-request-id")).isEqualTo("mine");
            }
            // a head refused before it was forwarded, and one never completed, are answered with an id
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /c HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(400);
                assertThat(r.header("x-request-id")).matches("[0-9a-f]{32}");
            }
            assertThat(b.requests).hasSize(2);
        }
    }

    /**
     * A head refused by policy although whole and valid (a dot segment in its path) keeps the request id
     * the client sent, in its answer and its log line, as a forwarded request does; it got a generated
     * one, as a head that never became whole does. Without one it gets a generated id.
     */
    @Test
    void aWholeHeadRefusedForADotSegmentKeepsTheClientsRequestId() throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (RecordingBackend b = RecordingBackend.start("b")) {
            proxy = Proxy.builder().accessLog(AccessLog.text(lines)).backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response r = c.send("GET /a/../b HTTP/1.1\r\nHost: h\r\nX-Request-ID:\r\nX-Request-ID: mine\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(400);
                assertThat(r.headers().get("x-request-id")).containsExactly("mine");
            }
            assertThat(lines.await(l -> l.contains("/a/../b"))).contains("\"GET /a/../b HTTP/1.1\" mine ");
            try (RawHttp c = new RawHttp(proxy.port())) {
                RawHttp.Response r = c.send("GET /c/%2e%2e/d HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(400);
                assertThat(r.header("x-request-id")).matches("[0-9a-f]{32}");
            }
            assertThat(b.requests).isEmpty();
        }
    }

    @Test
    void emptyForwardedForFieldsAreDroppedBeforeTheClientAddressIsAppended() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For:\r\n\r\n").read();
                assertThat(b.last().header("x-forwarded-for")).isEqualTo("127.0.0.1");
                c.send("GET /b HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: \r\nX-Forwarded-For: 192.0.2.7\r\n\r\n").read();
                assertThat(b.last().header("x-forwarded-for")).isEqualTo("192.0.2.7, 127.0.0.1");
                c.send("GET /c HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.8\r\n\r\n").read();
                assertThat(b.last().header("x-forwarded-for")).isEqualTo("192.0.2.8, 127.0.0.1");
            }
        }
    }

    /**
     * A client's {@code Forwarded} that is valid RFC 7239 gets the proxy's element appended; one that
     * is not (an unclosed quoted string, a pair without a value, a space inside a token) is removed,
     * as HAProxy's {@code option forwarded} does not extend it: appended to an unclosed quote, the
     * proxy's element became part of the client's quoted string, and a server reading the last element
     * for the client address, the proxy's, found the address the client had written.
     */
    @Test
    void aClientsForwardedIsExtendedOnlyWhenItIsValid() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.forwarded(true));
            String ours = "for=127.0.0.1;host=\"h\";proto=http";
            try (RawHttp c = new RawHttp(port)) {
                for (String valid : List.of("for=192.0.2.1;proto=https", "for=\"[2001:db8::1]:4711\";by=_hidden, for=unknown",
                        "for=\"a\\\"b\", ,for=192.0.2.2")) {
                    assertThat(c.send("GET /ok HTTP/1.1\r\nHost: h\r\nForwarded: " + valid + "\r\n\r\n").read().status()).isEqualTo(200);
                    assertThat(b.last().headers().getAll("forwarded")).as(valid).containsExactly(valid + ", " + ours);
                }
                for (String invalid : List.of("for=192.0.2.1;host=\"evil", "for=", "for=a b", "for=1;=x", "for=\"x\"y", "for=x\\")) {
                    assertThat(c.send("GET /bad HTTP/1.1\r\nHost: h\r\nForwarded: " + invalid + "\r\n\r\n").read().status()).isEqualTo(200);
                    assertThat(b.last().headers().getAll("forwarded")).as(invalid).containsExactly(ours);
                }
                // one invalid field of several: none is kept, as they make one list
                c.send("GET /two HTTP/1.1\r\nHost: h\r\nForwarded: for=192.0.2.1\r\nForwarded: for=\"x\r\n\r\n").read();
                assertThat(b.last().headers().getAll("forwarded")).containsExactly(ours);
            }
        }
    }

    @Test
    void withRequestIdsAndForwardedHeadersOffTheRequestGoesOutAsTheClientSentIt() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()),
                    f -> f.requestIds(false).forwardedFor(false).rule(Rule.when(Acl.pathBegins("/deny")).deny(403)));
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /plain HTTP/1.1\r\nHost: example.com\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("x-request-id")).isNull();
                RecordingBackend.Recorded seen = b.last();
                for (String name : new String[] {"x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                        "x-forwarded-port", "x-real-ip"}) {
                    assertThat(seen.header(name)).as(name).isNull();
                }

                // a client's id is an ordinary header then: passed on as it is, not returned
                r = c.send("GET /given HTTP/1.1\r\nHost: example.com\r\nX-Request-ID: abc-123\r\n"
                        + "X-Forwarded-For: 192.0.2.7\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("x-request-id")).isNull();
                assertThat(b.last().header("x-request-id")).isEqualTo("abc-123");
                assertThat(b.last().header("x-forwarded-for")).isEqualTo("192.0.2.7");

                // the proxy's own answers carry no id either
                r = c.send("GET /deny HTTP/1.1\r\nHost: example.com\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(403);
                assertThat(r.header("x-request-id")).isNull();
            }
            assertThat(b.requests).hasSize(2);
        }
    }

    @Test
    void anAnswerBeforeTheEndOfAnUploadReachesTheClientAndTheRestIsDroppedUntilItCloses() throws Exception {
        try (RawBackend b = RawBackend.answeringAfterTheHead("HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\ndenied")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.clientTimeout(Duration.ofSeconds(10)));
            try (RawHttp c = new RawHttp(port)) {
                byte[] chunk = new byte[64 * 1024];
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + 16 * chunk.length + "\r\n\r\n");
                c.out.write(chunk);
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(401);
                assertThat(r.body()).isEqualTo("denied");
                // it says that the connection closes after it (RFC 9110, 10.1.1)
                assertThat(r.header("connection")).isEqualTo("close");
                // the client goes on with its upload: the proxy takes it in and drops it (closed at once,
                // its kernel would answer with resets, and a reset can take an unread response with it)
                uploadTheRestAndExpectTheFin(c, chunk);
            }
            Await.until(Duration.ofSeconds(10), "the client connection closed",
                    () -> proxy.metrics().frontend(proxy.frontends().get(0).name()).traffic().currentConnections() == 0);
        }
    }

    /**
     * The proxy's own 413 for a body that its {@code Content-Length} puts over the limit is an answer
     * before the end of an upload too: a client that sends its body without waiting for an answer
     * (no {@code Expect}) is still sending, and the connection lingers while it does, as it does after
     * a server's early answer. Closed at once, it answered the rest of the upload with resets, and a
     * client that finishes its upload before reading got a reset instead of the 413.
     */
    @Test
    void theProxysOwn413ByContentLengthLetsTheClientFinishItsUploadAndReadIt() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()),
                    f -> f.maxBodySize(1024).clientTimeout(Duration.ofSeconds(10)));
            try (RawHttp c = new RawHttp(port)) {
                byte[] chunk = new byte[64 * 1024];
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + 16 * chunk.length + "\r\n\r\n");
                for (int i = 0; i < 16; i++) {
                    c.out.write(chunk);
                }
                c.out.flush();
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(413);
                assertThat(r.header("connection")).isEqualTo("close");
                assertThat(c.in.read()).as("the end of the response is a FIN").isEqualTo(-1);
            }
            Await.until(Duration.ofSeconds(10), "the client connection closed",
                    () -> proxy.metrics().frontend(proxy.frontends().get(0).name()).traffic().currentConnections() == 0);
            assertThat(b.requests).isEmpty();
        }
    }

    /**
     * Sends the 15 chunks left of a 16-chunk upload after an early answer, which the proxy takes in and
     * drops while it lingers, and expects the FIN that ends the response.
     */
    private static void uploadTheRestAndExpectTheFin(RawHttp c, byte[] chunk) throws Exception {
        for (int i = 1; i < 16; i++) {
            c.out.write(chunk);
        }
        c.out.flush();
        assertThat(c.in.read()).as("the end of the response is a FIN").isEqualTo(-1);
    }

    /**
     * An early answer whose head reaches the proxy (and is relayed) before its end, while the upload
     * is still under way: its head says {@code Connection: close}, which before only an answer that
     * reached the proxy whole could say, and the connection closes after it, lingering while the
     * client finishes its upload.
     */
    @Test
    void anEarlyAnswerWhoseHeadStreamsDuringAnUploadSaysThatTheConnectionCloses() throws Exception {
        CountDownLatch rest = new CountDownLatch(1);
        try (RawBackend b = answeringInTwoPieces(false, false, rest)) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.clientTimeout(Duration.ofSeconds(10)));
            try (RawHttp c = new RawHttp(port)) {
                byte[] chunk = new byte[64 * 1024];
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + 16 * chunk.length + "\r\n\r\n");
                c.out.write(chunk);
                Map<String, String> head = streamingHead(c);
                assertThat(head).containsEntry("status", "HTTP/1.1 401 Unauthorized").containsEntry("connection", "close");
                rest.countDown();
                assertThat(c.readChunk()).isEqualTo("you");
                assertThat(c.readChunk()).isEmpty();
                assertThat(c.readLine()).isEmpty();
                uploadTheRestAndExpectTheFin(c, chunk);
            }
            Await.until(Duration.ofSeconds(10), "the client connection closed",
                    () -> proxy.metrics().frontend(proxy.frontends().get(0).name()).traffic().currentConnections() == 0);
        }
    }

    /**
     * The upload ends while the early answer streams (the server has read the whole body before it
     * sends the answer's end): the head said {@code Connection: close}, so the connection closes after
     * the response all the same, as RFC 9112 (9.6) has it.
     */
    @Test
    void anEarlyAnswerThatAnnouncedTheCloseClosesEvenWhenTheUploadEndsBeforeIt() throws Exception {
        CountDownLatch rest = new CountDownLatch(1);
        try (RawBackend b = answeringInTwoPieces(false, true, rest)) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.clientTimeout(Duration.ofSeconds(10)));
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
                assertThat(streamingHead(c)).containsEntry("connection", "close");
                c.send("56789");
                rest.countDown();
                assertThat(c.readChunk()).isEqualTo("you");
                assertThat(c.readChunk()).isEmpty();
                assertThat(c.readLine()).isEmpty();
                assertThat(c.in.read()).as("the end of the response is a FIN").isEqualTo(-1);
            }
        }
    }

    /** An answer whose head streams after the whole request arrived leaves the connection open for the next request. */
    @Test
    void anAnswerWhoseHeadStreamsAfterTheWholeUploadKeepsTheConnection() throws Exception {
        CountDownLatch rest = new CountDownLatch(1);
        try (RawBackend b = answeringInTwoPieces(true, false, rest)) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.clientTimeout(Duration.ofSeconds(10)));
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789");
                assertThat(streamingHead(c)).doesNotContainKey("connection");
                rest.countDown();
                assertThat(c.readChunk()).isEqualTo("you");
                assertThat(c.readChunk()).isEmpty();
                assertThat(c.readLine()).isEmpty();
                RawHttp.Response next = c.send("POST /again HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok").read();
                assertThat(next.status()).isEqualTo(401);
                assertThat(next.body()).isEqualTo("deny you");
            }
        }
    }

    /**
     * A server that answers each request with a chunked 401 in two parts: its head and a first chunk
     * ({@code deny }) as soon as the request head is in, or after the whole body when
     * {@code bodyBeforeHead}; the rest once {@code rest} is counted down, after reading the whole body
     * first when {@code bodyBeforeRest}. With neither, it drops what else comes after the answer.
     */
    private static RawBackend answeringInTwoPieces(boolean bodyBeforeHead, boolean bodyBeforeRest, CountDownLatch rest)
            throws java.io.IOException {
        return new RawBackend((s, n) -> {
            java.io.InputStream in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                String lower = head.toLowerCase(java.util.Locale.ROOT);
                int at = lower.indexOf("content-length: ") + 16;
                int length = Integer.parseInt(lower.substring(at, lower.indexOf('\r', at)));
                if (bodyBeforeHead) {
                    in.readNBytes(length);
                }
                RawBackend.write(s, "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndeny \r\n");
                if (bodyBeforeRest) {
                    in.readNBytes(length);
                }
                try {
                    rest.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                RawBackend.write(s, "3\r\nyou\r\n0\r\n\r\n");
                if (!bodyBeforeHead && !bodyBeforeRest) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                    return;
                }
            }
        });
    }

    /**
     * Reads a response head and the first chunk of its body ({@code deny }) while the server holds the
     * rest: the head's fields by lower-case name, its status line as {@code status}.
     */
    private static Map<String, String> streamingHead(RawHttp c) throws java.io.IOException {
        Map<String, String> head = new java.util.HashMap<>();
        head.put("status", c.readLine());
        String line;
        while (!(line = c.readLine()).isEmpty()) {
            int colon = line.indexOf(':');
            head.put(line.substring(0, colon).toLowerCase(java.util.Locale.ROOT), line.substring(colon + 1).trim());
        }
        assertThat(c.readChunk()).isEqualTo("deny ");
        return head;
    }

    @Test
    void aFinalAnswerToAnExpectContinueSaysThatTheConnectionCloses() throws Exception {
        try (RawBackend b = RawBackend.answeringAfterTheHead("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.clientTimeout(Duration.ofSeconds(10)));
            try (RawHttp c = new RawHttp(port)) {
                // a client that waits for 100 Continue before its body, and may not send it after a 417:
                // unless told the connection closes, it would take its next request for the body's bytes
                RawHttp.Response r = c.send("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(417);
                assertThat(r.header("connection")).isEqualTo("close");
                assertThat(c.in.read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void aConnectionLingeringAfterAnEarlyAnswerEndsAtTheClientTimeout() throws Exception {
        try (RawBackend b = RawBackend.answeringAfterTheHead("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> f.clientTimeout(Duration.ofMillis(300)));
            try (RawHttp c = new RawHttp(port)) {
                c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\npart");
                assertThat(c.read().status()).isEqualTo(413);
                assertThat(c.in.read()).isEqualTo(-1);
                // the client neither sends the rest nor closes: the proxy does, after the client timeout
                Await.until(Duration.ofSeconds(10), "the lingering connection closed",
                        () -> proxy.metrics().frontend(proxy.frontends().get(0).name()).traffic().currentConnections() == 0);
            }
        }
    }

    @Test
    void interimResponsesAreRelayedBeforeTheFinalOne() throws Exception {
        try (RawBackend b = new RawBackend((s, n) -> {
            var in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            int ch;
            while ((ch = in.read()) >= 0) {
                head.append((char) ch);
                if (head.toString().endsWith("\r\n\r\n")) {
                    RawBackend.write(s, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                            + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
                    head.setLength(0);
                }
            }
        })) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                c.send("GET /hints HTTP/1.1\r\nHost: h\r\n\r\n");
                RawHttp.Response early = c.read();
                assertThat(early.status()).isEqualTo(103);
                assertThat(early.header("link")).isEqualTo("</style.css>; rel=preload");
                RawHttp.Response r = c.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("done");
                // the connection is still in sync
                c.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(103);
                assertThat(c.read().body()).isEqualTo("done");
            }
        }
    }

    @Test
    void anHttp10ClientGetsNoInterimResponsesAndItsExpectationIsNotPassedOn() throws Exception {
        List<String> heads = new CopyOnWriteArrayList<>();
        try (RawBackend b = new RawBackend((s, n) -> {
            var in = s.getInputStream();
            String head;
            while ((head = RawBackend.nextHead(in)) != null) {
                heads.add(head);
                String interim = head.contains("Expect: 100-continue") ? "HTTP/1.1 100 Continue\r\n\r\n" : "";
                RawBackend.write(s, interim + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
            }
        })) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /hints HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n"
                        + "Expect: 100-continue\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("done");
                c.send("GET /again HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
                assertThat(c.read().status()).isEqualTo(200);
            }
            assertThat(heads).hasSize(2).noneMatch(h -> h.contains("Expect"));
        }
    }

    @Test
    void anUpgradeInAnHttp10RequestIsIgnored() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /ws HTTP/1.0\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
            }
            assertThat(b.last().header("upgrade")).isNull();
            assertThat(b.last().header("connection")).isNull();
        }
    }

    @Test
    void onlyTheWebSocketUpgradeIsPassedOnNotH2cOfferedBesideIt() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                        + "Upgrade: h2c, WebSocket\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                r = c.send("GET /h2c HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                        + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n").read();
                assertThat(r.status()).as("answered, not upgraded").isEqualTo(200);
            }
            RecordingBackend.Recorded ws = b.requests.get(0);
            assertThat(ws.headers().getAll("upgrade")).containsExactly("websocket");
            assertThat(ws.header("connection")).isEqualTo("upgrade");
            assertThat(ws.header("http2-settings")).isNull();
            RecordingBackend.Recorded h2c = b.requests.get(1);
            assertThat(h2c.header("upgrade")).isNull();
            assertThat(h2c.header("connection")).isNull();
            assertThat(h2c.header("http2-settings")).isNull();
        }
    }

    /**
     * An HTTP/1.0 request without Host goes to the server as HTTP/1.0, which asks it to close the
     * connection after its answer; many servers then answer in HTTP/1.1 without saying
     * {@code Connection: close} (Python's http.server), so the proxy must not take their silence for
     * keep-alive and send the next request on a connection that is closing. One that says
     * {@code keep-alive} keeps it.
     */
    @Test
    void aServerConnectionThatCarriedAnHttp10RequestIsReusedOnlyWhenTheServerSaidKeepAlive() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> RecordingBackend.ok(ctx, "b:" + r.uri(),
                r.uri().equals("/kept") ? Map.of("Connection", "keep-alive") : Map.of()))) {
            proxy = Proxy.builder().ioThreads(1).backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app")).build();
            proxy.start();
            for (String request : new String[] {"GET /old HTTP/1.0\r\n\r\n", "POST /next HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
                    "GET /kept HTTP/1.0\r\n\r\n", "POST /after HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx"}) {
                try (RawHttp c = new RawHttp(proxy.port())) {
                    assertThat(c.send(request).read().status()).isEqualTo(200);
                }
            }
            assertThat(b.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/old", "/next", "/kept", "/after");
            assertThat(b.requests.get(0).version()).isEqualTo(HttpVersion.HTTP_1_0);
            assertThat(b.requests.get(1).connection()).as("a new connection after the HTTP/1.0 request")
                    .isNotEqualTo(b.requests.get(0).connection());
            assertThat(b.requests.get(2).connection()).isEqualTo(b.requests.get(1).connection());
            assertThat(b.requests.get(3).connection()).as("kept alive by the server's word")
                    .isEqualTo(b.requests.get(2).connection());
        }
    }

    @Test
    void connectIsNotImplementedAndTheConnectionCloses() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(501);
                assertThat(r.header("x-request-id")).matches("[0-9a-f]{32}");
                assertThat(c.closedByPeer()).isTrue();
            }
            try (RawHttp c = new RawHttp(port)) {
                assertThat(c.send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
            }
            assertThat(b.requests).hasSize(1);
            assertThat(b.last().uri()).isEqualTo("/after");
        }
    }

    @Test
    void aResponseWithoutDateGetsOneFromTheProxysClock() throws Exception {
        ManualClock clock = new ManualClock(1_893_553_445_600L); // 2030-01-02T03:04:05.600Z
        try (RawBackend b = new RawBackend((s, n) -> {
            String head;
            while ((head = RawBackend.nextHead(s.getInputStream())) != null) {
                RawBackend.write(s, head.startsWith("GET /dated ")
                        ? "HTTP/1.1 200 OK\r\nDate: Tue, 01 Jan 2030 00:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        })) {
            proxy = Proxy.builder().clock(clock).backend(Backend.named("app").server("s1", b.address()))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app").rule(Rule.when(Acl.pathBegins("/deny")).deny(403)))
                    .build();
            proxy.start();
            try (RawHttp c = new RawHttp(proxy.port())) {
                // RFC 9110 (6.6.1): a recipient with a clock adds the Date a response lacks, as Envoy does
                assertThat(c.send("GET /undated HTTP/1.1\r\nHost: h\r\n\r\n").read().header("date"))
                        .isEqualTo("Wed, 02 Jan 2030 03:04:05 GMT");
                clock.advance(Duration.ofMillis(400));
                assertThat(c.send("GET /undated HTTP/1.1\r\nHost: h\r\n\r\n").read().header("date"))
                        .isEqualTo("Wed, 02 Jan 2030 03:04:06 GMT");
                // a server's own is kept
                RawHttp.Response dated = c.send("GET /dated HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(dated.headers().get("date")).containsExactly("Tue, 01 Jan 2030 00:00:00 GMT");
                // and the proxy's own answers have one too (it is their origin server)
                RawHttp.Response denied = c.send("GET /deny HTTP/1.1\r\nHost: h\r\n\r\n").read();
                assertThat(denied.status()).isEqualTo(403);
                assertThat(denied.header("date")).isEqualTo("Wed, 02 Jan 2030 03:04:06 GMT");
            }
        }
    }

    @Test
    void absoluteFormTargetsBecomeOriginFormWithTheirAuthorityAsHost() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b")) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET http://example.org:8080/path?q=1 HTTP/1.1\r\nHost: other\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
            }
            assertThat(b.last().uri()).isEqualTo("/path?q=1");
            assertThat(b.last().header("host")).isEqualTo("example.org:8080");
            // OPTIONS of a URI without path or query is about the server: asterisk form (RFC 9112 3.2.4)
            try (RawHttp c = new RawHttp(port)) {
                assertThat(c.send("OPTIONS http://example.org:8080 HTTP/1.1\r\nHost: other\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(b.last().uri()).isEqualTo("*");
                assertThat(b.last().header("host")).isEqualTo("example.org:8080");
                assertThat(c.send("OPTIONS http://example.org?q HTTP/1.1\r\nHost: other\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(b.last().uri()).isEqualTo("/?q");
                assertThat(c.send("GET http://example.org HTTP/1.1\r\nHost: other\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(b.last().uri()).isEqualTo("/");
            }
        }
    }

    @Test
    void http10ClientGetsAChunkedBodyRawAndTheConnectionClosed() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> {
            DefaultHttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            res.headers().set("Transfer-Encoding", "chunked");
            ctx.write(res);
            ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("abc", StandardCharsets.US_ASCII)));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        })) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            try (RawHttp c = new RawHttp(port)) {
                RawHttp.Response r = c.send("GET /old HTTP/1.0\r\nHost: h\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("transfer-encoding")).isNull();
                assertThat(r.body()).isEqualTo("abc");
            }
            assertThat(b.last().version()).isEqualTo(HttpVersion.HTTP_1_1);
        }
    }

    @Test
    void postBodiesReachTheServerWithTheJdkClient() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b", (r, ctx) -> RecordingBackend.ok(ctx, "got " + r.bodyBytes(), Map.of()))) {
            int port = start(Backend.named("app").server("s1", b.address()), f -> { });
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String body = "x".repeat(200_000);
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/post"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("got 200000");
            assertThat(b.last().method()).isEqualTo("POST");
        }
    }
}
