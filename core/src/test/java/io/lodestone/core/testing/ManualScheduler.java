package io.lodestone.core.testing;

import io.lodestone.core.internal.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A {@link Scheduler} driven by a {@link ManualClock}: tasks run only inside {@link #advance(Duration)}
 * or {@link #runDue()}, on the calling thread, in due-time order, with the clock moved to each task's
 * due time before it runs. Tests of time-dependent logic advance it instead of sleeping.
 */
public final class ManualScheduler implements Scheduler {

    private final ManualClock clock;
    private final PriorityQueue<Entry> queue = new PriorityQueue<>();
    private long sequence;

    public ManualScheduler(ManualClock clock) {
        this.clock = clock;
    }

    /** The clock this scheduler moves. */
    public ManualClock clock() {
        return clock;
    }

    @Override
    public synchronized Task schedule(Runnable task, long delayNanos) {
        Entry e = new Entry(task, clock.nanoTime() + Math.max(0, delayNanos), sequence++);
        queue.add(e);
        return () -> {
            synchronized (ManualScheduler.this) {
                queue.remove(e);
            }
        };
    }

    /** Moves the clock forward by {@code d}, running every task that falls due on the way. */
    public void advance(Duration d) {
        long target = clock.nanoTime() + d.toNanos();
        while (true) {
            Entry next;
            synchronized (this) {
                next = queue.peek();
                if (next == null || next.due > target) {
                    break;
                }
                queue.poll();
            }
            if (next.due > clock.nanoTime()) {
                clock.advance(Duration.ofNanos(next.due - clock.nanoTime()));
            }
            next.task.run();
        }
        if (target > clock.nanoTime()) {
            clock.advance(Duration.ofNanos(target - clock.nanoTime()));
        }
    }

    /** Runs the tasks due now (those scheduled with no delay), without moving the clock. */
    public void runDue() {
        advance(Duration.ZERO);
    }

    /** The delays from now of the pending tasks, soonest first. */
    public synchronized List<Duration> pendingDelays() {
        List<Entry> sorted = new ArrayList<>(queue);
        sorted.sort(null);
        List<Duration> delays = new ArrayList<>();
        for (Entry e : sorted) {
            delays.add(Duration.ofNanos(e.due - clock.nanoTime()));
        }
        return delays;
    }

    private static final class Entry implements Comparable<Entry> {
        final Runnable task;
        final long due;
        final long seq;

        Entry(Runnable task, long due, long seq) {
            this.task = task;
            this.due = due;
            this.seq = seq;
        }

        @Override
        public int compareTo(Entry o) {
            int c = Long.compare(due, o.due);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
