package io.lodestone.core.metrics;

import java.util.Objects;

/**
 * Errors counted since the proxy started, by {@link ErrorKind}.
 *
 * @param connect failed connection attempts to servers
 * @param timeout expired timeouts
 * @param reset connections reset or closed mid-exchange
 * @param denied connections or requests refused by a rule, or by a frontend's TLS (a failed handshake)
 */
public record ErrorCounts(long connect, long timeout, long reset, long denied) {

    /** Returns the count of one kind. */
    public long get(ErrorKind kind) {
        return switch (Objects.requireNonNull(kind, "kind")) {
            case CONNECT -> connect;
            case TIMEOUT -> timeout;
            case RESET -> reset;
            case DENIED -> denied;
        };
    }

    /** The sum over every kind. */
    public long total() {
        return connect + timeout + reset + denied;
    }
}
