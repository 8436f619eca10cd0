package io.lodestone.core.health;

import java.util.concurrent.CompletionStage;

/**
 * Probes one server once. The monitor calls it every check interval and counts the results against
 * the backend's rise and fall thresholds; a result that does not arrive within the check timeout
 * counts as a failure. One abstract method, so a lambda is a valid checker:
 *
 * <pre>{@code
 * HealthChecker fileFlag = target -> CompletableFuture.completedFuture(
 *     Files.exists(Path.of("/run/" + target.server().name() + ".ok"))
 *         ? HealthCheckResult.healthy("flag present")
 *         : HealthCheckResult.unhealthy("no flag"));
 * Backend.named("app").healthCheck(HealthCheck.custom(fileFlag))...
 * }</pre>
 *
 * <p>A checker is called from the proxy's event loop: it must not block. Work that blocks belongs on
 * the application's own executor ({@code CompletableFuture.supplyAsync(..., executor)}). A checker
 * that throws or completes exceptionally reports the server unhealthy, with the exception as detail.
 */
@FunctionalInterface
public interface HealthChecker {

    /**
     * Starts one probe of {@code target} and returns its result.
     *
     * @param target what to probe
     * @return a stage that completes with the result
     */
    CompletionStage<HealthCheckResult> check(HealthCheckTarget target);
}
