package io.lodestone.core;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;
import java.util.List;

/**
 * TLS from the proxy to the servers of a backend (re-encryption), as set by
 * {@link Backend.Builder#tls(BackendTls)}. The tls module's {@code io.lodestone.tls.ClientTls} is the
 * implementation to use: it verifies the server's certificate against a trust store and its host
 * name, sends SNI and presents a client certificate when the server asks for one.
 *
 * <pre>{@code
 * Backend.named("api")
 *     .server("a1", "api-1.internal:8443")
 *     .tls(ClientTls.builder().trust(Path.of("internal-ca.pem")).build())
 *     .build();
 * }</pre>
 *
 * <p>Both engines and the health checks (TCP and HTTP, at the server's own address for TCP) put the
 * handler first in the pipeline of each new server connection; a connection whose handshake fails
 * counts as a failed connection attempt, a check whose handshake fails as a failed check. The
 * connections that speak HTTP/1.1 take theirs from {@link #newHttp1Handler}.
 */
public interface BackendTls {

    /**
     * Returns the TLS handler of a new connection to {@code host:port}: {@code host} is the name the
     * server's certificate must carry and the SNI sent (an IP literal sends no SNI).
     *
     * @param alloc the connection's allocator
     * @param host the host the connection is made to
     * @param port the port
     * @return the TLS handler of a new connection to {@code host:port}: {@code host} is the name the server's
     *     certificate must carry and the SNI sent (an IP literal sends no SNI)
     */
    SslHandler newHandler(ByteBufAllocator alloc, String host, int port);

    /**
     * As {@link #newHandler}, for a connection that will speak HTTP/1.1 (an HTTP/1.1 backend of the L7
     * engine, the HTTP health check): it should offer ALPN {@code http/1.1} alone, if any, so that a
     * server speaking HTTP/2 as well does not choose {@code h2}. By default {@link #newHandler}; a
     * connection on which the server chooses another protocol fails as a failed connection attempt.
     *
     * @param alloc the connection's allocator
     * @param host the host the connection is made to
     * @param port the port
     * @return the TLS handler
     */
    default SslHandler newHttp1Handler(ByteBufAllocator alloc, String host, int port) {
        return newHandler(alloc, host, port);
    }

    /**
     * The ALPN protocols {@link #newHandler}'s handlers offer, in preference order; empty when ALPN is
     * off. A backend of protocol {@link BackendProtocol#H2} needs {@code h2} among them.
     *
     * @return the ALPN protocols {@link #newHandler}'s handlers offer, in preference order; empty when ALPN
     *     is off
     */
    List<String> applicationProtocols();
}
