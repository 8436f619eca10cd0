package io.lodestone.tls.internal;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.Mapping;

/**
 * Waits for the ClientHello, picks the SSL context for its server name through the mapping (read at
 * that moment, so a reload applies to the next handshake) and replaces itself, under the same name,
 * with the {@link SslHandler}. Records the requested server name on the channel, as
 * {@link SniTable#serverName} spells it.
 */
public final class ServerSniHandler extends SniHandler {

    /** The server name the client asked for in SNI; absent when it sent none. */
    public static final AttributeKey<String> SERVER_NAME = AttributeKey.valueOf(ServerSniHandler.class, "serverName");

    private final long sslHandshakeTimeoutMillis;

    /**
     * @param mapping server name (or {@code null}) to context
     * @param maxClientHelloLength the largest ClientHello accepted
     * @param handshakeTimeoutMillis bound for the ClientHello wait and, again, for the handshake
     */
    public ServerSniHandler(Mapping<String, SslContext> mapping, int maxClientHelloLength, long handshakeTimeoutMillis) {
        super(mapping, maxClientHelloLength, handshakeTimeoutMillis);
        this.sslHandshakeTimeoutMillis = handshakeTimeoutMillis;
    }

    @Override
    protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext sslContext) throws Exception {
        String name = SniTable.serverName(hostname);
        if (name != null) {
            ctx.channel().attr(SERVER_NAME).set(name);
        }
        super.replaceHandler(ctx, hostname, sslContext);
    }

    @Override
    protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
        SslHandler h = super.newSslHandler(context, allocator);
        h.setHandshakeTimeoutMillis(sslHandshakeTimeoutMillis);
        return h;
    }
}
