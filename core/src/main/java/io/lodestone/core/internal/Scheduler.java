package io.lodestone.core.internal;

/**
 * Runs tasks after a delay measured on the proxy's {@link io.lodestone.core.Clock}. Production code
 * schedules on an event loop ({@link EventLoopScheduler}); tests use a manual scheduler driven by a
 * manual clock, so that time-dependent logic (health checks, ejections, slow start, rolling updates)
 * runs without sleeping.
 */
public interface Scheduler {

    /** Runs {@code task} once, {@code delayNanos} from now (0 or less: as soon as possible). */
    Task schedule(Runnable task, long delayNanos);

    /** A scheduled task. */
    @FunctionalInterface
    interface Task {
        /** Prevents the task from running if it has not started; does nothing otherwise. */
        void cancel();
    }

    /** A task that was never scheduled. */
    Task NONE = () -> { };
}
