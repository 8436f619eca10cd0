package io.lodestone.l7.internal;

import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.metrics.ErrorKind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import java.util.concurrent.TimeUnit;

/**
 * The frame codec of an HTTP/2 client connection: Netty's {@link Http2FrameCodec}, except that a
 * stream whose HEADERS are refused while they are decoded (a connection-specific field such as
 * {@code transfer-encoding}, an uppercase name, a bad pseudo-header, CR, LF or NUL in a value) is
 * opened before it is reset.
 *
 * <p>Netty resets such a stream without ever creating it, so the connection does not know that the
 * stream id was used. The DATA the client sent behind those HEADERS, before it could see the reset,
 * then looked like DATA on a stream that never existed: a connection error (GOAWAY
 * {@code PROTOCOL_ERROR}) that ended every other stream of the connection. Opened here, the stream
 * gets its error like any other stream error: its own handler resets it with the error's code, and
 * what still arrives for it is a frame on a closed stream, which does not touch the other streams
 * (Netty answers it with RST_STREAM {@code STREAM_CLOSED}, as after any reset) and whose DATA is
 * counted against the connection's flow-control window and given back at once (RFC 9113, 5.1 and
 * 6.9).
 *
 * <p>A stream that cannot be opened (refused with {@code REFUSED_STREAM} for being over
 * {@code SETTINGS_MAX_CONCURRENT_STREAMS}, or malformed while the limit is reached) is reset unopened,
 * and Netty's connection only counts the ids of the streams it opened as used: the DATA the client had
 * in flight for it, a WINDOW_UPDATE or the client's own RST_STREAM on it ended the connection the same
 * way. The connection of this codec ({@link FrontendConnection}) therefore also remembers the highest
 * id of such a stream, and takes it and every lower id of the client's for one that may have existed,
 * as RFC 9113 (5.1.1) has it: the first use of an id closes every idle stream below it. Their frames
 * are then those of a closed stream, as above. Such a stream is logged and counted here as a refused
 * request ({@link HttpProxyHandler#refusedUnopened}), since no stream channel ever sees it; one the
 * client opened after the proxy's GOAWAY, which Netty refuses the same way, is not, as the client may
 * retry it elsewhere.
 *
 * <p>A connection error that the client's frames cause (a frame the protocol forbids on the
 * connection, a header block over the limit or a flood of CONTINUATION, PING, SETTINGS or empty DATA
 * frames) on a connection without an open stream counts one {@code invalid} error on the frontend, as
 * a request the proxy cannot read does: the streams it ends record one otherwise ({@code PR}), and
 * with none nothing did.
 *
 * <p>A connection whose client has taken nothing of the bytes waiting for it (the connection unwritable,
 * or a GOAWAY or a RST_STREAM waiting to leave) for a client timeout is closed at its socket ({@link StalledWrites}):
 * Netty's codec waits for the GOAWAY, and for the RST_STREAM of a stream the proxy resets, to be
 * written before it ends the connection or the stream, and a client that reads nothing held both
 * for good.
 */
final class Http2FrontendCodec extends Http2FrameCodec {

    /** The listener whose access log and counts take a stream refused unopened. */
    private HttpListener listener;
    /** Whether a connection error of the client's was counted (one that ended no stream): once per connection. */
    private boolean connectionErrorCounted;
    /** Looks for a client that takes nothing of what waits for it; made when first needed. */
    private StalledWrites stalledWrites;

    private Http2FrontendCodec(Http2ConnectionEncoder encoder, Http2ConnectionDecoder decoder, Http2Settings initialSettings,
            boolean decoupleCloseAndGoAway, boolean flushPreface) {
        super(encoder, decoder, initialSettings, decoupleCloseAndGoAway, flushPreface);
    }

    /**
     * A builder of server-side codecs: {@link Http2FrameCodecBuilder#forServer()}'s settings, this class's
     * codec, which logs and counts the streams it refuses unopened on {@code listener}.
     */
    static Builder forServer(HttpListener listener) {
        return new Builder(listener);
    }

    /** A GOAWAY waits to leave: looked at until it has, as a client that reads nothing would hold the close. */
    @Override
    public ChannelFuture goAway(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData, ChannelPromise promise) {
        ChannelFuture sent = super.goAway(ctx, lastStreamId, errorCode, debugData, promise);
        stalledWrites(ctx).arm();
        return sent;
    }

