package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.testing.Await;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many waits over several event loops, on a backend whose servers are drained, put in maintenance,
 * given a weight of 0 and a lower limit while the waits come and go: each wait ends once (served,
 * timed out, or cancelled by its owner, sometimes as a slot is handed to it), every slot is released
 * once, a handed slot counts as a selection only when it is used, and at the end every server's load
 * and the queue are back to 0. Bounded: a fixed number of waits, a few seconds at most.
 */
class QueueWaitStressTest {

    private static final int LOOPS = 4;
    private static final int CLIENTS = 4000;

    private final List<EventLoop> loops = new ArrayList<>();
    private final MutablePickContext context = new MutablePickContext(MutablePickContext.THREAD_LOCAL_RANDOM);
    private final BackendRuntime backend = new BackendRuntime(config(2));
    private final ConcurrentLinkedQueue<String> faults = new ConcurrentLinkedQueue<>();
    private final CountDownLatch done = new CountDownLatch(CLIENTS);
    /** Slots used: picked at once, or taken from the queue. */
    private final AtomicLong used = new AtomicLong();
    private final AtomicInteger timedOut = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    private final AtomicInteger servedFromQueue = new AtomicInteger();

    private static Backend config(int maxConnections) {
        return Backend.named("app")
                .server("s1", "10.0.0.1:80", s -> s.maxConnections(maxConnections))
                .server("s2", "10.0.0.2:80", s -> s.maxConnections(maxConnections))
                .server("s3", "10.0.0.3:80", s -> s.maxConnections(maxConnections))
                .queueTimeout(Duration.ofMillis(40))
                .build();
    }

    @AfterEach
    void stop() {
        for (EventLoop l : loops) {
            l.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /** One client: picks, or waits; holds what it gets for a moment, then releases it from another loop. */
    private final class Client extends QueueWait {
        private final EventLoop loop;
        private final AtomicInteger ends = new AtomicInteger();

        Client(EventLoop loop) {
            super(backend, loop, context);
            this.loop = loop;
        }

        void arrive() {
            ServerRuntime s = backend.select(context);
            if (s != null) {
                use(s);
                return;
            }
            start();
            if (isWaiting() && ThreadLocalRandom.current().nextInt(3) == 0) {
                // the client goes away after a while, perhaps as a slot is handed to it
                loop.schedule(() -> {
                    if (isWaiting()) {
                        cancel();
                        cancelled.incrementAndGet();
                        end("cancel");
                    }
                }, ThreadLocalRandom.current().nextInt(2000), TimeUnit.MICROSECONDS);
            }
        }

        private void use(ServerRuntime s) {
            used.incrementAndGet();
            EventLoop other = loops.get(ThreadLocalRandom.current().nextInt(LOOPS));
            other.schedule(() -> {
                s.release();
                end("released");
            }, ThreadLocalRandom.current().nextInt(500), TimeUnit.MICROSECONDS);
        }

        private void end(String how) {
            if (ends.incrementAndGet() != 1) {
                faults.add("a wait ended twice, the second time: " + how);
            }
            done.countDown();
        }

        @Override
        protected void served(ServerRuntime server) {
            if (!loop.inEventLoop()) {
                faults.add("served off its loop");
            }
            servedFromQueue.incrementAndGet();
            use(server);
        }

        @Override
        protected void retired() {
            faults.add("retired, though the backend never was");
            end("retired");
        }

        @Override
        protected void timedOut() {
            timedOut.incrementAndGet();
            end("timeout");
        }

        @Override
        protected void failed(RuntimeException e) {
            faults.add("failed, though the strategy never throws: " + e);
            end("failed");
        }
    }

    @Test
    void everySlotIsReleasedOnceAndTheLoadsAndTheQueueReturnToZero() throws InterruptedException {
        for (int i = 0; i < LOOPS; i++) {
            loops.add(new DefaultEventLoop());
        }
        Thread chaos = new Thread(this::changeServers, "chaos");
        chaos.start();
        for (int i = 0; i < CLIENTS; i++) {
            EventLoop loop = loops.get(i % LOOPS);
            Client c = new Client(loop);
            loop.execute(c::arrive);
            if (i % 200 == 199) {
                // in bursts, so that the servers' changes meet waits of every age
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
        assertThat(done.await(30, TimeUnit.SECONDS)).as("every client ended").isTrue();
        chaos.join(10_000);
        assertThat(chaos.isAlive()).isFalse();
        Await.until(Duration.ofSeconds(5), "every slot released", () -> backend.servers().stream().allMatch(s -> s.load() == 0));
        assertThat(faults).isEmpty();
        assertThat(backend.queued()).isZero();
        assertThat(backend.metrics().snapshot().currentQueue()).isZero();
        long selected = backend.servers().stream().mapToLong(ServerRuntime::totalSelected).sum();
        assertThat(selected).as("a handed slot counts as a selection only when it is used").isEqualTo(used.get());
        assertThat(servedFromQueue.get()).as("some were served from the queue").isPositive();
        assertThat(cancelled.get() + timedOut.get()).as("some waits ended without a server").isPositive();
    }

    /** Drains, maintains, weighs 0 and lowers the limit of the servers, in turn, while the clients run. */
    private void changeServers() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (done.getCount() > CLIENTS / 10 && System.nanoTime() < deadline) {
            ServerRuntime s = backend.servers().get(random.nextInt(3));
            switch (random.nextInt(4)) {
                case 0 -> s.drain();
                case 1 -> s.maintenance();
                case 2 -> s.weight(0);
                default -> backend.reconfigure(config(1));
            }
            LockSupport.parkNanos(random.nextInt(500_000));
            s.ready();
            s.weight(s.server().weight());
            backend.reconfigure(config(2));
            LockSupport.parkNanos(random.nextInt(500_000));
        }
    }
}
