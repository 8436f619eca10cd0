package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.ServerState;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** Passive outlier detection with a manual clock: ejection, growing ejection time, the cap, the return. */
class OutlierDetectionTest {

    private final ManualClock clock = new ManualClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final ServerEvents events = new ServerEvents();
    private final List<String> changes = new ArrayList<>();
    private static final PickContext PICK = new PickContext() {
        private final RandomGenerator random = new SplittableRandom(1);

        @Override
        public long affinityHash() {
            return 0;
        }

        @Override
        public RandomGenerator random() {
            return random;
        }
    };

    private BackendRuntime backend(int servers, int maxPercent) {
        Backend.Builder b = Backend.named("app").outlierDetection(OutlierDetection.consecutiveFailures(3)
                .baseEjectionTime(Duration.ofSeconds(10))
                .maxEjectionTime(Duration.ofSeconds(25))
                .maxEjectionPercent(maxPercent));
        for (int i = 1; i <= servers; i++) {
            b.server("web" + i, "127.0.0.1:" + (8080 + i));
        }
        events.add((s, from, to, reason) -> changes.add(s.server().name() + " " + from + "->" + to));
        return new BackendRuntime(b.build(), clock, scheduler, events);
    }

    private static void fail(ServerRuntime s, int times) {
        for (int i = 0; i < times; i++) {
            s.reportFailure(FailureKind.CONNECT);
        }
    }

    @Test
    void consecutiveFailuresEjectUntilTheTimeIsUp() {
        BackendRuntime app = backend(2, 10);
        ServerRuntime web1 = app.server("web1");
        fail(web1, 2);
        web1.reportSuccess();
        fail(web1, 2);
        assertThat(web1.isEjected()).isFalse();
        fail(web1, 1);
        assertThat(web1.isEjected()).isTrue();
        assertThat(web1.state()).isEqualTo(ServerState.DOWN);
        assertThat(app.usableServers()).isEqualTo(1);
        for (int i = 0; i < 20; i++) {
            ServerRuntime picked = app.select(PICK);
            assertThat(picked.server().name()).isEqualTo("web2");
            picked.release();
        }
        scheduler.advance(Duration.ofMillis(9_999));
        assertThat(web1.isEjected()).isTrue();
        scheduler.advance(Duration.ofMillis(1));
        assertThat(web1.isEjected()).isFalse();
        assertThat(web1.state()).isEqualTo(ServerState.UP);
        assertThat(app.usableServers()).isEqualTo(2);
        assertThat(changes).containsExactly("web1 UP->DOWN", "web1 DOWN->UP");
        assertThat(web1.failures()).isEqualTo(5);
    }

    @Test
    void eachEjectionLastsLongerUpToTheMaximum() {
        BackendRuntime app = backend(2, 50);
        ServerRuntime web1 = app.server("web1");
        long[] expectedMillis = {10_000, 20_000, 25_000, 25_000};
        for (int n = 0; n < expectedMillis.length; n++) {
            fail(web1, 3);
            assertThat(web1.ejections()).isEqualTo(n + 1);
            scheduler.advance(Duration.ofMillis(expectedMillis[n] - 1));
            assertThat(web1.isEjected()).as("ejection %d", n + 1).isTrue();
            scheduler.advance(Duration.ofMillis(1));
            assertThat(web1.isEjected()).as("ejection %d", n + 1).isFalse();
        }
    }

    @Test
    void aServerThatStaysHealthyLongerThanTheMaximumStartsAfresh() {
        BackendRuntime app = backend(2, 50);
        ServerRuntime web1 = app.server("web1");
        fail(web1, 3);
        scheduler.advance(Duration.ofSeconds(10));
        scheduler.advance(Duration.ofSeconds(26));
        fail(web1, 3);
        // the backoff starts afresh; the count of ejections, a Prometheus counter, never goes down
        assertThat(web1.ejections()).isEqualTo(2);
        scheduler.advance(Duration.ofMillis(9_999));
        assertThat(web1.isEjected()).isTrue();
        scheduler.advance(Duration.ofMillis(1));
        assertThat(web1.isEjected()).isFalse();
    }

