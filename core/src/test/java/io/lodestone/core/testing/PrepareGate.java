package io.lodestone.core.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.balance.Balancer;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.Candidates;
import io.lodestone.core.balance.PickContext;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Round robin whose {@link Balancer#prepare} of a new version, once armed by {@link #during}, signals
 * and waits for the test. {@code prepare} runs on the thread that changed the servers (runtime
 * control's caller, a health check's completion, a timer), after the change and before the backend
 * uses the new version: the test looks at the proxy at that moment every time, without a sleep.
 */
public final class PrepareGate implements BalancingStrategy {

    private volatile boolean armed;
    private volatile CountDownLatch entered = new CountDownLatch(1);
    private volatile CountDownLatch release = new CountDownLatch(1);

    @Override
    public Balancer newBalancer() {
        Balancer roundRobin = BalancingStrategy.roundRobin().newBalancer();
        return new Balancer() {
            @Override
            public int pick(Candidates candidates, PickContext context) {
                return roundRobin.pick(candidates, context);
            }

            @Override
            public void prepare(Candidates candidates) {
                if (armed) {
                    armed = false;
                    entered.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                roundRobin.prepare(candidates);
            }
        };
    }

    /**
     * Runs {@code change} on a thread of its own, and {@code look} on the caller's while that thread
     * is inside the preparation of the version the change makes (it must make one: a server that
     * joins or leaves a tier that keeps some server); returns what {@code look} saw, once the change
     * has returned.
     */
    public <T> T during(Runnable change, Supplier<T> look) throws InterruptedException {
        entered = new CountDownLatch(1);
        release = new CountDownLatch(1);
        armed = true;
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread changer = new Thread(() -> {
            try {
                change.run();
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "state-change");
        changer.start();
        T seen;
        try {
            assertThat(entered.await(10, TimeUnit.SECONDS)).as("the change made a new version of the rotation").isTrue();
            seen = look.get();
        } finally {
            release.countDown();
            changer.join(10_000);
        }
        assertThat(changer.isAlive()).as("the change returned").isFalse();
        assertThat(failed.get()).isNull();
        return seen;
    }
}
