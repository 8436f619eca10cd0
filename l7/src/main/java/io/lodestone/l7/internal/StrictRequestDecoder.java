package io.lodestone.l7.internal;

import io.lodestone.l7.HttpFrontend;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * Netty's {@link HttpRequestDecoder} behind a strict gate: every request head is checked on its raw
 * bytes by {@link HeadScanner} before the decoder parses it, and the body is counted against the size
 * limit. A request that breaks a rule is never emitted: in its place comes one invalid
 * {@link io.netty.handler.codec.http.FullHttpRequest} whose failed {@link DecoderResult} carries an
 * {@link HttpRejection} (with the status to answer), and everything after it on the connection is
 * discarded. A failure inside a body that was already emitted in part (an invalid chunk, a body over the
 * limit) arrives as a failed {@link LastHttpContent}, again with an {@link HttpRejection} as cause.
 * The proxy handler answers those with the rejection's status and closes the connection. A chunked
 * body's framing is checked on its raw bytes by {@link ChunkedFraming} before Netty's decoder reads
 * them, because the decoder lets a chunk extension without a name ({@code 5;}) through.
 *
 * <p>Limits: request line {@code maxInitialLineLength} bytes (414), header section
 * {@code maxHeaderSize} bytes counting the CRLF of each field line (431), {@code maxHeaderCount} fields
 * (431), body {@code maxBodySize} bytes, by Content-Length at once or as the chunked body streams (413);
 * a chunked body's trailer section {@code maxHeaderCount} fields (400, its head having been taken).
 */
public final class StrictRequestDecoder extends HttpRequestDecoder {

    private final HeadScanner scanner;
    private final long maxBodySize;
    private final int maxChunkSize;
    /** Whether the fields whose names have an underscore are removed from the requests emitted. */
    private final boolean dropUnderscores;
    private boolean atHead = true;
    private boolean discarding;
    /**
     * The most a held decoder gathers before the client is no longer read: what a client sends behind
     * a WebSocket upgrade before its answer ({@link #hold()}), which no request queue bounds.
     */
    private static final int HELD_LIMIT = 64 * 1024;

    /** Whether the next request head stays undecoded in the cumulation ({@link #hold()}). */
    private boolean held;
    private ChannelHandlerContext ctx;
    private long bodyBytes;
    /** Bytes still to come of a Content-Length body this decoder streams itself; 0 when none. */
    private long bodyRemaining;
    /** The framing of the chunked body Netty's decoder reads, checked on the bytes before Netty reads them. */
    private final ChunkedFraming chunks;
    /** How many of the readable bytes, from the first, {@link #chunks} has read already. */
    private int chunkBytesScanned;

    /**
     * Creates a decoder for one client connection. The request line and header section limits are
     * {@code config}'s; Netty's own checks are forced on (see {@link HttpDecoders#strict}).
     *
     * @throws IllegalArgumentException when {@code maxHeaderCount} is not positive or {@code maxBodySize} is negative
     */
    public StrictRequestDecoder(HttpDecoderConfig config, int maxHeaderCount, long maxBodySize) {
        this(config, maxHeaderCount, maxBodySize, HttpFrontend.HeadersWithUnderscores.ALLOW);
    }

    /**
     * Creates a decoder for one client connection that also applies the frontend's rule for header
     * names with an underscore: {@code DROP_HEADER} removes those fields from the request it emits,
     * {@code REJECT_REQUEST} refuses the request with 400.
     */
    public StrictRequestDecoder(HttpDecoderConfig config, int maxHeaderCount, long maxBodySize,
            HttpFrontend.HeadersWithUnderscores underscores) {
        super(HttpDecoders.strict(config));
        HttpDecoders.checkPositive("maxHeaderCount", maxHeaderCount);
        this.chunks = new ChunkedFraming(maxHeaderCount);
        if (maxBodySize < 0) {
            throw new IllegalArgumentException("maxBodySize: " + maxBodySize + " (expected: >= 0)");
        }
        this.maxBodySize = maxBodySize;
        this.maxChunkSize = config.getMaxChunkSize();
        this.scanner = new HeadScanner(true, config.getMaxInitialLineLength(), config.getMaxHeaderSize(), maxHeaderCount, maxBodySize,
                underscores == HttpFrontend.HeadersWithUnderscores.REJECT_REQUEST);
        this.dropUnderscores = underscores == HttpFrontend.HeadersWithUnderscores.DROP_HEADER;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
    }

