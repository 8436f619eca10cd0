package io.lodestone.core.route.internal;

import io.lodestone.core.balance.HashKey;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.route.RequestView;
import java.net.InetAddress;
import java.util.random.RandomGenerator;

/**
 * The {@link PickContext} of one request or connection: affinity by source address, the hash of the
 * backend's request key when it has one, randomness from {@link RequestView#random()}. Engines should use it (or {@link #affinityHash(InetAddress)}) so that
 * {@code proxy.routeAndPick(...)} names the server the engine would pick.
 */
public final class RequestPickContext implements PickContext {

    private final long affinityHash;
    private final long requestKeyHash;
    private final RandomGenerator random;

    /** A context for this view, for a strategy without a request key. */
    public RequestPickContext(RequestView view) {
        this(view, null);
    }

    /**
     * A context for this view and the request key of the backend's strategy
     * ({@code BalancingStrategy.hashKey()}, {@code null} for none), hashed here as the engine hashes it.
     */
    public RequestPickContext(RequestView view, HashKey key) {
        this.affinityHash = affinityHash(view.sourceAddress());
        this.requestKeyHash = key == null ? 0 : key.hash(view);
        this.random = view.random();
    }

    /**
     * A stable hash of an address (0 for {@code null}): {@link PickContext#hash(InetAddress)}, the
     * same hash the engines give source hashing, so the same address always lands on the same server.
     */
    public static long affinityHash(InetAddress address) {
        return PickContext.hash(address);
    }

    @Override
    public long affinityHash() {
        return affinityHash;
    }

    @Override
    public long requestKeyHash() {
        return requestKeyHash;
    }

    @Override
    public RandomGenerator random() {
        return random;
    }
}
