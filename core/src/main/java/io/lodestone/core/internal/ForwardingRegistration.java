package io.lodestone.core.internal;

import io.netty.channel.IoRegistration;

/**
 * A Netty {@link IoRegistration} seen through a Lodestone handler that watches what its channel
 * submits ({@link EpollWithoutEmptyInterest}, {@link IoUringWithoutLostPollOut}): everything but
 * {@link #submit} is the wrapped registration's.
 */
abstract class ForwardingRegistration implements IoRegistration {

    /** The registration Netty's own handler made. */
    final IoRegistration netty;

    ForwardingRegistration(IoRegistration netty) {
        this.netty = netty;
    }

    @Override
    public <T> T attachment() {
        return netty.attachment();
    }

    @Override
    public boolean isValid() {
        return netty.isValid();
    }

    @Override
    public boolean cancel() {
        return netty.cancel();
    }
}
