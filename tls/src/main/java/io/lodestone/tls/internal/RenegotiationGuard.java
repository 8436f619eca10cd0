package io.lodestone.tls.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands in front of a JDK-provider TLS handler of a client connection and closes the connection when
 * the client starts a second handshake on it (TLS 1.2 client-initiated renegotiation: a handshake
 * record after the first handshake is done), as OpenSSL's engine refuses it by itself and HAProxy,
 * nginx and Envoy refuse it: each renegotiation costs the proxy a handshake that no connection limit
 * sees. It follows the record headers of the bytes it passes on, unchanged; a connection that
 * negotiated TLS 1.3, which has no renegotiation, loses it after its handshake.
 */
public final class RenegotiationGuard extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(RenegotiationGuard.class);

    private static final int RECORD_HEADER = 5;
    private static final int CONTENT_HANDSHAKE = 22;

    /** Bytes of the current record's body still to pass. */
    private int bodyLeft;
    /** How many bytes of the next record's header have been seen (0 to 4), and those bytes. */
    private int headerSeen;
    private int contentType;
    private int lengthHigh;
    /** The connection was refused: everything more is dropped. */
    private boolean refused;
    /** Whether the first handshake is done and its protocol was looked at (TLS 1.2: the guard stays). */
    private boolean versionKnown;
    /** The TLS handler behind, once the SNI handler has put it in place. */
    private SslHandler ssl;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (ssl == null) {
            ssl = ctx.pipeline().get(SslHandler.class);
        } else if (!versionKnown && ssl.handshakeFuture().isSuccess()) {
            // asked once: the JDK engine's getSession() takes the engine's lock, which a TLS 1.2
            // connection would otherwise take on every read for its whole life
            versionKnown = true;
            if ("TLSv1.3".equals(ssl.engine().getSession().getProtocol())) {
                ctx.pipeline().remove(this);
                ctx.fireChannelRead(msg);
                return;
            }
        }
        if (msg instanceof ByteBuf buf && scan(buf)) {
            refused = true;
            buf.release();
            if (log.isDebugEnabled()) {
                log.debug("client connection {} started a TLS renegotiation: closed", ctx.channel());
            }
            ctx.close();
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * Follows the records in {@code buf}; true when one is a handshake record after the first
     * handshake is done (as it was before this read: a renegotiation the client sends in the same read
     * as its last message of the first handshake gets as far as the server's answer, and its next
     * record ends it).
     */
    private boolean scan(ByteBuf buf) {
        int pos = buf.readerIndex();
        int end = buf.writerIndex();
        while (pos < end) {
            if (bodyLeft > 0) {
                int n = Math.min(bodyLeft, end - pos);
                bodyLeft -= n;
                pos += n;
                continue;
            }
            int b = buf.getUnsignedByte(pos++);
            switch (headerSeen++) {
                case 0 -> contentType = b;
                case 3 -> lengthHigh = b;
                case 4 -> {
                    headerSeen = 0;
                    bodyLeft = (lengthHigh << 8) | b;
                    if (contentType == CONTENT_HANDSHAKE && ssl != null && ssl.handshakeFuture().isSuccess()) {
                        return true;
                    }
                }
                default -> {
                }
            }
        }
        return false;
    }
}
