package io.lodestone.examples.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.examples.Http;
import io.lodestone.examples.support.EmbeddedHttpServer.Reply;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmbeddedHttpServerTest {

    @Test
    void answersHelloWithItsNameAndTheRequestTarget() throws Exception {
        try (EmbeddedHttpServer s = EmbeddedHttpServer.start("web1", "127.0.0.1", 0)) {
            HttpResponse<String> response = Http.get("http://" + s.hostPort() + "/a/b?c=d");
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello from web1: GET /a/b?c=d\n");
            assertThat(response.headers().firstValue("content-type")).hasValue("text/plain; charset=utf-8");
            assertThat(response.headers().firstValue(EmbeddedHttpServer.SERVED_BY)).hasValue("web1");
            assertThat(s.requests()).isEqualTo(1);
        }
    }

    @Test
    void keepsTheConnectionAliveForSeveralRequests() throws Exception {
        try (EmbeddedHttpServer s = EmbeddedHttpServer.start("web1", "127.0.0.1", 0);
                Socket c = new Socket("127.0.0.1", s.port())) {
            c.setSoTimeout(5000);
            OutputStream out = c.getOutputStream();
            BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII));
            for (int i = 0; i < 3; i++) {
                out.write(("GET /r" + i + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
                int length = -1;
                for (String line = in.readLine(); !line.isEmpty(); line = in.readLine()) {
                    if (line.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring(15).trim());
                    }
                }
                char[] body = new char[length];
                int read = 0;
                while (read < length) {
                    read += in.read(body, read, length - read);
                }
                assertThat(new String(body)).isEqualTo("hello from web1: GET /r" + i + "\n");
            }
            assertThat(s.requests()).isEqualTo(3);
        }
    }

    @Test
    void answersFromItsHandlerAndTurnsAFailureInto500() throws Exception {
        List<String> seen = new ArrayList<>();
        try (EmbeddedHttpServer s = EmbeddedHttpServer.start("api", "127.0.0.1", 0, request -> {
            seen.add(request.method() + " " + request.uri() + " " + request.header("connection"));
            if (request.uri().equals("/fail")) {
                throw new IllegalStateException("boom");
            }
            return Reply.text(201, "created by " + request.serverName());
        })) {
            HttpResponse<String> created = Http.get("http://" + s.hostPort() + "/make");
            assertThat(created.statusCode()).isEqualTo(201);
            assertThat(created.body()).isEqualTo("created by api");
            HttpResponse<String> failed = Http.get("http://" + s.hostPort() + "/fail");
            assertThat(failed.statusCode()).isEqualTo(500);
            assertThat(failed.body()).contains("boom");
            assertThat(seen).containsExactly("GET /make close", "GET /fail close");
        }
    }

    @Test
    void closeStopsListening() {
        EmbeddedHttpServer s = EmbeddedHttpServer.start("web1", "127.0.0.1", 0);
        int port = s.port();
        s.close();
        Http.assertRefused(port);
    }

    @Test
    void aPortInUseFailsToStart() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(() -> EmbeddedHttpServer.start("web1", "127.0.0.1", taken.getLocalPort()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("web1: cannot listen on ");
        }
    }

    @Test
    void rejectsABadReply() {
        assertThatThrownBy(() -> Reply.text(42, "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("status: 42 (expected: 100..999)");
    }
}
