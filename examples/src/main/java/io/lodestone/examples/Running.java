package io.lodestone.examples;

/**
 * Something a command started and that runs until it is closed: a gateway, the demo. {@link #close()}
 * is graceful and does not throw.
 */
@FunctionalInterface
public interface Running extends AutoCloseable {

    /** Stops gracefully: stop accepting, let open connections finish, release threads. */
    @Override
    void close();
}
