package io.lodestone.l7.internal;

import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.Relay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelOption;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket bootstrapped over an HTTP/2 stream (RFC 8441), on a frontend with
 * {@code websocketOverHttp2(true)}: one per stream whose HEADERS carry {@code :protocol}, put in place
 * of the frontend's {@link #GATE} on that stream, before the stream codec ({@link PipelineNames#HTTP2_WEBSOCKET}).
 *
 * <p>An extended CONNECT ({@code :method CONNECT}, {@code :protocol websocket}, {@code :scheme},
 * {@code :path}, {@code :authority}) becomes the HTTP/1.1 WebSocket handshake a browser would send,
 * which the proxy handler then takes as any {@code Upgrade: websocket} request (the same rules, limits,
 * access log and metrics, and the same tunnel after the 101): {@code GET :path} with the
 * {@code :authority} as {@code Host}, {@code Connection: Upgrade}, {@code Upgrade: websocket},
 * {@code Sec-WebSocket-Version: 13} and a {@code Sec-WebSocket-Key} of the proxy's, the client's
 * other fields as they came, as HAProxy converts it. The request is whole at its HEADERS: what the
 * client sends before the answer is held here as bytes, and its window is not given back until the
 * tunnel opens, so that at most the stream's initial window is held.
 *
 * <p>The server's 101 (checked by the proxy handler against {@link #accepts}) goes to the client as
 * {@code :status 200} without {@code sec-websocket-accept}; the empty end the HTTP/1 response carries
 * is not sent, as it would end the stream. Once the tunnel opens ({@link #open}), the stream's DATA
 * are the tunnel's bytes and the bytes written to the stream leave as DATA, under HTTP/2 flow control
 * (the stream channel is unwritable while its window is used up, and the relay stops reading the
 * server); the client's END_STREAM (or its connection's end) is the relay's end of input, the relay's
 * half-close is an empty DATA with END_STREAM, the client's RST_STREAM an abort that resets the
 * server, and the relay's reset a RST_STREAM {@code CONNECT_ERROR} (RFC 9113, 8.5).
 *
 * <p>Any other {@code :protocol} on a CONNECT is dropped and the request goes on as a plain CONNECT,
 * which the proxy answers 501; a {@code :protocol} on another method, or an extended CONNECT without
 * {@code :scheme}, {@code :path} or {@code :authority}, is malformed (RFC 8441, 4; RFC 9113, 8.3):
 * RST_STREAM {@code PROTOCOL_ERROR}, as the stream codec refuses HEADERS it cannot take.
 */
final class Http2WebSocket extends ChannelDuplexHandler implements Relay.StreamEnds {

    /**
     * The frontend's handler on every stream when it takes WebSocket over HTTP/2: passes frames on, and
     * hands HEADERS with {@code :protocol} to an {@link Http2WebSocket} of the stream's own. Sharable.
     */
    static final ChannelHandler GATE = new Gate();

    private static final AsciiString PROTOCOL = Http2Headers.PseudoHeaderName.PROTOCOL.value();
    private static final AsciiString WEBSOCKET = AsciiString.cached("websocket");
    private static final AsciiString GET = AsciiString.cached("GET");
    private static final AsciiString STATUS_200 = AsciiString.cached("200");
    private static final AsciiString STATUS_101 = AsciiString.cached("101");
    private static final AsciiString VERSION_13 = AsciiString.cached("13");
    private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private enum State { HEAD, WAITING, SWITCHED, TUNNEL }

    private State state = State.HEAD;
    private ChannelHandlerContext ctx;
    /** The key sent to the server, whose 101 must answer it. */
    private String key;
    /** What the client sent before the tunnel opened, as bytes, and the flow-controlled bytes it took. */
    private List<Object> early;
    private int earlyWindow;
    /** The client ended its side (END_STREAM), before the tunnel opened or in it. */
    private boolean inputEnded;
    /** The proxy sent END_STREAM, or RST_STREAM, on the tunnel's stream. */
    private boolean endSent;
    private boolean resetSent;
    /** A close waits for the END_STREAM before it to be sent: a second close does not wait. */
    private boolean closing;

    private Http2WebSocket() {
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseEarly();
    }

    private void releaseEarly() {
        List<Object> held = early;
        early = null;
        if (held != null) {
            for (Object msg : held) {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /** Whether this stream's request is the WebSocket handshake made of an extended CONNECT (past its HEADERS). */
    boolean handshake() {
        return state != State.HEAD;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        switch (state) {
            case HEAD -> head(ctx, msg);
            case WAITING, SWITCHED -> hold(msg);
            default -> tunnel(ctx, msg);
        }
    }

    private void head(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!(msg instanceof Http2HeadersFrame frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        Http2Headers h = frame.headers();
        CharSequence method = h.method();
        if (method == null || !HttpMethod.CONNECT.asciiName().contentEquals(method)) {
            // defined for the extended CONNECT alone (RFC 8441, 4): malformed elsewhere (RFC 9113, 8.3)
            throw refused(frame, ":protocol on a request that is not a CONNECT");
        }
        if (h.scheme() == null || h.path() == null || h.authority() == null) {
            throw refused(frame, "extended CONNECT without :scheme, :path or :authority");
        }
        if (!WEBSOCKET.contentEqualsIgnoreCase(h.get(PROTOCOL))) {
            // a protocol the proxy does not bridge: the CONNECT it is, answered 501 as every CONNECT
            h.remove(PROTOCOL);
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(msg);
            return;
        }
        h.method(GET);
        h.remove(PROTOCOL);
        String malformed = Http2StreamRequestCodec.edgeWhitespace(h);
        if (malformed == null) {
            malformed = Http2StreamRequestCodec.malformed(h, true);
        }
        if (malformed != null) {
            throw refused(frame, malformed);
        }
        int id = frame.stream().id();
        FullHttpRequest request;
        try {
            request = HttpConversionUtil.toFullHttpRequest(id, h, Unpooled.EMPTY_BUFFER, true);
        } catch (Http2Exception e) {
            ReferenceCountUtil.release(frame);
            throw new Http2StreamRequestCodec.Refused(h, e);
        }
        ReferenceCountUtil.release(frame);
        HttpHeaders headers = request.headers();
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        headers.set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, VERSION_13);
        key = newKey();
        headers.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, key);
        state = State.WAITING;
        inputEnded = frame.isEndStream();
        // what the client sends before the answer is held, and its window given back only when the tunnel opens
        ctx.channel().config().setOption(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, false);
        ctx.fireChannelRead(request);
    }

    private static Http2StreamRequestCodec.Refused refused(Http2HeadersFrame frame, String why) {
        ReferenceCountUtil.release(frame);
        return new Http2StreamRequestCodec.Refused(frame.headers(),
                Http2Exception.streamError(frame.stream().id(), Http2Error.PROTOCOL_ERROR, "%s", why));
    }

    /** A nonce of 16 random bytes, base64 (RFC 6455, 4.1). */
    private static String newKey() {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        return Base64.getEncoder().encodeToString(nonce);
    }

    /** Holds what comes before the tunnel opens: DATA as bytes; an END_STREAM ends the client's side. */
    private void hold(Object msg) {
        if (msg instanceof Http2DataFrame data) {
            earlyWindow += data.initialFlowControlledBytes();
            inputEnded |= data.isEndStream();
            ByteBuf bytes = data.content();
            if (bytes.isReadable()) {
                if (early == null) {
                    early = new ArrayList<>(2);
                }
                early.add(bytes);
            } else {
                bytes.release();
            }
            return;
        }
        if (msg instanceof Http2HeadersFrame headers) {
            // trailers: nothing to carry in a tunnel, but the end of the client's side
            inputEnded |= headers.isEndStream();
        }
        ReferenceCountUtil.release(msg);
    }

    private void tunnel(ChannelHandlerContext ctx, Object msg) {
        boolean end = false;
        if (msg instanceof Http2DataFrame data) {
            end = data.isEndStream();
            ByteBuf bytes = data.content();
            if (bytes.isReadable()) {
                ctx.fireChannelRead(bytes);
            } else {
                bytes.release();
            }
        } else if (msg instanceof Http2HeadersFrame headers) {
            end = headers.isEndStream();
            ReferenceCountUtil.release(msg);
        } else {
            ReferenceCountUtil.release(msg);
        }
        if (end && !inputEnded) {
            inputEnded = true;
            ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (state == State.TUNNEL) {
            if (evt instanceof Http2ResetFrame reset) {
                // the client reset the stream: an abort, passed on to the server as a reset
                ctx.fireExceptionCaught(new StreamReset(reset.errorCode()));
                return;
            }
            if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
                // the client's connection ended its side (a FIN, a close_notify): so did the stream
                if (!inputEnded) {
                    inputEnded = true;
                    ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
                }
                return;
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (state == State.TUNNEL && msg instanceof ByteBuf bytes) {
            if (!bytes.isReadable()) {
                bytes.release();
                promise.trySuccess();
                return;
            }
            ctx.write(new DefaultHttp2DataFrame(bytes), promise);
            return;
        }
        if (state == State.WAITING && msg instanceof Http2HeadersFrame headers && is101(headers.headers().status())) {
            // the server's 101: the stream's 2xx (RFC 8441, 5), which never ends the stream; its accept is
            // the proxy's business
            Http2Headers h = headers.headers();
            h.status(STATUS_200);
            h.remove(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
            state = State.SWITCHED;
            if (headers.isEndStream()) {
                // a whole HTTP/1 message, encoded with END_STREAM: not the end of the tunnel
                ctx.write(new DefaultHttp2HeadersFrame(h, false), promise);
                return;
            }
        } else if (state == State.SWITCHED && msg instanceof Http2DataFrame data && data.isEndStream()
                && !data.content().isReadable()) {
            // the end of the 101's HTTP/1 message, which would end the stream
            data.release();
            promise.trySuccess();
            return;
        }
        ctx.write(msg, promise);
    }

    private static boolean is101(CharSequence status) {
        return status != null && STATUS_101.contentEquals(status);
    }

    /**
     * Whether the server's 101 answers the key this stream's handshake sent (RFC 6455, 4.2.2): its
     * {@code Sec-WebSocket-Accept} is the base64 SHA-1 of the key and the protocol's GUID. A browser
     * checks it on an HTTP/1.1 handshake; here the client never sees it, so the proxy does.
     */
    boolean accepts(HttpHeaders response) {
        String accept = response.get(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
        return accept != null && accept.trim().equals(expectedAccept(key));
    }

    static String expectedAccept(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            return Base64.getEncoder().encodeToString(sha1.digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every Java platform", e);
        }
    }

    /**
     * Opens the tunnel, the server's 101 relayed and the stream's pipeline stripped to this handler:
     * returns what the client sent before, to go to the server first, and gives its window back. Its
     * bytes are the caller's to release. The relay, joined next, flushes the window update.
     */
    List<Object> open() {
        state = State.TUNNEL;
        List<Object> held = early;
        early = null;
        Channel ch = ctx.channel();
        if (earlyWindow > 0 && ch.isActive()) {
            ctx.write(new DefaultHttp2WindowUpdateFrame(earlyWindow));
        }
        earlyWindow = 0;
        ch.config().setOption(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, true);
        return held;
    }

    @Override
    public boolean inputEnded() {
        return inputEnded;
    }

    @Override
    public void shutdownOutput(Channel channel) {
        // END_STREAM after the bytes before it: the half-close of a tunnel (RFC 8441, 4)
        if (!endSent && !resetSent) {
            endSent = true;
            ctx.writeAndFlush(new DefaultHttp2DataFrame(true));
        }
    }

    @Override
    public void reset(Channel channel) {
        // a reset of the server's connection (RFC 9113, 8.5); the relay closes the stream next
        if (!resetSent) {
            resetSent = true;
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CONNECT_ERROR));
        }
    }

    /**
     * The tunnel's close (the server's connection closed, both sides ended, the tunnel timeout): a stream
     * that has not ended its side ends it with END_STREAM and closes once that has left, after every
     * byte before it. Closed at once, the stream's reset (CANCEL) dropped the server's last bytes that
     * flow control still held, and a server's close looked like an abort. A second close, or a close
     * after a reset, is at once.
     */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
        if (state != State.TUNNEL || endSent || resetSent || closing || !ctx.channel().isActive()) {
            ctx.close(promise);
            return;
        }
        closing = true;
        endSent = true;
        ctx.writeAndFlush(new DefaultHttp2DataFrame(true)).addListener(f -> ctx.close(promise));
    }

    /** The client reset the stream of a tunnel: an abort, as a reset of an HTTP/1.1 client's socket. */
    private static final class StreamReset extends IOException {
        private static final long serialVersionUID = 1L;

        StreamReset(long code) {
            super("stream reset by the client: " + code);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /** See {@link #GATE}. */
    @ChannelHandler.Sharable
    private static final class Gate extends ChannelInboundHandlerAdapter {

        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof Http2HeadersFrame h && h.headers().contains(PROTOCOL) && ctx.channel() instanceof Http2StreamChannel) {
                Http2WebSocket ws = new Http2WebSocket();
                ctx.pipeline().replace(this, PipelineNames.HTTP2_WEBSOCKET, ws);
                try {
                    ws.channelRead(ws.ctx, msg);
                } catch (Exception refused) {
                    ws.ctx.fireExceptionCaught(refused);
                }
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }
}
