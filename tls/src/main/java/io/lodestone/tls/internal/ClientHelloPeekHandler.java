package io.lodestone.tls.internal;

import io.lodestone.tls.ClientHello;
import io.lodestone.tls.ClientHelloEvent;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Buffers the first bytes of a connection until they hold a whole ClientHello, fires a
 * {@link ClientHelloEvent}, and removes itself; removal hands every buffered byte, untouched, to the
 * next handler. Never consumes a byte.
 */
public final class ClientHelloPeekHandler extends ByteToMessageDecoder {

    private final int maxBytes;
    private boolean done;

    /** Buffers at most {@code maxBytes}. */
    public ClientHelloPeekHandler(int maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        super.channelActive(ctx);
        if (!ctx.channel().config().isAutoRead()) {
            ctx.read();
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done) {
            return;
        }
        ClientHello hello;
        try {
            hello = ClientHelloParser.parse(in, maxBytes);
        } catch (ClientHelloParser.NotAClientHelloException e) {
            finish(ctx, ClientHelloEvent.failure(e));
            return;
        }
        if (hello != null) {
            finish(ctx, ClientHelloEvent.success(hello));
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.isReadable()) {
            decode(ctx, in, out);
        }
        if (!done) {
            done = true;
            ctx.fireUserEventTriggered(ClientHelloEvent.failure(
                    new ClientHelloParser.NotAClientHelloException("input ended before a whole ClientHello")));
        }
    }

    private void finish(ChannelHandlerContext ctx, ClientHelloEvent event) {
        done = true;
        ctx.fireUserEventTriggered(event);
        if (!ctx.isRemoved()) {
            ctx.pipeline().remove(this);
        }
    }
}
