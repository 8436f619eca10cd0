/**
 * Implementation of health checking: the built-in TCP and HTTP checkers and the monitor that runs
 * the rise/fall state machine. Internal: not a supported API, may change at any time.
 */
package io.lodestone.core.health.internal;
