package io.lodestone.core.balance;

/**
 * How a backend spreads connections or requests over its servers. A strategy is a stateless
 * factory: each backend gets its own {@link Balancer}s from {@link #newBalancer()} (one per tier of
 * servers), which hold the state (a cursor, a hash ring). A lambda is a valid strategy:
 *
 * <pre>{@code
 * BalancingStrategy first = () -> (candidates, context) -> {
 *     for (int i = 0; i < candidates.size(); i++) {
 *         if (candidates.isAvailable(i)) {
 *             return i;
 *         }
 *     }
 *     return -1;
 * };
 * }</pre>
 *
 * <p>Every built-in honours weights (least connections among busy servers: idle ones take turns,
 * as in HAProxy) and skips servers at their connection limit. Backup servers and
 * servers that are down, draining, in maintenance or of weight 0 never reach a balancer: the backend
 * offers it the usable primaries, and the backups only when no primary is usable. Persistence (a
 * sticky cookie, a source stick table) is decided before the balancer is asked.
 */
@FunctionalInterface
public interface BalancingStrategy {

    /** {@return a new balancer for one tier of one backend; it is never shared with another backend} */
    Balancer newBalancer();

    /**
     * Smooth weighted round robin (nginx's): over a cycle of the total weight every server is picked
     * exactly its weight times, interleaved rather than bunched. HAProxy's {@code roundrobin}.
     *
     * @return the strategy
     */
    static BalancingStrategy roundRobin() {
        return RoundRobinBalancer::new;
    }

    /**
     * Weighted least connections: the server with the lowest load per unit of weight, ties broken
     * round robin. HAProxy's {@code leastconn}, idle servers included: an idle server is preferred to a
     * busy one and idle servers are equal whatever their weights, so requests that come one at a time
     * take every server in turn, and weights count once requests are in flight.
     *
     * @return the strategy
     */
    static BalancingStrategy leastConnections() {
        return LeastConnectionsBalancer::new;
    }

    /**
     * Consistent hashing of the client's source address ({@link PickContext#affinityHash()}): a
     * client keeps its server while the set of servers is unchanged, and removing one of N servers
     * moves only about 1/N of the clients, all of them clients of the removed server. The ring
     * depends only on the servers' names and weights, so every proxy instance agrees. When the
     * client's server is at its connection limit, the next server on the ring takes it. HAProxy's
     * {@code balance source} with {@code hash-type consistent}. A hash is not persistence: the ring
     * holds only the servers in rotation, so a draining server or one of weight 0 is left out and its
     * clients hash to others at once; {@link io.lodestone.core.Backend.Builder#stickOnSource} keeps
     * them on a draining server.
     *
     * @return the strategy
     */
    static BalancingStrategy sourceHash() {
        return SourceHashBalancer::new;
    }

    /**
     * Consistent hashing of a key of the request ({@link HashKey}): its path, query, a query
     * parameter, a header, a cookie, or what a function computes, so that one cache shard or tenant
     * keeps its server. The ring and its guarantees are {@link #sourceHash()}'s: every proxy
     * instance agrees, removing one of N servers moves only about 1/N of the keys (those of the
     * removed server), a key whose server is at its connection limit or failed an attempt goes to
     * the next server on the ring. A request without the key is balanced round robin (HAProxy's
     * {@code url_param} and {@code hdr} fall back to round robin too). HAProxy's {@code balance uri},
     * {@code url_param}, {@code hdr(name)} with {@code hash-type consistent}; Envoy's
     * {@code ring_hash} with a {@code hash_policy}.
     *
     * <pre>{@code
     * Backend.named("cache").balance(BalancingStrategy.hashOn(HashKey.path()))
     * }</pre>
     *
     * <p>A key other than {@link HashKey#source()} reads the HTTP request: a backend hashing on it
     * serves HTTP frontends only, and {@code Proxy.Builder.build()} rejects it behind a TCP one.
     * {@code hashOn(HashKey.source())} returns {@link #sourceHash()}.
     *
     * @param key the request key to hash
     * @return the strategy
     */
    static BalancingStrategy hashOn(HashKey key) {
        if (key == null) {
            throw new IllegalArgumentException("hashOn key: null (expected: a HashKey, e.g. HashKey.path())");
        }
        return key.isSource() ? sourceHash() : new KeyHashBalancer.Strategy(key);
    }

    /**
     * The request key this strategy hashes, which the HTTP engine and {@code proxy.routeAndPick}
     * read from each request (before any rule edits it) and hand to the balancer as
     * {@link PickContext#requestKeyHash()}; {@code null}, the default, for a strategy that reads no
     * request key ({@link #sourceHash()} included).
     *
     * @return the request key this strategy hashes, which the HTTP engine and {@code proxy.routeAndPick} read
     *     from each request (before any rule edits it) and hand to the balancer as {@link
     *     PickContext#requestKeyHash()}; {@code null}, the default, for a strategy that reads no request key
     *     ({@link #sourceHash()} included)
     */
    default HashKey hashKey() {
        return null;
    }

    /**
     * A weighted random choice, drawn from {@link PickContext#random()} (so a seeded source makes it
     * deterministic). HAProxy's {@code random(1)}.
     *
     * @return the strategy
     */
    static BalancingStrategy random() {
        return RandomBalancer::new;
    }

    /**
     * Power of two choices: two distinct servers drawn at random by weight from
     * {@link PickContext#random()}, the one with less load per unit of weight wins. HAProxy's
     * {@code random(2)}, Envoy's {@code LEAST_REQUEST}.
     *
     * @return the strategy
     */
    static BalancingStrategy powerOfTwoChoices() {
        return PowerOfTwoChoicesBalancer::new;
    }
}
