package io.lodestone.core.metrics;

/**
 * The traffic figures of one frontend, backend or server at one moment; counters count since the
 * proxy started. Bytes follow HAProxy's convention on every level: <em>in</em> is the request
 * direction (client to server), <em>out</em> the response direction (server to client).
 *
 * @param currentConnections connections open now (client connections for a frontend, server
 *     connections for a backend or server)
 * @param totalConnections connections opened since the proxy started
 * @param requests HTTP requests completed (0 for TCP traffic)
 * @param responses responses by status class
 * @param bytesIn bytes in the request direction
 * @param bytesOut bytes in the response direction
 * @param errors errors by kind
 * @param retries connection attempts retried on the same server
 * @param redispatches connections or requests sent to another server after a failure
 * @param currentQueue connections or requests waiting for a server now
 * @param connectTime time to connect to a server
 * @param firstByteTime HTTP: on a server or backend, time from sending the request to the response head;
 *     on a frontend, from the first byte of the request head to the head of the response the client
 *     got, whoever gave it (none for TCP)
 * @param totalTime the whole request (HTTP: from the first byte of its head to the end of the exchange,
 *     the access log's Ta) or connection (TCP)
 */
public record TrafficSnapshot(
        long currentConnections,
        long totalConnections,
        long requests,
        ResponseCounts responses,
        long bytesIn,
        long bytesOut,
        ErrorCounts errors,
        long retries,
        long redispatches,
        long currentQueue,
        LatencySnapshot connectTime,
        LatencySnapshot firstByteTime,
        LatencySnapshot totalTime) {
}
