package io.lodestone.core.internal;

import io.netty.channel.ChannelException;

/**
 * The proxy could not make or register the socket of a server connection: no file descriptor was
 * left ({@code EMFILE}, {@code ENFILE}), or its event loop refused the channel. A resource of the
 * proxy ran out, not a failure of the server: the engines log it {@code RC} (HAProxy's resource
 * error), count a connect error on the server but report nothing to its outlier detection, and try
 * another server within the backend's retries; the HTTP engine answers 503.
 *
 * <p>{@link Transport#newSocketChannel} and {@link Transport#connect(io.netty.bootstrap.Bootstrap,
 * java.net.SocketAddress)} throw it on the caller's thread, so that no engine has to handle the
 * future of a channel that never was (see there).
 */
public final class NoSocketException extends ChannelException {

    private static final long serialVersionUID = 1L;

    NoSocketException(String message, Throwable cause) {
        super(message, cause);
    }
}
