/**
 * Lodestone's public API: build a {@link io.lodestone.core.Proxy} from
 * {@link io.lodestone.core.Backend}s and {@link io.lodestone.core.Frontend}s, start it, control it at
 * run time and close it.
 */
package io.lodestone.core;
