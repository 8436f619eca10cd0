package io.lodestone.tls;

import java.util.Objects;

/**
 * The user event the peek handler of {@link ClientHello#newPeekHandler()} fires once it has read a
 * whole ClientHello, or has given up; the buffered bytes follow it untouched.
 */
public final class ClientHelloEvent {

    private final ClientHello clientHello;
    private final Throwable cause;

    private ClientHelloEvent(ClientHello clientHello, Throwable cause) {
        this.clientHello = clientHello;
        this.cause = cause;
    }

    /**
     * An event carrying a parsed ClientHello.
     *
     * @param clientHello the ClientHello read
     * @return an event carrying a parsed ClientHello
     */
    public static ClientHelloEvent success(ClientHello clientHello) {
        return new ClientHelloEvent(Objects.requireNonNull(clientHello, "clientHello"), null);
    }

    /**
     * An event telling the first bytes are not a (usable) ClientHello.
     *
     * @param cause why none was read
     * @return an event telling the first bytes are not a (usable) ClientHello
     */
    public static ClientHelloEvent failure(Throwable cause) {
        return new ClientHelloEvent(null, Objects.requireNonNull(cause, "cause"));
    }

    /** {@return whether a ClientHello was read} */
    public boolean isSuccess() {
        return clientHello != null;
    }

    /** {@return the ClientHello, or {@code null} on failure} */
    public ClientHello clientHello() {
        return clientHello;
    }

    /**
     * Why no ClientHello was read, or {@code null} on success.
     *
     * @return why no ClientHello was read, or {@code null} on success
     */
    public Throwable cause() {
        return cause;
    }

    @Override
    public String toString() {
        return isSuccess() ? "ClientHelloEvent{" + clientHello + "}" : "ClientHelloEvent{failure: " + cause.getMessage() + "}";
    }
}
