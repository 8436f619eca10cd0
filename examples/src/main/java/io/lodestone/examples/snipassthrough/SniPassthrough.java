package io.lodestone.examples.snipassthrough;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.route.Acl;
import io.lodestone.core.route.Rule;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.SelfSigned;
import io.lodestone.l4.TcpFrontend;
import io.lodestone.tls.ServerTls;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The seed HAProxy configuration's TLS passthrough, as Lodestone rules:
 *
 * <pre>
 * frontend tls_in
 *     mode tcp
 *     bind *:443
 *     tcp-request inspect-delay 5s
 *     tcp-request content accept if { req_ssl_hello_type 1 }
 *     use_backend shop if { req_ssl_sni -i shop.example.com }
 *     use_backend api  if { req_ssl_sni -i api.example.com }
 *     tcp-request content reject
 * </pre>
 *
 * Here on port 8443 by default. The two backends are embedded HTTPS servers that each present
 * their own self-signed certificate, made at start; the proxy reads the SNI name from the
 * ClientHello, relays the bytes untouched and holds no key. A connection with another name, or
 * none, is closed.
 *
 * <pre>{@code
 * try (SniPassthrough e = SniPassthrough.start(0)) {
 *     // TLS to 127.0.0.1:{e.port()} with SNI shop.example.com -> the shop's own certificate
 * }
 * }</pre>
 */
public final class SniPassthrough implements Running {

    /** The example's name for {@code run}. */
    public static final String NAME = "sni-passthrough";
    /** The port it listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8443;
    /** The host the example listens on. */
    public static final String HOST = "127.0.0.1";
    /** The shop's server name. */
    public static final String SHOP = "shop.example.com";
    /** The API's server name. */
    public static final String API = "api.example.com";

    private final List<SelfSigned> certificates;
    private final List<ServerTls> tls;
    private final List<EmbeddedHttpServer> servers;
    private final Proxy proxy;

    private SniPassthrough(List<SelfSigned> certificates, List<ServerTls> tls, List<EmbeddedHttpServer> servers, Proxy proxy) {
        this.certificates = certificates;
        this.tls = tls;
        this.servers = servers;
        this.proxy = proxy;
    }

    /** The seed's passthrough frontend. */
    public static TcpFrontend.Builder frontend(String address) {
        return TcpFrontend.bind(address).name("tls_in").tlsPassthrough()
                .rule(Rule.when(Acl.sni(SHOP)).use("shop"))
                .rule(Rule.when(Acl.sni(API)).use("api"))
                .rule(Rule.always().reject());
    }

    /**
     * Starts the two HTTPS backends, each with its own certificate, and the passthrough frontend on
     * 127.0.0.1:{@code port} (0: chosen by the OS).
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static SniPassthrough start(int port) {
        List<SelfSigned> certs = List.of(SelfSigned.generate(SHOP, SHOP), SelfSigned.generate(API, API));
        List<ServerTls> tls = new ArrayList<>();
        List<EmbeddedHttpServer> servers = new ArrayList<>();
        Proxy proxy = null;
        try {
            for (SelfSigned c : certs) {
                ServerTls t = ServerTls.builder().certificate(c.tlsCertificate()).alpn("http/1.1").build();
                tls.add(t);
                String name = c.certificate().getSubjectX500Principal().getName().substring(3);
                servers.add(EmbeddedHttpServer.startTls(name, HOST, 0, t, r -> EmbeddedHttpServer.Reply.text(
                        "hello from " + r.serverName() + " over its own TLS: " + r.method() + " " + r.uri() + "\n")));
            }
            proxy = Proxy.builder()
                    .backend(Backend.named("shop").server("shop1", servers.get(0).hostPort()))
                    .backend(Backend.named("api").server("api1", servers.get(1).hostPort()))
                    .frontend(frontend(HOST + ":" + port))
                    .build();
            proxy.start();
            return new SniPassthrough(certs, List.copyOf(tls), List.copyOf(servers), proxy);
        } catch (RuntimeException e) {
            if (proxy != null) {
                proxy.close();
            }
            servers.forEach(EmbeddedHttpServer::close);
            tls.forEach(ServerTls::close);
            throw e;
        }
    }

    /** The port the passthrough frontend listens on. */
    public int port() {
        return proxy.port("tls_in");
    }

    /** The running proxy. */
    public Proxy proxy() {
        return proxy;
    }

    /** The certificate a backend presents: {@link #SHOP} or {@link #API}. */
    public X509Certificate certificate(String serverName) {
        return certificates.get(serverName.equals(SHOP) ? 0 : 1).certificate();
    }

    /** The shop's and the API's embedded HTTPS servers, in that order. */
    public List<EmbeddedHttpServer> servers() {
        return servers;
    }

    /** Closes the proxy gracefully, then the backends. */
    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            servers.forEach(EmbeddedHttpServer::close);
            tls.forEach(ServerTls::close);
        }
    }

    /** The example for {@code run sni-passthrough [--port N]}. */
    public static Example example() {
        return Example.withPort(NAME, "TLS passthrough routed by SNI to two HTTPS backends with their own certificates (the proxy holds no key)",
                DEFAULT_PORT, (port, out) -> {
                    SniPassthrough e = start(port);
                    out.println("sni-passthrough: a gateway on " + HOST + ":" + e.port());
                    out.println("  " + SHOP + " on " + e.servers().get(0).hostPort());
                    out.println("  " + API + " on " + e.servers().get(1).hostPort());
                    out.println();
                    out.println("Try it (each backend's certificate is self-signed: -k; -v shows whose it is):");
                    out.println("  curl -kv --resolve " + SHOP + ":" + e.port() + ":127.0.0.1 https://" + SHOP + ":" + e.port() + "/cart");
                    out.println("  curl -kv --resolve " + API + ":" + e.port() + ":127.0.0.1 https://" + API + ":" + e.port() + "/v1");
                    out.println("  curl -kv https://127.0.0.1:" + e.port() + "/     # no SNI name: closed");
                    out.println();
                    out.println("Ctrl-C stops it (graceful close).");
                    out.flush();
                    return e;
                });
    }
}
