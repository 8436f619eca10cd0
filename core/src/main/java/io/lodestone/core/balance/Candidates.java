package io.lodestone.core.balance;

import io.lodestone.core.Server;

/**
 * The servers a {@link Balancer} may choose from for one pick: the usable servers of one tier
 * (primaries, or backups when no primary is usable) of a backend, with their current weights and
 * loads. Indexes run from 0 to {@link #size()} - 1 in configuration order.
 *
 * <p>The set of servers and their weights change rarely (a state change, a weight set at run time);
 * {@link #version()} changes whenever they do, so a balancer may cache a schedule per version. The
 * load and availability of a server change on every pick and must be read each time.
 */
public interface Candidates {

    /** {@return the number of candidate servers} */
    int size();

    /**
     * The configuration of candidate {@code index}.
     *
     * @param index the candidate's index
     * @return the configuration of candidate {@code index}
     */
    Server server(int index);

    /**
     * The current weight of candidate {@code index}, 1..256 (servers of weight 0 are never candidates).
     *
     * @param index the candidate's index
     * @return the current weight of candidate {@code index}, 1..256 (servers of weight 0 are never
     *     candidates)
     */
    int weight(int index);

    /**
     * The current load of candidate {@code index}: open connections (L4) or requests in flight (L7).
     *
     * @param index the candidate's index
     * @return the current load of candidate {@code index}: open connections (L4) or requests in flight (L7)
     */
    int load(int index);

    /**
     * Whether candidate {@code index} may be chosen now: false when it is at its connection limit or
     * was already tried for this connection or request.
     *
     * @param index the candidate's index
     * @return whether candidate {@code index} may be chosen now: false when it is at its connection limit or
     *     was already tried for this connection or request
     */
    boolean isAvailable(int index);

    /** {@return a number that changes whenever the candidate servers or their weights change} */
    long version();

    /**
     * Whether this pick retries a connection or request whose earlier attempts failed (the servers
     * tried are not {@link #isAvailable available}). A balancer that walks a rotation shared by all
     * picks should not spend a turn of it on a retry: a server that fails every attempt would
     * otherwise be the first choice of every new connection once the retries had moved the rotation
     * past it. False unless a server was tried.
     *
     * @return whether this pick retries a connection or request whose earlier attempts failed (the servers
     *     tried are not {@link #isAvailable available})
     */
    default boolean retrying() {
        return false;
    }
}
