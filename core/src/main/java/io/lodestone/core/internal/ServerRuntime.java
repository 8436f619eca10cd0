package io.lodestone.core.internal;

import io.lodestone.core.Server;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import io.lodestone.core.ServerStatus;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.metrics.internal.ServerMetrics;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.atomic.LongAdder;

/**
 * The runtime state of one server: administrative state, health, ejection, current weight, load.
 * What the engines call per connection or request ({@link #tryAcquire()}, {@link #release()},
 * {@link #reportSuccess()}, {@link #reportFailure(FailureKind)}) is lock-free.
 */
public final class ServerRuntime implements ServerControl {

    /** A slow start ramps the weight in this many steps, each a new candidate version. */
    public static final int SLOW_START_STEPS = 10;

    /**
     * The administrative state, set by runtime control. {@code UPDATE_DRAIN} is a drain a rolling
     * update started, read as {@code DRAIN} everywhere: an operator's drain is a different value, so
     * the update can tell, with a compare-and-set, whether the operator changed the state since.
     */
    enum Admin { READY, DRAIN, MAINT, UPDATE_DRAIN }

    private static final AtomicReferenceFieldUpdater<ServerRuntime, Admin> ADMIN =
            AtomicReferenceFieldUpdater.newUpdater(ServerRuntime.class, Admin.class, "admin");

    private volatile Server server;
    private final BackendRuntime backend;
    private final int index;
    private final ServerMetrics metrics;
    private final AtomicInteger load = new AtomicInteger();
    private final LongAdder selected = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final AtomicBoolean ejected = new AtomicBoolean();
    private final AtomicReference<CompletableFuture<Void>> idle = new AtomicReference<>();
    /**
     * What {@link #state()} reports: the state as of the backend's last refresh, set there once the
     * servers in rotation follow it ({@link BackendRuntime#refresh}).
     */
    private volatile ServerState visible;
    /** The last state told to the listeners, so that each change is told once. */
    private final AtomicReference<ServerState> reported;
    private volatile Admin admin = Admin.READY;
    private volatile boolean healthy;
    private volatile boolean removed;
    /** Set while a rolling update's action runs on the server: no persistent client is sent to it. */
    private volatile boolean updating;
    private volatile int weight;
    private volatile boolean ramping;
    private volatile long rampStart;
    private volatile int rampGeneration;
    /** The ramp's next step, cancelled when a new ramp or a new length replaces it. */
    private volatile Scheduler.Task rampStep = Scheduler.NONE;
    /** Every ejection so far: a counter, it never goes down. */
    private volatile int ejections;
    /** The ejection's place in the backoff: back to 0 once the server stayed in longer than the maximum. */
    private volatile int ejectionStep;
    private volatile long returnedAt = Long.MIN_VALUE;
    private volatile HealthCheckResult lastCheck;
    /** The server's sticky-cookie id and the cookie configuration it was computed for. */
    private volatile CookieId cookieId;
    private final LogThrottle tlsWarnings = new LogThrottle(BackendHandshake.WARN_INTERVAL_NANOS);

    ServerRuntime(Server server, BackendRuntime backend, int index, boolean healthy) {
        this.server = server;
        this.backend = backend;
        this.index = index;
        this.metrics = new ServerMetrics(backend.metrics(), server.name());
        this.weight = server.weight();
        this.healthy = healthy;
        this.visible = current();
        this.reported = new AtomicReference<>(visible);
    }

    @Override
    public Server server() {
        return server;
    }

    @Override
    public String backendName() {
        return backend.name();
    }

    /**
     * Takes a new configuration of the same server (same name and address) from a reconfiguration:
     * its weight, backup flag, connection limit and PROXY protocol. Runtime state is kept: admin
     * state, health, ejection, load, counters; the weight set at run time too, unless the configured
     * weight changed.
     */
    void reconfigure(Server next) {
        Server previous = server;
        server = next;
        if (next.weight() != previous.weight()) {
            weight = next.weight();
        }
    }

    /** When a failed TLS handshake with the server may be logged at WARN again ({@link BackendHandshake}). */
    public LogThrottle tlsWarnings() {
        return tlsWarnings;
    }

    /** The backend this server belongs to. */
    public BackendRuntime backend() {
        return backend;
    }

