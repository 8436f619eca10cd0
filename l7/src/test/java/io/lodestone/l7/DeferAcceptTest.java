package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.testing.Await;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@link HttpFrontend.Builder#deferAccept}: the kernel hands a connection to the proxy only once its
 * client has sent data. A silent client that connected before a served one is still unseen by the
 * proxy when the served one has its answer; without the setting the proxy, with one event loop,
 * accepts connections in the order they came. NIO has no such option and accepts both.
 */
class DeferAcceptTest {

    private static Proxy.Builder proxy(RecordingBackend backend, boolean deferAccept) {
        return Proxy.builder().ioThreads(1)
                .backend(Backend.named("app").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app").deferAccept(deferAccept));
    }

    private static long open(Proxy proxy) {
        return proxy.metrics().frontend("web").traffic().currentConnections();
    }

    @Test
    void aSilentClientIsNotAcceptedUntilItSendsItsRequest() throws Exception {
        boolean deferred = Transport.best() != Transport.NIO;
        try (RecordingBackend backend = RecordingBackend.start("app"); Proxy proxy = proxy(backend, true).build()) {
            proxy.start();
            try (Socket silent = new Socket("127.0.0.1", proxy.port())) {
                silent.setSoTimeout(10_000);
                try (RawHttp served = new RawHttp(proxy.port())) {
                    assertThat(served.send("GET /served HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                    // the served client's connection is open and counted; the silent one only without deferral
                    assertThat(open(proxy)).isEqualTo(deferred ? 1 : 2);
                }
                silent.getOutputStream().write("GET /late HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.ISO_8859_1));
                String answer = new String(silent.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertThat(answer).startsWith("HTTP/1.1 200 ").endsWith("app:/late");
            }
            assertThat(backend.requests).extracting(RecordingBackend.Recorded::uri).containsExactly("/served", "/late");
        }
    }

    @Test
    void withoutItTheSilentClientIsAcceptedFirst() throws Exception {
        try (RecordingBackend backend = RecordingBackend.start("app"); Proxy proxy = proxy(backend, false).build()) {
            proxy.start();
            try (Socket silent = new Socket("127.0.0.1", proxy.port());
                 RawHttp served = new RawHttp(proxy.port())) {
                assertThat(served.send("GET /served HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(open(proxy)).isEqualTo(2);
            }
        }
    }

    @Test
    void aReconfigurationThatKeepsTheSocketsAppliesAChangedSetting() throws Exception {
        boolean deferred = Transport.best() != Transport.NIO;
        try (RecordingBackend backend = RecordingBackend.start("app"); Proxy proxy = proxy(backend, false).build()) {
            proxy.start();
            int port = proxy.port();
            proxy.reconfigure(proxy(backend, true));
            assertThat(proxy.port()).isEqualTo(port);
            try (Socket silent = new Socket("127.0.0.1", port); RawHttp served = new RawHttp(port)) {
                assertThat(served.send("GET /served HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(open(proxy)).isEqualTo(deferred ? 1 : 2);
            }
            // the closed silent client reaches the proxy with its FIN, which is data enough to be accepted
            Await.until("the first clients gone", () -> open(proxy) == 0);
            proxy.reconfigure(proxy(backend, false));
            try (Socket silent = new Socket("127.0.0.1", port); RawHttp served = new RawHttp(port)) {
                assertThat(served.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
                assertThat(open(proxy)).isEqualTo(2);
            }
        }
    }
}
