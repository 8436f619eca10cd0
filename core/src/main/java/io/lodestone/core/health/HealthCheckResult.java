package io.lodestone.core.health;

import java.util.Objects;

/**
 * The outcome of one probe: healthy or not, with a short detail for logs and listeners, such as
 * {@code "HTTP 200"} or {@code "connection refused"}.
 *
 * <pre>{@code
 * return HealthCheckResult.unhealthy("disk full");
 * }</pre>
 */
public final class HealthCheckResult {

    private static final HealthCheckResult HEALTHY = new HealthCheckResult(true, "ok");

    private final boolean healthy;
    private final String detail;

    private HealthCheckResult(boolean healthy, String detail) {
        this.healthy = healthy;
        this.detail = detail;
    }

    /** {@return a healthy result with the detail {@code "ok"}} */
    public static HealthCheckResult healthy() {
        return HEALTHY;
    }

    /**
     * A healthy result with a detail.
     *
     * @param detail a short description
     * @return a healthy result with a detail
     */
    public static HealthCheckResult healthy(String detail) {
        return new HealthCheckResult(true, Objects.requireNonNull(detail, "detail"));
    }

    /**
     * An unhealthy result with the reason.
     *
     * @param detail the reason
     * @return an unhealthy result with the reason
     */
    public static HealthCheckResult unhealthy(String detail) {
        return new HealthCheckResult(false, Objects.requireNonNull(detail, "detail"));
    }

    /** {@return whether the probe passed} */
    public boolean isHealthy() {
        return healthy;
    }

    /** {@return a short description of the outcome} */
    public String detail() {
        return detail;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HealthCheckResult r && r.healthy == healthy && r.detail.equals(detail);
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(healthy) * 31 + detail.hashCode();
    }

    @Override
    public String toString() {
        return (healthy ? "healthy: " : "unhealthy: ") + detail;
    }
}
