/**
 * Micrometer support: {@link io.lodestone.core.metrics.micrometer.LodestoneMeterBinder}. Micrometer
 * is an optional dependency of lodestone-core; this package is the only one that refers to it and is
 * loaded only by applications that use it.
 */
package io.lodestone.core.metrics.micrometer;
