package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * Netty's {@link HttpResponseDecoder} behind the same raw-byte gate as {@link StrictRequestDecoder}, for
 * backend connections: a response head that is not valid HTTP/1.1 (garbage status line, obs-fold,
 * whitespace before a colon, both Content-Length and Transfer-Encoding, several Content-Length values, a
 * Transfer-Encoding other than {@code chunked}, a head over the limits) and a chunked body that breaks
 * RFC 9112 7.1 (checked on its bytes by {@link ChunkedFraming}, as in requests but lenient in chunk
 * extensions: invalid chunk size, a control character or bare LF in a size line, missing CRLF, a trailer
 * line without a field name and its colon, more trailer fields than {@code maxHeaderCount}) come out as one message with a failed {@link DecoderResult}
 * whose cause is an {@link HttpRejection} with status 502; the rest of the connection is discarded.
 * The proxy handler treats a failed decoder result as an invalid response: it answers 502 (or closes
 * the client connection when part of the response was already relayed) and closes that server
 * connection, so it is never reused.
 *
 * <p>After a {@code 101} it passes bytes through. Subclasses may override
 * {@link #bodyless} to tell which final responses have no body (the answer to HEAD).
 */
public class StrictResponseDecoder extends HttpResponseDecoder {

    private final HeadScanner scanner;
    private final int maxChunkSize;
    /** Bytes still to come of a Content-Length body this decoder streams itself; 0 when none. */
    private long bodyRemaining;
    /** The framing of the chunked body Netty's decoder reads, checked on the bytes before Netty reads them. */
    private final ChunkedFraming chunks;
    /** How many of the readable bytes, from the first, {@link #chunks} has read already. */
    private int chunkBytesScanned;
    private boolean atHead = true;
    private boolean discarding;
    private boolean switched;
    /** Whether the response Netty's decoder is parsing is a final one (not 1xx). */
    private boolean finalResponse;
    /** Whether bytes followed a final response in the read that ended it; see {@link #overran()}. */
    private boolean overran;
    /**
     * With {@link #oneRequestAtATime()}: whether the server owes no response, from its connection's
     * start or the end of a final response until {@link #awaitResponse()}.
     */
    private boolean idle = true;
    /** Whether a byte has come since {@link #awaitResponse()}; see {@link #responseBegun()}. */
    private boolean begun;

    /**
     * Creates a decoder for one backend connection. The status line and header section limits are
     * {@code config}'s; Netty's own checks are forced on (see {@link HttpDecoders#strict}).
     *
     * @throws IllegalArgumentException when {@code maxHeaderCount} is not positive
     */
    public StrictResponseDecoder(HttpDecoderConfig config, int maxHeaderCount) {
        super(HttpDecoders.strict(config));
        HttpDecoders.checkPositive("maxHeaderCount", maxHeaderCount);
        this.chunks = new ChunkedFraming(true, maxHeaderCount);
        this.maxChunkSize = config.getMaxChunkSize();
        this.scanner = new HeadScanner(false, config.getMaxInitialLineLength(), config.getMaxHeaderSize(), maxHeaderCount, Long.MAX_VALUE);
    }

    @Override
    protected final void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (discarding) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (idle && oneRequestAtATime()) {
            // a server that speaks unasked is out of step with its requests: nothing it sends can be
            // taken for an answer any more, and no exchange holds the connection
            overran = true;
            discard(in);
            ctx.close();
            return;
        }
        begun = true;
        if (bodyRemaining > 0) {
            bodyRemaining = HttpDecoders.readBody(in, out, bodyRemaining, maxChunkSize);
            atHead = bodyRemaining == 0;
            if (atHead) {
                responseEnded(in);
            }
            return;
        }
        if (atHead && !switched) {
            try {
                if (!scanner.scan(in)) {
                    return;
                }
            } catch (HttpRejection rejection) {
                rejectHead(in, out, rejection);
                return;
            }
            if (scanner.statusCode < 200 && (scanner.contentLength >= 0 || scanner.chunked)) {
                // a 1xx has no content (RFC 9110, 15.2): what follows it would be taken for another response
                rejectHead(in, out, new HttpRejection(HttpResponseStatus.BAD_GATEWAY,
                        "invalid response: " + scanner.statusCode + " with a body"));
                return;
            }
            if (emitFromScan(in, out)) {
                return;
            }
            atHead = false;
            if (scanner.chunked && scanner.statusCode >= 200 && !bodyless(scanner.statusCode)) {
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

    /** Looks at what Netty's decoder emitted from {@code from} on: a failure ends the connection. */
    private void inspect(ByteBuf in, List<Object> out, int from) {
        for (int i = from; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpObject h && h.decoderResult().isFailure()) {
                Throwable cause = h.decoderResult().cause();
                h.setDecoderResult(DecoderResult.failure(cause instanceof HttpRejection
                        ? cause : new HttpRejection(HttpResponseStatus.BAD_GATEWAY, "invalid response: " + cause)));
                for (int j = out.size() - 1; j > i; j--) {
                    ReferenceCountUtil.release(out.remove(j));
                }
                discard(in);
                return;
            }
            if (o instanceof HttpResponse response) {
                int code = response.status().code();
                switched |= code == 101;
                finalResponse = code >= 200;
            }
            if (o instanceof LastHttpContent) {
                atHead = true;
                if (finalResponse) {
                    responseEnded(in);
                }
            }
        }
    }

    /**
     * Refuses a chunked body at byte {@code bad} of {@code in}, which {@link ChunkedFraming} found to
     * break the framing, as {@link StrictRequestDecoder} does: the bytes before it go through Netty's
     * decoder (the head, when it came with them, and earlier chunks), then comes the failure (502), and
     * the rest is discarded.
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
            out.add(ChunkedFraming.refused(HttpResponseStatus.BAD_GATEWAY));
        }
        discard(in);
    }

    /**
     * A final response ended. When the server has one request at a time ({@link #oneRequestAtATime}),
     * it owes nothing more until the next is sent, so bytes after the response (a body on an answer
     * to HEAD, a second response nobody asked for) would be taken for the answer to that request:
     * they are discarded with everything the connection sends after them, and {@link #overran()}
     * says so.
     */
    private void responseEnded(ByteBuf in) {
        if (oneRequestAtATime()) {
            idle = true;
            if (in.isReadable()) {
                overran = true;
                discard(in);
            }
        }
    }

    /**
     * With {@link #oneRequestAtATime()}: a request is being sent, so the server owes a response. Until
     * then, and again from the end of each final response, any byte from the server closes the
     * connection.
     */
    protected final void awaitResponse() {
        idle = false;
        begun = false;
    }

    /**
     * Whether the server has sent a byte since the request in flight was sent ({@link #awaitResponse()}),
     * a response or part of one: it has begun to answer, even when no whole head came before its
     * connection failed, and the request must not be sent again as if the server had never seen it.
     */
    public boolean responseBegun() {
        return begun;
    }

    /**
     * Whether the server sent bytes it did not owe, while it had one request at a time: after a final
     * response in the read that ended it (the connection is out of step with its requests and must be
     * closed, not reused), or while it owed nothing (the decoder closed the connection itself).
     */
    public boolean overran() {
        return overran;
    }

    /**
     * Whether the server is sent its next request only after the response to the last one ended,
     * so that bytes after a final response are never the start of the next; false here (a stream of
     * responses decodes as Netty's decoder decodes it), true for the proxy's server connections.
     */
    protected boolean oneRequestAtATime() {
        return false;
    }

    /**
     * As in {@link StrictRequestDecoder}: a final response with no body or a Content-Length body is
     * built from the head scanner's result: one {@link io.netty.handler.codec.http.FullHttpResponse}
     * when it has no body or its whole body arrived with the head (where Netty's decoder emits the
     * response and then its last content), else the response and then its body as
     * {@link HttpDecoders#readBody} cuts it, as Netty's decoder would. Interim and 101 responses,
     * chunked bodies and bodies delimited by the connection's end go through Netty.
     */
    private boolean emitFromScan(ByteBuf in, List<Object> out) {
        int code = scanner.statusCode;
        long length = scanner.contentLength;
        if (code < 200 || scanner.chunked) {
            return false;
        }
        boolean empty = bodyless(code) || length == 0;
        if (!empty && length < 0) {
            return false;
        }
        int head = scanner.headLength;
        if (empty) {
            out.add(scanner.response(headersFactory, Unpooled.EMPTY_BUFFER));
            in.skipBytes(head);
            responseEnded(in);
        } else if (length <= Math.min(in.readableBytes() - head, maxChunkSize)) {
            // the whole body has arrived with the head, in one piece Netty's decoder would not cut
            in.skipBytes(head);
            out.add(scanner.response(headersFactory, in.readRetainedSlice((int) length)));
            responseEnded(in);
        } else {
            out.add(scanner.response(headersFactory));
            in.skipBytes(head);
            bodyRemaining = HttpDecoders.readBody(in, out, length, maxChunkSize);
            atHead = bodyRemaining == 0;
            if (atHead) {
                responseEnded(in);
            }
        }
        return true;
    }

    /**
     * Whether a final response with this status has no body whatever its headers say: 204 and 304 here;
     * a subclass that knows the request was HEAD says so too. Both the scanner path and Netty's parse
     * (through {@link #isContentAlwaysEmpty}) ask this.
     */
    protected boolean bodyless(int code) {
        return code == 204 || code == 304;
    }

    @Override
    protected final boolean isContentAlwaysEmpty(HttpMessage msg) {
        int code = ((HttpResponse) msg).status().code();
        // every 1xx, 101 too: Netty's decoder would read a 101 without Sec-WebSocket-Accept as the old
        // draft-76 handshake, with a body of 16 bytes, and never switch
        return code < 200 || bodyless(code);
    }

    @Override
    protected final void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        super.decodeLast(ctx, in, out);
        if (atHead && !switched && !discarding && in.isReadable()) {
            rejectHead(in, out, new HttpRejection(HttpResponseStatus.BAD_GATEWAY, "connection closed inside a response head"));
        }
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
}
