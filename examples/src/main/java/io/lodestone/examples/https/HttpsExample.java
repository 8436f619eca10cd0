package io.lodestone.examples.https;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Rule;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.SelfSigned;
import io.lodestone.l7.HttpFrontend;
import io.lodestone.tls.ServerTls;
import java.io.PrintStream;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The seed HAProxy configuration's HTTPS frontend beside a plain one that redirects to it:
 *
 * <pre>
 * frontend http_front
 *     bind *:80
 *     http-request redirect scheme https code 301
 * frontend https_front
 *     bind *:443 ssl crt /etc/haproxy/site.pem alpn h2,http/1.1
 *     http-response set-header Strict-Transport-Security max-age=31536000
 *     default_backend web
 * backend web
 *     balance roundrobin
 *     server web1 ...
 *     server web2 ...
 * </pre>
 *
 * Here on 8443 and 8080 by default, so that it runs without privileges, with a self-signed
 * certificate for {@code localhost} and 127.0.0.1 made at start ({@link SelfSigned}). Clients that
 * offer {@code h2} speak HTTP/2, the others HTTP/1.1; the backends see HTTP/1.1 with
 * {@code X-Forwarded-Proto: https}. The redirect names the HTTPS port
 * ({@link Rule.Builder#redirectScheme(int, String, int)}), since the client's {@code Host} carries
 * the plain port.
 *
 * <pre>{@code
 * try (HttpsExample e = HttpsExample.start(0, 0)) {
 *     // GET http://127.0.0.1:{e.httpPort()}/a -> 301 to https://127.0.0.1:{e.httpsPort()}/a
 * }
 * }</pre>
 */
public final class HttpsExample implements Running {

    /** The example's name for {@code run}. */
    public static final String NAME = "https";
    /** The HTTPS port unless told otherwise. */
    public static final int DEFAULT_HTTPS_PORT = 8443;
    /** The plain HTTP port unless told otherwise. */
    public static final int DEFAULT_HTTP_PORT = 8080;
    /** The host the example listens on. */
    public static final String HOST = "127.0.0.1";

    private final SelfSigned certificate;
    private final ServerTls tls;
    private final List<EmbeddedHttpServer> servers;
    private final Proxy https;
    private final Proxy http;

    private HttpsExample(SelfSigned certificate, ServerTls tls, List<EmbeddedHttpServer> servers, Proxy https, Proxy http) {
        this.certificate = certificate;
        this.tls = tls;
        this.servers = servers;
        this.https = https;
        this.http = http;
    }

    /** Each backend says who it is and which scheme the proxy says the client used. */
    private static EmbeddedHttpServer.Reply answer(EmbeddedHttpServer.Request r) {
        return EmbeddedHttpServer.Reply.text("hello from " + r.serverName() + ": " + r.method() + " " + r.uri()
                + " (X-Forwarded-Proto: " + r.header("X-Forwarded-Proto") + ")\n");
    }

    /**
     * Starts two embedded backends, the HTTPS frontend on {@code httpsPort} and then the redirecting
     * HTTP frontend on {@code httpPort} (0: chosen by the OS), both on 127.0.0.1. The HTTPS side
     * starts first so that the redirect can name the port it got.
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static HttpsExample start(int httpsPort, int httpPort) {
        SelfSigned cert = SelfSigned.generate("localhost", "localhost");
        ServerTls tls = ServerTls.builder().certificate(cert.tlsCertificate()).alpn("h2", "http/1.1").build();
        List<EmbeddedHttpServer> servers = new ArrayList<>();
        Proxy https = null;
        Proxy http = null;
        try {
            servers.add(EmbeddedHttpServer.start("web1", HOST, 0, HttpsExample::answer));
            servers.add(EmbeddedHttpServer.start("web2", HOST, 0, HttpsExample::answer));
            Backend.Builder web = Backend.named("web").server("web1", servers.get(0).hostPort()).server("web2", servers.get(1).hostPort());
            https = Proxy.builder().backend(web)
                    .frontend(HttpFrontend.bind(HOST + ":" + httpsPort).name("https_front").tls(tls)
                            .hsts(Duration.ofDays(365), false)
                            .defaultBackend("web"))
                    .build();
            https.start();
            http = Proxy.builder().backend(web)
                    .frontend(HttpFrontend.bind(HOST + ":" + httpPort).name("http_front")
                            .rule(Rule.always().redirectScheme(301, "https", https.port("https_front")))
                            .defaultBackend("web"))
                    .build();
            http.start();
            return new HttpsExample(cert, tls, List.copyOf(servers), https, http);
        } catch (RuntimeException e) {
            if (http != null) {
                http.close();
            }
            if (https != null) {
                https.close();
            }
            servers.forEach(EmbeddedHttpServer::close);
            tls.close();
            throw e;
        }
    }

    /** The port of the HTTPS frontend. */
    public int httpsPort() {
        return https.port("https_front");
    }

    /** The port of the redirecting HTTP frontend. */
    public int httpPort() {
        return http.port("http_front");
    }

    /** The self-signed certificate the HTTPS frontend presents, for clients to trust. */
    public X509Certificate certificate() {
        return certificate.certificate();
    }

    /** The embedded backends. */
    public List<EmbeddedHttpServer> servers() {
        return servers;
    }

    /** Closes the HTTP frontend, then the HTTPS one (gracefully), then the backends. */
    @Override
    public void close() {
        try {
            http.close();
            https.close();
        } finally {
            servers.forEach(EmbeddedHttpServer::close);
            tls.close();
        }
    }

    /** The example for {@code run https [--port N] [--http-port N]}. */
    public static Example example() {
        return new Example() {
            @Override
            public String name() {
                return NAME;
            }

            @Override
            public String summary() {
                return "HTTPS with HTTP/2 (ALPN h2,http/1.1) and HSTS, beside plain HTTP that redirects to it";
            }

            @Override
            public String options() {
                return "  --port N        the HTTPS port (default " + DEFAULT_HTTPS_PORT + "; 0 lets the OS choose)\n"
                        + "  --http-port N   the plain HTTP port that redirects (default " + DEFAULT_HTTP_PORT + ")\n";
            }

            @Override
            public Running start(List<String> args, PrintStream out) throws Exception {
                int[] ports = ports(args);
                HttpsExample e = HttpsExample.start(ports[0], ports[1]);
                out.println("https: a gateway on " + HOST + ":" + e.httpsPort() + " (HTTPS, h2 and http/1.1)");
                out.println("http: a redirect on " + HOST + ":" + e.httpPort());
                for (EmbeddedHttpServer s : e.servers()) {
                    out.println("  " + s.name() + " on " + s.hostPort());
                }
                out.println();
                out.println("Try it (the certificate is self-signed, made at start: -k):");
                out.println("  curl -k --http2 https://localhost:" + e.httpsPort() + "/hello     # HTTP/2, web1 and web2 in turn");
                out.println("  curl -k -i https://localhost:" + e.httpsPort() + "/ --http1.1     # HTTP/1.1, Strict-Transport-Security");
                out.println("  curl -i http://localhost:" + e.httpPort() + "/a?b=c              # 301 to https://localhost:" + e.httpsPort() + "/a?b=c");
                out.println("  curl -k -L http://localhost:" + e.httpPort() + "/follow            # followed to HTTPS");
                out.println();
                out.println("Ctrl-C stops it (graceful close).");
                out.flush();
                return e;
            }
        };
    }

    private static int[] ports(List<String> args) throws UsageException {
        int[] ports = {DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PORT};
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            int which;
            String value;
            if (arg.startsWith("--port=") || arg.startsWith("--http-port=")) {
                which = arg.startsWith("--port=") ? 0 : 1;
                value = arg.substring(arg.indexOf('=') + 1);
            } else if (arg.equals("--port") || arg.equals("--http-port")) {
                which = arg.equals("--port") ? 0 : 1;
                if (i + 1 >= args.size()) {
                    throw new UsageException(arg + ": missing value");
                }
                value = args.get(++i);
            } else {
                throw new UsageException("unknown argument: " + arg + " (expected: --port N, --http-port N)");
            }
            try {
                ports[which] = Integer.parseInt(value);
            } catch (NumberFormatException e) {
                ports[which] = -1;
            }
            if (ports[which] < 0 || ports[which] > 65535) {
                throw new UsageException((which == 0 ? "--port" : "--http-port") + ": " + value + " (expected: a port in 0..65535)");
            }
        }
        return ports;
    }
}
