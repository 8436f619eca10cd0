package io.lodestone.core.testing;

import io.lodestone.core.internal.Listener;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * A listener that accepts nothing: what a test frontend's {@code start} returns when it starts with
 * its proxy but serves no socket. It has no connections, so its drain is done at once.
 */
public final class IdleListener implements Listener {

    private final List<InetSocketAddress> addresses;

    /** A listener bound nowhere. */
    public IdleListener() {
        this(List.of());
    }

    /**
     * A listener that reports {@code addresses} as its own without listening on them.
     *
     * @param addresses what {@link #localAddresses()} answers
     */
    public IdleListener(List<InetSocketAddress> addresses) {
        this.addresses = List.copyOf(addresses);
    }

    @Override
    public List<InetSocketAddress> localAddresses() {
        return addresses;
    }

    @Override
    public int openConnections() {
        return 0;
    }

    @Override
    public Future<?> drain() {
        return ImmediateEventExecutor.INSTANCE.newSucceededFuture(null);
    }

    @Override
    public void closeAll() {
    }
}
