/**
 * Load balancing, shared by the TCP and HTTP engines: the {@link io.lodestone.core.balance.BalancingStrategy}
 * a backend is configured with (the built-in ones are its static factories: weighted round robin,
 * least connections, source-IP hash, hashing on a request key, random and power of two choices), and
 * the SPI a strategy of one's own implements: the
 * {@link io.lodestone.core.balance.Balancer} it makes for each tier of a backend's servers, which
 * picks among the {@link io.lodestone.core.balance.Candidates} it is offered with the
 * {@link io.lodestone.core.balance.PickContext} of the connection or request, and the
 * {@link io.lodestone.core.balance.HashKey} a hashing strategy reads.
 */
package io.lodestone.core.balance;
