/**
 * Internal: the implementation of routing (built-in ACLs, path normalisation, request parsing
 * helpers for the engines). Not a supported API; it may change in any release.
 */
package io.lodestone.core.route.internal;
