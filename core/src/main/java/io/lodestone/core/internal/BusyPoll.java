package io.lodestone.core.internal;

import io.netty.channel.IoHandlerContext;
import java.util.function.LongSupplier;

/**
 * Busy polling for one event loop: for a set time after the loop last handled I/O, it looks for new
 * events without blocking instead of sleeping in the kernel until one comes (HAProxy's
 * {@code busy-polling}, bounded in time).
 *
 * <p>A thread that sleeps must be woken, and the wake-up is paid twice: by the thread that makes the
 * event (a client or server process writing to a socket, on another CPU), which must send an
 * interrupt to the sleeping CPU, and by the sleeper, whose CPU must come out of its idle state first.
 * On a virtual machine whose idle CPUs halt, both are exits to the hypervisor. A loop that is polling
 * when the event comes needs no wake-up. Polling costs CPU time: up to the window after each burst
 * of work, and all of the thread's time while events come closer together than the window.
 *
 * <p>Only the event loop's own thread uses an instance.
 */
final class BusyPoll {

    private final long windowNanos;
    private final LongSupplier nanoTime;
    /** When the loop last handled I/O, as {@link #nanoTime} counts; meaningful while {@link #polling}. */
    private long lastActive;
    private boolean polling;
    /** The loop's context, while {@link #nonBlocking} stands in for it. */
    private IoHandlerContext loop;

    /** The loop's context, except that it never lets the handler block. */
    private final IoHandlerContext nonBlocking = new IoHandlerContext() {
        @Override
        public boolean canBlock() {
            return false;
        }

        @Override
        public long delayNanos(long currentTimeNanos) {
            return loop.delayNanos(currentTimeNanos);
        }

        @Override
        public long deadlineNanos() {
            return loop.deadlineNanos();
        }
    };

    BusyPoll(long windowNanos, LongSupplier nanoTime) {
        if (windowNanos <= 0) {
            throw new IllegalArgumentException("windowNanos: " + windowNanos + " (expected: > 0)");
        }
        this.windowNanos = windowNanos;
        this.nanoTime = nanoTime;
    }

    /**
     * The context to run the handler with in this turn: {@code context} itself, or, when it would let
     * the handler block and the window since the last I/O is still open, a view of it that does not.
     */
    IoHandlerContext context(IoHandlerContext context) {
        if (!polling || !context.canBlock()) {
            return context;
        }
        if (nanoTime.getAsLong() - lastActive >= windowNanos) {
            polling = false;
            return context;
        }
        loop = context;
        return nonBlocking;
    }

    /** Tells it how many I/O events the handler handled in this turn; any opens the window again. */
    void handled(int events) {
        if (events > 0) {
            lastActive = nanoTime.getAsLong();
            polling = true;
        }
    }
}
