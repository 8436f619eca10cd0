/**
 * TLS for Lodestone: termination ({@link io.lodestone.tls.ServerTls}: certificates by SNI, ALPN,
 * client certificates, reload), backend TLS ({@link io.lodestone.tls.ClientTls}), what a handshake
 * settled ({@link io.lodestone.tls.TlsInfo}, {@link io.lodestone.tls.ClientIdentity}), and reading a
 * ClientHello without terminating for passthrough ({@link io.lodestone.tls.ClientHello}).
 */
package io.lodestone.tls;
