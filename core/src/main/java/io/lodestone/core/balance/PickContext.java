package io.lodestone.core.balance;

import java.net.InetAddress;
import java.util.random.RandomGenerator;

/**
 * What a {@link Balancer} may know of the connection or request it picks a server for. Engines fill
 * it per connection or request; a test may implement it with fixed values:
 *
 * <pre>{@code
 * long client = PickContext.hash(InetAddress.getByName("192.0.2.7"));
 * RandomGenerator seeded = new SplittableRandom(42);
 * PickContext context = new PickContext() {
 *     public long affinityHash() { return client; }
 *     public RandomGenerator random() { return seeded; }
 * };
 * }</pre>
 */
public interface PickContext {

    /**
     * A hash of what should keep landing on the same server: the client's source address for
     * {@link BalancingStrategy#sourceHash()}, usually made by {@link #hash(InetAddress)}.
     *
     * @return a hash of what should keep landing on the same server: the client's source address for {@link
     *     BalancingStrategy#sourceHash()}, usually made by {@link #hash(InetAddress)}
     */
    long affinityHash();

    /**
     * The hash of the request key the backend's strategy balances on ({@link BalancingStrategy#hashKey()}),
     * as {@link HashKey#hash} computes it from the request as the client sent it; 0 when the request
     * does not carry the key, when the strategy has none, or for a connection (L4). The default is 0.
     *
     * @return the hash of the request key the backend's strategy balances on ({@link
     *     BalancingStrategy#hashKey()}), as {@link HashKey#hash} computes it from the request as the client
     *     sent it; 0 when the request does not carry the key, when the strategy has none, or for a connection
     *     (L4)
     */
    default long requestKeyHash() {
        return 0;
    }

    /**
     * The random source for random choices; seedable, so that {@code proxy.route(...)} is
     * deterministic in tests.
     *
     * @return the random source for random choices; seedable, so that {@code proxy.route(...)} is
     *     deterministic in tests
     */
    RandomGenerator random();

    /**
     * Returns the affinity hash of a client address: a well-mixed 64-bit hash of its bytes (IPv4 and
     * IPv6 alike), the same in every JVM, so several proxy instances send a client to the same
     * server. Returns 0 for {@code null} (a client without an IP address). An IPv6 address with a
     * zone (a link-local client, {@code fe80::1%2}) hashes its scope id too, since one address on two
     * links is two clients; that number is the machine's own interface index, so for such a client
     * instances agree only where the link has the same index.
     *
     * @param address the client's address
     * @return the affinity hash of a client address: a well-mixed 64-bit hash of its bytes (IPv4 and IPv6
     *     alike), the same in every JVM, so several proxy instances send a client to the same server
     */
    static long hash(InetAddress address) {
        return Hashes.hash(address);
    }
}
