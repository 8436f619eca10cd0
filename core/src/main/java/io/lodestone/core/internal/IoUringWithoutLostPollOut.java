package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.channel.IoEvent;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.uring.IoUringIoEvent;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringIoOps;
import io.netty.util.concurrent.Ticker;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Netty's io_uring {@link IoHandler} with a work-around for a bug in Netty 4.2.18: once a socket's
 * peer has half-closed, a write that finds the socket full is never tried again.
 *
 * <p>When a write returns {@code EAGAIN}, Netty's io_uring channel arms a one-shot poll for
 * {@code POLLOUT} and writes nothing until that poll reports {@code POLLOUT}. The kernel adds
 * {@code POLLRDHUP}, {@code POLLHUP} and {@code POLLERR} to every io_uring poll, so after the peer's
 * FIN the poll completes at once with {@code POLLRDHUP} alone while the socket is still full. Netty
 * reads that completion as a read hang-up only and goes on waiting for a poll that is gone: the
 * channel writes nothing more, does not find a later reset either, and only a close ends it.
 * Netty writes with {@code writev} when more than one buffer waits, which returns {@code EAGAIN};
 * a single buffer goes out with {@code send}, which the kernel holds until the socket has room, so
 * a relay meets the bug only now and then (a peer that half-closes and then reads slowly).
 *
 * <p>Here every channel's registration notes the poll for {@code POLLOUT} it submits. When that poll
 * completes without {@code POLLOUT}, the completion still goes to the channel, and the loop later
 * hands the channel a completion with {@code POLLOUT} for the same poll, as if it had reported room.
 * The channel writes again: it makes progress, finds the error a reset left, or blocks and arms a new
 * poll, which the loop watches the same way. The first retry comes {@link #FIRST_RETRY_NANOS} after
 * the poll, then each one twice as late as the one before while the channel could write nothing, up
 * to {@link #LAST_RETRY_NANOS}; a write that made progress brings the next back to the first delay.
 * Retry times are rounded up to a grain ({@link #retryTime}), so that the retries of many stalled
 * channels share the loop's wake-ups. A retry costs the loop a {@code writev} and a poll: some tens
 * of microseconds here, so a thousand channels stalled at the longest delay took 6 % of a
 * core, against under 1 % on epoll. Netty's public interface offers no way to wait
 * for room that a half-close does not end (its epoll wait needs an event array only its package can
 * make), so the cost stays linear in the stalled channels until Netty is fixed.
 * The retries stand in for readiness the kernel would report, so they follow the system's time, not
 * the clock a loop's timers may follow. A retry also lets a channel closed in the meantime finish
 * its close: Netty cancels a registration only when no poll is marked as armed.
 *
 * <p>The poll's opcode and mask are read from Netty's {@link IoUringIoOps}, whose accessors are not
 * public: on the class path they can be; on the module path only with {@code --add-opens
 * io.netty.transport.classes.io_uring/io.netty.channel.uring=...}. Where they cannot be read, a
 * warning is logged once and the handler passes everything through as Netty's does.
 *
 * <p>Each loop has a {@link LoopClock}, which this handler tells when a turn's phases begin, and
 * may busy-poll ({@link BusyPoll}); {@link LoopTurns} does both.
 */
final class IoUringWithoutLostPollOut extends ClockedIoHandler {

    private static final Logger log = LoggerFactory.getLogger(IoUringWithoutLostPollOut.class);

    /** How long after a lost poll the channel is first told to write again. */
    static final long FIRST_RETRY_NANOS = 1_000_000;
    /** The longest wait between two retries of a channel that can write nothing. */
    static final long LAST_RETRY_NANOS = 1_000_000_000;

    /** io_uring's opcodes, fixed by the kernel's interface (io_uring.h). */
    private static final byte IORING_OP_POLL_ADD = 6;
    private static final byte IORING_OP_WRITEV = 2;
    private static final byte IORING_OP_SENDMSG = 9;
    private static final byte IORING_OP_WRITE = 23;
    private static final byte IORING_OP_SEND = 26;
    /** poll(2)'s event bits, fixed by Linux's interface. */
    private static final int POLLOUT = 0x4;

    /** {@code IoUringIoOps.opcode()}, {@code union3()} (a poll's mask) and {@code userData()}; null when unreadable. */
    private static final MethodHandle OPCODE;
    private static final MethodHandle POLL_MASK;
    private static final MethodHandle USER_DATA;

    static {
        MethodHandle opcode = null;
        MethodHandle mask = null;
        MethodHandle userData = null;
        try {
            opcode = accessor("opcode");
            mask = accessor("union3");
            userData = accessor("userData");
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("Netty's io_uring operations cannot be read ({}); a write blocked after the peer's "
                    + "half-close may wait until the connection times out", e.toString());
        }
        OPCODE = userData == null ? null : opcode;
        POLL_MASK = userData == null ? null : mask;
        USER_DATA = userData;
    }

    private static MethodHandle accessor(String name) throws ReflectiveOperationException {
        Method m = IoUringIoOps.class.getDeclaredMethod(name);
        m.setAccessible(true);
        return MethodHandles.lookup().unreflect(m);
    }

    /** Channels whose poll was lost, waiting for their retry; touched by the event loop's thread only. */
    private Handle[] waiting = new Handle[8];
    private int waitingLength;
    /** When the earliest retry is due, in {@link System#nanoTime()}; meaningful while any waits. */
    private long nextRetry;
    /** The loop's context, also ending the wait when the earliest retry is due. */
    private final Retrying retrying = new Retrying();

    private IoUringWithoutLostPollOut(IoHandler uring, LoopTurns turns) {
        super(uring, turns);
    }

    /**
     * A factory of io_uring handlers whose channels write again after a poll lost to a half-close,
     * busy-polling for {@code busyPollNanos} after the last I/O (0 never busy-polls), on a loop whose
     * timers follow {@code timerClock} ({@code null}: the system's; see {@link LoopTurns}).
     */
    static IoHandlerFactory newFactory(long busyPollNanos, Clock timerClock) {
        IoHandlerFactory uring = IoUringIoHandler.newFactory();
        return executor -> new IoUringWithoutLostPollOut(uring.newHandler(executor),
                new LoopTurns(busyPollNanos, timerClock));
    }

    /** Whether the work-around is in force: Netty's io_uring operations could be read. */
    static boolean inForce() {
        return USER_DATA != null;
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        if (USER_DATA == null || !(handle instanceof IoUringIoHandle channel)) {
            return handler.register(handle);
        }
        Handle h = new Handle(channel);
        return new Registration(handler.register(h), h);
    }

    @Override
    public int run(IoHandlerContext context) {
        if (waitingLength == 0) {
            return turns.run(handler, context);
        }
        retrying.loop = context;
        int handled = turns.run(handler, retrying);
        return handled + retryDue();
    }

    /** Hands every channel whose retry is due its completion with {@code POLLOUT}; returns how many. */
    private int retryDue() {
        long now = System.nanoTime();
        if (now - nextRetry < 0) {
            return 0;
        }
        Handle[] due = null;
        int dueLength = 0;
        int kept = 0;
        long next = Long.MAX_VALUE;
        for (int i = 0; i < waitingLength; i++) {
            Handle h = waiting[i];
            if (now - h.retryAt >= 0) {
                if (due == null) {
                    due = new Handle[waitingLength - i];
                }
                due[dueLength++] = h;
            } else {
                next = kept == 0 || h.retryAt - next < 0 ? h.retryAt : next;
                waiting[kept++] = h;
            }
        }
        Arrays.fill(waiting, kept, waitingLength, null);
        waitingLength = kept;
        nextRetry = next;
        for (int i = 0; i < dueLength; i++) {
            due[i].retry();
        }
        return dueLength;
    }

    private void await(Handle h, long at) {
        if (waitingLength == waiting.length) {
            waiting = Arrays.copyOf(waiting, waitingLength * 2);
        }
        nextRetry = waitingLength == 0 || at - nextRetry < 0 ? at : nextRetry;
        waiting[waitingLength++] = h;
        h.retryAt = at;
    }

    /**
     * When a retry {@code delay} after {@code now} is due: rounded up to the next multiple of
     * {@link #TICK_SHORT}, or of {@link #TICK_LONG} for delays that long or longer, so that the
     * retries of many channels come in the same turns of the loop instead of waking it once each.
     */
    static long retryTime(long now, long delay) {
        long tick = delay >= TICK_LONG ? TICK_LONG : TICK_SHORT;
        return ((now + delay) | (tick - 1)) + 1;
    }

    /** The grains retries are rounded up to: 2^20 ns (about 1 ms) and 2^24 ns (about 16.8 ms). */
    static final long TICK_SHORT = 1L << 20;
    static final long TICK_LONG = 1L << 24;

    /** The delay before the next retry: the first after a write made progress, else twice the last, within bounds. */
    static long nextDelay(long lastDelay, boolean wrote) {
        return wrote || lastDelay <= 0 ? FIRST_RETRY_NANOS : Math.min(LAST_RETRY_NANOS, lastDelay * 2);
    }

    /** A channel's handle, which watches the completion of its polls for {@code POLLOUT}. */
    private final class Handle implements IoUringIoHandle {
        private final IoUringIoHandle channel;
        /** The user data of the poll for {@code POLLOUT} last submitted, while {@link #pollOutArmed}. */
        private long pollOut;
        private boolean pollOutArmed;
        /** Whether a write made progress since the last lost poll. */
        private boolean wrote;
        /** The delay before the last retry; 0 before the first. */
        private long delay;
        /** When the retry is due, in {@link System#nanoTime()}, while waiting. */
        private long retryAt;
        /** The registration Netty's handler gives with each completion, used for the retry's. */
        private IoRegistration registration;

        Handle(IoUringIoHandle channel) {
            this.channel = channel;
        }

        void submitted(IoOps ops) {
            if (!(ops instanceof IoUringIoOps o)) {
                return;
            }
            try {
                if ((byte) OPCODE.invokeExact(o) == IORING_OP_POLL_ADD && ((int) POLL_MASK.invokeExact(o) & POLLOUT) != 0) {
                    pollOut = (long) USER_DATA.invokeExact(o);
                    pollOutArmed = true;
                }
            } catch (Throwable e) {
                throw new IllegalStateException("reading Netty's io_uring operation " + o, e);
            }
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            IoUringIoEvent e = (IoUringIoEvent) event;
            byte op = e.opcode();
            int res = e.res();
            if (op == IORING_OP_POLL_ADD && pollOutArmed && e.userData() == pollOut) {
                pollOutArmed = false;
                this.registration = registration;
                channel.handle(registration, event);
                if (res >= 0 && (res & POLLOUT) == 0) {
                    delay = nextDelay(delay, wrote);
                    wrote = false;
                    await(this, retryTime(System.nanoTime(), delay));
                }
                return;
            }
            if (res > 0 && (op == IORING_OP_WRITEV || op == IORING_OP_SEND || op == IORING_OP_SENDMSG || op == IORING_OP_WRITE)) {
                wrote = true;
            }
            channel.handle(registration, event);
        }

        /** Tells the channel that its lost poll reported room, unless Netty no longer routes its completions. */
        void retry() {
            if (registration.isValid()) {
                channel.handle(registration, new IoUringIoEvent(POLLOUT, 0, IORING_OP_POLL_ADD, pollOut));
            }
        }

        @Override
        public void registered() {
            channel.registered();
        }

        @Override
        public void unregistered() {
            channel.unregistered();
        }

        @Override
        public void close() throws Exception {
            channel.close();
        }

        @Override
        public String toString() {
            return channel.toString();
        }
    }

    /** Netty's registration of a channel, telling the channel's {@link Handle} what it submits. */
    private static final class Registration extends ForwardingRegistration {
        private final Handle handle;

        Registration(IoRegistration uring, Handle handle) {
            super(uring);
            this.handle = handle;
        }

        @Override
        public long submit(IoOps ops) {
            long id = netty.submit(ops);
            handle.submitted(ops);
            return id;
        }
    }

    /** The loop's context, whose wait also ends when the earliest retry is due. */
    private final class Retrying implements IoHandlerContext {
        IoHandlerContext loop;

        @Override
        public boolean canBlock() {
            return loop.canBlock();
        }

        @Override
        public long delayNanos(long currentTimeNanos) {
            long untilRetry = Math.max(0, nextRetry - System.nanoTime());
            return loop.deadlineNanos() == -1 ? untilRetry : Math.min(loop.delayNanos(currentTimeNanos), untilRetry);
        }

        @Override
        public long deadlineNanos() {
            long now = Ticker.systemTicker().nanoTime();
            return now + delayNanos(now);
        }
    }
}
