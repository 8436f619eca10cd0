package io.lodestone.tls;

/**
 * Whether a TLS server asks its clients for a certificate (mutual TLS).
 *
 * <pre>{@code
 * ServerTls.builder().certificate(cert).clientAuth(ClientAuth.REQUIRED, Path.of("clients-ca.pem")).build();
 * }</pre>
 */
public enum ClientAuth {
    /** No client certificate is requested. */
    NONE,
    /** A client certificate is requested; a client without one is let in, one with an untrusted one is not. */
    OPTIONAL,
    /** A client certificate signed by a trusted authority is required; other clients fail the handshake. */
    REQUIRED
}
