package io.lodestone.core.internal;

import io.lodestone.core.balance.PickContext;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One wait of one HTTP request or TCP connection in its backend's queue (see
 * {@link BackendRuntime.Waiter}), shared by both engines. Everything but {@link #wake} runs on the
 * event loop of the client it waits for: a wake-up from whatever thread freed the slot hops there.
 * The wait ends exactly once, with one of {@link #served}, {@link #retired} or {@link #timedOut},
 * or with {@link #cancel} from its owner; a slot handed to it after it ended is given back
 * ({@link ServerRuntime#release()}, which hands it on), and one handed to it while its loop no
 * longer takes tasks (the proxy stops) is freed. So a slot it is handed is released exactly once,
 * by the owner once {@link #served} has given it the server, or here.
 *
 * <p>A wait is used once: a request or connection that waits again makes a new one.
 */
public abstract class QueueWait implements BackendRuntime.Waiter, Runnable {

    private final BackendRuntime backend;
    private final EventExecutor loop;
    private final PickContext context;
    private boolean waiting;
    private ScheduledFuture<?> timer;

    /**
     * A wait in {@code backend}'s queue for a client served by {@code loop}; picks read {@code context}.
     */
    protected QueueWait(BackendRuntime backend, EventExecutor loop, PickContext context) {
        this.backend = backend;
        this.loop = loop;
        this.context = context;
    }

    /**
     * Whether a request that found no free server of {@code backend} may wait in its queue: the backend
     * has a queue timeout and some server in rotation (full or not).
     */
    public static boolean mayWait(BackendRuntime backend) {
        return backend.config().queueTimeout().toNanos() > 0 && backend.hasServersInRotation();
    }

    /**
     * On the loop: queues at the tail and starts the backend's queue timeout, then picks once more (a
     * slot freed just before the enqueue woke nobody), and returns {@code true}; {@link #served} or
     * {@link #retired} may be called before this returns. When the backend's
     * {@link io.lodestone.core.Backend#maxQueued() maxQueued} wait already, returns {@code false} at
     * once: the wait never started, took no slot, and is not used again.
     */
    public final boolean start() {
        if (!backend.enqueue(this, backend.config().maxQueued())) {
            return false;
        }
        waiting = true;
        timer = loop.schedule(this, backend.config().queueTimeout().toNanos(), TimeUnit.NANOSECONDS);
        pick(false);
        return true;
    }

    /**
     * Whether {@code backend}'s queue holds its {@link io.lodestone.core.Backend#maxQueued() maxQueued}
     * already (one counter read): a request that finds every server full is then answered at once.
     * {@link #start()} decides for good, as another client may queue meanwhile.
     */
    public static boolean isFull(BackendRuntime backend) {
        int max = backend.config().maxQueued();
        return max > 0 && backend.queued() >= max;
    }

    /** Whether the wait is under way: started, and neither ended nor cancelled. */
    public final boolean isWaiting() {
        return waiting;
    }

    /**
     * On the loop: stops waiting, as the owner no longer needs a server (the client is gone, the
     * proxy stops); a wake-up already on its way finds the wait over and hands the slot on.
     */
    public final void cancel() {
        if (waiting) {
            end();
            backend.leaveQueue(this);
        }
    }

    /** The queue timeout: runs on the loop. */
    @Override
    public final void run() {
        if (waiting) {
            timer = null;
            end();
            backend.leaveQueue(this);
            timedOut();
        }
    }

    @Override
    public final long affinityHash() {
        return context.affinityHash();
    }

    @Override
    public final void wake(ServerRuntime handed) {
        try {
            loop.execute(() -> woken(handed));
        } catch (RejectedExecutionException e) {
            // the proxy is shutting down: nobody is served any more, the slot is only given back
            if (handed != null) {
                handed.free();
            }
        }
    }

    /**
     * Queued (or queued again): picks once more. From {@link #start()} an exception of the balancing
     * strategy goes to its caller, as one from the pick before it would; after a wake-up ({@code woken})
     * it ends the wait with {@link #failed}.
     */
    private void pick(boolean woken) {
        ServerRuntime s;
        try {
            s = backend.select(context);
        } catch (RuntimeException e) {
            if (!woken) {
                throw e;
            }
            fail(e);
            return;
        }
        if (s != null) {
            // when a wake-up already took it out of the queue, that wake-up finds it over and hands on
            backend.leaveQueue(this);
            end();
            served(s);
        } else if (backend.isRetired() && backend.leaveQueue(this)) {
            // retired as it queued, after the retirement woke the queue; else a wake-up is on its way
            end();
            retired();
        }
    }

    /** On the loop: a slot was freed and this wait was next; with {@code handed}, that server's, taken for it. */
    private void woken(ServerRuntime handed) {
        if (!waiting) {
            // the wait ended (served, timed out, cancelled): the slot is someone else's
            if (handed != null) {
                handed.release();
            } else {
                backend.slotFreed();
            }
            return;
        }
        if (handed != null) {
            if (backend.mayUse(context, handed)) {
                backend.handedOff(context, handed);
                end();
                served(handed);
                return;
            }
            // taken out of rotation (or out of the client's reach) since it was handed over: given
            // back, and the wait picks again
            handed.release();
        }
        ServerRuntime s;
        try {
            s = backend.select(context);
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        if (s != null) {
            end();
            served(s);
        } else if (backend.isRetired()) {
            end();
            retired();
        } else {
            // one that was not queued took it first, or the slot was of a server out of rotation or
            // over its limit: still the oldest, it waits at the head of the queue (never refused by
            // the bound: it had its place)
            backend.requeue(this);
            pick(true);
        }
    }

    /**
     * The balancing strategy (the application's code) threw on a pick after a wake-up, which runs as a
     * task of the loop, outside the owner's handlers: the wait ends, and the owner ends its client as
     * it does after any unexpected error (not Netty's task runner, which would log it and leave the
     * client waiting until its queue timeout).
     */
    private void fail(RuntimeException e) {
        end();
        backend.leaveQueue(this);
        failed(e);
    }

    private void end() {
        waiting = false;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** On the loop: the wait got {@code server}, one unit of its load taken; the owner releases it. */
    protected abstract void served(ServerRuntime server);

    /** On the loop: a reconfiguration removed the backend, and no server will take the wait. */
    protected abstract void retired();

    /** On the loop: the backend's queue timeout passed. */
    protected abstract void timedOut();

    /**
     * On the loop: the backend's balancing strategy threw {@code e} on a pick made after a wake-up;
     * the wait is over, with no server.
     */
    protected abstract void failed(RuntimeException e);
}
