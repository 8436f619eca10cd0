package io.lodestone.core.log;

/**
 * Who or what ended a request or connection: the first letter of the two-letter termination state
 * of the access log, after HAProxy's. The second letter is the {@link TerminationPhase}.
 *
 * <table>
 * <caption>Common termination states</caption>
 * <tr><th>code</th><th>meaning</th><th>typical answer</th></tr>
 * <tr><td>{@code --}</td><td>normal end</td><td>the server's</td></tr>
 * <tr><td>{@code PR}</td><td>a rule denied the request (TCP, and TLS frontends of either engine: also
 *     a connection that does not speak the frontend's TLS)</td><td>403 (TCP, TLS: connection closed)</td></tr>
 * <tr><td>{@code SC}</td><td>the server refused the connection, or no server was available</td><td>502, 503</td></tr>
 * <tr><td>{@code sQ}</td><td>the request or TCP connection waited out the backend's queue timeout,
 *     every server being at its connection limit</td><td>503 (TCP: connection closed)</td></tr>
 * <tr><td>{@code SQ}</td><td>the backend's queue was full ({@code Backend.Builder.maxQueued}), every
 *     server being at its connection limit</td><td>503 (TCP: connection closed)</td></tr>
 * <tr><td>{@code CQ}</td><td>the client went away while its request or TCP connection waited in the
 *     backend's queue</td><td>none</td></tr>
 * <tr><td>{@code sC}</td><td>connecting to the server timed out</td><td>504</td></tr>
 * <tr><td>{@code RC}</td><td>no socket could be made for the server connection (the process has no
 *     file descriptor left)</td><td>503 (TCP: connection closed)</td></tr>
 * <tr><td>{@code SH}</td><td>the server closed before sending its response headers</td><td>502</td></tr>
 * <tr><td>{@code sH}</td><td>the server took too long to send its response headers</td><td>504</td></tr>
 * <tr><td>{@code SD}</td><td>the server closed or reset during the response body (TCP: reset the
 *     session)</td><td>connection closed (TCP: reset)</td></tr>
 * <tr><td>{@code sD}</td><td>TCP: the server idle timeout closed the session</td><td>connection closed</td></tr>
 * <tr><td>{@code cR}</td><td>the client took too long to send its request (TLS frontends: its
 *     ClientHello or handshake)</td><td>408 (TLS handshake: connection closed)</td></tr>
 * <tr><td>{@code CR}</td><td>the client left before its request (or ClientHello, or handshake) was
 *     whole</td><td>none</td></tr>
 * <tr><td>{@code CD}</td><td>the client went away during the response (TCP: reset the session)</td>
 *     <td>none (TCP: the server connection is reset)</td></tr>
 * <tr><td>{@code cD}</td><td>TCP: the client idle timeout closed the session</td><td>connection closed</td></tr>
 * <tr><td>{@code KD}</td><td>the proxy closed the connection while shutting down</td><td>none</td></tr>
 * </table>
 */
public enum TerminationCause {
    /** The exchange ended normally. */
    NORMAL('-'),
    /** The client closed or reset the connection early. */
    CLIENT_ABORT('C'),
    /** The server closed, reset or refused the connection, or no server was available. */
    SERVER_ABORT('S'),
    /** The proxy ended it on purpose: a rule denied it, a limit was reached, a request was invalid. */
    PROXY('P'),
    /** A resource of the proxy ran out (memory, sockets, ports). */
    RESOURCE('R'),
    /** An internal error of the proxy. */
    INTERNAL('I'),
    /** The client side timed out. */
    CLIENT_TIMEOUT('c'),
    /** The server side timed out. */
    SERVER_TIMEOUT('s'),
    /**
     * HAProxy's letter for a connection closed because its server was marked down or put in
     * maintenance. The engines never write it: a server marked down, drained or put in maintenance
     * gets no new connections, and its open ones go on.
     */
    SERVER_DOWN('D'),
    /** The connection was closed by the proxy's shutdown or by runtime control. */
    KILLED('K');

    private final char code;

    TerminationCause(char code) {
        this.code = code;
    }

    /** {@return the letter written to the access log} */
    public char code() {
        return code;
    }
}
