/**
 * The {@code gateway} command-line launcher: {@link io.lodestone.examples.gateway.GatewayOptions}
 * parses the flags without starting anything, {@link io.lodestone.examples.gateway.Gateway} builds
 * and runs the proxy.
 */
package io.lodestone.examples.gateway;
