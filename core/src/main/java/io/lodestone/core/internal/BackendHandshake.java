package io.lodestone.core.internal;

import io.lodestone.core.BackendTls;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.concurrent.Ticker;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Backend TLS for both engines: once a server connection is up, puts the backend's TLS handler
 * first in its pipeline and completes when the handshake has. A failed handshake fails the returned
 * future (and closes the channel), so callers treat it as a failed connection attempt.
 *
 * <p>The channel's connect timeout covers the handshake too, as HAProxy's and nginx's connect
 * timeouts do: the handshake gets what the TCP connect left of it (read on the event loop's ticker,
 * the proxy's clock), or the TLS handler's own timeout when that ends first, and a handshake that
 * runs out of time fails as a connect timeout ({@link ConnectTimeoutException}).
 */
public final class BackendHandshake {

    private BackendHandshake() {
    }

    /**
     * Returns {@code connect} itself without TLS; else a future of the same channel that completes
     * when both the TCP connection and the TLS handshake have.
     */
    public static ChannelFuture after(ChannelFuture connect, BackendTls tls, InetSocketAddress address) {
        if (tls == null) {
            return connect;
        }
        Channel ch = connect.channel();
        ChannelPromise done = ch.newPromise();
        Ticker ticker = ch.eventLoop().ticker();
        long startNanos = ticker.nanoTime();
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                done.tryFailure(f.cause());
                return;
            }
            SslHandler ssl;
            try {
                ssl = tls.newHandler(ch.alloc(), address.getHostString(), address.getPort());
            } catch (RuntimeException e) {
                ch.close();
                done.tryFailure(e);
                return;
            }
            int connectMillis = ch.config().getConnectTimeoutMillis();
            if (connectMillis > 0) {
                long leftMillis = Math.max(1, connectMillis - TimeUnit.NANOSECONDS.toMillis(ticker.nanoTime() - startNanos));
                long own = ssl.getHandshakeTimeoutMillis();
                if (own <= 0 || leftMillis < own) {
                    ssl.setHandshakeTimeoutMillis(leftMillis);
                }
            }
            CloseGuard.addFirst(ch.pipeline(), PipelineNames.BACKEND_TLS, ssl);
            if (!ch.config().isAutoRead()) {
                // the handler asks for more reads itself until the handshake is done
                ch.read();
            }
            ssl.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    done.trySuccess();
                } else {
                    ch.close();
                    Throwable cause = h.cause();
                    if (cause instanceof SslHandshakeTimeoutException) {
                        ConnectTimeoutException timeout = new ConnectTimeoutException(
                                "TLS handshake timed out: " + address);
                        timeout.initCause(cause);
                        cause = timeout;
                    }
                    done.tryFailure(cause);
                }
            });
        });
        return done;
    }

    /** The TLS handler of a server connection, or {@code null} when it is plain TCP. */
    public static SslHandler handler(Channel ch) {
        return (SslHandler) ch.pipeline().get(PipelineNames.BACKEND_TLS);
    }
}
