package io.lodestone.core.internal;

import io.lodestone.core.RollingUpdate;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerListener;
import io.lodestone.core.ServerState;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs one {@link RollingUpdate}, one server at a time, asynchronously on the scheduler. */
final class RollingUpdater {

    private static final Logger log = LoggerFactory.getLogger(RollingUpdater.class);

    private final BackendRuntime backend;
    private final RollingUpdate update;
    private final Scheduler scheduler;
    private final ServerEvents events;
    private final List<ServerRuntime> servers;
    // copied by stop() on the closing thread while the update may add to them
    private final List<String> updated = new CopyOnWriteArrayList<>();
    private final List<String> operatorChanged = new CopyOnWriteArrayList<>();
    private final CompletableFuture<RollingUpdate.Result> result = new CompletableFuture<>();
    /** The server being handled, for {@link #stop}; null before the first and after the last. */
    private volatile String current;

    RollingUpdater(BackendRuntime backend, RollingUpdate update, Scheduler scheduler, ServerEvents events) {
        this.backend = backend;
        this.update = update;
        this.scheduler = scheduler;
        this.events = events;
        this.servers = backend.servers();
    }

    CompletableFuture<RollingUpdate.Result> start() {
        current = servers.isEmpty() ? null : servers.get(0).server().name();
        scheduler.schedule(() -> next(0), 0);
        return result;
    }

    /**
     * Ends the update where it stands, as the proxy closes: its result says it stopped at the server
     * being handled, and nothing more runs (no action on a server drained by the proxy's own close).
     * Its timers ran on the proxy's scheduler, which a close stops: the result never came, and the
     * backend took no other update. Does nothing once the result is in.
     */
    void stop(String reason) {
        String at = current;
        // with no server left to handle there is nothing it stopped at
        result.complete(new RollingUpdate.Result(updated, operatorChanged, at, at != null ? reason : null));
    }

    private void next(int i) {
        if (result.isDone()) {
            return;
        }
        if (i == servers.size()) {
            current = null;
            log.info("rolling update of {} done: {}", backend.name(), updated);
            result.complete(new RollingUpdate.Result(updated, operatorChanged, null, null));
            return;
        }
        ServerRuntime s = servers.get(i);
        if (s.isRemoved()) {
            next(i + 1);
            return;
        }
        String name = s.server().name();
        current = name;
        // The operator's administrative state is kept: only a ready server is drained, atomically, so
        // a state the operator sets at the same moment wins; a server already draining or in
        // maintenance is updated where it stands and left out of rotation.
        boolean drainedHere = s.drainForUpdate();
        CompletableFuture<Void> drained;
        if (!drainedHere && s.admin() == ServerRuntime.Admin.MAINT) {
            log.info("rolling update of {}: {} is in maintenance; updating it without draining", backend.name(), name);
            drained = CompletableFuture.completedFuture(null);
        } else {
            log.info("rolling update of {}: draining {}", backend.name(), name);
            drained = within(s.whenIdle(), update.drainTimeout().toNanos());
        }
        drained.whenComplete((ignored, drainError) -> {
            if (result.isDone()) {
                // stopped while the server drained
                return;
            }
            if (s.isRemoved()) {
                removed(s, i, "while it drained; not updated");
                return;
            }
            if (drainedHere && s.admin() == ServerRuntime.Admin.READY) {
                // The operator put it back in rotation while it drained: the action would run on a
                // server taking traffic, so the update stops here and leaves it as the operator set it.
                operatorChanged.add(name);
                fail(s, "made ready by the operator while it drained; not updated");
                return;
            }
            if (drainError != null && log.isWarnEnabled()) {
                log.warn("rolling update of {}: {} still has {} open after {} ms; updating anyway",
                        backend.name(), name, s.load(), update.drainTimeout().toMillis());
            }
            // A draining server still serves its persistent clients; while it is being updated it
            // serves nobody, and they are moved (and stuck to their new server).
            s.updating(true);
            CompletionStage<?> action;
            try {
                action = update.action().update(s);
                if (action == null) {
                    throw new IllegalStateException("the update action returned null");
                }
            } catch (RuntimeException e) {
                failedAction(s, drainedHere);
                fail(s, "update action failed: " + e);
                return;
            }
            action.whenComplete((done, actionError) -> {
                if (result.isDone()) {
                    return;
                }
                if (actionError != null) {
                    failedAction(s, drainedHere);
                    fail(s, "update action failed: " + unwrap(actionError));
                    return;
                }
                s.markUnverified("updated; waiting for health checks");
                s.updating(false);
                if (s.isRemoved()) {
                    removed(s, i, "while its update action ran");
                    return;
                }
                boolean readyHere = drainedHere && s.readyAfterUpdate();
                if (drainedHere && !readyHere) {
                    // The operator set the state after the update drained it: the operator's wins.
                    operatorChanged(name);
                }
                // Made ready by the update, or by the operator while the update had it drained: either
                // way back in rotation, so it is waited for as one the update made ready.
                boolean backInRotation = readyHere || drainedHere && s.admin() == ServerRuntime.Admin.READY;
                if (!backInRotation) {
                    // Out of rotation by the operator's choice, before its turn or during it: it
                    // stays so, and passes fresh checks before it takes traffic once made ready.
                    log.info("rolling update of {}: {} updated and left {}", backend.name(), name, s.state());
                    updated.add(name);
                    next(i + 1);
                    return;
                }
                within(whenUp(s), update.healthyTimeout().toNanos()).whenComplete((up, healthError) -> {
                    if (s.isRemoved()) {
                        removed(s, i, "while the update waited for it to be healthy");
                    } else if (healthError != null) {
                        fail(s, "not healthy within " + update.healthyTimeout().toMillis() + " ms (state " + s.state()
                                + (s.lastCheck() != null ? ", last check " + s.lastCheck() : "") + ")");
                    } else if (up != ServerState.UP) {
                        // The operator took it out of rotation before it was seen healthy: the new
                        // version is not verified, so the update goes no further, and the state is kept.
                        operatorChanged(name);
                        fail(s, (up == ServerState.MAINT ? "put in maintenance" : "drained")
                                + " by the operator while the update waited for it to be healthy; not verified");
                    } else {
                        updated.add(name);
                        next(i + 1);
                    }
                });
            });
        });
    }

