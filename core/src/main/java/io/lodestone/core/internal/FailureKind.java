package io.lodestone.core.internal;

/** What went wrong with a connection or request, as the engines report it to outlier detection. */
public enum FailureKind {
    /** The connection to the server was refused or reset while connecting. */
    CONNECT,
    /** The connection to the server or its response took too long. */
    TIMEOUT,
    /** The server answered with a 5xx status (L7) or closed the connection abnormally. */
    SERVER_ERROR
}
