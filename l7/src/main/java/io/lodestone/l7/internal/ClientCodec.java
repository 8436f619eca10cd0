package io.lodestone.l7.internal;

import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import java.util.ArrayDeque;

/**
 * The codec of a client connection, in place of Netty's {@code HttpServerCodec}: a
 * {@link StrictRequestDecoder} and an {@link HttpResponseEncoder} that knows which responses answer a
 * HEAD request. Put a {@link RequestGuard} right after it.
 */
public final class ClientCodec extends CombinedChannelDuplexHandler<StrictRequestDecoder, HttpResponseEncoder> {

    /**
     * Creates the codec for one client connection.
     *
     * @throws IllegalArgumentException when a limit is not positive ({@code maxBodySize} may be 0)
     */
    public ClientCodec(int maxInitialLineLength, int maxHeaderSize, int maxHeaderCount, long maxBodySize) {
        ArrayDeque<HttpMethod> methods = new ArrayDeque<>(4);
        StrictRequestDecoder decoder = new StrictRequestDecoder(maxInitialLineLength, maxHeaderSize, maxHeaderCount, maxBodySize);
        decoder.methodQueue(methods);
        init(decoder, new ResponseEncoder(methods));
    }

    private static final class ResponseEncoder extends HttpResponseEncoder {
        private final ArrayDeque<HttpMethod> methods;

        ResponseEncoder(ArrayDeque<HttpMethod> methods) {
            this.methods = methods;
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            int code = msg.status().code();
            if (code >= 100 && code < 200) {
                return super.isContentAlwaysEmpty(msg);
            }
            return HttpMethod.HEAD.equals(methods.poll()) || super.isContentAlwaysEmpty(msg);
        }
    }
}