    /**
     * {@code s} was removed from the backend (by {@code removeServer} or a reconfiguration) while the
     * update handled it: there is nothing left to update or wait for, so the update goes on with the
     * next server, listing it as the operator's change.
     */
    private void removed(ServerRuntime s, int i, String when) {
        String name = s.server().name();
        log.info("rolling update of {}: {} was removed {}; going on", backend.name(), name, when);
        operatorChanged(name);
        next(i + 1);
    }

    /**
     * A server whose update action failed may be half deployed: like an updated one, it serves again
     * (its persistent clients, while it drains) only after fresh passing checks. A drain the update
     * started becomes the operator's to end; a state the operator set meanwhile is kept.
     */
    private void failedAction(ServerRuntime s, boolean drainedHere) {
        s.markUnverified("update action failed; waiting for health checks");
        s.updating(false);
        if (drainedHere && !s.keepDrainingAfterUpdate()) {
            operatorChanged.add(s.server().name());
        }
    }

    /** Lists {@code name} as left in the state the operator set, once. */
    private void operatorChanged(String name) {
        if (!operatorChanged.contains(name)) {
            operatorChanged.add(name);
        }
    }

    private void fail(ServerRuntime s, String reason) {
        log.warn("rolling update of {} stopped at {}: {}", backend.name(), s.server().name(), reason);
        result.complete(new RollingUpdate.Result(updated, operatorChanged, s.server().name(), reason));
    }

    /**
     * A future completed with {@link ServerState#UP} when {@code s} is up, or with {@link ServerState#DRAIN}
     * or {@link ServerState#MAINT} when the operator drains it, puts it in maintenance or removes it first. A ready
     * set meanwhile changes nothing: the server is ready already.
     */
    private CompletableFuture<ServerState> whenUp(ServerRuntime s) {
        CompletableFuture<ServerState> up = new CompletableFuture<>();
        ServerListener listener = (ServerControl server, ServerState from, ServerState to, String reason) -> {
            if (server == s) {
                upOrTakenOut(s, to, up);
            }
        };
        events.add(listener);
        up.whenComplete((v, e) -> events.remove(listener));
        upOrTakenOut(s, s.state(), up);
        return up;
    }

    /**
     * Completes {@code up} when the operator took {@code s} out of rotation (or removed it), or when
     * {@code state} is UP.
     */
    private static void upOrTakenOut(ServerRuntime s, ServerState state, CompletableFuture<ServerState> up) {
        ServerRuntime.Admin a = s.admin();
        if (a == ServerRuntime.Admin.MAINT || s.isRemoved()) {
            up.complete(ServerState.MAINT);
        } else if (a == ServerRuntime.Admin.DRAIN) {
            up.complete(ServerState.DRAIN);
        } else if (state == ServerState.UP) {
            up.complete(ServerState.UP);
        }
    }

    /** {@code f}, failed with a {@link TimeoutException} when not done within {@code nanos} on the scheduler's clock. */
    private <T> CompletableFuture<T> within(CompletableFuture<T> f, long nanos) {
        if (f.isDone()) {
            return f;
        }
        CompletableFuture<T> bounded = new CompletableFuture<>();
        Scheduler.Task timer = scheduler.schedule(() -> bounded.completeExceptionally(new TimeoutException()), nanos);
        f.whenComplete((v, e) -> {
            timer.cancel();
            if (e != null) {
                bounded.completeExceptionally(e);
            } else {
                bounded.complete(v);
            }
        });
        return bounded;
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
