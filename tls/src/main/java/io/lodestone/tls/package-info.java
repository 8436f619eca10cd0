/**
 * TLS for Lodestone: server and client contexts, certificate selection by SNI, ALPN.
 *
 * <p>Empty until the TLS issue lands; the module builds so that the engines can depend on it.
 */
package io.lodestone.tls;
