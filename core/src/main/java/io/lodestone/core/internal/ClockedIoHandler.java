package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;

/**
 * An {@link IoHandler} that gives its event loop a {@link LoopClock} through {@link LoopTurns}.
 * Everything else is the wrapped handler's, whose registrations the channels get as they are.
 * Lodestone's NIO loops use it when their timers follow a clock other than the system's; its epoll
 * and io_uring loops extend it with busy polling and a work-around each for Netty
 * ({@link EpollWithoutEmptyInterest}, {@link IoUringWithoutLostPollOut}).
 */
class ClockedIoHandler implements IoHandler {

    /** Netty's handler for the transport. */
    final IoHandler handler;
    /** What the loop does around each turn of {@link #handler}. */
    final LoopTurns turns;

    ClockedIoHandler(IoHandler handler, LoopTurns turns) {
        this.handler = handler;
        this.turns = turns;
    }

    /** NIO handlers of {@code factory} on a loop whose timers follow {@code timerClock}. */
    static IoHandlerFactory aroundNio(IoHandlerFactory factory, Clock timerClock) {
        return executor -> new ClockedIoHandler(factory.newHandler(executor), new LoopTurns(0, timerClock));
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
