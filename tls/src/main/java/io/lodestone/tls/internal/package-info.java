/**
 * The implementation of Lodestone's TLS support: key material loading, SSL context building, the SNI
 * mapping, certificate reload, the ClientHello parser. Not a supported API: the engines of this
 * project use it, users should not, and it changes without notice.
 */
package io.lodestone.tls.internal;
