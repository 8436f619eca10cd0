/** The seed HAProxy frontend: per-application backends by path suffix, a denied admin area, a default pool. */
package io.lodestone.examples.haproxyseed;
