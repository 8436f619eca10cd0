package io.lodestone.core.balance;

/**
 * Picks one server among the candidates of one backend. A balancer belongs to one backend (a
 * backend keeps one per tier: its primaries and its backups), holds whatever state its strategy needs
 * (a cursor, a schedule or ring cached per {@link Candidates#version()}), and is called concurrently
 * from every event loop: it must be thread-safe and should not block, take locks or allocate on a pick.
 */
@FunctionalInterface
public interface Balancer {

    /**
     * Returns the index of the chosen candidate, which must be {@link Candidates#isAvailable
     * available}, or -1 when no candidate is available.
     *
     * @param candidates the servers to choose from, with their weights, loads and availability
     * @param context what is known of the connection or request: its affinity hash, a random source
     * @return the index of the chosen candidate, which must be {@link Candidates#isAvailable available}, or
     *     -1 when no candidate is available
     */
    int pick(Candidates candidates, PickContext context);

    /**
     * Called once for each new version of the candidates ({@link Candidates#version()}), on the
     * thread that changed them (a health check's result, runtime control, a slow start's step),
     * before picks see it: a balancer that caches a schedule or ring per version builds it here, once
     * for every event loop, rather than on the event loop of the next pick. Picks must still cope
     * with a version not prepared (a custom caller); the default does nothing.
     *
     * @param candidates the servers of the new version, with their weights
     */
    default void prepare(Candidates candidates) {
    }
}
