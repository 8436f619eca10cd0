package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import java.util.List;

/**
 * The codec of a backend connection, in place of Netty's {@code HttpClientCodec}: a
 * {@link StrictResponseDecoder} and an {@link HttpRequestEncoder} that tells the decoder each request's
 * method. Put a {@link BackendResponseGuard} right after it.
 */
public final class BackendCodec extends CombinedChannelDuplexHandler<StrictResponseDecoder, HttpRequestEncoder> {

    /**
     * Creates the codec for one backend connection.
     *
     * @throws IllegalArgumentException when a limit is not positive
     */
    public BackendCodec(int maxInitialLineLength, int maxHeaderSize, int maxHeaderCount) {
        StrictResponseDecoder decoder = new StrictResponseDecoder(maxInitialLineLength, maxHeaderSize, maxHeaderCount);
        init(decoder, new RequestEncoder(decoder));
    }

    private static final class RequestEncoder extends HttpRequestEncoder {
        private final StrictResponseDecoder decoder;

        RequestEncoder(StrictResponseDecoder decoder) {
            this.decoder = decoder;
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                decoder.requestSent(request.method());
            }
            super.encode(ctx, msg, out);
        }
    }
}