    /**
     * Stops decoding at the next request head: what follows stays as bytes in the cumulation, which
     * one read of the connection may fill with some thousands of small pipelined requests, instead
     * of becoming as many request objects, some 400 bytes of heap each, for a queue that is full. The
     * proxy handler holds while its queue of pipelined requests is full and {@link #resume resumes}
     * when it has room. It holds too while a WebSocket upgrade waits for its answer: what the client
     * sent behind the request is then the tunnel's, raw, after a 101 (the decoder, removed, passes on
     * what it holds), and requests after any other answer. The client's FIN resumes too (every request
     * sent before it is answered); a closed connection drops what is held, undecoded.
     */
    void hold() {
        held = true;
    }

    /**
     * Whether part of a request head has come and waits for the rest: bytes the decoder holds, or a
     * head it is scanning. The proxy's drain lets such a request come whole and answers it (with
     * {@code Connection: close}) rather than closing the connection under it.
     */
    boolean headUnderWay() {
        return ctx != null && atHead && !discarding && (scanner.inProgress() || internalBuffer().isReadable());
    }

    /** Decodes again, on a later turn of the loop, what {@link #hold()} kept undecoded. */
    void resume() {
        if (!held) {
            return;
        }
        held = false;
        if (ctx != null && internalBuffer().isReadable()) {
            ctx.executor().execute(this::decodeHeld);
        }
    }

