package io.lodestone.l7.internal;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/** The proxy's own small error responses: a short text body, Content-Length, {@code Connection: close}. */
public final class ErrorResponses {

    private static final String TEXT = "text/plain; charset=us-ascii";

    private ErrorResponses() {
    }

    /** A new response with {@code status} and the body {@code "<code> <reason>\n"}. */
    public static FullHttpResponse of(HttpResponseStatus status) {
        byte[] body = (status.code() + " " + status.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        HttpHeaders headers = response.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, TEXT);
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return response;
    }

    /**
     * Writes the error response from {@code ctx} towards the socket (through the handlers before it,
     * the HTTP encoder included), flushes it and closes the channel once it is written.
     */
    public static ChannelFuture sendAndClose(ChannelHandlerContext ctx, HttpResponseStatus status) {
        return ctx.writeAndFlush(of(status)).addListener(ChannelFutureListener.CLOSE);
    }
}
