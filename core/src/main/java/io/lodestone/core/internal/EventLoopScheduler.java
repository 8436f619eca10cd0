package io.lodestone.core.internal;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/** A {@link Scheduler} on one Netty event loop; tasks rejected by a loop that is shutting down are dropped. */
public final class EventLoopScheduler implements Scheduler {

    private final EventExecutor executor;

    public EventLoopScheduler(EventExecutor executor) {
        this.executor = executor;
    }

    @Override
    public Task schedule(Runnable task, long delayNanos) {
        if (executor.isShuttingDown()) {
            return NONE;
        }
        try {
            ScheduledFuture<?> f = executor.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        } catch (RejectedExecutionException e) {
            return NONE;
        }
    }
}
