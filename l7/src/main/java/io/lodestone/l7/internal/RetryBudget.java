package io.lodestone.l7.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's retry budget for one backend of one frontend: a retry may start only while the retries in
 * flight are fewer than {@code max(minConcurrency, ratio * requests in flight)}. So a failing server
 * cannot multiply the load on the others. A request holds one slot from its first retry until a
 * response head arrives or the request ends, whichever is first.
 */
final class RetryBudget {

    private final double ratio;
    private final int minConcurrency;
    private final LongAdder active = new LongAdder();
    private final AtomicInteger retries = new AtomicInteger();

    RetryBudget(double ratio, int minConcurrency) {
        this.ratio = ratio;
        this.minConcurrency = minConcurrency;
    }

    void requestStarted() {
        active.increment();
    }

    void requestEnded() {
        active.decrement();
    }

    /** Takes a retry slot if the budget allows one; pair with {@link #retryEnded()}. */
    boolean tryStartRetry() {
        long limit = Math.max(minConcurrency, (long) (ratio * active.sum()));
        int current;
        do {
            current = retries.get();
            if (current >= limit) {
                return false;
            }
        } while (!retries.compareAndSet(current, current + 1));
        return true;
    }

    void retryEnded() {
        retries.decrementAndGet();
    }
}
