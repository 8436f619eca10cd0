package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.FdLimitedJvm;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * An HTTP frontend whose process has no file descriptor left for the socket of a server connection
 * ({@code socket()} fails with {@code EMFILE}): the proxy runs in a child JVM under {@code ulimit -n}
 * that takes every descriptor but one, which the client's connection then takes. The request must
 * be answered 503 at once, the attempt counted as a connect error on the server and tried again on
 * the other server (retries 1), the request logged {@code RC} (a resource of the proxy ran out, as
 * HAProxy logs it), and the servers' load given back; once descriptors are free again the proxy
 * serves as before. For HTTP/1.1 and h2c servers, given by IP address (the socket is made directly)
 * and by host name (through a resolving bootstrap, where Netty fails the connect with the future of
 * a placeholder channel whose listeners run on its global executor).
 */
class HttpConnectAtFdLimitTest {

    /** The child's file descriptor limit: the JVM's own files take some 40. */
    private static final int FD_LIMIT = 256;

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"127.0.0.1, HTTP_1_1", "localhost, HTTP_1_1", "127.0.0.1, H2C", "localhost, H2C"})
    void aRequestWithNoSocketLeftForItsServerIsAnswered503(String host, BackendProtocol protocol) throws Exception {
        boolean h2 = protocol == BackendProtocol.H2C;
        try (ProtocolBackend warm = h2 ? ProtocolBackend.h2c(0) : ProtocolBackend.http1(null);
                ProtocolBackend s1 = h2 ? ProtocolBackend.h2c(0) : ProtocolBackend.http1(null);
                ProtocolBackend s2 = h2 ? ProtocolBackend.h2c(0) : ProtocolBackend.http1(null);
                FdLimitedJvm child = FdLimitedJvm.start(Child.class, FD_LIMIT, dir, protocol.name(),
                        host + ":" + warm.port(), host + ":" + s1.port(), host + ":" + s2.port())) {
            // the same code runs once with descriptors to spare, on servers of its own
            assertThat(get(child.port(), "/warm/plain")).startsWith("HTTP/1.1 200 ");
            assertThat(child.command("fill").get(0)).startsWith("filled ");
            // before, the request of a server given by IP address was not answered (the connection
            // closed), and that of an h2c server by host name waited until the client gave up
            assertThat(get(child.port(), "/plain")).startsWith("HTTP/1.1 503 ");
            child.command("free");
            List<String> log = child.awaitLines("log", 2);
            assertThat(log.get(1)).contains(" 503 ").contains(" RC ");
            List<String> stats = child.command("stats");
            assertThat(stats).as("the servers' load").contains("s1 load 0", "s2 load 0");
            assertThat(count(stats, "connect errors 1")).as("one connect error on each server: " + stats).isEqualTo(2);
            assertThat(count(stats, "redispatches 1")).as("one redispatch: " + stats).isEqualTo(1);
            assertThat(get(child.port(), "/plain")).startsWith("HTTP/1.1 200 ");
        }
    }

    private static int count(List<String> lines, String part) {
        return (int) lines.stream().filter(l -> l.contains(part)).count();
    }

    /** Sends one request on a new connection and returns what came back until the proxy closed ("" for a reset). */
    private static String get(int port, String path) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) FdLimitedJvm.PATIENCE.toMillis());
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            try {
                return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            } catch (SocketException reset) {
                return "";
            }
        }
    }

    /**
     * The child: an HTTP frontend that sends {@code /warm} to a backend of its own and the rest to
     * two servers (retries 1), speaking the given protocol, with its access log kept in memory.
     */
    static final class Child {
        public static void main(String[] args) throws Exception {
            BackendProtocol protocol = BackendProtocol.valueOf(args[0]);
            CapturingLogger lines = new CapturingLogger();
            Proxy proxy = Proxy.builder()
                    .backend(Backend.named("warm").server("w", args[1]).protocol(protocol))
                    .backend(Backend.named("b").server("s1", args[2]).server("s2", args[3]).protocol(protocol).retries(1))
                    .frontend(HttpFrontend.bind("127.0.0.1:0")
                            .rule(Rule.when(Acl.pathBegins("/warm")).use("warm"))
                            .defaultBackend("b"))
                    .accessLog(AccessLog.text(lines))
                    .build();
            proxy.start();
            FdLimitedJvm.serveServerStats(proxy, "b", lines);
        }
    }
}
