package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Server;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The wait both engines share: the slot a wait is handed is released exactly once, whether the wait
 * uses it, ended before the wake-up reached its loop, or its loop no longer runs tasks.
 */
class QueueWaitTest {

    private final MutablePickContext context = new MutablePickContext(new SplittableRandom(1));
    private final BackendRuntime backend = new BackendRuntime(Backend.named("app")
            .server("s1", "10.0.0.1:80", s -> s.maxConnections(1)).queueTimeout(Duration.ofSeconds(30)).build());
    private final ServerRuntime s1 = backend.server("s1");
    private final EventLoop loop = new DefaultEventLoop();
    private final List<String> outcomes = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private final class Recording extends QueueWait {
        private final String name;

        Recording(String name) {
            this(backend, name);
        }

        Recording(BackendRuntime backend, String name) {
            super(backend, loop, context);
            this.name = name;
        }

        @Override
        protected void served(ServerRuntime server) {
            outcomes.add(name + ":" + server.server().name());
        }

        @Override
        protected void retired() {
            outcomes.add(name + ":retired");
        }

        @Override
        protected void timedOut() {
            outcomes.add(name + ":timeout");
        }

        @Override
        protected void failed(RuntimeException e) {
            outcomes.add(name + ":failed " + e.getMessage());
        }
    }

    private void onLoop(Runnable task) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        loop.execute(() -> {
            task.run();
            done.countDown();
        });
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
    }

    /** Holds the loop until the latch opens, so that the test orders what it runs next. */
    private CountDownLatch blockLoop() {
        CountDownLatch open = new CountDownLatch(1);
        loop.execute(() -> {
            try {
                open.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return open;
    }

    @Test
    void aReleaseHandsTheSlotToTheWaitOnItsLoop() throws InterruptedException {
        assertThat(s1.tryAcquire()).isTrue();
        Recording wait = new Recording("a");
        onLoop(wait::start);
        assertThat(backend.queued()).isEqualTo(1);

        s1.release();
        onLoop(() -> { });
        assertThat(outcomes).containsExactly("a:s1");
        assertThat(wait.isWaiting()).isFalse();
        assertThat(s1.load()).as("the slot went to the wait, still taken").isEqualTo(1);
    }

    /**
     * The client went away (the wait cancelled on its loop) after the server handed it the slot but
     * before the wake-up ran: the slot is given back once, and goes to the next wait.
     */
    @Test
    void aSlotHandedToAWaitThatEndedMeanwhileGoesToTheNextOne() throws InterruptedException {
        assertThat(s1.tryAcquire()).isTrue();
        Recording gone = new Recording("gone");
        Recording next = new Recording("next");
        onLoop(gone::start);
        onLoop(next::start);
        assertThat(backend.queued()).isEqualTo(2);

        CountDownLatch open = blockLoop();
        loop.execute(gone::cancel);
        // from this thread, while the loop is held: the slot is handed to "gone", its wake-up queued after the cancel
        s1.release();
        open.countDown();
        onLoop(() -> { });
        onLoop(() -> { });
        assertThat(outcomes).containsExactly("next:s1");
        assertThat(s1.load()).isEqualTo(1);
        assertThat(backend.queued()).isZero();
    }

    @Test
    void aSlotHandedToAWaitThatEndedWithNobodyBehindIsFreed() throws InterruptedException {
        assertThat(s1.tryAcquire()).isTrue();
        Recording gone = new Recording("gone");
        onLoop(gone::start);
        CountDownLatch open = blockLoop();
        loop.execute(gone::cancel);
        s1.release();
        open.countDown();
        onLoop(() -> { });
        assertThat(outcomes).isEmpty();
        assertThat(s1.load()).isZero();
    }

    /** The loop no longer takes tasks (the proxy stops): the slot handed to the wait is freed, not lost. */
    @Test
    void aSlotHandedToAWaitWhoseLoopHasStoppedIsFreed() throws InterruptedException {
        assertThat(s1.tryAcquire()).isTrue();
        Recording wait = new Recording("a");
        onLoop(wait::start);
        assertThat(loop.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS)).isTrue();

        s1.release();
        assertThat(outcomes).isEmpty();
        assertThat(s1.load()).isZero();
        assertThat(backend.queued()).isZero();
    }

    @Test
    void aRetiredBackendEndsTheWaitAtOnce() throws InterruptedException {
        assertThat(s1.tryAcquire()).isTrue();
        Recording wait = new Recording("a");
        onLoop(wait::start);
        backend.retire();
        onLoop(() -> { });
        assertThat(outcomes).containsExactly("a:retired");
        assertThat(backend.queued()).isZero();
    }

    /**
     * The balancing strategy (application code) throws on the pick a wake-up makes, on the loop outside
     * any handler: the wait ends with {@code failed} and leaves the queue, and its owner answers the
     * client, where the exception went to Netty's task runner and the wait stayed until its timeout.
     */
    @Test
    void aStrategyThatThrowsOnTheWokenPickEndsTheWait() throws InterruptedException {
        AtomicBoolean broken = new AtomicBoolean();
        BackendRuntime throwing = new BackendRuntime(Backend.named("app")
                .server("s1", "10.0.0.1:80", s -> s.maxConnections(1))
                .balance(() -> (candidates, context) -> {
                    if (broken.get()) {
                        throw new IllegalStateException("balancer bug");
                    }
                    for (int i = 0; i < candidates.size(); i++) {
                        if (candidates.isAvailable(i)) {
                            return i;
                        }
                    }
                    return -1;
                })
                .queueTimeout(Duration.ofSeconds(30)).build());
        assertThat(throwing.server("s1").tryAcquire()).isTrue();
        Recording wait = new Recording(throwing, "a");
        onLoop(wait::start);
        assertThat(throwing.queued()).isEqualTo(1);

        broken.set(true);
        // a server added wakes the queue without handing it a slot: the woken wait picks
        throwing.addServer(Server.builder("s2", "10.0.0.2:80").build());
        onLoop(() -> { });
        assertThat(outcomes).containsExactly("a:failed balancer bug");
        assertThat(wait.isWaiting()).isFalse();
        assertThat(throwing.queued()).isZero();
        assertThat(throwing.server("s2").load()).isZero();
    }
}
