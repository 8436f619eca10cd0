package io.lodestone.core.log;

/**
 * Where the request or connection was when it ended: the second letter of the access log's
 * termination state (see {@link TerminationCause}).
 */
public enum TerminationPhase {
    /** It completed: nothing was cut short. */
    NONE('-'),
    /** The proxy was waiting for (or reading) the client's request. */
    REQUEST('R'),
    /** It was waiting in a queue for a server. */
    QUEUE('Q'),
    /** The proxy was connecting to a server. */
    CONNECT('C'),
    /** The proxy was waiting for the server's response headers. */
    HEADERS('H'),
    /** Data was flowing (the response body, or a TCP session). */
    DATA('D'),
    /**
     * HAProxy's letter for a session cut while the last data was being sent to the client. The
     * engines never write it: a request or session cut during the response is logged with
     * {@link #DATA}.
     */
    LAST('L');

    private final char code;

    TerminationPhase(char code) {
        this.code = code;
    }

    /** {@return the letter written to the access log} */
    public char code() {
        return code;
    }
}