    /**
     * The server's traffic counters, which also count for its backend; engines record on them
     * without locking or allocating.
     */
    public ServerMetrics metrics() {
        return metrics;
    }

    /**
     * A number unique within the backend: the server's position in the backend's configuration, or
     * for a server added at run time, the next number after the last one given.
     */
    public int index() {
        return index;
    }

    /**
     * The state as the server's fields have it now; {@link #state()} reports it once the backend's
     * servers in rotation follow it. The server is in rotation exactly when this is {@code UP} and its
     * weight is above 0 ({@link #isCandidate()}).
     */
    ServerState current() {
        Admin a = admin;
        if (removed || a == Admin.MAINT) {
            return ServerState.MAINT;
        }
        if (a == Admin.DRAIN || a == Admin.UPDATE_DRAIN) {
            return ServerState.DRAIN;
        }
        if (!healthy || ejected.get()) {
            return ServerState.DOWN;
        }
        return ServerState.UP;
    }

    /**
     * The state as of the backend's last refresh of its servers in rotation: whoever reads a new state
     * here finds the rotation that follows from it (a server seen UP is picked, one seen out is not).
     * A change is made in the server's fields, the rotation is rebuilt from them, and only then is
     * the state published here, in both directions: a server leaving may still read as before for a
     * moment while it is picked no more (a pick skips a server that is no candidate), never the
     * reverse.
     */
    @Override
    public ServerState state() {
        return visible;
    }

    /** Publishes the state {@link BackendRuntime#refresh} built the rotation from; under the backend's lock. */
    void publish(ServerState state) {
        visible = state;
    }

    @Override
    public void state(ServerState newState) {
        Objects.requireNonNull(newState, "state");
        switch (newState) {
            case UP -> {
                admin = Admin.READY;
                healthy = true;
            }
            case DOWN -> {
                admin = Admin.READY;
                healthy = false;
            }
            case DRAIN -> admin = Admin.DRAIN;
            case MAINT -> {
                admin = Admin.MAINT;
                endEjection();
            }
            default -> throw new IllegalArgumentException("state: " + newState);
        }
        changed("set to " + newState + " by runtime control");
    }

    @Override
    public CompletableFuture<Void> drain() {
        admin = Admin.DRAIN;
        changed("drain requested");
        return whenIdle();
    }

    @Override
    public void maintenance() {
        admin = Admin.MAINT;
        endEjection();
        changed("maintenance requested");
    }

    @Override
    public void ready() {
        admin = Admin.READY;
        changed("made ready");
    }

    /** The administrative state alone, health aside. */
    Admin admin() {
        return admin;
    }

    /**
     * Drains the server for a rolling update if it is ready, atomically, so an operator's state set
     * at the same moment is never overwritten; {@code false} (nothing changed) when it was not ready.
     */
    boolean drainForUpdate() {
        if (!ADMIN.compareAndSet(this, Admin.READY, Admin.UPDATE_DRAIN)) {
            return false;
        }
        changed("drained for a rolling update");
        return true;
    }

    /**
     * Ends a rolling update's drain: makes the server ready if it is still in that drain, atomically;
     * {@code false} (nothing changed) when the operator set another state since.
     */
    boolean readyAfterUpdate() {
        if (!ADMIN.compareAndSet(this, Admin.UPDATE_DRAIN, Admin.READY)) {
            return false;
        }
        changed("made ready after a rolling update");
        return true;
    }

    /**
     * Turns a rolling update's drain that the update gives up (its action failed) into an ordinary
     * drain, left to the operator; {@code false} when the operator set another state since.
     */
    boolean keepDrainingAfterUpdate() {
        return ADMIN.compareAndSet(this, Admin.UPDATE_DRAIN, Admin.DRAIN);
    }

    /** Whether the last health verdict (or forced health) is up; ejection and admin state aside. */
    public boolean isHealthy() {
        return healthy;
    }

    /** Sets the health, as decided by the health monitor. */
    public void health(boolean up, String reason) {
        healthy = up;
        changed(reason);
    }

    /**
     * Marks the server down until its health checks pass again (after an update); does nothing when
     * the backend has no health check.
     */
    public void markUnverified(String reason) {
        if (backend.config().healthCheck() == null) {
            return;
        }
        healthy = false;
        changed(reason);
        ServerWatcher w = backend.watcher();
        if (w != null) {
            w.recheck(this);
        }
    }

