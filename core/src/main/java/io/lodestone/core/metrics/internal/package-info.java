/**
 * Internal: the live, lock-free counters and histograms the engines record on, and the registry a
 * proxy keeps them in. Not a supported API; it may change in any release.
 */
package io.lodestone.core.metrics.internal;
