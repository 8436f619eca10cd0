package io.lodestone.core.internal;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.concurrent.ThreadAwareExecutor;

/**
 * Netty's epoll {@link IoHandler} with a work-around for a bug in Netty 4.2.18 to 4.2.20: when a
 * channel's interest set becomes empty, Netty removes its descriptor from the epoll set but keeps the
 * registration marked as added, so the channel's next interest change fails with {@code ENOENT} and
 * the channel is closed.
 *
 * <p>A relayed connection meets it after a half-close: the side whose input has ended wants only
 * {@code EPOLLOUT}, and only while a write is blocked. When the write drains, the set is empty; when
 * the next write blocks, the channel breaks and the rest of the transfer is lost. Here an empty set is
 * submitted as {@code EPOLLERR | EPOLLET} instead: the descriptor stays in the epoll set. Being
 * edge-triggered, it reports a hang-up at most once, and the channel does not act on a bare hang-up;
 * an error such as a reset is reported, and the channel's next read or write finds it and closes.
 */
final class EpollWithoutEmptyInterest implements IoHandler {

    private static final EpollIoOps IDLE = EpollIoOps.EPOLLERR.with(EpollIoOps.EPOLLET);

    private final IoHandler epoll;

    private EpollWithoutEmptyInterest(IoHandler epoll) {
        this.epoll = epoll;
    }

    /** A factory of epoll handlers whose channels never submit an empty interest set. */
    static IoHandlerFactory newFactory() {
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(ThreadAwareExecutor executor) {
                return new EpollWithoutEmptyInterest(epoll.newHandler(executor));
            }

            @Override
            public boolean isChangingThreadSupported() {
                return epoll.isChangingThreadSupported();
            }
        };
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return new Registration(epoll.register(handle));
    }

    @Override
    public void initialize() {
        epoll.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        return epoll.run(context);
    }

    @Override
    public void prepareToDestroy() {
        epoll.prepareToDestroy();
    }

    @Override
    public void destroy() {
        epoll.destroy();
    }

    @Override
    public void wakeup() {
        epoll.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return epoll.isCompatible(handleType);
    }

    private record Registration(IoRegistration epoll) implements IoRegistration {

        @Override
        public long submit(IoOps ops) {
            return epoll.submit(ops instanceof EpollIoOps e && e.value() == 0 ? IDLE : ops);
        }

        @Override
        public <T> T attachment() {
            return epoll.attachment();
        }

        @Override
        public boolean isValid() {
            return epoll.isValid();
        }

        @Override
        public boolean cancel() {
            return epoll.cancel();
        }
    }
}
