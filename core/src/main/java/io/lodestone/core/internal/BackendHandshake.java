package io.lodestone.core.internal;

import io.lodestone.core.BackendTls;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;

/**
 * Backend TLS for both engines: once a server connection is up, puts the backend's TLS handler
 * first in its pipeline and completes when the handshake has. A failed handshake fails the returned
 * future (and closes the channel), so callers treat it as a failed connection attempt.
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
                    done.tryFailure(h.cause());
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
