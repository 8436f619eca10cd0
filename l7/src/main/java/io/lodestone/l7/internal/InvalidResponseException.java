package io.lodestone.l7.internal;

/**
 * Fired through {@code exceptionCaught} by {@link BackendResponseGuard} when a backend's response is not
 * valid HTTP/1.1. The engine answers the client 502 (or closes the client connection when part of a
 * response was already relayed); the guard has already closed the backend connection, so it is never
 * reused. The cause is the {@link HttpRejection} or Netty's own decoder failure.
 */
public final class InvalidResponseException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception for {@code cause}. */
    public InvalidResponseException(Throwable cause) {
        super("invalid response from backend: " + cause.getMessage(), cause, false, false);
    }
}