    /**
     * Records a health check result and tells the listeners; the monitor calls it after
     * {@link #health} for a result that changes the health, so whoever sees the result sees the state.
     */
    public void checked(HealthCheckResult result) {
        lastCheck = result;
        backend.events().checked(this, result);
    }

    @Override
    public HealthCheckResult lastCheck() {
        return lastCheck;
    }

    /** Whether the server has been removed from its backend at run time. */
    public boolean isRemoved() {
        return removed;
    }

    /**
     * Marks the server removed; an ejection it has ends at once, so that it holds none of the
     * backend's ejection slots (see {@link #eject}, which ejects no removed server).
     */
    void markRemoved() {
        removed = true;
        endEjection();
        changed("removed from the backend");
    }

    /**
     * Ends an ejection and gives its slot back, for a server removed or put in maintenance (set
     * first): such a server takes no new traffic anyway, and its ejection held one of the backend's
     * slots for its whole time. Its count of failures starts afresh.
     */
    private void endEjection() {
        consecutiveFailures.set(0);
        if (ejected.compareAndSet(true, false)) {
            backend.ejectionEnded();
        }
    }

    /**
     * After a change of the server's fields: starts a slow start on recovery, refreshes the backend's
     * candidates, which publishes the state {@link #state()} reports, and then tells the listeners.
     * The refresh runs even when the state reads as it was told last: a concurrent change of the
     * same server may have been read half-way by another refresh, and every change must be followed
     * by a refresh that reads it.
     */
    private void changed(String reason) {
        ServerState before;
        ServerState now;
        synchronized (this) {
            now = current();
            before = reported.getAndSet(now);
        }
        if (before != now && now == ServerState.UP) {
            startSlowStart();
        }
        backend.refresh(this);
        if (before != now) {
            backend.events().stateChanged(this, before, now, reason);
        }
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public void weight(int newWeight) {
        if (newWeight < 0 || newWeight > Server.MAX_WEIGHT) {
            throw new IllegalArgumentException("server " + server.name() + " weight: " + newWeight + " (expected: 0.." + Server.MAX_WEIGHT + ")");
        }
        if (weight != newWeight) {
            weight = newWeight;
            backend.refresh();
        }
    }

    @Override
    public int effectiveWeight() {
        int w = weight;
        if (!ramping) {
            return w;
        }
        long slow = backend.config().slowStart().toNanos();
        long elapsed = backend.clock().nanoTime() - rampStart;
        if (elapsed >= slow || slow <= 0) {
            // the ramp ends with its time whatever the weight: its step task stops on this
            ramping = false;
            return w;
        }
        if (w <= 1) {
            return w;
        }
        long step = Math.max(0, elapsed) * SLOW_START_STEPS / slow + 1;
        return (int) Math.max(1, (w * step + SLOW_START_STEPS - 1) / SLOW_START_STEPS);
    }

    /** Starts ramping the weight when the backend has a slow start. */
    void startSlowStart() {
        long slow = backend.config().slowStart().toNanos();
        if (slow <= 0) {
            return;
        }
        int generation;
        synchronized (this) {
            generation = ++rampGeneration;
            rampStart = backend.clock().nanoTime();
            ramping = true;
        }
        rampStep.cancel();
        scheduleRampStep(generation);
    }

    /**
     * The backend's slow start changed (a reconfiguration): a ramp under way goes on at the new
     * length, as if it had started with it, its steps timed anew.
     */
    void slowStartChanged() {
        int generation;
        synchronized (this) {
            if (!ramping) {
                return;
            }
            generation = ++rampGeneration;
        }
        rampStep.cancel();
        scheduleRampStep(generation);
    }

    /**
     * Schedules the next step of the ramp, at the backend's slow start as it is now: a step task
     * that kept the length its ramp began with found, once a reconfiguration had lengthened it, the
     * old end behind it and every next step due at once, and ran on the event loop without a pause
     * until the new end.
     */
    private void scheduleRampStep(int generation) {
        long slow = backend.config().slowStart().toNanos();
        long elapsed = Math.max(0, backend.clock().nanoTime() - rampStart);
        long delay = 0;
        if (elapsed < slow) {
            long stepLength = Math.max(1, slow / SLOW_START_STEPS);
            delay = Math.min((elapsed / stepLength + 1) * stepLength, slow) - elapsed;
        }
        // at the end (or with the slow start turned off) effectiveWeight() ends the ramp: no next step
        rampStep = backend.scheduler().schedule(() -> {
            if (rampGeneration != generation) {
                return;
            }
            effectiveWeight();
            backend.refresh();
            if (ramping) {
                scheduleRampStep(generation);
            }
        }, delay);
    }

    @Override
    public boolean isEjected() {
        return ejected.get();
    }

    /** How many times outlier detection has ejected this server. */
    public int ejections() {
        return ejections;
    }

    /**
     * Reports a successful connection or request (at L7, a response below 500): resets the count of
     * consecutive failures. Lock-free; writes shared memory only after a failure.
     */
    public void reportSuccess() {
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    /**
     * Reports a failed connection or request; enough in a row eject the server when the backend has
     * outlier detection. Lock-free except on the rare ejection itself.
     */
    public void reportFailure(FailureKind kind) {
        failures.increment();
        OutlierDetection od = backend.config().outlierDetection();
        if (od == null || admin == Admin.MAINT) {
            // in maintenance (being stopped, say): its failures count toward no ejection, now or once ready
            return;
        }
        if (consecutiveFailures.incrementAndGet() >= od.consecutiveFailures() && !ejected.get()) {
            backend.tryEject(this, od, kind);
        }
    }

    /**
     * Ejects the server if it is not ejected, not removed and not in maintenance; the backend has
     * reserved a slot, which it keeps when this returns true. A removed server's failures, or a server
     * in maintenance's (the requests it still had open when it was removed or put in maintenance to be
     * stopped), eject nothing: an ejection would hold one of the backend's slots for its whole time,
     * and no failing server of the backend could be ejected meanwhile.
     */
    boolean eject(OutlierDetection od, FailureKind kind) {
        if (removed || admin == Admin.MAINT || !ejected.compareAndSet(false, true)) {
            return false;
        }
        if (removed || admin == Admin.MAINT) {
            // removed or put in maintenance meanwhile (each sets its flag before it looks for an
            // ejection to end): take the ejection back and let the backend free the slot, unless
            // endEjection took it first and freed the slot itself
            return !ejected.compareAndSet(true, false);
        }
        long now = backend.clock().nanoTime();
        int n = ejectionStep;
        if (returnedAt != Long.MIN_VALUE && now - returnedAt > od.maxEjectionTime().toNanos()) {
            n = 0;
        }
        ejectionStep = ++n;
        ejections++;
        Duration time = od.ejectionTime(n);
        int failed = consecutiveFailures.getAndSet(0);
        changed("ejected for " + time.toMillis() + " ms after " + failed + " consecutive failures (last: " + kind + ")");
        int which = ejections;
        backend.scheduler().schedule(() -> returnFromEjection(which), time.toNanos());
        return true;
    }

    /**
     * Ends ejection number {@code which} when its time is up, unless it ended sooner (maintenance) and
     * the server has been ejected again since: that later ejection keeps its own time.
     */
    private void returnFromEjection(int which) {
        if (which == ejections && ejected.compareAndSet(true, false)) {
            returnedAt = backend.clock().nanoTime();
            consecutiveFailures.set(0);
            backend.ejectionEnded();
            changed("ejection time is up");
        }
    }

    @Override
    public int load() {
        return load.get();
    }

    @Override
    public long totalSelected() {
        return selected.sum();
    }

    @Override
    public long failures() {
        return failures.sum();
    }

    /** Whether the server may be offered to a balancer: ready, healthy, not ejected, of positive weight. */
    public boolean isCandidate() {
        return admin == Admin.READY && healthy && !removed && weight > 0 && !ejected.get();
    }

    /**
     * Whether a client persistent to this server (a sticky cookie or a stick-table entry naming it)
     * may still be sent to it: healthy, not ejected, not in maintenance, not removed, and not being
     * updated by a rolling update; a draining server and one of weight 0 qualify (HAProxy's DRAIN:
     * no new clients from balancing, persistent ones still served). Its connection limit applies
     * apart, as for a balanced pick.
     */
    boolean isPersistable() {
        Admin a = admin;
        return a != Admin.MAINT && healthy && !removed && !updating && !ejected.get();
    }

    /**
     * Marks the server as being updated by a rolling update (its action runs): it then takes no
     * client at all, persistent ones included, while it keeps its administrative state.
     */
    void updating(boolean now) {
        updating = now;
    }

    /**
     * The id of this server in {@code cookie}: its explicit {@link Server#cookie()} value, else the
     * cookie's keyed hash of the names; computed once per cookie and server configuration.
     */
    public String cookieValue(StickyCookie cookie) {
        CookieId id = cookieId;
        Server config = server;
        if (id == null || id.cookie != cookie || id.server != config) {
            id = new CookieId(cookie, config, config.cookie() != null ? config.cookie() : cookie.valueFor(backend.name(), config.name()));
            cookieId = id;
        }
        return id.value;
    }

    private record CookieId(StickyCookie cookie, Server server, String value) {
    }

    /** Whether the server is below its connection limit. */
    public boolean hasCapacity() {
        int max = server.maxConnections();
        return max == 0 || load.get() < max;
    }

    /** Takes one unit of load if the server is below its limit; pair with {@link #release()}. */
    public boolean tryAcquire() {
        int max = server.maxConnections();
        if (max == 0) {
            load.incrementAndGet();
        } else {
            int current;
            do {
                current = load.get();
                if (current >= max) {
                    return false;
                }
            } while (!load.compareAndSet(current, current + 1));
        }
        selected.increment();
        return true;
    }

    /**
     * Gives back one unit of load taken by {@link #tryAcquire()} or a successful pick; completes the
     * futures of {@link #drain()} and {@link #whenIdle()} when the load reaches 0. When a request
     * waits in the backend's queue and the server is in rotation and within its limit, the unit goes
     * to the oldest such request instead, or, from a server out of rotation that still serves the
     * clients stuck to it, to the oldest request stuck to it (see {@link BackendRuntime.Waiter}): the
     * load stays, and no request that comes later can take the slot first. Lock-free.
     */
    public void release() {
        int max = server.maxConnections();
        // not while over a limit a reconfiguration lowered: the unit must go then
        if ((max == 0 || load.get() <= max) && backend.handOff(this)) {
            // counted in selected when the waiter uses it (BackendRuntime.handedOff)
            return;
        }
        free();
    }

    /** A waiting request uses the slot this server handed it: counts it as a pick would. */
    void handedOffUsed() {
        selected.increment();
    }

    /**
     * Gives back one unit of load without handing it to a waiting request: for a waiter whose event
     * loop no longer takes tasks (the proxy stops), whose queue would refuse every slot alike. A
     * waiting request is woken only when a pick could take the slot: the server is in rotation and
     * now below its limit (not for a draining or removed server's slots, nor for those of a server
     * over a limit a reconfiguration lowered). A wake-up for nothing sent the oldest waiter to pick
     * and queue again, and two at once put the second woken ahead of it.
     */
    public void free() {
        int now = load.decrementAndGet();
        if (now == 0 && idle.get() != null) {
            completeIdle();
        }
        if (backend.queued() > 0) {
            int max = server.maxConnections();
            // read after the decrement: a server made ready meanwhile is either seen here or counts
            // this slot free in BackendRuntime.refresh, which wakes for it
            if ((max == 0 || now < max) && isCandidate()) {
                backend.slotFreed();
            }
        }
    }

    @Override
    public CompletableFuture<Void> whenIdle() {
        CompletableFuture<Void> f = idle.get();
        if (f == null) {
            CompletableFuture<Void> created = new CompletableFuture<>();
            f = idle.compareAndExchange(null, created);
            if (f == null) {
                f = created;
            }
        }
        if (load.get() == 0) {
            completeIdle();
        }
        return f.copy();
    }

    private void completeIdle() {
        CompletableFuture<Void> f = idle.getAndSet(null);
        if (f != null) {
            f.complete(null);
        }
    }

    @Override
    public ServerStatus status() {
        return new ServerStatus(backend.name(), server.name(), state(), weight, effectiveWeight(), load.get(),
                selected.sum(), failures.sum(), ejections, ejected.get(), lastCheck);
    }

    @Override
    public String toString() {
        return backend.name() + "/" + server.name() + "(" + current() + ", weight " + weight + ", load " + load.get() + ")";
    }
}
