package io.lodestone.l7.internal;

import io.lodestone.l7.HttpFrontend;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AttributeKey;

/**
 * Shapes the requests of an HTTP/2 stream like the HTTP/1.1 decoder's: refuses those it would refuse
 * ({@link #invalid}, and the frontend's limits: {@code 414} for a request whose HTTP/1.1 request line
 * would be longer than {@code maxInitialLineLength}, {@code 431} for more header fields than
 * {@code maxHeaderCount}), removes the
 * {@code x-http2-*} headers the conversion adds (stream id, scheme and so on), so that backends see
 * the client's headers only, and splits a whole request (HEADERS with END_STREAM) into its head and
 * a last content, the shape the proxy handler forwards. A GET, HEAD, DELETE, OPTIONS or TRACE without
 * {@code content-length} whose HEADERS do not end the stream is held until the next frame, so that
 * one ended by an empty DATA frame goes on as a request without a body ({@link #HELD}).
 * One per connection, shared by its streams.
 */
@ChannelHandler.Sharable
final class Http2RequestAdapter extends ChannelInboundHandlerAdapter {

    /** {@code values()} copies its array on every call: copied once here. */
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSIONS = HttpConversionUtil.ExtensionHeaderNames.values();
    /** The request line's spaces and {@code HTTP/1.1}, beside the method and the target. */
    private static final int REQUEST_LINE_OVERHEAD = 1 + 1 + "HTTP/1.1".length();

    /**
     * A request of a stream held until its next frame ({@link #withoutBody}): an empty end without
     * trailers sends it on without {@code Transfer-Encoding}, as a request with no body; anything else
     * sends it on as it was (chunked), then the frame. A request holds no buffer, so one left held
     * by a stream that ends otherwise (a reset) leaks nothing.
     */
    private static final AttributeKey<HttpRequest> HELD = AttributeKey.valueOf(Http2RequestAdapter.class, "held");

    private final int maxInitialLineLength;
    private final int maxHeaderCount;
    private final HttpFrontend.HeadersWithUnderscores underscores;

    Http2RequestAdapter(int maxInitialLineLength, int maxHeaderCount, HttpFrontend.HeadersWithUnderscores underscores) {
        this.maxInitialLineLength = maxInitialLineLength;
        this.maxHeaderCount = maxHeaderCount;
        this.underscores = underscores;
    }

