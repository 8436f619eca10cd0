package io.lodestone.core.metrics;

/**
 * What went wrong, as counted in the {@code errors} figures of frontends, backends and servers and
 * exported as the {@code kind} label of {@code lodestone_*_errors_total}.
 */
public enum ErrorKind {
    /** A connection to a server could not be made: refused, unreachable, or reset while connecting. */
    CONNECT("connect"),
    /** A connect, idle, client or server timeout expired. */
    TIMEOUT("timeout"),
    /**
     * An established connection was reset or closed mid-exchange by the client or the server: counted
     * on the server when the server did it, on the frontend when the client did (the TCP engine).
     */
    RESET("reset"),
    /**
     * A rule refused the connection or request (an ACL {@code deny}, a connection limit), or a TLS
     * frontend (TCP or HTTP) refused a connection that does not speak its TLS (not a ClientHello on a
     * passthrough frontend, a ClientHello too large, a failed handshake).
     */
    DENIED("denied");

    private final String label;

    ErrorKind(String label) {
        this.label = label;
    }

    /** The lower-case name used as a label value by the exporters, such as {@code "connect"}. */
    public String label() {
        return label;
    }
}
