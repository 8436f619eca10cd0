/**
 * The HTTP engine: {@link io.lodestone.l7.HttpFrontend}, a streaming HTTP/1.1 reverse proxy with
 * pooled keep-alive server connections and WebSocket tunnels.
 */
package io.lodestone.l7;
