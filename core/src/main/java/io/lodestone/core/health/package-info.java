/**
 * Health checks and passive outlier detection: the {@link io.lodestone.core.health.HealthChecker}
 * SPI, the {@link io.lodestone.core.health.HealthCheck} configuration of a backend's active checks
 * and the {@link io.lodestone.core.health.OutlierDetection} configuration of its passive ones.
 */
package io.lodestone.core.health;