    /**
     * Sharable, as its annotation says: said without Netty's reflective check (a lookup in a per-thread
     * map of classes), which ran each time the handler was added to a stream's pipeline.
     */
    @Override
    public boolean isSharable() {
        return true;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpContent content && ctx.channel().hasAttr(HELD)) {
            HttpRequest held = ctx.channel().attr(HELD).getAndSet(null);
            if (held != null) {
                if (content instanceof LastHttpContent last && !last.content().isReadable() && last.trailingHeaders().isEmpty()) {
                    // the stream ended with no content: a request without a body, as with END_STREAM on HEADERS
                    held.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                }
                ctx.fireChannelRead(held);
            }
        }
        if (msg instanceof HttpRequest r) {
            boolean scheme = r.headers().contains(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text());
            for (HttpConversionUtil.ExtensionHeaderNames n : EXTENSIONS) {
                r.headers().remove(n.text());
            }
            HttpRejection rejection = overLimit(r);
            String invalid = rejection == null ? invalid(r, scheme) : null;
            if (invalid == null && rejection == null && underscores != HttpFrontend.HeadersWithUnderscores.ALLOW) {
                invalid = underscores(r);
            }
            if (invalid != null) {
                // the access log has :method and :path as the request line unless :path was the fault
                rejection = invalidPath(r) != null ? new HttpRejection(HttpResponseStatus.BAD_REQUEST, invalid)
                        : withLine(HttpResponseStatus.BAD_REQUEST, invalid, r);
            }
            if (rejection != null) {
                // refused as the HTTP/1.1 decoder refuses the same shapes: answered, nothing forwarded
                r.setDecoderResult(DecoderResult.failure(rejection));
            }
            if (rejection == null && !(msg instanceof FullHttpRequest) && withoutBody(r)) {
                // held until the stream's next frame tells whether a body follows (see HELD)
                ctx.channel().attr(HELD).set(r);
                return;
            }
            if (msg instanceof FullHttpRequest full) {
                if (!bodylessMethod(full.method()) && !full.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                    // END_STREAM on the HEADERS of a POST, PUT, PATCH...: an HTTP/1.1 request with neither
                    // Content-Length nor Transfer-Encoding has no body (RFC 9112, 6.3), but RFC 9110 (8.6)
                    // asks a client to send Content-Length: 0 there, and some servers answer 411 without it
                    // (Envoy adds it too)
                    full.headers().set(HttpHeaderNames.CONTENT_LENGTH, HttpHeaderValues.ZERO);
                }
                HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
                head.setDecoderResult(full.decoderResult());
                ctx.fireChannelRead(head);
                ctx.fireChannelRead(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * Whether a request whose HEADERS did not end its stream is of a method that usually has no body
     * (GET, HEAD, DELETE, OPTIONS, TRACE) and declares no {@code content-length}: clients end such a
     * stream with an empty DATA frame, and forwarded at once it reached an HTTP/1.1 server as a
     * chunked request with an empty body.
     */
    private static boolean withoutBody(HttpRequest r) {
        return bodylessMethod(r.method())
                && !r.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                // a client expecting 100-continue waits for an answer before it sends its next frame
                && !r.headers().contains(HttpHeaderNames.EXPECT);
    }

    /** GET, HEAD, DELETE, OPTIONS, TRACE: methods whose requests usually have no body. */
    private static boolean bodylessMethod(HttpMethod m) {
        return HttpMethod.GET.equals(m) || HttpMethod.HEAD.equals(m) || HttpMethod.DELETE.equals(m)
                || HttpMethod.OPTIONS.equals(m) || HttpMethod.TRACE.equals(m);
    }

    /**
     * The frontend's rule for field names with an underscore: {@code DROP_HEADER} removes those fields,
     * {@code REJECT_REQUEST} refuses the request (the reason, else null).
     */
    private String underscores(HttpRequest r) {
        if (!Headers.hasUnderscoreName(r.headers())) {
            return null;
        }
        if (underscores == HttpFrontend.HeadersWithUnderscores.REJECT_REQUEST) {
            return "underscore in a header name";
        }
        Headers.removeUnderscoreNames(r.headers());
        return null;
    }

    /**
     * The HTTP/1.1 frontend's limits, applied to the request a stream makes: a request line (method,
     * {@code :path}, version) longer than {@code maxInitialLineLength} is answered 414, more header
     * fields than {@code maxHeaderCount} (counted as the HTTP/1.1 request has them: {@code :authority}
     * as {@code host}, cookie crumbs joined into one field) 431; null when within both.
     */
    private HttpRejection overLimit(HttpRequest r) {
        int line = r.method().name().length() + r.uri().length() + REQUEST_LINE_OVERHEAD;
        if (line > maxInitialLineLength) {
            return new HttpRejection(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line longer than " + maxInitialLineLength);
        }
        if (r.headers().size() > maxHeaderCount) {
            return withLine(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "more than " + maxHeaderCount + " header fields", r);
        }
        return null;
    }

    /**
     * What makes a request from an HTTP/2 stream one the HTTP/1.1 frontend would refuse, or null:
     * no {@code :scheme} (but for CONNECT, which the proxy answers itself); a {@code :path} that is not
     * origin form (absolute form would have the proxy take its authority for the Host), {@code *}
     * but for OPTIONS, or one with a fragment, a space, a control or a non-ASCII character; no
     * {@code :authority} nor {@code host}, or one that is not {@code uri-host [ ":" port ]} ({@link Authority}).
     */
    static String invalid(HttpRequest r, boolean scheme) {
        String path = invalidPath(r);
        if (path != null) {
            return path;
        }
        if (!scheme && !HttpMethod.CONNECT.equals(r.method())) {
            return "no :scheme";
        }
        String host = r.headers().get(HttpHeaderNames.HOST);
        if (host == null || host.isEmpty()) {
            return "no :authority";
        }
        if (!Authority.valid(host, 0, host.length())) {
            return "invalid :authority";
        }
        return null;
    }

    /** Why the {@code :path} cannot be an origin-form target ({@link #invalid}), or null. */
    private static String invalidPath(HttpRequest r) {
        return invalidPath(r.method().name(), r.uri());
    }

    /** Why {@code path} cannot be the origin-form target of a request of {@code method}, or null. */
    private static String invalidPath(CharSequence method, CharSequence path) {
        if (path.length() == 1 && path.charAt(0) == '*') {
            return HttpMethod.OPTIONS.name().contentEquals(method) ? null : "invalid :path *";
        }
        if (!HttpMethod.CONNECT.name().contentEquals(method) && (path.length() == 0 || path.charAt(0) != '/' || !visible(path, '#'))) {
            return "invalid :path";
        }
        return null;
    }

    /**
     * Whether a refused stream's {@code :method} and {@code :path} make a valid request line, which the
     * access log then writes instead of {@code <BADREQ>}: a token and an origin-form target (not for
     * CONNECT, which has none). Error path only.
     */
    static boolean validLine(CharSequence method, CharSequence path) {
        return method != null && path != null && method.length() > 0 && HttpHeaderValidationUtil.validateToken(method) == -1
                && !HttpMethod.CONNECT.name().contentEquals(method) && invalidPath(method, path) == null;
    }

    /**
     * The request of {@code stream} held until its next frame ({@link #HELD}), or null: the access log
     * line of a stream that ends or times out while its request is held has the request's line. Asked
     * only of a stream that ends before an exchange began on it.
     */
    static HttpRequest held(Channel stream) {
        return stream.hasAttr(HELD) ? stream.attr(HELD).get() : null;
    }

    /**
     * A refusal of a request whose {@code :method} and {@code :path} were valid and only a header
     * field was not: the access log writes them as its request line, as for an HTTP/1.1 request
     * refused for a header; one refused for its {@code :path} is {@code <BADREQ>}. Error path only.
     */
    private static HttpRejection withLine(HttpResponseStatus status, String reason, HttpRequest r) {
        return new HttpRejection(status, reason, r.method().name(), r.uri(), "HTTP/2.0");
    }

    /** Whether every character is visible ASCII and none is {@code except}. */
    private static boolean visible(CharSequence s, char except) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == except) {
                return false;
            }
        }
        return true;
    }
}
