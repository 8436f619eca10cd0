package io.lodestone.core.log;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The facts of one HTTP request or TCP connection, filled by an engine and written by
 * {@link AccessLog#log(AccessLogEntry)}. Mutable and reusable: an engine keeps one per connection,
 * calls {@link #reset()} for each request, and fills it without building strings; only the
 * formatter reads it, and only when the access log is enabled.
 *
 * <pre>{@code
 * if (accessLog.isEnabled()) {
 *     entry.reset()
 *         .start(startMillis).client(remote).frontend("web").backend("app").server("web1")
 *         .request("GET", "/index.html", "HTTP/1.1").status(200).bytes(312, 4096)
 *         .requestTime(tq).queueTime(tw).connectTime(tc).responseTime(tr).totalTime(ta)
 *         .requestId(id).traceId(traceId);
 *     accessLog.log(entry);
 * }
 * }</pre>
 *
 * <p>Timings are in nanoseconds; -1 (the default) means the phase was not reached. Bytes follow
 * HAProxy's convention: in is the request direction, out the response direction.
 */
public final class AccessLogEntry {

    private long startMillis;
    private InetSocketAddress client;
    private String frontend;
    private String backend;
    private String server;
    private CharSequence method;
    private CharSequence path;
    private CharSequence protocol;
    private int status;
    private long bytesIn;
    private long bytesOut;
    private long requestNanos;
    private long queueNanos;
    private long connectNanos;
    private long responseNanos;
    private long totalNanos;
    private CharSequence requestId;
    private CharSequence traceId;
    private TerminationCause cause;
    private TerminationPhase phase;

    /** Creates an empty entry. */
    public AccessLogEntry() {
        reset();
    }

    /**
     * Clears every field, to reuse the entry for the next request or connection.
     *
     * @return this entry
     */
    public AccessLogEntry reset() {
        startMillis = 0;
        client = null;
        frontend = null;
        backend = null;
        server = null;
        method = null;
        path = null;
        protocol = null;
        status = 0;
        bytesIn = 0;
        bytesOut = 0;
        requestNanos = -1;
        queueNanos = -1;
        connectNanos = -1;
        responseNanos = -1;
        totalNanos = -1;
        requestId = null;
        traceId = null;
        cause = TerminationCause.NORMAL;
        phase = TerminationPhase.NONE;
        return this;
    }

    /**
     * Sets when the request or connection began, in milliseconds since the epoch (the proxy's clock).
     *
     * @param epochMillis when it began, in milliseconds since the epoch
     * @return this entry
     */
    public AccessLogEntry start(long epochMillis) {
        this.startMillis = epochMillis;
        return this;
    }

    /**
     * Sets the client's address and port.
     *
     * @param address the client's address and port
     * @return this entry
     */
    public AccessLogEntry client(InetSocketAddress address) {
        this.client = address;
        return this;
    }

    /**
     * Sets the frontend's name.
     *
     * @param name the frontend's name
     * @return this entry
     */
    public AccessLogEntry frontend(String name) {
        this.frontend = name;
        return this;
    }

    /**
     * Sets the backend's name; {@code null} (the default) when the request reached no backend.
     *
     * @param name the backend's name
     * @return this entry
     */
    public AccessLogEntry backend(String name) {
        this.backend = name;
        return this;
    }

    /**
     * Sets the server's name; {@code null} (the default) when no server was chosen.
     *
     * @param name the server's name
     * @return this entry
     */
    public AccessLogEntry server(String name) {
        this.server = name;
        return this;
    }

    /**
     * Sets the HTTP request line's parts; leave them {@code null} for a TCP connection. A request whose
     * request line could not be parsed has the method {@code "<BADREQ>"} (as HAProxy logs it) and no
     * path or protocol.
     *
     * @param method the HTTP method
     * @param path the request target as received
     * @param protocol the HTTP version
     * @return this entry
     */
    public AccessLogEntry request(CharSequence method, CharSequence path, CharSequence protocol) {
        this.method = method;
        this.path = path;
        this.protocol = protocol;
        return this;
    }

    /**
     * Sets the status sent to the client; 0 (the default) when none was sent or for TCP.
     *
     * @param status the status sent to the client
     * @return this entry
     */
    public AccessLogEntry status(int status) {
        this.status = status;
        return this;
    }

    /**
     * Sets the bytes received from the client and sent to it.
     *
     * @param in bytes received from the client
     * @param out bytes sent to the client
     * @return this entry
     */
    public AccessLogEntry bytes(long in, long out) {
        this.bytesIn = in;
        this.bytesOut = out;
        return this;
    }

    /**
     * Sets HAProxy's Tq: the time to receive the client's request headers, in nanoseconds.
     *
     * @param nanos HAProxy's Tq, in nanoseconds
     * @return this entry
     */
    public AccessLogEntry requestTime(long nanos) {
        this.requestNanos = nanos;
        return this;
    }

    /**
     * Sets HAProxy's Tw: the time spent waiting in a queue for a server, in nanoseconds.
     *
     * @param nanos HAProxy's Tw, in nanoseconds
     * @return this entry
     */
    public AccessLogEntry queueTime(long nanos) {
        this.queueNanos = nanos;
        return this;
    }

    /**
     * Sets HAProxy's Tc: the time to connect to the server, in nanoseconds (0 for a pooled connection).
     *
     * @param nanos HAProxy's Tc, in nanoseconds
     * @return this entry
     */
    public AccessLogEntry connectTime(long nanos) {
        this.connectNanos = nanos;
        return this;
    }

    /**
     * Sets HAProxy's Tr: the time from sending the request to the server's response headers, in nanoseconds.
     *
     * @param nanos HAProxy's Tr, in nanoseconds
     * @return this entry
     */
    public AccessLogEntry responseTime(long nanos) {
        this.responseNanos = nanos;
        return this;
    }

    /**
     * Sets HAProxy's Ta: the whole request or connection, from its first byte to its end, in nanoseconds.
     *
     * @param nanos HAProxy's Ta, in nanoseconds
     * @return this entry
     */
    public AccessLogEntry totalTime(long nanos) {
        this.totalNanos = nanos;
        return this;
    }

    /**
     * Sets the request id (the value of {@code X-Request-Id} the proxy sent on).
     *
     * @param id the request id
     * @return this entry
     */
    public AccessLogEntry requestId(CharSequence id) {
        this.requestId = id;
        return this;
    }

    /**
     * Sets the W3C trace id of the request.
     *
     * @param id the W3C trace id of the request
     * @return this entry
     */
    public AccessLogEntry traceId(CharSequence id) {
        this.traceId = id;
        return this;
    }

    /**
     * Sets who or what ended the request or connection and where it was then.
     *
     * @param cause who or what ended it
     * @param phase where it was when it ended
     * @return this entry
     */
    public AccessLogEntry termination(TerminationCause cause, TerminationPhase phase) {
        this.cause = Objects.requireNonNull(cause, "cause");
        this.phase = Objects.requireNonNull(phase, "phase");
        return this;
    }

    /** {@return when it began, in milliseconds since the epoch} */
    public long startMillis() {
        return startMillis;
    }

    /** {@return the client's address, or {@code null}} */
    public InetSocketAddress client() {
        return client;
    }

    /** {@return the frontend's name, or {@code null}} */
    public String frontend() {
        return frontend;
    }

    /** {@return the backend's name, or {@code null}} */
    public String backend() {
        return backend;
    }

    /** {@return the server's name, or {@code null}} */
    public String server() {
        return server;
    }

    /** {@return the HTTP method, or {@code null} for a TCP connection} */
    public CharSequence method() {
        return method;
    }

    /** {@return the request target as received, or {@code null}} */
    public CharSequence path() {
        return path;
    }

    /** {@return the HTTP version, such as {@code HTTP/1.1}, or {@code null}} */
    public CharSequence protocol() {
        return protocol;
    }

    /** {@return the status sent to the client, 0 when none} */
    public int status() {
        return status;
    }

    /**
     * Bytes received from the client.
     *
     * @return the bytes received from the client
     */
    public long bytesIn() {
        return bytesIn;
    }

    /**
     * Bytes sent to the client.
     *
     * @return the bytes sent to the client
     */
    public long bytesOut() {
        return bytesOut;
    }

    /**
     * Tq in nanoseconds, -1 when not reached.
     *
     * @return Tq in nanoseconds, -1 when not reached
     */
    public long requestNanos() {
        return requestNanos;
    }

    /**
     * Tw in nanoseconds, -1 when not reached: no server was picked and nothing waited in a queue (at a
     * full queue, {@code SQ}, too).
     *
     * @return Tw in nanoseconds, -1 when not reached
     */
    public long queueNanos() {
        return queueNanos;
    }

    /**
     * Tc in nanoseconds, -1 when not reached.
     *
     * @return Tc in nanoseconds, -1 when not reached
     */
    public long connectNanos() {
        return connectNanos;
    }

    /**
     * Tr in nanoseconds, -1 when not reached.
     *
     * @return Tr in nanoseconds, -1 when not reached
     */
    public long responseNanos() {
        return responseNanos;
    }

    /**
     * Ta in nanoseconds, -1 when not known.
     *
     * @return Ta in nanoseconds, -1 when not known
     */
    public long totalNanos() {
        return totalNanos;
    }

    /** {@return the request id, or {@code null}} */
    public CharSequence requestId() {
        return requestId;
    }

    /** {@return the trace id, or {@code null}} */
    public CharSequence traceId() {
        return traceId;
    }

    /**
     * Who or what ended it.
     *
     * @return who or what ended it
     */
    public TerminationCause cause() {
        return cause;
    }

    /** {@return where it was when it ended} */
    public TerminationPhase phase() {
        return phase;
    }
}
