package io.lodestone.core.metrics;

import io.lodestone.core.ServerStatus;

/**
 * The figures of one server: its traffic, and its state, weight, load and last health check as
 * {@link io.lodestone.core.ProxyControl#status()} reports them.
 *
 * @param backendName the server's backend
 * @param name the server's name
 * @param traffic its traffic
 * @param status its state, weights, load and last check result
 */
public record ServerSnapshot(String backendName, String name, TrafficSnapshot traffic, ServerStatus status) {
}