    /**
     * A stream the proxy resets (its response cut at the client timeout, a malformed request) ends only
     * once the RST_STREAM is written: looked at until it has left.
     */
    @Override
    public ChannelFuture resetStream(ChannelHandlerContext ctx, int streamId, long errorCode, ChannelPromise promise) {
        ChannelFuture sent = super.resetStream(ctx, streamId, errorCode, promise);
        stalledWrites(ctx).arm();
        return sent;
    }

    /** Bytes wait for a client that does not read them fast enough: looked at until they have left. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (!ctx.channel().isWritable()) {
            stalledWrites(ctx).arm();
        }
        super.channelWritabilityChanged(ctx);
    }

    /**
     * Looks for a client that takes nothing of what waits for it, from {@code ctx} (any handler's of
     * this connection): the keep-alive timer's check of a connection with streams open, the backstop
     * for a stream whose last frame waits in the channel without making it unwritable.
     */
    void lookForStalledWrites(ChannelHandlerContext ctx) {
        stalledWrites(ctx).arm();
    }

    private StalledWrites stalledWrites(ChannelHandlerContext ctx) {
        if (stalledWrites == null) {
            stalledWrites = new StalledWrites(ctx, listener.frontend().clientTimeout().toNanos());
        }
        return stalledWrites;
    }

    @Override
    public void onError(ChannelHandlerContext ctx, boolean outbound, Throwable cause) {
        if (!connectionErrorCounted) {
            Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
            // a connection error the client's frames caused (read, or a flood of frames whose answers
            // it does not read: ENHANCE_YOUR_CALM from the encoder's limits) that ends no stream, which
            // would record it (PR): counted once
            if (e != null && !(e instanceof Http2Exception.StreamException)
                    && (!outbound || e.error() == Http2Error.ENHANCE_YOUR_CALM) && connection().numActiveStreams() == 0) {
                connectionErrorCounted = true;
                listener.metrics().error(ErrorKind.INVALID);
            }
        }
        if (!outbound) {
            Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
            // a header list too large is Netty's to answer (431, on a stream it opens itself)
            if (e instanceof Http2Exception.StreamException s) {
                int id = s.streamId();
                boolean sizeError = e instanceof Http2Exception.HeaderListSizeException;
                if (!sizeError) {
                    openRefusedStream(id);
                }
                if (connection().stream(id) == null && connection() instanceof FrontendConnection c) {
                    if (!c.streamMayHaveExisted(id) && !afterGoAway(id)) {
                        // a new stream refused unopened (over the concurrent-stream limit, or its header
                        // list over the limit, which Netty answers 431 on a stream of its own when it
                        // may open one): no stream channel sees it, so it is logged and counted here; a
                        // frame on a stream that may have existed (closed, reset) is no refusal of a
                        // request, nor is a stream the client opened after the proxy's GOAWAY, which it
                        // may retry elsewhere
                        boolean answered = sizeError && ((Http2Exception.HeaderListSizeException) e).duringDecode()
                                && connection().remote().canOpenStream();
                        HttpProxyHandler.refusedUnopened(listener, ctx.channel(), answered ? 431 : 0);
                    }
                    // not opened: the id is used all the same
                    c.used(id);
                }
            }
        }
        super.onError(ctx, outbound, cause);
    }

    /**
     * Whether {@code id} is above the last stream id of a GOAWAY the proxy sent (when it drains): the
     * client opened it before it read the GOAWAY, and RFC 9113 (6.8) lets it retry the request, which
     * was never taken. Error path only.
     */
    private boolean afterGoAway(int id) {
        Http2Connection connection = connection();
        return connection.goAwaySent() && id > connection.remote().lastStreamKnownByPeer();
    }

    /**
     * Opens the stream of HEADERS that failed before Netty opened it: a new stream of the client's,
     * which it may open (under the concurrent-stream limit, no GOAWAY sent).
     */
    private void openRefusedStream(int id) {
        Http2Connection connection = connection();
        Http2Connection.Endpoint<?> remote = connection.remote();
        // an id that may have existed is used already (and one this connection took as used after an
        // earlier refusal is closed), not one to open now
        if (connection.stream(id) != null || !remote.isValidStreamId(id) || connection.streamMayHaveExisted(id)
                || !remote.canOpenStream() || connection.goAwaySent() || connection.goAwayReceived()) {
            return;
        }
        try {
            remote.createStream(id, false);
        } catch (Http2Exception refused) {
            // not opened: the error goes on as Netty handles it, a reset of an unknown stream
        }
    }

