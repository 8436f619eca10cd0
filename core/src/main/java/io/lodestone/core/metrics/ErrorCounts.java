package io.lodestone.core.metrics;

import java.util.Objects;

/**
 * Errors counted since the proxy started, by {@link ErrorKind}.
 *
 * @param connect failed connection attempts to servers
 * @param timeout expired timeouts (among them a PROXY protocol header not whole in time)
 * @param reset connections reset or closed mid-exchange
 * @param denied connections or requests refused by a rule or by a frontend's TLS (a failed handshake),
 *     and HTTP {@code CONNECT} requests
 * @param invalid HTTP requests refused as malformed or over a limit (HAProxy's {@code ereq}), and, on
 *     either engine, connections closed without a valid PROXY protocol header on a frontend that requires one
 * @param response HTTP responses of servers refused as invalid (HAProxy's {@code eresp})
 */
public record ErrorCounts(long connect, long timeout, long reset, long denied, long invalid, long response) {

    /**
     * Counts without {@code invalid} and {@code response} errors, as versions before those kinds made them.
     *
     * @param connect failed connects
     * @param timeout timeouts
     * @param reset resets
     * @param denied denied connections or requests
     */
    public ErrorCounts(long connect, long timeout, long reset, long denied) {
        this(connect, timeout, reset, denied, 0, 0);
    }

    /**
     * Counts without {@code response} errors, as versions before that kind was counted made them.
     *
     * @param connect failed connects
     * @param timeout timeouts
     * @param reset resets
     * @param denied denied connections or requests
     * @param invalid invalid requests
     */
    public ErrorCounts(long connect, long timeout, long reset, long denied, long invalid) {
        this(connect, timeout, reset, denied, invalid, 0);
    }

    /**
     * Returns the count of one kind.
     *
     * @param kind the kind
     * @return the count of one kind
     */
    public long get(ErrorKind kind) {
        return switch (Objects.requireNonNull(kind, "kind")) {
            case CONNECT -> connect;
            case TIMEOUT -> timeout;
            case RESET -> reset;
            case DENIED -> denied;
            case INVALID -> invalid;
            case RESPONSE -> response;
        };
    }

    /** {@return the sum over every kind} */
    public long total() {
        return connect + timeout + reset + denied + invalid + response;
    }
}
