package io.lodestone.l7.internal;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The proxy's own small answers: status line, Content-Length and a one-line text body, or the
 * frontend's error page for the status when it has one.
 */
final class ErrorResponses {

    private ErrorResponses() {
    }

    /**
     * Builds an error response.
     *
     * @param close whether the connection closes after it ({@code Connection: close})
     * @param pages the frontend's error pages, or {@code null} when it has none
     */
    static FullHttpResponse of(HttpResponseStatus status, CharSequence requestIdHeader, CharSequence requestId, boolean close,
            ErrorPages pages) {
        ErrorPages.Page page = pages == null ? null : pages.page(status.code());
        FullHttpResponse r;
        HttpHeaders h;
        if (page == null) {
            byte[] body = (status.code() + " " + status.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
            h = r.headers();
            h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        } else {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, page.content());
            h = r.headers();
            h.set(HttpHeaderNames.CONTENT_TYPE, page.contentType);
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, page.length);
        }
        h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        if (requestId != null) {
            h.set(requestIdHeader, requestId);
        }
        if (close) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return r;
    }
}
