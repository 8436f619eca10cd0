package io.lodestone.core;

import io.lodestone.core.internal.Durations;
import io.lodestone.core.internal.Names;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * A rolling update of one backend, run by {@link ProxyControl#rollingUpdate(RollingUpdate)}: for each
 * server in turn, drain it and wait until it is idle (at most the drain timeout, then go on anyway),
 * run the application's update action, make the server ready, and wait until it is healthy again
 * (when the backend has a health check, it must pass {@code rise} fresh checks) within the healthy
 * timeout. When a server fails its update or is not healthy in time, the update stops there and
 * reports that server; the servers not yet updated keep serving, and the failed one stays out of
 * rotation (draining when its action failed, down when it did not come back healthy).
 *
 * <p>The update keeps the administrative state the operator gave a server, as HAProxy keeps it apart
 * from what a rolling procedure does. A server in maintenance when its turn comes is updated without
 * being drained or waited for, and stays in maintenance; a server the operator was already draining
 * is waited for as usual and stays draining. Such a server is not waited for to be healthy, but it
 * must pass fresh checks before it takes traffic once made ready. Only the servers the update itself
 * drained are made ready again. An action that should skip such servers can test
 * {@code server.state()}.
 *
 * <p>The update's own transitions are atomic (compare-and-set on the server's administrative state):
 * it drains a server only if it is ready, and makes it ready only if it is still in the drain the
 * update started. So the operator wins whenever both act on a server: a state the operator sets
 * (drain, maintenance, ready, or {@code state(...)}) after the update drained a server and before it
 * made it ready again, while it waited for the server to be idle or ran the action, is never
 * overwritten. Such a server is listed in {@link Result#operatorChanged()}. Left draining or in
 * maintenance, it is not waited for to be healthy (it is listed in {@link Result#updated()} once its
 * action completed); made ready by the operator while the action runs, it is back in rotation and
 * waited for as one the update made ready. A server the operator makes ready while the update waits
 * for it to be idle, before its action, stops the update there (failed at that server): the action is
 * not run on a server back in rotation. A drain the update started and leaves because the action
 * failed becomes an ordinary drain, the operator's to end.
 *
 * <p>While the update waits for a server it made ready (or the operator did) to be healthy, a drain or
 * maintenance the operator sets stops the update at once, without waiting for the healthy timeout:
 * the server is kept as the operator set it and listed in {@link Result#operatorChanged()}, it is the
 * {@link Result#failedServer()} (its new version was never seen healthy, so the update does not go on
 * to the next server), and the servers not yet updated are left alone. A ready set during that wait
 * changes nothing, as the server is ready already: the update keeps waiting for it to be healthy and
 * does not list it.
 *
 * <p>A server removed from the backend ({@link ProxyControl#removeServer}, or a reconfiguration of the
 * proxy) while the update handles it, at any step, is left out: it is listed in
 * {@link Result#operatorChanged()} (not in {@link Result#updated()}) and the update goes on with the
 * next server, at once when it was waiting for the server to be healthy, else once the step under way
 * has ended: the wait for the server's open traffic to finish (up to the drain timeout; its action is
 * then not run) or its running action (an action that fails stops the update, as for any server). A
 * server removed before its turn is skipped.
 *
 * <p>One rolling update runs on a backend at a time: {@link ProxyControl#rollingUpdate(RollingUpdate)}
 * refuses another of the same backend with an {@link IllegalStateException} until the running one's
 * future completes, succeeded or not. Updates of different backends run side by side.
 *
 * <p>A drained server still serves its persistent clients (a sticky cookie or a source stick-table
 * entry naming it) while it is healthy, so their sessions can end there; they may keep it busy, and
 * the drain timeout then ends the wait, so the update always moves on. While the update action runs,
 * the server serves nobody: those clients are balanced to, and stuck to, other servers. A server left
 * draining after a failed action may be half deployed: when the backend has a health check, it
 * serves its persistent clients again only after {@code rise} fresh passing checks (without one, at
 * once).
 *
 * <pre>{@code
 * RollingUpdate update = RollingUpdate.builder("app",
 *         server -> CompletableFuture.runAsync(() -> deploy(server.server().name()), deployExecutor))
 *     .drainTimeout(Duration.ofSeconds(30))
 *     .healthyTimeout(Duration.ofMinutes(2))
 *     .build();
 * RollingUpdate.Result result = proxy.control().rollingUpdate(update).join();
 * if (!result.succeeded()) {
 *     alert(result.failedServer() + ": " + result.reason());
 * }
 * }</pre>
 */
public final class RollingUpdate {

    /**
     * Updates one server, asynchronously. Called on the proxy's event loop: work that blocks (a
     * deployment, a restart) belongs on the application's own executor, as in the example above. A
     * returned stage that fails, or an exception thrown, fails the update at this server.
     */
    @FunctionalInterface
    public interface Action {
        /**
         * Starts updating {@code server} and returns a stage that completes when it is done.
         *
         * @param server the server to update
         * @return a stage that completes when the server is updated
         */
        CompletionStage<?> update(ServerControl server);
    }

    private final String backendName;
    private final Action action;
    private final Duration drainTimeout;
    private final Duration healthyTimeout;

    private RollingUpdate(Builder b) {
        this.backendName = b.backendName;
        this.action = b.action;
        this.drainTimeout = b.drainTimeout;
        this.healthyTimeout = b.healthyTimeout;
    }

    /**
     * Returns a builder for a rolling update of {@code backendName} that runs {@code action} on each server.
     *
     * @param backendName the backend's name
     * @param action updates one server
     * @return a builder for a rolling update of {@code backendName} that runs {@code action} on each server
     */
    public static Builder builder(String backendName, Action action) {
        return new Builder(backendName, action);
    }

    /** {@return the backend to update} */
    public String backendName() {
        return backendName;
    }

    /** {@return what updates one server} */
    public Action action() {
        return action;
    }

    /**
     * The longest wait for a drained server to become idle before its update starts anyway. A drained
     * server still serves its persistent clients (sticky cookie, source stick table), who may keep it
     * busy until this runs out; while the update action runs, the server serves nobody and those
     * clients are moved to, and stuck to, other servers.
     *
     * @return the longest wait for a drained server to become idle before its update starts anyway
     */
    public Duration drainTimeout() {
        return drainTimeout;
    }

    /** {@return the longest wait for an updated server to be healthy before the update stops} */
    public Duration healthyTimeout() {
        return healthyTimeout;
    }

    /** Builds a {@link RollingUpdate}; each setter checks its argument. */
    public static final class Builder {
        private final String backendName;
        private final Action action;
        private Duration drainTimeout = Duration.ofSeconds(30);
        private Duration healthyTimeout = Duration.ofSeconds(60);

        Builder(String backendName, Action action) {
            this.backendName = Names.check("rolling update backend", backendName);
            this.action = Objects.requireNonNull(action, "action");
        }

        /**
         * Sets the longest wait for a drained server to be idle (default 30 s; 0: do not wait).
         *
         * @param timeout the longest wait for a drained server to be idle
         * @return this builder
         */
        public Builder drainTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException("rolling update drainTimeout: " + timeout + " (expected: >= 0)");
            }
            this.drainTimeout = Durations.atMostMax("rolling update drainTimeout", timeout);
            return this;
        }

        /**
         * Sets the longest wait for an updated server to be healthy (default 60 s).
         *
         * @param timeout the longest wait for an updated server to be healthy
         * @return this builder
         */
        public Builder healthyTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("rolling update healthyTimeout: " + timeout + " (expected: > 0)");
            }
            this.healthyTimeout = Durations.atMostMax("rolling update healthyTimeout", timeout);
            return this;
        }

        /** {@return the immutable update} */
        public RollingUpdate build() {
            return new RollingUpdate(this);
        }
    }

    /** The outcome of a rolling update. */
    public static final class Result {
        private final List<String> updated;
        private final List<String> operatorChanged;
        private final String failedServer;
        private final String reason;

        /**
         * Creates a result in which no operator changed a server's state during the update;
         * {@code failedServer} and {@code reason} are {@code null} on success.
         *
         * @param updated the servers updated
         * @param failedServer the server at which the update stopped, or {@code null}
         * @param reason why it stopped, or {@code null}
         */
        public Result(List<String> updated, String failedServer, String reason) {
            this(updated, List.of(), failedServer, reason);
        }

        /**
         * Creates a result; {@code failedServer} and {@code reason} are {@code null} on success.
         *
         * @param updated the servers updated
         * @param operatorChanged the servers whose state the operator changed
         * @param failedServer the server at which the update stopped, or {@code null}
         * @param reason why it stopped, or {@code null}
         */
        public Result(List<String> updated, List<String> operatorChanged, String failedServer, String reason) {
            this.updated = List.copyOf(updated);
            this.operatorChanged = List.copyOf(operatorChanged);
            this.failedServer = failedServer;
            this.reason = reason;
        }

        /** {@return whether every server was updated and came back healthy} */
        public boolean succeeded() {
            return failedServer == null;
        }

        /**
         * The servers updated, in order: each came back healthy, except a server left out of rotation
         * by the operator (in maintenance or draining) before the update waited for it to be healthy,
         * which is listed once its action completed.
         *
         * @return the servers updated, in order: each came back healthy, except a server left out of rotation
         *     by the operator (in maintenance or draining) before the update waited for it to be healthy,
         *     which is listed once its action completed
         */
        public List<String> updated() {
            return updated;
        }

        /**
         * The servers, in order, whose administrative state the operator changed while the update
         * handled them: after it had drained them and before it made them ready (while it waited for
         * them to be idle or ran its action), or, with a drain or maintenance, while it waited for them
         * to be healthy. The update left each in the state the operator set. A server removed from the
         * backend while the update handled it is listed here too. See the class description.
         *
         * @return the servers, in order, whose administrative state the operator changed while the update
         *     handled them: after it had drained them and before it made them ready (while it waited for them
         *     to be idle or ran its action), or, with a drain or maintenance, while it waited for them to be
         *     healthy
         */
        public List<String> operatorChanged() {
            return operatorChanged;
        }

        /** {@return the server at which the update stopped, or {@code null} on success} */
        public String failedServer() {
            return failedServer;
        }

        /**
         * Why the update stopped, or {@code null} on success.
         *
         * @return why the update stopped, or {@code null} on success
         */
        public String reason() {
            return reason;
        }

        @Override
        public String toString() {
            String changed = operatorChanged.isEmpty() ? "" : ", left as the operator set " + operatorChanged;
            return (succeeded() ? "updated " + updated : "failed at " + failedServer + " (" + reason + "), updated " + updated)
                    + changed;
        }
    }
}
