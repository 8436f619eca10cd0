package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;

/**
 * An {@link IoHandler} that gives its event loop a {@link LoopClock} and, when asked, busy polling
 * ({@link BusyPoll}), through {@link LoopTurns}. Everything else is the wrapped handler's, whose
 * registrations the channels get as they are. Lodestone's io_uring loops use it, and its NIO loops
 * when their timers follow a clock other than the system's ({@link OnNio}); its epoll loops do the
 * same in {@link EpollWithoutEmptyInterest}.
 */
class ClockedIoHandler implements IoHandler {

    private final IoHandler handler;
    private final LoopTurns turns;

    ClockedIoHandler(IoHandler handler, LoopTurns turns) {
        this.handler = handler;
        this.turns = turns;
    }

    /**
     * {@code factory}'s handlers, each with a loop clock, busy-polling for {@code busyPollNanos} after
     * the last I/O (0 never busy-polls), on a loop whose timers follow {@code timerClock}
     * ({@code null}: the system's; see {@link LoopTurns}).
     */
    static IoHandlerFactory around(IoHandlerFactory factory, long busyPollNanos, Clock timerClock) {
        return executor -> new ClockedIoHandler(factory.newHandler(executor), new LoopTurns(busyPollNanos, timerClock));
    }

    /**
     * NIO handlers of {@code factory} on a loop whose timers follow {@code timerClock}; a class of
     * their own, because {@link Transport#of} tells a group's transport by its handlers' class.
     */
    static IoHandlerFactory aroundNio(IoHandlerFactory factory, Clock timerClock) {
        return executor -> new OnNio(factory.newHandler(executor), new LoopTurns(0, timerClock));
    }

    /** A {@link ClockedIoHandler} around an NIO handler. */
    static final class OnNio extends ClockedIoHandler {
        OnNio(IoHandler handler, LoopTurns turns) {
            super(handler, turns);
        }
    }

    @Override
    public void initialize() {
        turns.initialize();
        handler.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        return turns.run(handler, context);
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
