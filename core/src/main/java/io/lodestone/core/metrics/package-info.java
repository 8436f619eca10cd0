/**
 * Metrics: the immutable {@link io.lodestone.core.metrics.MetricsSnapshot} returned by
 * {@code proxy.metrics()}, its parts, and the exporters: {@link io.lodestone.core.metrics.PrometheusFormat}
 * here and, when Micrometer is on the class path, {@code io.lodestone.core.metrics.micrometer}.
 * The live counters the engines write are in {@code io.lodestone.core.metrics.internal}.
 */
package io.lodestone.core.metrics;
