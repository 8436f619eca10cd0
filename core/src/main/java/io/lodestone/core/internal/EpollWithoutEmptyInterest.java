package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.concurrent.ThreadAwareExecutor;
import java.io.UncheckedIOException;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>It also saves system calls. Netty gives a socket's interest set to the epoll set as soon as it
 * registers the channel, and again at each change, often several times in one turn of the loop: an
 * accepted socket is added with only {@code EPOLLRDHUP}, then changed to read a moment later; when a
 * socket's connect to a server completes, it stops waiting to write, is given the set it already has,
 * and starts reading, three changes in a row. Here every interest set given on the event loop's own
 * thread is held until the loop is about to wait, and only the last one is given to the epoll set,
 * unless it equals the set the epoll set already has: an accepted socket costs one {@code epoll_ctl}
 * instead of two, a connected one two instead of four (closing adds one more to each, Netty's
 * {@code EPOLL_CTL_DEL}). Nothing is missed by waiting: the loop takes no events until it waits,
 * the kernel reports readiness that predates the {@code ADD} or {@code MOD}, and Netty's epoll
 * channels are level-triggered. A set given from another thread goes to the epoll set at once.
 *
 * <p>Each loop has a {@link LoopClock}, which this handler tells when a turn's phases begin, and
 * may busy-poll ({@link BusyPoll}); {@link LoopTurns} does both.
 */
final class EpollWithoutEmptyInterest extends ClockedIoHandler {

    private static final Logger log = LoggerFactory.getLogger(EpollWithoutEmptyInterest.class);
    private static final EpollIoOps IDLE = EpollIoOps.EPOLLERR.with(EpollIoOps.EPOLLET);

    private final ThreadAwareExecutor executor;
    /** Registrations whose interest set is held back; touched by the event loop's thread only. */
    private Registration[] queue = new Registration[16];
    private int queueLength;

    private EpollWithoutEmptyInterest(IoHandler epoll, ThreadAwareExecutor executor, LoopTurns turns) {
        super(epoll, turns);
        this.executor = executor;
    }

    /**
     * A factory of epoll handlers whose channels never submit an empty interest set, busy-polling for
     * {@code busyPollNanos} after the last I/O (0 never busy-polls), on a loop whose timers follow
     * {@code timerClock} ({@code null}: the system's; see {@link LoopTurns}). Its handlers stay on the
     * thread they start on (see {@link Transport#onFixedThreads}).
     */
    static IoHandlerFactory newFactory(long busyPollNanos, Clock timerClock) {
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        return executor -> new EpollWithoutEmptyInterest(epoll.newHandler(executor), executor,
                new LoopTurns(busyPollNanos, timerClock));
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return new Registration(handler.register(handle), handle, this);
    }

    @Override
    public int run(IoHandlerContext context) {
        if (queueLength > 0) {
            submitHeld();
        }
        return turns.run(handler, context);
    }

    private void enqueue(Registration r) {
        if (queueLength == queue.length) {
            queue = Arrays.copyOf(queue, queueLength * 2);
        }
        queue[queueLength++] = r;
    }

    /** Gives the epoll set the interest sets held back, before the loop waits for events. */
    private void submitHeld() {
        for (int i = 0; i < queueLength; i++) {
            Registration r = queue[i];
            queue[i] = null;
            r.submitHeld();
        }
        queueLength = 0;
    }

    private static final class Registration extends ForwardingRegistration {
        private final IoHandle handle;
        private final EpollWithoutEmptyInterest handler;
        /** The interest set to give the epoll set before the loop waits; {@code null} when there is none. */
        private EpollIoOps held;
        /** The interest set last given to the epoll set; {@code null} until the socket is added. */
        private EpollIoOps current;
        /** Whether this registration is in the handler's queue. */
        private boolean queued;

        Registration(IoRegistration epoll, IoHandle handle, EpollWithoutEmptyInterest handler) {
            super(epoll);
            this.handle = handle;
            this.handler = handler;
        }

        @Override
        public long submit(IoOps ops) {
            EpollIoOps e = ops instanceof EpollIoOps o ? o : null;
            if (e != null && e.value() == 0) {
                e = IDLE;
                ops = IDLE;
            }
            if (e != null && handler.executor.isExecutorThread(Thread.currentThread())) {
                held = e;
                if (!queued) {
                    queued = true;
                    handler.enqueue(this);
                }
                return e.value();
            }
            held = null;
            if (e != null && e.equals(current)) {
                return e.value();
            }
            current = e;
            return netty.submit(ops);
        }

        /**
         * Gives the epoll set the interest set held back, unless it already has it; Netty's registration
         * ignores it once cancelled. If the epoll set refuses it, the channel is closed, as Netty does.
         */
        void submitHeld() {
            queued = false;
            EpollIoOps ops = held;
            if (ops == null) {
                return;
            }
            held = null;
            if (ops.equals(current)) {
                return;
            }
            current = ops;
            try {
                netty.submit(ops);
            } catch (UncheckedIOException e) {
                log.warn("epoll refused the interest set {} of {}; closing it", ops, handle, e);
                try {
                    handle.close();
                } catch (Exception closeFailed) {
                    log.debug("closing {} failed", handle, closeFailed);
                }
            }
        }

        @Override
        public boolean cancel() {
            held = null;
            return netty.cancel();
        }
    }
}
