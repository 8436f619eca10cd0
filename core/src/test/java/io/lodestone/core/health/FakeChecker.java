package io.lodestone.core.health;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** A checker whose answer per server the test sets; it records every probe. */
public final class FakeChecker implements HealthChecker {

    private final Map<String, Boolean> answers = new ConcurrentHashMap<>();
    private final Map<String, Integer> calls = new ConcurrentHashMap<>();
    private final List<InetSocketAddress> addresses = new ArrayList<>();
    private volatile boolean hang;

    /** Sets what probes of {@code server} answer from now on (healthy by default). */
    public FakeChecker answer(String server, boolean healthy) {
        answers.put(server, healthy);
        return this;
    }

    /** Makes every probe from now on never complete. */
    public FakeChecker hang(boolean hang) {
        this.hang = hang;
        return this;
    }

    /** How many probes of {@code server} ran. */
    public int calls(String server) {
        return calls.getOrDefault(server, 0);
    }

    /** The addresses probed, in order. */
    public synchronized List<InetSocketAddress> addresses() {
        return List.copyOf(addresses);
    }

    @Override
    public CompletionStage<HealthCheckResult> check(HealthCheckTarget target) {
        String name = target.server().name();
        calls.merge(name, 1, Integer::sum);
        synchronized (this) {
            addresses.add(target.address());
        }
        if (hang) {
            return new CompletableFuture<>();
        }
        boolean healthy = answers.getOrDefault(name, true);
        return CompletableFuture.completedFuture(healthy ? HealthCheckResult.healthy("fake ok") : HealthCheckResult.unhealthy("fake failure"));
    }
}
