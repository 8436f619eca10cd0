/**
 * The HTTP engine's internals: listener, pipelines, proxy handlers, connection pools. Not a public
 * API; may change in any release.
 */
package io.lodestone.l7.internal;
