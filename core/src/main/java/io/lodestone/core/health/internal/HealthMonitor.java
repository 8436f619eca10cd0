package io.lodestone.core.health.internal;

import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.HealthCheckTarget;
import io.lodestone.core.health.HealthChecker;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.Scheduler;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.ServerWatcher;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * Runs the active health checks of one backend: for each server, a probe every interval (the fast
 * interval while the server is changing state, plus a random jitter), with a timeout, and the rise
 * and fall counting that sets the server's health. Time comes from the backend's clock and
 * scheduler, so tests drive it with manual ones.
 */
public final class HealthMonitor implements ServerWatcher {

    private final BackendRuntime backend;
    private final HealthCheck check;
    private final HealthChecker checker;
    private final Scheduler scheduler;
    private final RandomGenerator random;
    private final Map<ServerRuntime, ServerCheck> checks = new ConcurrentHashMap<>();
    private volatile boolean stopped;

    /** Creates a monitor; {@link BackendRuntime#watcher(ServerWatcher)} starts it. */
    public HealthMonitor(BackendRuntime backend, HealthChecker checker, RandomGenerator random) {
        this.backend = backend;
        this.check = backend.config().healthCheck();
        if (check == null) {
            throw new IllegalArgumentException("backend " + backend.name() + " healthCheck: null (expected: a health check)");
        }
        this.checker = checker;
        this.scheduler = backend.scheduler();
        this.random = random;
    }

    @Override
    public void watch(ServerRuntime server) {
        if (stopped) {
            return;
        }
        ServerCheck c = new ServerCheck(server);
        if (checks.putIfAbsent(server, c) == null) {
            c.scheduleNext(jitter());
        }
    }

    @Override
    public void unwatch(ServerRuntime server) {
        ServerCheck c = checks.remove(server);
        if (c != null) {
            c.stop();
        }
    }

    @Override
    public void recheck(ServerRuntime server) {
        ServerCheck c = checks.get(server);
        if (c != null) {
            c.recheck();
        }
    }

    @Override
    public void stop() {
        stopped = true;
        for (ServerCheck c : checks.values()) {
            c.stop();
        }
        checks.clear();
    }

    private long jitter() {
        long j = check.jitter().toNanos();
        return j <= 0 ? 0 : random.nextLong(j + 1);
    }

    /** The state machine of one server's checks; its methods run on the scheduler or a checker's callback. */
    private final class ServerCheck {
        private final ServerRuntime server;
        /** What the probes target; made again when a reconfiguration gives the server new settings. */
        private HealthCheckTarget target;
        private int passed;
        private int failed;
        private boolean lastKnownHealthy;
        private long generation;
        private boolean inFlight;
        private boolean stopped;
        private Scheduler.Task next = Scheduler.NONE;
        private Scheduler.Task timeout = Scheduler.NONE;

        ServerCheck(ServerRuntime server) {
            this.server = server;
            this.target = target(server);
            this.lastKnownHealthy = server.isHealthy();
        }

        private HealthCheckTarget target(ServerRuntime s) {
            return new HealthCheckTarget(backend.name(), s.server(), check.addressFor(s.server().name(), s.server().address()), check.timeout());
        }

        synchronized void scheduleNext(long delayNanos) {
            if (stopped) {
                return;
            }
            next.cancel();
            next = scheduler.schedule(this::run, delayNanos);
        }

        /**
         * Probes the server at once. A probe in flight is dropped, its result not counted however it
         * ends: it began before the server was marked unverified (its update), and may have been
         * answered by the old version, so with a rise of 1 it would bring the updated server back
         * unseen, and a rolling update would go on while that server may be down.
         */
        synchronized void recheck() {
            if (inFlight) {
                inFlight = false;
                generation++;
                timeout.cancel();
            }
            scheduleNext(0);
        }

        synchronized void stop() {
            stopped = true;
            next.cancel();
            timeout.cancel();
        }

        private void run() {
            long gen;
            HealthCheckTarget probed;
            synchronized (this) {
                if (stopped || inFlight) {
                    return;
                }
                if (target.server() != server.server()) {
                    target = target(server);
                }
                probed = target;
                inFlight = true;
                gen = ++generation;
                timeout = scheduler.schedule(() -> complete(gen,
                        HealthCheckResult.unhealthy("timed out after " + check.timeout().toMillis() + " ms")), check.timeout().toNanos());
            }
            CompletionStage<HealthCheckResult> stage;
            try {
                stage = checker.check(probed);
            } catch (RuntimeException e) {
                complete(gen, HealthCheckResult.unhealthy("checker failed: " + e));
                return;
            }
            if (stage == null) {
                complete(gen, HealthCheckResult.unhealthy("checker returned null"));
                return;
            }
            stage.whenComplete((result, error) -> {
                if (error != null) {
                    complete(gen, HealthCheckResult.unhealthy("checker failed: " + error));
                } else if (result == null) {
                    complete(gen, HealthCheckResult.unhealthy("checker returned no result"));
                } else {
                    complete(gen, result);
                }
            });
        }

        private synchronized void complete(long gen, HealthCheckResult result) {
            if (stopped || gen != generation || !inFlight) {
                return;
            }
            inFlight = false;
            timeout.cancel();
            boolean up = server.isHealthy();
            if (up != lastKnownHealthy) {
                // forced by runtime control: count afresh
                passed = 0;
                failed = 0;
                lastKnownHealthy = up;
            }
            Boolean verdict = null;
            String reason = null;
            if (result.isHealthy()) {
                failed = 0;
                if (!up && ++passed >= check.rise()) {
                    passed = 0;
                    verdict = Boolean.TRUE;
                    reason = "passed " + check.rise() + " check(s) in a row: " + result.detail();
                }
            } else {
                passed = 0;
                if (up && ++failed >= check.fall()) {
                    failed = 0;
                    verdict = Boolean.FALSE;
                    reason = "failed " + check.fall() + " check(s) in a row: " + result.detail();
                }
            }
            boolean changing = passed > 0 || failed > 0;
            // the next check is on the clock before anyone can see this one's result: a test (or an
            // application) that waits for the result and then moves a manual clock by the interval
            // must find it scheduled, not scheduled afterwards from the moved clock. The next check
            // cannot complete before this one is published: it needs this object's monitor to start
            scheduleNext((changing ? check.fastInterval() : check.interval()).toNanos() + jitter());
            if (verdict != null) {
                lastKnownHealthy = verdict;
                // the state it leads to first (and the servers in rotation with it), then the result:
                // whoever sees the result (lastCheck(), a listener) and reads the state finds the new
                // one; told the other way round, a test that awaited the result read the old state
                server.health(verdict, reason);
            }
            server.checked(result);
        }
    }
}
