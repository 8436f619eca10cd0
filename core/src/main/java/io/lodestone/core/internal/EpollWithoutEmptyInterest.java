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
import java.util.Arrays;

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
 *
 * <p>It also saves system calls on new connections. Netty gives a socket's interest set to the
 * epoll set as soon as it registers the channel, and again at each change: an accepted socket is
 * added with only {@code EPOLLRDHUP}, then changed to read a moment later, in the same call; a
 * socket connecting to a server is added to wait until it is writable, then changed three times
 * when the connect completes, once to the set it already has. Here a new socket is added only when
 * the event loop is about to wait, with the set it has by then, and a set equal to the one the epoll
 * set already has is not given again: an accepted socket costs one {@code epoll_ctl} instead of two,
 * a connected one three instead of four. Nothing is missed by waiting: the loop takes no events until
 * it waits, and the kernel reports readiness that predates the {@code ADD}. (Netty's epoll channels
 * are level-triggered, so giving the same set again changes nothing.)
 */
final class EpollWithoutEmptyInterest implements IoHandler {

    private static final EpollIoOps IDLE = EpollIoOps.EPOLLERR.with(EpollIoOps.EPOLLET);

    private final IoHandler epoll;
    private final ThreadAwareExecutor executor;
    /** Registrations not yet added to the epoll set; touched by the event loop's thread only. */
    private Registration[] held = new Registration[16];
    private int heldCount;

    private EpollWithoutEmptyInterest(IoHandler epoll, ThreadAwareExecutor executor) {
        this.epoll = epoll;
        this.executor = executor;
    }

    /** A factory of epoll handlers whose channels never submit an empty interest set. */
    static IoHandlerFactory newFactory() {
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(ThreadAwareExecutor executor) {
                return new EpollWithoutEmptyInterest(epoll.newHandler(executor), executor);
            }

            @Override
            public boolean isChangingThreadSupported() {
                return epoll.isChangingThreadSupported();
            }
        };
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return new Registration(epoll.register(handle), this);
    }

    @Override
    public void initialize() {
        epoll.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        if (heldCount > 0) {
            submitHeld();
        }
        return epoll.run(context);
    }

    private void hold(Registration r) {
        if (heldCount == held.length) {
            held = Arrays.copyOf(held, heldCount * 2);
        }
        held[heldCount++] = r;
    }

    /** Adds the sockets whose interest set is still held back, before the loop waits for events. */
    private void submitHeld() {
        for (int i = 0; i < heldCount; i++) {
            Registration r = held[i];
            held[i] = null;
            r.submitHeld();
        }
        heldCount = 0;
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

    private static final class Registration implements IoRegistration {
        private final IoRegistration epoll;
        private final EpollWithoutEmptyInterest handler;
        /** The interest set to add the socket with, while it is held back; {@code null} otherwise. */
        private EpollIoOps held;
        /** The interest set last given to the epoll set. */
        private EpollIoOps current;
        private boolean submitted;

        Registration(IoRegistration epoll, EpollWithoutEmptyInterest handler) {
            this.epoll = epoll;
            this.handler = handler;
        }

        @Override
        public long submit(IoOps ops) {
            EpollIoOps e = ops instanceof EpollIoOps o ? o : null;
            if (e != null && e.value() == 0) {
                e = IDLE;
                ops = IDLE;
            }
            if (!submitted) {
                submitted = true;
                if (e != null && handler.executor.isExecutorThread(Thread.currentThread())) {
                    held = e;
                    handler.hold(this);
                    return e.value();
                }
            } else if (held != null && e != null && handler.executor.isExecutorThread(Thread.currentThread())) {
                // not in the epoll set yet: the set it is added with changes
                held = e;
                return e.value();
            }
            held = null;
            if (e != null && e.equals(current)) {
                return e.value();
            }
            current = e;
            return epoll.submit(ops);
        }

        /** Adds the socket with the interest set held for it, unless the channel is no longer registered. */
        void submitHeld() {
            EpollIoOps ops = held;
            if (ops != null) {
                held = null;
                if (epoll.isValid()) {
                    current = ops;
                    epoll.submit(ops);
                }
            }
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
            held = null;
            return epoll.cancel();
        }
    }
}