    @Test
    void noMoreThanTheMaximumPercentAreEjected() {
        BackendRuntime app = backend(4, 50);
        fail(app.server("web1"), 3);
        fail(app.server("web2"), 3);
        fail(app.server("web3"), 3);
        assertThat(app.ejectedServers()).isEqualTo(2);
        assertThat(app.server("web3").isEjected()).isFalse();
        assertThat(app.usableServers()).isEqualTo(2);
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(app.ejectedServers()).isZero();
        fail(app.server("web3"), 3);                         // the count goes on: a fourth failure in a row
        assertThat(app.server("web3").isEjected()).isTrue();
    }

    /**
     * A server removed from the backend holds none of its ejection slots: neither an ejection it had
     * when removed, nor one its in-flight requests would earn it afterwards (a server removed to be
     * stopped fails what it still had open), so a server of the backend that fails next is ejected.
     */
    @Test
    void aRemovedServerHoldsNoEjectionSlot() {
        BackendRuntime app = backend(3, 10);
        ServerRuntime web1 = app.server("web1");
        fail(web1, 3);
        assertThat(web1.isEjected()).isTrue();
        app.removeServer("web1");
        assertThat(app.ejectedServers()).isZero();
        fail(app.server("web2"), 3);
        assertThat(app.server("web2").isEjected()).isTrue();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(app.ejectedServers()).isZero();
        assertThat(app.server("web2").isEjected()).isFalse();

        ServerRuntime web3 = app.server("web3");
        ServerRuntime web2 = app.server("web2");
        app.removeServer("web3");
        fail(web3, 3);
        assertThat(web3.isEjected()).isFalse();
        assertThat(web3.failures()).isEqualTo(3);
        fail(web2, 3);
        assertThat(web2.isEjected()).isTrue();
    }

    /**
     * A server in maintenance holds no ejection slot either: put in maintenance while ejected, its
     * ejection ends; its open requests failing while it is stopped eject nothing; so a server of the
     * backend that fails meanwhile is ejected. Made ready again, it counts its failures afresh.
     */
    @Test
    void aServerInMaintenanceHoldsNoEjectionSlot() {
        BackendRuntime app = backend(3, 10);
        ServerRuntime web1 = app.server("web1");
        ServerRuntime web2 = app.server("web2");
        fail(web1, 3);
        assertThat(app.ejectedServers()).isEqualTo(1);
        web1.maintenance();
        assertThat(web1.isEjected()).isFalse();
        assertThat(app.ejectedServers()).isZero();
        fail(web1, 5);
        assertThat(web1.isEjected()).isFalse();
        assertThat(web1.state()).isEqualTo(ServerState.MAINT);
        fail(web2, 3);
        assertThat(web2.isEjected()).isTrue();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(app.ejectedServers()).isZero();

        web1.ready();
        assertThat(web1.state()).isEqualTo(ServerState.UP);
        fail(web1, 2);
        assertThat(web1.isEjected()).as("two failures since maintenance, three needed").isFalse();
        fail(web1, 1);
        assertThat(web1.isEjected()).isTrue();
        web1.state(ServerState.MAINT);
        assertThat(app.ejectedServers()).as("runtime control's state(MAINT) too").isZero();
    }

    /** An ejection ended by maintenance does not end the next one at its own time. */
    @Test
    void anEjectionAfterMaintenanceKeepsItsOwnTime() {
        BackendRuntime app = backend(3, 10);
        ServerRuntime web1 = app.server("web1");
        fail(web1, 3);                                       // ejected for 10 s
        web1.maintenance();
        web1.ready();
        fail(web1, 3);                                       // ejected again, the second time: 20 s
        assertThat(web1.isEjected()).isTrue();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(web1.isEjected()).as("the first ejection's time is up, not the second's").isTrue();
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(web1.isEjected()).isFalse();
        assertThat(app.ejectedServers()).isZero();
    }

    @Test
    void atLeastOneServerMayBeEjectedUnlessThePercentIsZero() {
        BackendRuntime small = backend(2, 10);
        fail(small.server("web1"), 3);
        assertThat(small.server("web1").isEjected()).isTrue();
        fail(small.server("web2"), 3);
        assertThat(small.server("web2").isEjected()).isFalse();

        BackendRuntime never = backend(2, 0);
        fail(never.server("web1"), 10);
        assertThat(never.server("web1").isEjected()).isFalse();
    }
}
