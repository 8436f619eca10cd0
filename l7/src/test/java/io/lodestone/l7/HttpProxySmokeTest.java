package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
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

    @Test
    void forwardsToAnIpv6ServerAndAnIpv4ServerOfOneBackend() throws Exception {
        // each server connection gets a socket of its server's address family
        try (RecordingBackend v6 = RecordingBackend.startOn("::1", "v6");
             RecordingBackend v4 = RecordingBackend.start("v4");
             Proxy proxy = Proxy.builder()
                     .backend(Backend.named("app").server("s6", "[::1]:" + v6.port()).server("s4", v4.address()))
                     .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                     .build()) {
            proxy.start();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            Set<String> bodies = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/x")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                bodies.add(r.body());
            }
            assertThat(bodies).containsExactlyInAnyOrder("v6:/x", "v4:/x");
            assertThat(v6.requests).hasSize(2);
            assertThat(v4.requests).hasSize(2);
        }
    }

    @Test
    void forwardsToAServerGivenByHostName() throws Exception {
        // the name is looked up off the event loop (OffLoopResolver), then connected on it
        try (RecordingBackend b = RecordingBackend.start("named");
             Proxy proxy = Proxy.builder()
                     .backend(Backend.named("app").server("s1", "localhost:" + b.port()))
                     .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("app"))
                     .build()) {
            proxy.start();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/n" + i)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("named:/n" + i);
            }
            assertThat(b.requests).hasSize(3);
        }
    }
}
