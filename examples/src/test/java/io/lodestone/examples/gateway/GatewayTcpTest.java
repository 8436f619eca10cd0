package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.testing.RefusingPort;
import io.lodestone.examples.Http;
import io.lodestone.examples.MainRunner;
import io.lodestone.examples.support.EmbeddedHttpServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GatewayTcpTest {

    private static EmbeddedHttpServer one;
    private static EmbeddedHttpServer two;

    @BeforeAll
    static void startBackends() {
        one = EmbeddedHttpServer.start("one", "127.0.0.1", 0);
        two = EmbeddedHttpServer.start("two", "127.0.0.1", 0);
    }

    @AfterAll
    static void stopBackends() {
        one.close();
        two.close();
    }

    @Test
    void relaysToBothBackendsRoundRobinAndClosesOnStop() throws Exception {
        int port;
        try (MainRunner r = MainRunner.start("gateway", "--mode", "tcp", "--listen", "127.0.0.1:0",
                "--backend", one.hostPort() + "," + two.hostPort(), "--timeout-connect=1s")) {
            port = r.awaitPort("gateway: listening on ");
            assertThat(r.out()).isEqualTo("gateway: listening on 127.0.0.1:" + port + " (tcp, roundrobin) -> s1 "
                    + one.hostPort() + ", s2 " + two.hostPort() + "\n");

            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                HttpResponse<String> response = Http.get("http://127.0.0.1:" + port + "/path/" + i + "?q=" + i);
                assertThat(response.statusCode()).isEqualTo(200);
                String server = response.headers().firstValue(EmbeddedHttpServer.SERVED_BY).orElseThrow();
                assertThat(response.body()).isEqualTo("hello from " + server + ": GET /path/" + i + "?q=" + i + "\n");
                servedBy.add(server);
            }
            assertThat(servedBy).containsOnly("one", "two");
            for (int i = 1; i < servedBy.size(); i++) {
                assertThat(servedBy.get(i)).as("request %d of %s", i, servedBy).isNotEqualTo(servedBy.get(i - 1));
            }

            assertThat(r.stop()).isZero();
        }
        Http.assertRefused(port);
    }

    @Test
    void failsOverToTheOtherBackendWhenOneRefuses() throws Exception {
        try (MainRunner r = MainRunner.start("gateway", "--listen", "127.0.0.1:0",
                "--backend", RefusingPort.address(), "--backend", one.hostPort(), "--retries", "1", "--balance", "leastconn")) {
            int port = r.awaitPort("listening on ");
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> response = Http.get("http://127.0.0.1:" + port + "/");
                assertThat(response.headers().firstValue(EmbeddedHttpServer.SERVED_BY)).hasValue("one");
            }
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void aBackendGivenByHostNameServesEveryConnectionNotOnlyTheFirst() throws Exception {
        // a server named by host name is connected through a resolving bootstrap; its handler must be
        // one that can be added to every new server connection, or the second connect fails to register
        // and its client is left hanging
        try (MainRunner r = MainRunner.start("gateway", "--mode", "tcp", "--listen", "127.0.0.1:0",
                "--backend", "localhost:" + one.port(), "--retries", "0")) {
            int port = r.awaitPort("gateway: listening on ");
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = Http.get("http://127.0.0.1:" + port + "/n/" + i);
                assertThat(response.statusCode()).as("connection %d", i).isEqualTo(200);
                assertThat(response.body()).isEqualTo("hello from one: GET /n/" + i + "\n");
            }
            assertThat(r.stop()).isZero();
            assertThat(r.err()).doesNotContain("Exception");
        }
    }

    @Test
    void theListeningLineGivesAnIpv6AddressInItsShortFormAndTheRealPort() throws Exception {
        try (EmbeddedHttpServer v6 = EmbeddedHttpServer.start("v6", "::1", 0);
                MainRunner r = MainRunner.start("gateway", "--mode", "tcp", "--listen", "[::1]:0",
                        "--backend", "[::1]:" + v6.port())) {
            // as --listen and --backend are written, so that a script can pass the address on as it is
            int port = r.awaitPort("gateway: listening on [::1]");
            assertThat(r.out()).isEqualTo("gateway: listening on [::1]:" + port + " (tcp, roundrobin) -> s1 [::1]:"
                    + v6.port() + "\n");
            HttpResponse<String> response = Http.get("http://[::1]:" + port + "/six");
            assertThat(response.body()).isEqualTo("hello from v6: GET /six\n");
            assertThat(r.stop()).isZero();
        }
    }

    @Test
    void aPortInUseExits1() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            MainRunner r = MainRunner.complete("gateway", "--listen", "127.0.0.1:" + taken.getLocalPort(), "--backend", one.hostPort());
            assertThat(r.awaitStatus()).isEqualTo(1);
            assertThat(r.err()).startsWith("gateway: --listen: cannot start: cannot start frontend 'gateway' on 127.0.0.1:"
                    + taken.getLocalPort() + ": ");
            assertThat(r.out()).isEmpty();
        }
    }
}
