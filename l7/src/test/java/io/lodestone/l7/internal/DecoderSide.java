package io.lodestone.l7.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A strict decoder on an {@link EmbeddedChannel} with a recorder in the proxy handler's place. The
 * recorder writes what it saw as "GET /uri" / "200", "body:..." (consecutive pieces joined), "end", and
 * "rejected:STATUS" for a failed decoder result, releasing every message.
 */
final class DecoderSide implements AutoCloseable {

    static final int MAX_LINE = 256;
    static final int MAX_HEADER = 512;
    static final int MAX_COUNT = 10;
    static final long MAX_BODY = 100;

    final EmbeddedChannel channel;
    final List<String> seen = new ArrayList<>();

    private DecoderSide(ChannelHandler decoder) {
        channel = new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    record(msg);
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }
        });
    }

    static HttpDecoderConfig config() {
        return new HttpDecoderConfig().setMaxInitialLineLength(MAX_LINE).setMaxHeaderSize(MAX_HEADER);
    }

    static DecoderSide requests() {
        return new DecoderSide(new StrictRequestDecoder(config(), MAX_COUNT, MAX_BODY));
    }

    static DecoderSide responses() {
        return new DecoderSide(new StrictResponseDecoder(config(), MAX_COUNT));
    }

    private void record(Object msg) {
        if (msg instanceof HttpObject h && h.decoderResult().isFailure()) {
            Throwable cause = h.decoderResult().cause();
            seen.add("rejected:" + (cause instanceof HttpRejection r ? r.status().code() : cause.toString()));
            return;
        }
        if (msg instanceof HttpRequest r) {
            seen.add(r.method() + " " + r.uri());
        }
        if (msg instanceof HttpResponse r) {
            seen.add(String.valueOf(r.status().code()));
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
        if (msg instanceof io.netty.buffer.ByteBuf b) {
            seen.add("raw:" + b.toString(StandardCharsets.ISO_8859_1));
        }
    }

    /** Writes raw bytes (ISO-8859-1) as the peer would. */
    DecoderSide send(String raw) {
        channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
        return this;
    }

    /** Writes the bytes one at a time. */
    DecoderSide sendByteByByte(String raw) {
        for (int i = 0; i < raw.length(); i++) {
            send(raw.substring(i, i + 1));
        }
        return this;
    }

    String seen() {
        return String.join("|", seen);
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }
}
