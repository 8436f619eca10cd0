/**
 * Internal: the in-memory rate limiter. Not a supported API; it may change in any release.
 */
package io.lodestone.core.limit.internal;
