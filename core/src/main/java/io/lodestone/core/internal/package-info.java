/**
 * The core's internals, shared by the engines: the runtime state of backends and servers, transports
 * and event loops, the relay, the PROXY protocol, TLS to backends. Public only so that the engine
 * modules can reach them; not a public API, and may change in any release.
 */
package io.lodestone.core.internal;
