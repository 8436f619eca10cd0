package io.lodestone.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.ServerControl;
import io.lodestone.examples.Http;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DemoTest {

    @Test
    void answersThroughTheGatewayRoundRobin() throws Exception {
        int port;
        try (Demo demo = Demo.start(0)) {
            port = demo.port();
            assertThat(port).isPositive();
            assertThat(demo.url()).isEqualTo("http://127.0.0.1:" + port + "/");

            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                HttpResponse<String> response = Http.get(demo.url());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).matches("hello from backend-[12]: GET /\n");
                servedBy.add(response.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow());
            }
            // round robin over two servers of equal weight: strictly alternating, one connection per request
            for (int i = 1; i < servedBy.size(); i++) {
                assertThat(servedBy.get(i)).as("request %d of %s", i, servedBy).isNotEqualTo(servedBy.get(i - 1));
            }
            assertThat(demo.servers()).extracting(EmbeddedHttpServer::requests).containsExactly(3L, 3L);
        }
        Http.assertRefused(port);
    }

    @Test
    void aDrainedBackendGetsNoNewConnections() throws Exception {
        try (Demo demo = Demo.start(0)) {
            ServerControl first = demo.proxy().control().server(Demo.BACKEND, "backend-1");
            first.drain();
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> response = Http.get(demo.url() + "drained");
                assertThat(response.headers().firstValue(EmbeddedHttpServer.SERVED_BY)).hasValue("backend-2");
            }
            first.ready();
            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                servedBy.add(Http.get(demo.url()).headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow());
            }
            assertThat(servedBy).contains("backend-1");
        }
    }

    @Test
    void printsTheCurlLinesToTry() {
        try (Demo demo = Demo.start(0)) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            demo.printIntro(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            String intro = bytes.toString(StandardCharsets.UTF_8);
            assertThat(intro)
                    .startsWith("Lodestone demo: a gateway on 127.0.0.1:" + demo.port())
                    .contains("backend-1 on " + demo.servers().get(0).hostPort())
                    .contains("backend-2 on " + demo.servers().get(1).hostPort())
                    .contains("  curl http://127.0.0.1:" + demo.port() + "/\n  curl http://127.0.0.1:" + demo.port() + "/\n")
                    .contains("Ctrl-C");
        }
    }

    @Test
    void rejectsAPortOutOfRange() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Demo.start(65536))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("port: 65536 (expected: 0..65535)");
    }
}
