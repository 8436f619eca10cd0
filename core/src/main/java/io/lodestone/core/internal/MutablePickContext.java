package io.lodestone.core.internal;

import io.lodestone.core.balance.PickContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * A {@link PickContext} an engine fills per connection or request and may reuse: one instance per
 * connection, or one per event loop refilled before each pick. Not thread-safe; confine an instance
 * to one thread at a time. For engine implementations, not for applications.
 */
public final class MutablePickContext implements PickContext {

    /** Draws from the calling thread's {@link ThreadLocalRandom}, so one instance serves every thread. */
    public static final RandomGenerator THREAD_LOCAL_RANDOM = () -> ThreadLocalRandom.current().nextLong();

    private final RandomGenerator random;
    private long affinityHash;

    /** Creates a context whose random draws come from {@link #THREAD_LOCAL_RANDOM}. */
    public MutablePickContext() {
        this(THREAD_LOCAL_RANDOM);
    }

    /** Creates a context whose random draws come from {@code random}, e.g. a seeded one in tests. */
    public MutablePickContext(RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Sets the affinity hash to that of {@code client} ({@link PickContext#hash(InetAddress)}); 0 for null. */
    public MutablePickContext client(InetAddress client) {
        this.affinityHash = PickContext.hash(client);
        return this;
    }

    /**
     * Sets the affinity hash to that of a channel's remote address: its IP address when it is an
     * {@link InetSocketAddress} with one, else 0.
     */
    public MutablePickContext client(SocketAddress remote) {
        InetAddress address = remote instanceof InetSocketAddress ? ((InetSocketAddress) remote).getAddress() : null;
        return client(address);
    }

    /** Sets the affinity hash directly, e.g. to the hash of a header or cookie value. */
    public MutablePickContext affinityHash(long affinityHash) {
        this.affinityHash = affinityHash;
        return this;
    }

    @Override
    public long affinityHash() {
        return affinityHash;
    }

    @Override
    public RandomGenerator random() {
        return random;
    }
}
