package io.lodestone.core.balance;

/**
 * Picks one server among the candidates of one backend. A balancer belongs to one backend, holds
 * whatever state its strategy needs, and is called concurrently from every event loop: it must be
 * thread-safe and should not block or take locks.
 */
@FunctionalInterface
public interface Balancer {

    /**
     * Returns the index of the chosen candidate, which must be {@link Candidates#isAvailable
     * available}, or -1 when no candidate is available.
     */
    int pick(Candidates candidates, PickContext context);
}
