package io.lodestone.core.metrics;

/**
 * The figures of one frontend: its client side.
 *
 * @param name the frontend's name
 * @param traffic its traffic
 */
public record FrontendSnapshot(String name, TrafficSnapshot traffic) {
}
