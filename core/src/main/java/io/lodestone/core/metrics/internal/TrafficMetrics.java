package io.lodestone.core.metrics.internal;

import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.ResponseCounts;
import io.lodestone.core.metrics.TrafficSnapshot;
import java.util.concurrent.atomic.LongAdder;

/**
 * The live traffic counters of a frontend, backend or server, written by the engines. Every
 * recording method is lock-free and allocates nothing: counters are {@link LongAdder}s, latencies go
 * to {@link LatencyHistogram}s. An engine obtains the object once (per frontend, backend or server)
 * and keeps it.
 *
 * <p>What a {@link ServerMetrics} records is also recorded on its backend's {@link BackendMetrics},
 * so an engine records a server's traffic once; traffic that never reached a server (no server
 * available, a connection refused before a retry elsewhere) is recorded on the backend directly.
 * Frontends are recorded separately: the engine records the client side on the frontend and the
 * server side on the server.
 *
 * <p>Bytes follow HAProxy's convention on every level: <em>in</em> is the request direction (client
 * to server), <em>out</em> the response direction.
 */
public abstract class TrafficMetrics {

    private static final ErrorKind[] KINDS = ErrorKind.values();

    private final TrafficMetrics parent;
    private final LongAdder currentConnections = new LongAdder();
    private final LongAdder totalConnections = new LongAdder();
    private final LongAdder requests = new LongAdder();
    private final LongAdder[] responses = adders(ResponseCounts.CLASSES);
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final LongAdder[] errors = adders(KINDS.length);
    private final LongAdder retries = new LongAdder();
    private final LongAdder redispatches = new LongAdder();
    private final LongAdder currentQueue = new LongAdder();
    private final LatencyHistogram connectTime = new LatencyHistogram();
    private final LatencyHistogram firstByteTime = new LatencyHistogram();
    private final LatencyHistogram totalTime = new LatencyHistogram();

    TrafficMetrics(TrafficMetrics parent) {
        this.parent = parent;
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    /** A connection was opened: a client connection on a frontend, a server connection on a server. */
    public final void connectionOpened() {
        currentConnections.increment();
        totalConnections.increment();
        if (parent != null) {
            parent.connectionOpened();
        }
    }

    /** A connection counted by {@link #connectionOpened()} was closed. */
    public final void connectionClosed() {
        currentConnections.decrement();
        if (parent != null) {
            parent.connectionClosed();
        }
    }

    /**
     * An HTTP request ended: counts the request, its response's status class, its bytes and its total
     * time. A {@code status} of 0 or less means no response was sent; it counts the request only.
     */
    public final void requestCompleted(int status, long requestBytes, long responseBytes, long totalNanos) {
        requests.increment();
        if (status > 0) {
            responses[ResponseCounts.classOf(status)].increment();
        }
        bytesIn.add(requestBytes);
        bytesOut.add(responseBytes);
        totalTime.record(totalNanos);
        if (parent != null) {
            parent.requestCompleted(status, requestBytes, responseBytes, totalNanos);
        }
    }

    /**
     * A request ended that the proxy never timed, because it never started (an HTTP/1.1 request
     * pipelined behind one whose connection closed, an HTTP/2 stream refused before it opened):
     * counted as a request with no status and no bytes, and no sample of the total time, which it
     * would only pull down.
     */
    public final void requestUntimed() {
        requests.increment();
        if (parent != null) {
            parent.requestUntimed();
        }
    }

    /**
     * A TCP session ended: counts its bytes and its total time and closes the connection (as
     * {@link #connectionClosed()}); for the L4 engine, in place of {@link #requestCompleted}.
     */
    public final void sessionClosed(long requestBytes, long responseBytes, long totalNanos) {
        currentConnections.decrement();
        bytesIn.add(requestBytes);
        bytesOut.add(responseBytes);
        totalTime.record(totalNanos);
        if (parent != null) {
            parent.sessionClosed(requestBytes, responseBytes, totalNanos);
        }
    }

    /** Adds bytes relayed, for engines that count as data flows rather than at the end. */
    public final void bytes(long requestBytes, long responseBytes) {
        bytesIn.add(requestBytes);
        bytesOut.add(responseBytes);
        if (parent != null) {
            parent.bytes(requestBytes, responseBytes);
        }
    }

    /** Records the time a connection to a server took to establish. */
    public final void connectTime(long nanos) {
        connectTime.record(nanos);
        if (parent != null) {
            parent.connectTime(nanos);
        }
    }

    /**
     * Records an HTTP request's time to the response head: on a server, from sending the request; on a
     * frontend, from the first byte of the request head.
     */
    public final void firstByteTime(long nanos) {
        firstByteTime.record(nanos);
        if (parent != null) {
            parent.firstByteTime(nanos);
        }
    }

    /** Records a total time without counting a request or session. */
    public final void totalTime(long nanos) {
        totalTime.record(nanos);
        if (parent != null) {
            parent.totalTime(nanos);
        }
    }

    /** Counts an error of one kind. */
    public final void error(ErrorKind kind) {
        errors[kind.ordinal()].increment();
        if (parent != null) {
            parent.error(kind);
        }
    }

    /** Counts a connection attempt retried on the same server. */
    public final void retry() {
        retries.increment();
        if (parent != null) {
            parent.retry();
        }
    }

    /** Counts a connection or request sent to another server after a failure. */
    public final void redispatch() {
        redispatches.increment();
        if (parent != null) {
            parent.redispatch();
        }
    }

    /** A connection or request started waiting for a server (maxconn reached); pair with {@link #dequeued()}. */
    public final void enqueued() {
        currentQueue.increment();
        if (parent != null) {
            parent.enqueued();
        }
    }

    /** A connection or request counted by {@link #enqueued()} stopped waiting. */
    public final void dequeued() {
        currentQueue.decrement();
        if (parent != null) {
            parent.dequeued();
        }
    }

    /** Connections open now. */
    public final long currentConnections() {
        return currentConnections.sum();
    }

    /** Connections opened since the proxy started. */
    public final long totalConnections() {
        return totalConnections.sum();
    }

    /** HTTP requests completed since the proxy started. */
    public final long requests() {
        return requests.sum();
    }

    /** Errors of one kind since the proxy started. */
    public final long errors(ErrorKind kind) {
        return errors[kind.ordinal()].sum();
    }

    /** Reads every counter and histogram. */
    public final TrafficSnapshot snapshot() {
        return new TrafficSnapshot(
                currentConnections.sum(),
                totalConnections.sum(),
                requests.sum(),
                new ResponseCounts(responses[0].sum(), responses[1].sum(), responses[2].sum(), responses[3].sum(),
                        responses[4].sum(), responses[5].sum()),
                bytesIn.sum(),
                bytesOut.sum(),
                new ErrorCounts(errors[ErrorKind.CONNECT.ordinal()].sum(), errors[ErrorKind.TIMEOUT.ordinal()].sum(),
                        errors[ErrorKind.RESET.ordinal()].sum(), errors[ErrorKind.DENIED.ordinal()].sum(),
                        errors[ErrorKind.INVALID.ordinal()].sum(), errors[ErrorKind.RESPONSE.ordinal()].sum()),
                retries.sum(),
                redispatches.sum(),
                currentQueue.sum(),
                connectTime.snapshot(),
                firstByteTime.snapshot(),
                totalTime.snapshot());
    }
}
