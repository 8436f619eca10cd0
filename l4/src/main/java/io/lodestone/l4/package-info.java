/**
 * The TCP engine: a {@link io.lodestone.l4.TcpFrontend} forwards the bytes of each accepted
 * connection to a server of its backend, with connect timeouts and retries, backpressure, half-close,
 * idle timeouts, connection limits, the PROXY protocol, TLS termination and SNI passthrough. Added to
 * a proxy with {@code Proxy.builder().frontend(TcpFrontend.bind(...)...)}.
 */
package io.lodestone.l4;
