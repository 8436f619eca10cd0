package io.lodestone.examples;

/**
 * A command line that cannot be run as given: an unknown command, flag or value. {@link Main} prints
 * the message on standard error and exits with status 2.
 */
public final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Creates the exception; the message names the command, the flag and the value, as the user should read it. */
    public UsageException(String message) {
        super(message, null, false, false);
    }
}