    private void decodeHeld() {
        if (held || ctx.isRemoved() || !internalBuffer().isReadable()) {
            return;
        }
        try {
            // an empty read makes the decoder go through what it holds, then a read's end, on which the
            // proxy handler flushes what it wrote meanwhile
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
            channelReadComplete(ctx);
        } catch (Exception e) {
            ctx.fireExceptionCaught(e);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent) {
            // the client sent all it will: every request it pipelined before its FIN is read and answered
            held = false;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (discarding) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (bodyRemaining > 0) {
            int from = out.size();
            bodyRemaining = HttpDecoders.readBody(in, out, bodyRemaining, maxChunkSize);
            inspect(in, out, from);
            return;
        }
        if (atHead && held) {
            if (in.readableBytes() > HELD_LIMIT) {
                // nothing is decoded while held: the client is read again when the proxy resumes the
                // decoder (updateClientRead) or the connection becomes a tunnel (the relay reads it)
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        if (atHead) {
            try {
                if (!scanner.scan(in)) {
                    return;
                }
            } catch (HttpRejection rejection) {
                rejectHead(in, out, rejection);
                return;
            }
            bodyBytes = 0;
            if (emitFromScan(in, out)) {
                return;
            }
            atHead = false;
            if (scanner.chunked) {
                chunks.start();
                chunkBytesScanned = scanner.headLength;
            }
        }
        int from = out.size();
        if (!chunks.done()) {
            int bad = chunks.scan(in, in.readerIndex() + chunkBytesScanned, in.writerIndex());
            if (bad >= 0) {
                rejectChunk(ctx, in, out, bad);
                return;
            }
            super.decode(ctx, in, out);
            chunkBytesScanned = in.readableBytes();
        } else {
            super.decode(ctx, in, out);
        }
        inspect(in, out, from);
    }

    /**
     * Every request without a chunked body is built from the head scanner's result instead of being
     * parsed a second time by Netty's decoder: the request, then its body as {@link HttpDecoders#readBody}
     * cuts it (what has arrived now, the rest as it comes), as Netty's decoder would emit them; a request
     * without a body is one {@link io.netty.handler.codec.http.FullHttpRequest} with an empty body, where
     * Netty's decoder emits the request and then the empty last content, so that the proxy handles and
     * writes one message instead of two. Chunked bodies and a WebSocket draft-76 handshake
     * (eight body bytes without a Content-Length) go through Netty.
     */
    private boolean emitFromScan(ByteBuf in, List<Object> out) {
        long length = scanner.contentLength;
        if (scanner.chunked) {
            return false;
        }
        HttpRequest request = scanner.request(headersFactory, length <= 0);
        if (length < 0 && request.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_KEY1)) {
            return false;
        }
        in.skipBytes(scanner.headLength);
        int from = out.size();
        out.add(request);
        if (length > 0) {
            atHead = false;
            bodyRemaining = HttpDecoders.readBody(in, out, length, maxChunkSize);
        }
        inspect(in, out, from);
        return true;
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (held && atHead) {
            // the connection closed while requests were held: they were never read, as those still in the kernel
            in.skipBytes(in.readableBytes());
            return;
        }
        super.decodeLast(ctx, in, out);
        if (atHead && !discarding && (in.isReadable() || scanner.inProgress())) {
            rejectHead(in, out, HttpRejection.cutByClose());
        }
    }

    /**
     * The client timeout ran out before the head of its request was whole: the rejection to answer
     * (408) and log, which carries the request line when that has arrived whole and valid, as for a
     * head refused for a later part. The rest of the connection's bytes are discarded. The error path
     * only.
     */
    HttpRejection headTimedOut() {
        HttpRejection rejection = atHead && !discarding ? scanner.timedOut(internalBuffer())
                : new HttpRejection(HttpResponseStatus.REQUEST_TIMEOUT, "client timeout inside a request head");
        // the 408 closes the connection: the unfinished head is answered, and the close must not
        // decode it a second time as a head cut short (a second request, logged PQ)
        discard(internalBuffer());
        return rejection;
    }

    private void inspect(ByteBuf in, List<Object> out, int from) {
        for (int i = from; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpObject h && h.decoderResult().isFailure()) {
                Throwable cause = h.decoderResult().cause();
                HttpRejection rejection = o instanceof HttpMessage
                        ? HttpRejection.of(cause)
                        : new HttpRejection(HttpResponseStatus.BAD_REQUEST, "invalid chunked body: " + cause.getMessage());
                h.setDecoderResult(DecoderResult.failure(rejection));
                dropAfter(out, i);
                discard(in);
                return;
            }
            if (dropUnderscores && o instanceof HttpRequest request && scanner.underscoreNames) {
                Headers.removeUnderscoreNames(request.headers());
            }
            if (o instanceof HttpContent content) {
                bodyBytes += content.content().readableBytes();
                if (bodyBytes > maxBodySize) {
                    ReferenceCountUtil.release(o);
                    LastHttpContent failed = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
                    failed.setDecoderResult(DecoderResult.failure(
                            new HttpRejection(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body larger than " + maxBodySize)));
                    out.set(i, failed);
                    dropAfter(out, i);
                    discard(in);
                    return;
                }
                if (o instanceof LastHttpContent) {
                    atHead = true;
                }
            }
        }
    }

    /**
     * Refuses a chunked body at byte {@code bad} of {@code in}, which {@link ChunkedFraming} found to
     * break the framing: the bytes before it go through Netty's decoder as usual (the head, when it
     * came with them, and earlier chunks), then comes the failure, and the rest is discarded.
     */
    private void rejectChunk(ChannelHandlerContext ctx, ByteBuf in, List<Object> out, int bad) throws Exception {
        ByteBuf before = in.slice(in.readerIndex(), bad - in.readerIndex());
        while (before.isReadable() && !discarding) {
            int readable = before.readableBytes();
            int produced = out.size();
            super.decode(ctx, before, out);
            inspect(before, out, produced);
            if (before.readableBytes() == readable && out.size() == produced) {
                break;
            }
        }
        if (!discarding) {
            out.add(ChunkedFraming.refused(HttpResponseStatus.BAD_REQUEST));
        }
        discard(in);
    }

    private void rejectHead(ByteBuf in, List<Object> out, HttpRejection rejection) {
        HttpMessage invalid = createInvalidMessage();
        invalid.setDecoderResult(DecoderResult.failure(rejection));
        out.add(invalid);
        discard(in);
    }

    private void discard(ByteBuf in) {
        discarding = true;
        in.skipBytes(in.readableBytes());
    }

    private static void dropAfter(List<Object> out, int index) {
        for (int j = out.size() - 1; j > index; j--) {
            ReferenceCountUtil.release(out.remove(j));
        }
    }
}
