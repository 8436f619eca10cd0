package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A client connection in memory: {@link ClientCodec}, {@link RequestGuard}, and a recorder in the engine's place. */
final class ClientSide implements AutoCloseable {

    static final int MAX_LINE = 256;
    static final int MAX_HEADER = 512;
    static final int MAX_COUNT = 10;
    static final long MAX_BODY = 100;

    final EmbeddedChannel channel;
    /** What the engine saw: "METHOD uri", "body:..." (consecutive pieces joined), "end". */
    final List<String> seen = new ArrayList<>();

    ClientSide() {
        channel = new EmbeddedChannel(new ClientCodec(MAX_LINE, MAX_HEADER, MAX_COUNT, MAX_BODY), new RequestGuard(),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        try {
                            if (msg instanceof HttpRequest r) {
                                seen.add(r.method() + " " + r.uri());
                            }
                            if (msg instanceof HttpContent c && c.content().isReadable()) {
                                String body = c.content().toString(StandardCharsets.ISO_8859_1);
                                int last = seen.size() - 1;
                                if (last >= 0 && seen.get(last).startsWith("body:")) {
                                    seen.set(last, seen.get(last) + body);
                                } else {
                                    seen.add("body:" + body);
                                }
                            }
                            if (msg instanceof LastHttpContent) {
                                seen.add("end");
                            }
                        } finally {
                            ReferenceCountUtil.release(msg);
                        }
                    }
                });
    }

    /** Writes raw bytes (ISO-8859-1) as the client would. */
    ClientSide send(String raw) {
        if (channel.isOpen()) {
            channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
        }
        return this;
    }

    /** Writes the bytes one at a time. */
    ClientSide sendByteByByte(String raw) {
        for (int i = 0; i < raw.length() && channel.isOpen(); i++) {
            send(raw.substring(i, i + 1));
        }
        return this;
    }

    /** Everything written to the client so far. */
    String written() {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return sb.toString();
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }
}
