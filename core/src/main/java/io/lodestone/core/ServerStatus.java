package io.lodestone.core;

import io.lodestone.core.health.HealthCheckResult;

/**
 * A snapshot of one server at run time, for status pages and logs; obtained from
 * {@link ServerControl#status()} or {@link ProxyControl#status()}.
 *
 * @param backendName the server's backend
 * @param serverName the server's name
 * @param state the state at the time of the snapshot
 * @param weight the weight set (configured, or changed at run time)
 * @param effectiveWeight the weight the balancer uses now, lower than {@code weight} during slow start
 * @param load open connections (L4) or requests in flight (L7)
 * @param totalSelected connections or requests sent to the server since the proxy started
 * @param failures failed connections or requests reported by the engines
 * @param ejections how many times outlier detection has ejected the server
 * @param ejected whether the server is ejected now
 * @param lastCheck the last health check result, or {@code null} when none has run
 */
public record ServerStatus(
        String backendName,
        String serverName,
        ServerState state,
        int weight,
        int effectiveWeight,
        int load,
        long totalSelected,
        long failures,
        int ejections,
        boolean ejected,
        HealthCheckResult lastCheck) {
}