    /**
     * Closes the connection at its socket when its client has taken nothing of what waits for it for
     * a client timeout: the proxy's bytes wait in the channel (it has not been writable since, or a
     * GOAWAY waits to leave) and the first of them has not moved. Netty's codec ends a connection
     * (after a GOAWAY of the proxy's: a drain, the keep-alive timeout, the client's FIN, a connection
     * error such as {@code ENHANCE_YOUR_CALM}) only once the GOAWAY is written, and ends a stream that
     * the proxy resets (a response cut at the client timeout, {@code cD}) only once its RST_STREAM is:
     * on a socket whose client reads nothing neither ever is, and the proxy sets no bound on the close
     * so that streams in flight may finish. Such a client held its connection, its streams and the
     * bytes queued for them for good. As HAProxy's {@code timeout client} bounds a write to a client.
     * Armed when the channel becomes unwritable, when a GOAWAY or a RST_STREAM is sent, and by the
     * keep-alive timer's look at a connection with streams open (a stream whose last frame waits to
     * leave stays open in the codec); looked at every client timeout while bytes wait: no task while
     * the client reads along.
     */
    private static final class StalledWrites implements Runnable {
        private final ChannelHandlerContext ctx;
        private final long timeoutNanos;
        private boolean armed;
        /** The identity of the first message waiting at the last look, and how much of it had been written. */
        private int message;
        private long progress;

        StalledWrites(ChannelHandlerContext ctx, long timeoutNanos) {
            this.ctx = ctx;
            this.timeoutNanos = timeoutNanos;
        }

        /** Starts looking unless it looks already; on the event loop. */
        void arm() {
            if (armed) {
                return;
            }
            ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
            if (out == null || out.current() == null) {
                // nothing waits
                return;
            }
            armed = true;
            message = System.identityHashCode(out.current());
            progress = out.currentProgress();
            ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public void run() {
            armed = false;
            Channel ch = ctx.channel();
            ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
            if (!ch.isActive() || out == null || out.current() == null) {
                // closed, or nothing waits any more
                return;
            }
            int first = System.identityHashCode(out.current());
            long written = out.currentProgress();
            if (first == message && written == progress) {
                // the client has taken nothing for a whole client timeout
                SocketClose.closeNow(ch);
                return;
            }
            armed = true;
            message = first;
            progress = written;
            ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** {@link Http2FrameCodecBuilder} for the server side, building a {@link Http2FrontendCodec}. */
    static final class Builder extends Http2FrameCodecBuilder {

        private final HttpListener listener;

        private Builder(HttpListener listener) {
            this.listener = listener;
            // a server, as the connection each build() sets up is
            gracefulShutdownTimeoutMillis(0);
        }

        /** Builds a codec on a new {@link FrontendConnection}. */
        @Override
        public Http2FrameCodec build() {
            connection(new FrontendConnection());
            return super.build();
        }

        @Override
        protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
            Http2FrontendCodec codec = new Http2FrontendCodec(encoder, decoder, initialSettings, decoupleCloseAndGoAway(), flushPreface());
            codec.gracefulShutdownTimeoutMillis(gracefulShutdownTimeoutMillis());
            codec.listener = listener;
            return codec;
        }
    }

    /**
     * The server side of an HTTP/2 connection: Netty's, except that the ids of the client's streams
     * reset without being opened count as used, through the highest of them: a frame on such an id
     * or a lower one of the client's, which Netty's own count has not reached, is a frame on a closed
     * stream, not one on a stream that never existed (a connection error). Event-loop confined, as
     * the connection is.
     */
    private static final class FrontendConnection extends DefaultHttp2Connection {
        /** The highest id of a client stream reset without being opened, 0 before any. */
        private int lastUnopened;

        FrontendConnection() {
            super(true);
        }

        /** Marks a client stream id as used although no stream was opened for it. */
        void used(int id) {
            if (id > lastUnopened && remote().isValidStreamId(id)) {
                lastUnopened = id;
            }
        }

        @Override
        public boolean streamMayHaveExisted(int id) {
            return super.streamMayHaveExisted(id) || id <= lastUnopened && remote().isValidStreamId(id);
        }
    }
}
