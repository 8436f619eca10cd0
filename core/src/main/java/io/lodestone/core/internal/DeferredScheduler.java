package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * The proxy's scheduler, usable before the proxy has event loops: tasks scheduled before
 * {@link #attach(Scheduler)} wait, with their due time, and are handed over on attach; after
 * {@link #close()} tasks are dropped.
 */
public final class DeferredScheduler implements Scheduler {

    private final Clock clock;
    private final List<Pending> pending = new ArrayList<>();
    private volatile Scheduler delegate;
    private volatile boolean closed;

    public DeferredScheduler(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Task schedule(Runnable task, long delayNanos) {
        Scheduler d = delegate;
        if (d != null) {
            return d.schedule(task, delayNanos);
        }
        synchronized (pending) {
            if (closed) {
                return NONE;
            }
            d = delegate;
            if (d == null) {
                Pending p = new Pending(task, clock.nanoTime() + Math.max(0, delayNanos));
                pending.add(p);
                return p;
            }
        }
        return d.schedule(task, delayNanos);
    }

    /** Hands the waiting tasks to {@code scheduler} and schedules on it from now on. */
    public void attach(Scheduler scheduler) {
        synchronized (pending) {
            if (closed) {
                return;
            }
            delegate = scheduler;
            long now = clock.nanoTime();
            for (Pending p : pending) {
                p.attach(scheduler, now);
            }
            pending.clear();
        }
    }

    /** Drops waiting tasks and every task scheduled from now on. */
    public void close() {
        synchronized (pending) {
            closed = true;
            delegate = (task, delay) -> NONE;
            pending.clear();
        }
    }

    private static final class Pending implements Task {
        private final Runnable task;
        private final long due;
        private boolean cancelled;
        private Task scheduled;

        Pending(Runnable task, long due) {
            this.task = task;
            this.due = due;
        }

        synchronized void attach(Scheduler scheduler, long now) {
            if (!cancelled) {
                scheduled = scheduler.schedule(task, due - now);
            }
        }

        @Override
        public synchronized void cancel() {
            cancelled = true;
            if (scheduled != null) {
                scheduled.cancel();
            }
        }
    }
}
