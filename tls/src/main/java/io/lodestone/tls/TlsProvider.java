package io.lodestone.tls;

/**
 * Which TLS implementation runs the handshakes and the record layer.
 *
 * <pre>{@code
 * ServerTls.builder().certificate(cert).provider(TlsProvider.JDK).build();
 * }</pre>
 */
public enum TlsProvider {
    /** OpenSSL (BoringSSL through netty-tcnative) when its native library loads, the JDK otherwise. */
    AUTO,
    /** OpenSSL (BoringSSL through netty-tcnative); {@code build()} fails when it does not load. */
    OPENSSL,
    /** The JDK's own implementation (SunJSSE). */
    JDK
}
