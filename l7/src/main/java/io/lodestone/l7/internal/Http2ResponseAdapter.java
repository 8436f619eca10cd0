package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.Iterator;
import java.util.Map;

/**
 * Shapes the responses of an HTTP/2 server stream like the HTTP/1.1 response decoder's: removes the
 * {@code x-http2-*} headers the conversion adds, splits a whole response (HEADERS with END_STREAM,
 * a trailers-only gRPC answer for instance) into its head and a last content, and ends an interim
 * (1xx) response with an empty last content, the shapes the proxy handler forwards. A {@code :status}
 * outside 100 to 599 or a field value with whitespace at its edge fails the response ({@link #malformed});
 * such a value in its trailers fails its end, and the client's connection (or stream) closes without it.
 */
@ChannelHandler.Sharable
final class Http2ResponseAdapter extends ChannelInboundHandlerAdapter {

    static final Http2ResponseAdapter INSTANCE = new Http2ResponseAdapter();
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSIONS = HttpConversionUtil.ExtensionHeaderNames.values();

    private Http2ResponseAdapter() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpResponse r) {
            for (HttpConversionUtil.ExtensionHeaderNames n : EXTENSIONS) {
                r.headers().remove(n.text());
            }
            int status = r.status().code();
            if (status < 100 || status > 599) {
                malformed(ctx, r, "invalid response: :status " + status);
                return;
            }
            if (edgeWhitespace(r.headers())) {
                malformed(ctx, r, "invalid response: whitespace at the edge of a field value");
                return;
            }
            if (msg instanceof FullHttpResponse full) {
                HttpResponse head = new DefaultHttpResponse(full.protocolVersion(), full.status(), full.headers());
                head.setDecoderResult(full.decoderResult());
                ctx.fireChannelRead(head);
                ctx.fireChannelRead(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
                return;
            }
            int code = r.status().code();
            if (code < 200 && code != 101) {
                r.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                ctx.fireChannelRead(r);
                ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
                return;
            }
        }
        if (msg instanceof LastHttpContent last && !last.trailingHeaders().isEmpty() && edgeWhitespace(last.trailingHeaders())) {
            // the response has started: failed, its client's connection (or stream) is closed without its end
            last.setDecoderResult(DecoderResult.failure(new HttpRejection(HttpResponseStatus.BAD_GATEWAY,
                    "invalid response: whitespace at the edge of a trailer field value")));
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * Whether a field value of a response head or trailer section starts or ends with a space or a tab, which makes the
     * response malformed (RFC 9113, 8.2.1), and an intermediary must not forward it (8.1.1). Netty's
     * HPACK validation refuses a leading one only, and a value such as {@code "v "} went to the
     * HTTP/1.1 client as it came, where its parser drops the whitespace: the proxy's response rules
     * and cache read one value, the client another. A scan of the values, no allocation.
     */
    private static boolean edgeWhitespace(HttpHeaders headers) {
        Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
        while (it.hasNext()) {
            CharSequence value = it.next().getValue();
            int last = value.length() - 1;
            if (last >= 0 && (blank(value.charAt(0)) || blank(value.charAt(last)))) {
                return true;
            }
        }
        return false;
    }

    private static boolean blank(char c) {
        return c == ' ' || c == '\t';
    }

    /**
     * Passes on the head of a malformed response as a failed one, which the proxy handler answers
     * 502 and resets the stream for, as the HTTP/1.1 decoder refuses an invalid status line or field;
     * nothing of it reaches the client. So goes a {@code :status} that is no status code (RFC 9110,
     * 15: three digits, 100 to 599): Netty's conversion takes any integer, and {@code 20} went out as
     * an interim response and {@code 600} as the final one. Error path only.
     */
    private static void malformed(ChannelHandlerContext ctx, HttpResponse r, String reason) {
        HttpResponse head = new DefaultHttpResponse(r.protocolVersion(), r.status(), r.headers());
        head.setDecoderResult(DecoderResult.failure(new HttpRejection(HttpResponseStatus.BAD_GATEWAY, reason)));
        ReferenceCountUtil.release(r);
        ctx.fireChannelRead(head);
    }
}
