/**
 * The HTTP engine. Empty until the L7 issue lands; the module builds so that examples can depend on it.
 */
package io.lodestone.l7;
