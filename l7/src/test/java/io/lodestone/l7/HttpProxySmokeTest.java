package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class HttpProxySmokeTest {

    @Test
    void forwardsAGet() throws Exception {
        try (RecordingBackend b = RecordingBackend.start("b1");
             Proxy proxy = Proxy.builder()
                     .backend(Backend.named("app").server("s1", b.address()))
                     .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                     .build()) {
            proxy.start();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/hello?x=1")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("b1:/hello?x=1");
            assertThat(b.last().method()).isEqualTo("GET");
            assertThat(b.last().uri()).isEqualTo("/hello?x=1");
        }
    }
}
