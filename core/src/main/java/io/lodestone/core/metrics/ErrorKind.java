package io.lodestone.core.metrics;

/**
 * What went wrong, as counted in the {@code errors} figures of frontends, backends and servers and
 * exported as the {@code kind} label of {@code lodestone_*_errors_total}.
 */
public enum ErrorKind {
    /**
     * A connection to a server could not be made: refused, unreachable, reset while connecting, or
     * no socket for it (the process has no file descriptor left, termination {@code RC}).
     */
    CONNECT("connect"),
    /**
     * A connect, idle, client or server timeout expired: on the server for its own; on the frontend
     * for the client's (a TCP client idle too long, a TLS handshake not done in time, an HTTP request
     * head not whole in time, answered 408): every termination {@code cR} or {@code cD}.
     */
    TIMEOUT("timeout"),
    /**
     * An established connection was reset or closed mid-exchange by the client or the server: counted
     * on the server when the server did it; on the frontend when the client did during the session or
     * the response (termination {@code CD}, at L4 and L7 alike). A client that leaves before its
     * response began ({@code CR}, {@code CQ}, {@code CC}, {@code CH}) counts none.
     */
    RESET("reset"),
    /**
     * The proxy refused what a client sent (termination {@code PR}) by its rules or its TLS: a rule
     * refused the connection or request (an ACL {@code deny}, a rate limit), a TLS frontend (TCP or
     * HTTP) refused a connection that does not speak its TLS (not a ClientHello on a passthrough
     * frontend, a ClientHello too large, a failed handshake), or an HTTP frontend refused a
     * {@code CONNECT} (501), which a reverse proxy does not tunnel. HAProxy's {@code dreq}.
     */
    DENIED("denied"),
    /**
     * An HTTP frontend refused a request it cannot read or take (termination {@code PR}): malformed
     * (400: a bad request line, header or chunk; on HTTP/2 a stream reset for a malformed request),
     * over a limit (413, 414, 431), or of an unsupported version (505); an HTTP/2 connection error
     * the client caused (a frame the protocol forbids on the connection, a flood) that ended no stream,
     * once per connection (the streams it ends count as their requests do); or, on either engine, a
     * connection without a valid PROXY protocol header on a frontend that requires one. HAProxy's {@code ereq},
     * counted apart from {@code denied} so that broken clients are told from refused ones.
     */
    INVALID("invalid"),
    /**
     * A server's HTTP response that the proxy could not pass on as valid HTTP (termination {@code PH}
     * for its head): not HTTP, ambiguous framing, a status or field the proxy refuses, or a bad chunk,
     * field or trailer after its head. Answered {@code 502} while nothing of the response was sent, else
     * the client connection is closed. Counted on the server (and so on its backend), HAProxy's
     * {@code eresp}; the response also counts as a {@code 5xx} of the frontend.
     */
    RESPONSE("response");

    private final String label;

    ErrorKind(String label) {
        this.label = label;
    }

    /** {@return the lower-case name used as a label value by the exporters, such as {@code "connect"}} */
    public String label() {
        return label;
    }
}
