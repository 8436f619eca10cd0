package io.lodestone.tls.internal;

import io.lodestone.core.internal.PipelineNames;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.Mapping;
import java.util.concurrent.TimeUnit;

/**
 * Waits for the ClientHello, picks the SSL context for its server name through the mapping (read at
 * that moment, so a reload applies to the next handshake) and replaces itself, under the same name,
 * with the {@link SslHandler}. Records the requested server name on the channel, as
 * {@link SniTable#serverName} spells it. The handshake timeout runs from the moment this handler is
 * added (the accept): the SSL handler gets what the ClientHello left of it, read on the event loop's
 * ticker (the proxy's clock).
 */
public final class ServerSniHandler extends SniHandler {

    /** The server name the client asked for in SNI; absent when it sent none. */
    public static final AttributeKey<String> SERVER_NAME = AttributeKey.valueOf(ServerSniHandler.class, "serverName");

    private final long handshakeTimeoutMillis;
    private final boolean guardRenegotiation;
    /** When the handler was added, on the event loop's ticker. */
    private long addedNanos;
    /** What the ClientHello left of the handshake timeout, for the SSL handler. */
    private long sslHandshakeTimeoutMillis;

    /**
     * @param mapping server name (or {@code null}) to context
     * @param maxClientHelloLength the largest ClientHello accepted
     * @param handshakeTimeoutMillis bound for the whole handshake, the ClientHello wait included
     * @param guardRenegotiation put a {@link RenegotiationGuard} in front (the JDK provider, whose engine
     *     accepts a client's renegotiation)
     */
    public ServerSniHandler(Mapping<String, SslContext> mapping, int maxClientHelloLength, long handshakeTimeoutMillis,
            boolean guardRenegotiation) {
        super(mapping, maxClientHelloLength, handshakeTimeoutMillis);
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
        this.guardRenegotiation = guardRenegotiation;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        addedNanos = ctx.executor().ticker().nanoTime();
        if (guardRenegotiation) {
            // in front from the first byte, so that it follows the record boundaries
            ctx.pipeline().addBefore(ctx.name(), PipelineNames.TLS_RENEGOTIATION, new RenegotiationGuard());
        }
        super.handlerAdded(ctx);
    }

    @Override
    protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext sslContext) throws Exception {
        String name = SniTable.serverName(hostname);
        if (name != null) {
            ctx.channel().attr(SERVER_NAME).set(name);
        }
        // at least 1 ms: 0 would turn the SSL handler's timeout off
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(ctx.executor().ticker().nanoTime() - addedNanos);
        sslHandshakeTimeoutMillis = Math.max(1, handshakeTimeoutMillis - elapsedMillis);
        super.replaceHandler(ctx, hostname, sslContext);
    }

    @Override
    protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
        SslHandler h = super.newSslHandler(context, allocator);
        h.setHandshakeTimeoutMillis(sslHandshakeTimeoutMillis);
        return h;
    }
}
