package io.lodestone.core;

/**
 * The HTTP version the L7 engine speaks to the servers of a backend, set by
 * {@link Backend.Builder#protocol(BackendProtocol)}. TCP frontends ignore it.
 */
public enum BackendProtocol {
    /** HTTP/1.1 with keep-alive connections, one request at a time on each (the default). */
    HTTP_1_1,
    /**
     * HTTP/2 over TLS: needs {@link Backend.Builder#tls(BackendTls) backend TLS} that offers ALPN
     * {@code h2}; many requests share each connection.
     */
    H2,
    /** HTTP/2 over cleartext TCP with prior knowledge (h2c); many requests share each connection. */
    H2C
}
