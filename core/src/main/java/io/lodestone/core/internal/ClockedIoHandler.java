package io.lodestone.core.internal;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;

/**
 * An {@link IoHandler} that gives its event loop a {@link LoopClock} and tells the clock when each
 * phase of a turn begins: before the loop waits and after it has handled what was ready. Everything
 * else is the wrapped handler's, whose registrations the channels get as they are. Lodestone's
 * io_uring loops use it; its epoll loops do the same in {@link EpollWithoutEmptyInterest}. With a
 * {@link BusyPoll}, it also keeps the loop from blocking while the busy-polling window is open.
 */
final class ClockedIoHandler implements IoHandler {

    private final IoHandler handler;
    /** {@code null} when the loop does not busy-poll. */
    private final BusyPoll busyPoll;
    private LoopClock clock;

    private ClockedIoHandler(IoHandler handler, BusyPoll busyPoll) {
        this.handler = handler;
        this.busyPoll = busyPoll;
    }

    /** {@code factory}'s handlers, each with a loop clock. */
    static IoHandlerFactory around(IoHandlerFactory factory) {
        return around(factory, 0);
    }

    /**
     * {@code factory}'s handlers, each with a loop clock, busy-polling for {@code busyPollNanos} after
     * the last I/O; 0 never busy-polls.
     */
    static IoHandlerFactory around(IoHandlerFactory factory, long busyPollNanos) {
        return executor -> new ClockedIoHandler(factory.newHandler(executor),
                BusyPoll.forWindow(busyPollNanos));
    }

    @Override
    public void initialize() {
        clock = LoopClock.install();
        handler.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        clock.turn();
        int handled = BusyPoll.run(handler, context, busyPoll);
        clock.turn();
        return handled;
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return handler.register(handle);
    }

    @Override
    public void prepareToDestroy() {
        handler.prepareToDestroy();
    }

    @Override
    public void destroy() {
        handler.destroy();
    }

    @Override
    public void wakeup() {
        handler.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return handler.isCompatible(handleType);
    }
}
