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
 * <p>Both engines and the HTTP health check put the handler first in the pipeline of each new
 * server connection; a connection whose handshake fails counts as a failed connection attempt.
 */
public interface BackendTls {

    /**
     * Returns the TLS handler of a new connection to {@code host:port}: {@code host} is the name the
     * server's certificate must carry and the SNI sent (an IP literal sends no SNI).
     */
    SslHandler newHandler(ByteBufAllocator alloc, String host, int port);

    /** The ALPN protocols offered, in preference order; empty when ALPN is off. */
    List<String> applicationProtocols();
}
