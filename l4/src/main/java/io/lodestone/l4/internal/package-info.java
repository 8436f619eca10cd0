/**
 * The TCP engine's internals: listener, relay set-up, connection queueing. Not a public API; may
 * change in any release.
 */
package io.lodestone.l4.internal;
