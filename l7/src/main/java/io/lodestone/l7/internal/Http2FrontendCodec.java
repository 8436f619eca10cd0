package io.lodestone.l7.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;

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
 * 6.9). A stream refused for being over {@code SETTINGS_MAX_CONCURRENT_STREAMS} cannot be opened,
 * and stays as Netty leaves it.
 */
final class Http2FrontendCodec extends Http2FrameCodec {

    private Http2FrontendCodec(Http2ConnectionEncoder encoder, Http2ConnectionDecoder decoder, Http2Settings initialSettings,
            boolean decoupleCloseAndGoAway, boolean flushPreface) {
        super(encoder, decoder, initialSettings, decoupleCloseAndGoAway, flushPreface);
    }

    /** A builder of server-side codecs: {@link Http2FrameCodecBuilder#forServer()}'s settings, this class's codec. */
    static Builder forServer() {
        return new Builder();
    }

    @Override
    public void onError(ChannelHandlerContext ctx, boolean outbound, Throwable cause) {
        if (!outbound) {
            Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
            // a header list too large is Netty's to answer (431, on a stream it opens itself)
            if (e instanceof Http2Exception.StreamException s && !(e instanceof Http2Exception.HeaderListSizeException)) {
                openRefusedStream(s.streamId());
            }
        }
        super.onError(ctx, outbound, cause);
    }

    /**
     * Opens the stream of HEADERS that failed before Netty opened it: a new stream of the client's,
     * which it may open (under the concurrent-stream limit, no GOAWAY sent).
     */
    private void openRefusedStream(int id) {
        Http2Connection connection = connection();
        Http2Connection.Endpoint<?> remote = connection.remote();
        if (connection.stream(id) != null || !remote.isValidStreamId(id) || remote.mayHaveCreatedStream(id)
                || !remote.canOpenStream() || connection.goAwaySent() || connection.goAwayReceived()) {
            return;
        }
        try {
            remote.createStream(id, false);
        } catch (Http2Exception refused) {
            // not opened: the error goes on as Netty handles it, a reset of an unknown stream
        }
    }

    /** {@link Http2FrameCodecBuilder} for the server side, building a {@link Http2FrontendCodec}. */
    static final class Builder extends Http2FrameCodecBuilder {

        private Builder() {
            server(true);
            gracefulShutdownTimeoutMillis(0);
        }

        @Override
        protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
            Http2FrontendCodec codec = new Http2FrontendCodec(encoder, decoder, initialSettings, decoupleCloseAndGoAway(), flushPreface());
            codec.gracefulShutdownTimeoutMillis(gracefulShutdownTimeoutMillis());
            return codec;
        }
    }
}
