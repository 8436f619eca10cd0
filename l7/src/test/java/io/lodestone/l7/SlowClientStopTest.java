package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Proxy#close(Duration)} with a client that has stopped reading its response and keeps its
 * socket open: the close returns soon after its drain timeout, whatever the protocol. On io_uring an
 * HTTP/2 client over TLS held it for ever (the HTTP/2 codec's close waited for streams that had
 * ended without telling it), and an HTTP/1.1 client over TLS held it 3 s past the drain timeout (the
 * TLS handler's wait for its {@code close_notify} to leave the full socket).
 */
class SlowClientStopTest {

    private static final Duration DRAIN = Duration.ofMillis(300);
    /** The close's bound: the drain and ample room, under the 3 s of the TLS handler's wait. */
    private static final Duration CLOSED_WITHIN = Duration.ofMillis(2500);
    /** How many times the race of {@link #aClientThatResetsInTheDrainIsNotTakenForAServerFailure} runs. */
    private static final int RESET_RUNS = 10;

    /** The client, and how it reaches the state where the proxy cannot send it more. */
    enum Client {
        HTTP2_TLS_JDK(TlsProvider.JDK, true),
        HTTP2_TLS_OPENSSL(TlsProvider.OPENSSL, true),
        HTTP2_PLAIN(null, true),
        HTTP1_TLS_JDK(TlsProvider.JDK, false),
        HTTP1_TLS_OPENSSL(TlsProvider.OPENSSL, false),
        HTTP1_PLAIN(null, false);

        final TlsProvider provider;
        final boolean http2;

        Client(TlsProvider provider, boolean http2) {
            this.provider = provider;
            this.http2 = http2;
        }
    }

    private final CapturingLogger lines = new CapturingLogger();
    private final AtomicLong written = new AtomicLong();
    private final AtomicInteger ended = new AtomicInteger();
    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(DRAIN);
        }
    }

    /** Answers every request with a body of 1 GiB, counting the bytes its socket took. */
    private RawBackend endlessServer() throws IOException {
        return new RawBackend((s, n) -> {
            try {
                if (RawBackend.nextHead(s.getInputStream()) == null) {
                    return;
                }
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                byte[] chunk = new byte[16384];
                for (long sent = 0; sent < 1L << 30; sent += chunk.length) {
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
            } finally {
                ended.incrementAndGet();
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Client.class)
    void theCloseReturnsSoonAfterItsDrainTimeoutThoughAClientDoesNotRead(Client client) throws Exception {
        X509Bundle ca = TlsPki.ca();
        HttpFrontend.Builder frontend = HttpFrontend.bind("127.0.0.1:0").name("web").clientTimeout(Duration.ofHours(1)).defaultBackend("app");
        if (client.provider != null) {
            X509Bundle cert = TlsPki.server(ca, "h");
            frontend.tls(ServerTls.builder().provider(client.provider).alpn(client.http2 ? "h2" : "http/1.1")
                    .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), Arrays.asList(cert.getCertificatePath())))
                    .build());
        } else if (client.http2) {
            frontend.h2c(true);
        }
        try (RawBackend b = endlessServer()) {
            // neither timeout can end the exchanges within the test: only the proxy's stop can
            proxy = Proxy.builder().accessLog(AccessLog.text(lines))
                    .backend(Backend.named("app").server("s1", b.address()).serverTimeout(Duration.ofHours(1)))
                    .frontend(frontend)
                    .build();
            proxy.start();
            try (Socket tcp = new Socket()) {
                tcp.setReceiveBufferSize(8192);
                tcp.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
                tcp.setSoTimeout(5000);
                Socket socket = tcp;
                if (client.provider != null) {
                    SSLSocket tls = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(tcp, "127.0.0.1", proxy.port(), false);
                    SSLParameters params = tls.getSSLParameters();
                    params.setApplicationProtocols(new String[] {client.http2 ? "h2" : "http/1.1"});
                    tls.setSSLParameters(params);
                    tls.startHandshake();
                    socket = tls;
                }
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                int exchanges;
                if (client.http2) {
                    Http2SlowClientTest.twoStalledStreams(in, out);
                    exchanges = 2;
                } else {
                    out.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    assertThat(in.read(new byte[1024])).as("the response began").isPositive();
                    exchanges = 1;
                }
                awaitServerStalled();

                Proxy stopping = proxy;
                proxy = null;
                long start = System.nanoTime();
                CompletableFuture.runAsync(() -> stopping.close(DRAIN)).get(10, TimeUnit.SECONDS);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(took).as("close(%s) took", DRAIN).isGreaterThanOrEqualTo(DRAIN).isLessThan(CLOSED_WITHIN);

                Await.until(Duration.ofSeconds(10), "the server connections closed", () -> ended.get() == exchanges);
                // cut by the stop: K, and no error anywhere; the failed writes after the close made it CD, a reset error
                assertThat(lines.awaitCount(exchanges)).allSatisfy(line -> assertThat(line).contains(" KD \"GET / HTTP/"));
                assertThat(stopping.metrics().frontend("web").traffic().errors().total()).as("the frontend's errors").isZero();
                assertThat(stopping.metrics().backend("app").server("s1").traffic().errors().total()).as("the server's errors").isZero();
            }
        }
    }

    /**
     * An HTTP/2 client over TLS that resets its connection in the drain, a request still waiting for
     * its response: the drain ends with it and the proxy closes the server connection, which the
     * request's stream can hear of before its client's end (a turn later). It is the client's abort
     * ({@code CH}), not the server's failure: it was taken for one now and then on NIO (a 502, {@code SH},
     * a reset counted on the server, in 1 of 3 runs). The race is run {@value #RESET_RUNS} times.
     */
    @Test
    void aClientThatResetsInTheDrainIsNotTakenForAServerFailure() throws Exception {
        X509Bundle ca = TlsPki.ca();
        X509Bundle cert = TlsPki.server(ca, "h");
        for (int run = 0; run < RESET_RUNS; run++) {
            CapturingLogger log = new CapturingLogger();
            CompletableFuture<Void> release = new CompletableFuture<>();
            RecordingBackend.Responder held = (r, ctx) -> release.thenRun(() -> ctx.executor().execute(() -> RecordingBackend.ok(ctx, "late", Map.of())));
            try (RecordingBackend b = RecordingBackend.start("b1", held)) {
                Proxy stopping = Proxy.builder().accessLog(AccessLog.text(log))
                        .backend(Backend.named("app").server("s1", b.address()).serverTimeout(Duration.ofHours(1)))
                        .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app")
                                .tls(ServerTls.builder().provider(TlsProvider.JDK).alpn("h2")
                                        .certificate(TlsCertificate.of(cert.getKeyPair().getPrivate(), Arrays.asList(cert.getCertificatePath())))
                                        .build()))
                        .build();
                stopping.start();
                try (Socket tcp = new Socket(InetAddress.getLoopbackAddress(), stopping.port())) {
                    SSLSocket tls = (SSLSocket) TlsPki.clientContext(ca).getSocketFactory().createSocket(tcp, "127.0.0.1", stopping.port(), false);
                    SSLParameters params = tls.getSSLParameters();
                    params.setApplicationProtocols(new String[] {"h2"});
                    tls.setSSLParameters(params);
                    tls.setSoTimeout(5000);
                    tls.startHandshake();
                    OutputStream out = tls.getOutputStream();
                    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.write(Http2Test.frame(0, 4, 0, new byte[0]));
                    out.write(Http2Test.headers(1, true));
                    out.flush();
                    Await.until("the request to reach the server", () -> b.requests.size() == 1);

                    CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> stopping.close(Duration.ofSeconds(30)));
                    assertThat(Http2Test.readUntilFrame(tls.getInputStream(), 7, 0)).as("a GOAWAY").isTrue();
                    tcp.setSoLinger(true, 0);
                    tcp.close();
                    closing.get(10, TimeUnit.SECONDS);
                }
                assertThat(log.awaitCount(1)).as("run %d", run).singleElement().asString().contains(" CH \"GET / HTTP/2.0\"");
                assertThat(stopping.metrics().backend("app").server("s1").traffic().errors().total()).as("the server's errors, run %d", run).isZero();
            } finally {
                release.complete(null);
            }
        }
    }

    /** Waits until the server's socket has taken nothing more for 100 polls: the proxy stopped reading it. */
    private void awaitServerStalled() {
        long[] last = {-1};
        int[] still = {0};
        Await.until(Duration.ofSeconds(10), "the server's writes stalled", () -> {
            long now = written.get();
            still[0] = now == last[0] ? still[0] + 1 : 0;
            last[0] = now;
            return still[0] >= 100;
        });
    }
}
