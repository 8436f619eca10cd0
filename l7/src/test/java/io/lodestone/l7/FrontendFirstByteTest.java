package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.metrics.TrafficSnapshot;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A frontend's first-byte time has one sample per request that the client got an answer to, also
 * when the server's response head arrived but the client got the proxy's 502 instead.
 */
class FrontendFirstByteTest {

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private Proxy proxy;

    @AfterEach
    void close() {
        if (proxy != null) {
            proxy.close(Duration.ofMillis(300));
        }
    }

    private TrafficSnapshot oneRequestAnswered502(String serverResponse) throws Exception {
        try (RawBackend b = RawBackend.answeringAfterTheHead(serverResponse)) {
            proxy = Proxy.builder()
                    .backend(Backend.named("app").server("s1", b.address()).retries(0))
                    .frontend(HttpFrontend.bind("127.0.0.1:0").name("web").defaultBackend("app"))
                    .build();
            proxy.start();
            HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/x"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(502);
            io.lodestone.core.testing.Await.until("the request is accounted",
                    () -> proxy.metrics().frontend("web").traffic().totalTime().count() == 1);
            return proxy.metrics().frontend("web").traffic();
        }
    }

    @Test
    void anInvalidResponseHeadAnswered502IsOneSample() throws Exception {
        TrafficSnapshot web = oneRequestAnswered502("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx");
        assertThat(web.firstByteTime().count()).as("first-byte samples of one request").isEqualTo(1);
    }

    @Test
    void aSwitchNobodyAskedForAnswered502IsOneSample() throws Exception {
        TrafficSnapshot web = oneRequestAnswered502("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        assertThat(web.firstByteTime().count()).as("first-byte samples of one request").isEqualTo(1);
    }
}
