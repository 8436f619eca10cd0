package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.Backend;
import io.lodestone.core.ServerState;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.testing.ManualClock;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StickOnSourceTest {

    private final ManualClock clock = new ManualClock();
    private final MutablePickContext context = new MutablePickContext(new SplittableRandom(7));

    private BackendRuntime backend(int maxEntries) {
        Backend b = Backend.named("app")
                .server("s1", "10.0.0.1:80")
                .server("s2", "10.0.0.2:80")
                .server("s3", "10.0.0.3:80")
                .stickOnSource(Duration.ofMinutes(10), maxEntries)
                .build();
        return new BackendRuntime(b, clock, (task, delay) -> Scheduler.NONE, new ServerEvents());
    }

    private String pick(BackendRuntime backend, long client) {
        ServerRuntime s = backend.select(context.affinityHash(client));
        assertThat(s).isNotNull();
        s.release();
        return s.server().name();
    }

    /**
     * Every primary at its limit: the backups take the overflow, and a client stuck to one of them
     * (by the stick table or a sticky cookie) stays on it while no primary can take it; once one can,
     * the client goes back to the primaries. With the primaries in rotation counted, full or not, such
     * a client was balanced afresh among the backups at each request: b1, b2, b1, ...
     */
    @Test
    void aClientStuckToABackupDuringTheOverflowStaysOnItWhileThePrimariesAreFull() {
        StickyCookie cookie = StickyCookie.insert("SRV");
        BackendRuntime backend = new BackendRuntime(Backend.named("app")
                .server("p1", "10.0.0.1:80", s -> s.maxConnections(1))
                .server("b1", "10.0.0.2:80", s -> s.backup())
                .server("b2", "10.0.0.3:80", s -> s.backup())
                .stickOnSource(Duration.ofMinutes(10), 100)
                .cookie(cookie)
                .build(), clock, (task, delay) -> Scheduler.NONE, new ServerEvents());
        ServerRuntime p1 = backend.server("p1");
        assertThat(p1.tryAcquire()).isTrue();

        String first = pick(backend, 11);
        assertThat(first).startsWith("b");
        for (int i = 0; i < 10; i++) {
            assertThat(pick(backend, 11)).as("request %s", i).isEqualTo(first);
        }
        String b2 = backend.server("b2").cookieValue(cookie);
        ServerRuntime byCookie = backend.acquireByCookie(cookie, b2, b2.length());
        assertThat(byCookie).as("a client with b2's cookie").isSameAs(backend.server("b2"));
        byCookie.release();

        p1.release();
        assertThat(pick(backend, 11)).isEqualTo("p1");
        assertThat(backend.acquireByCookie(cookie, b2, b2.length())).as("b2's cookie once p1 has room").isNull();
    }

    @Test
    void aClientKeepsItsServerWhileTheRoundRobinMovesOn() {
        BackendRuntime backend = backend(100);
        String first = pick(backend, 11);
        for (int i = 0; i < 20; i++) {
            pick(backend, 1000 + i);
            assertThat(pick(backend, 11)).isEqualTo(first);
        }
        Set<String> others = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            others.add(pick(backend, 2000 + i));
        }
        assertThat(others).containsExactlyInAnyOrder("s1", "s2", "s3");
    }

    /**
     * Two link-local clients with one address on two links are two hosts, so two entries: the second
     * is balanced (round robin: the next server) instead of taking the first one's. Unit level: the
     * tests have only 127.0.0.1 and ::1, and neither has a zone.
     */
    @Test
    void linkLocalClientsOnTwoLinksAreStuckApart() throws Exception {
        BackendRuntime backend = backend(100);
        byte[] linkLocal = InetAddress.getByName("fe80::1").getAddress();
        long eth0 = PickContext.hash(Inet6Address.getByAddress(null, linkLocal, 2));
        long eth1 = PickContext.hash(Inet6Address.getByAddress(null, linkLocal, 3));
        String first = pick(backend, eth0);
        assertThat(pick(backend, eth1)).isNotEqualTo(first);
        assertThat(backend.stuckClients()).isEqualTo(2);
        assertThat(pick(backend, eth0)).isEqualTo(first);
    }

    @Test
    void aClientStaysOnItsDrainingOrWeightZeroServerWhileNewClientsGoElsewhere() {
        BackendRuntime backend = backend(100);
        String first = pick(backend, 11);
        backend.server(first).drain();
        for (int i = 0; i < 5; i++) {
            assertThat(pick(backend, 11)).as("a draining server keeps its stuck clients").isEqualTo(first);
            assertThat(pick(backend, 100 + i)).as("and gets no new one").isNotEqualTo(first);
        }
        backend.server(first).ready();
        backend.server(first).weight(0);
        for (int i = 0; i < 5; i++) {
            assertThat(pick(backend, 11)).as("a server of weight 0 keeps its stuck clients").isEqualTo(first);
            assertThat(pick(backend, 200 + i)).isNotEqualTo(first);
        }
    }

    @Test
    void aClientWhoseServerIsInMaintenanceDownEjectedOrRemovedIsRebalancedAndStuckToTheNewOne() {
        BackendRuntime backend = backend(100);
        String first = pick(backend, 11);
        backend.server(first).maintenance();
        String second = pick(backend, 11);
        assertThat(second).isNotEqualTo(first);
        backend.server(first).ready();
        for (int i = 0; i < 5; i++) {
            assertThat(pick(backend, 11)).isEqualTo(second);
        }
        backend.server(second).drain();
        backend.server(second).health(false, "failed its check");
        String third = pick(backend, 11);
        assertThat(third).as("a draining server that fails its checks takes nobody").isNotEqualTo(second);
        backend.server(second).health(true, "passed");
        backend.server(second).ready();
        assertThat(pick(backend, 11)).isEqualTo(third);
        backend.removeServer(third);
        assertThat(pick(backend, 11)).isNotEqualTo(third);
    }

    @Test
    void anEntryExpiresAfterTheIdleTimeOnTheProxyClock() {
        BackendRuntime backend = backend(100);
        String first = pick(backend, 11);
        clock.advance(Duration.ofMinutes(9));
        assertThat(pick(backend, 11)).isEqualTo(first);
        clock.advance(Duration.ofMinutes(9));
        assertThat(pick(backend, 11)).as("access renews the entry").isEqualTo(first);
        assertThat(backend.stuckClients()).isEqualTo(1);
        clock.advance(Duration.ofMinutes(10).plusNanos(1));
        assertThat(backend.stuckClients()).isZero();
        // forgotten: the round robin decides again, and a fresh entry is made
        pick(backend, 11);
        assertThat(backend.stuckClients()).isEqualTo(1);
    }

    @Test
    void theTableIsBounded() {
        BackendRuntime backend = backend(50);
        for (int i = 1; i <= 500; i++) {
            pick(backend, i);
        }
        assertThat(backend.stuckClients()).isLessThanOrEqualTo(50).isPositive();
    }

    @Test
    void aFullServerServesTheClientElsewhereWithoutLosingTheEntry() {
        Backend b = Backend.named("app")
                .server("s1", "10.0.0.1:80", s -> s.maxConnections(1))
                .server("s2", "10.0.0.2:80", s -> s.maxConnections(1))
                .stickOnSource(Duration.ofMinutes(1), 10)
                .build();
        BackendRuntime backend = new BackendRuntime(b, clock, (task, delay) -> Scheduler.NONE, new ServerEvents());
        ServerRuntime held = backend.select(context.affinityHash(5));
        ServerRuntime other = backend.select(context.affinityHash(5));
        assertThat(other).isNotNull().isNotSameAs(held);
        other.release();
        held.release();
        assertThat(pick(backend, 5)).isEqualTo(held.server().name());
    }

    @Test
    void aRetryAvoidsTheStuckServerItJustTried() {
        BackendRuntime backend = backend(10);
        ServerRuntime first = backend.select(context.affinityHash(9));
        first.release();
        ServerRuntime retry = backend.select(context.affinityHash(9), List.of(first));
        assertThat(retry).isNotNull().isNotSameAs(first);
        retry.release();
        assertThat(pick(backend, 9)).isEqualTo(first.server().name());
    }

    @Test
    void aClientWithoutAnAddressIsBalancedNormally() {
        BackendRuntime backend = backend(10);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            seen.add(pick(backend, 0));
        }
        assertThat(seen).hasSize(3);
        assertThat(backend.stuckClients()).isZero();
    }

    @Test
    void invalidSettingsAreRefused() {
        assertThatThrownBy(() -> Backend.named("app").stickOnSource(Duration.ZERO, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stickOnSource expiry: PT0S");
        assertThatThrownBy(() -> Backend.named("app").stickOnSource(Duration.ofSeconds(1), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stickOnSource maxEntries: 0 (expected: >= 1)");
    }
}
