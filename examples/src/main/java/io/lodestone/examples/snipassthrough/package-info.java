/**
 * The {@code sni-passthrough} example: TLS relayed untouched in tcp mode, routed by the ClientHello's
 * SNI name to two embedded HTTPS backends that present their own certificates.
 */
package io.lodestone.examples.snipassthrough;
