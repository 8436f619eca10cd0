package io.lodestone.l7.internal;

import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.log.TerminationCause;
import io.lodestone.l7.HttpFrontend;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AsciiString;
import io.netty.util.AttributeKey;
import java.util.concurrent.TimeUnit;

/**
 * Assembles the L7 pipelines, in the order documented in {@link PipelineNames}: the one place that
 * adds or removes handlers on an HTTP client or server channel.
 *
 * <p>Requests and responses are validated by the strict decoders themselves ({@link StrictRequestDecoder},
 * {@link StrictResponseDecoder}): every smuggling shape and limit is checked there, before a
 * message reaches any handler behind them, so no separate validation handler sits in the pipelines.
 */
final class HttpPipeline {

    /** Body pieces are passed on as they arrive, up to this size each. */
    private static final int MAX_CHUNK_SIZE = 64 * 1024;
    /** Servers may send larger heads than clients are allowed to. */
    private static final int SERVER_MAX_HEADER_SIZE = 64 * 1024;
    private static final int SERVER_MAX_HEADER_COUNT = 1024;
    /** The response decoders' limits; each decoder copies what it needs, so one serves them all. */
    private static final HttpDecoderConfig SERVER_DECODER = new HttpDecoderConfig()
            .setMaxHeaderSize(SERVER_MAX_HEADER_SIZE)
            .setMaxChunkSize(MAX_CHUNK_SIZE)
            .setAllowDuplicateContentLengths(false)
            .setAllowPartialChunks(true);
    /** An HTTP/2 client connection writes at the latest after this many gathered flushes. */
    private static final int FLUSHES_PER_WRITE = 256;
    /**
     * Set on a client connection that the proxy ends itself, before it ends it: {@code KILLED} when the
     * proxy stops ({@link #kill}), {@code PROXY} when an HTTP/2 connection error (the client broke the
     * protocol on the connection, or reset too many streams) ends it. The requests still under way on
     * it are logged with it, not as client aborts. Read on error paths only.
     */
    static final AttributeKey<TerminationCause> ENDED_BY = AttributeKey.valueOf(HttpPipeline.class, "endedBy");

    private HttpPipeline() {
    }

    /**
     * Sets up an accepted client connection: TLS first on TLS frontends, followed by the
     * {@link ClientHandshake} that waits for the handshake (and accounts one that does not succeed),
     * then, when the frontend speaks HTTP/2 (ALPN h2 offered, or h2c), a handler that chooses between
     * the HTTP/2 and the HTTP/1.1 pipeline once it knows the protocol; else the HTTP/1.1 pipeline,
     * added once the handshake is done on a TLS frontend, at once on a plain one.
     */
    static void initClient(Channel ch, HttpListener listener) {
        HttpFrontend f = listener.frontend();
        ChannelPipeline p = ch.pipeline();
        if (f.tls() != null) {
            p.addLast(PipelineNames.TLS, f.tls().newHandler());
            // accounts a handshake that fails or times out, then leaves; adds the HTTP/1.1 handlers
            // itself on a frontend that offers no h2
            boolean h2 = f.tls().applicationProtocols().contains(ApplicationProtocolNames.HTTP_2);
            p.addLast(PipelineNames.TLS_HANDSHAKE, new ClientHandshake(listener, !h2));
            if (h2) {
                p.addLast(PipelineNames.PROTOCOL, new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
                    @Override
                    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                        if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                            addHttp2(ctx.pipeline(), listener);
                        } else {
                            addHttp1(ctx.pipeline(), listener);
                        }
                    }
                });
            }
            return;
        }
        addHttp1(p, listener);
        if (f.h2c()) {
            // in front of the HTTP/1.1 handlers, whose timers and handling of a FIN apply until the
            // first bytes tell the protocol: a client that sends nothing, or only part of the preface,
            // gets the client timeout's 408 as on any HTTP/1.1 connection
            p.addBefore(PipelineNames.HTTP_TIMEOUT, PipelineNames.PROTOCOL, new PriorKnowledge(listener));
        }
    }

    /** The HTTP/1.1 client pipeline: timers, strict decoder, encoder, HSTS, compression, proxy handler. */
    static void addHttp1(ChannelPipeline p, HttpListener listener) {
        HttpFrontend f = listener.frontend();
        HttpDecoderConfig config = new HttpDecoderConfig()
                .setMaxInitialLineLength(f.maxInitialLineLength())
                .setMaxHeaderSize(f.maxHeaderSize())
                .setMaxChunkSize(MAX_CHUNK_SIZE)
                .setAllowDuplicateContentLengths(false)
                .setAllowPartialChunks(true);
        Codecs.ResponseEncoder encoder = new Codecs.ResponseEncoder();
        HttpProxyHandler proxy = new HttpProxyHandler(listener, encoder);
        ClientTimeouts timeouts = new ClientTimeouts(f.clientTimeout().toNanos(), f.keepAliveTimeout().toNanos(), proxy);
        proxy.timeouts = timeouts;
        p.addLast(PipelineNames.HTTP_TIMEOUT, timeouts);
        p.addLast(PipelineNames.HTTP_DECODER, new StrictRequestDecoder(config, f.maxHeaderCount(),
                f.maxBodySize() == 0 ? Long.MAX_VALUE : f.maxBodySize(), f.headersWithUnderscores()));
        p.addLast(PipelineNames.HTTP_ENCODER, encoder);
        if (f.hsts() != null) {
            p.addLast(PipelineNames.HSTS, new Hsts(f.hsts()));
        }
        if (f.compression() != null) {
            Compressor compressor = new Compressor(f.compression());
            proxy.compressor = compressor;
            p.addLast(PipelineNames.COMPRESSION, compressor);
        }
        p.addLast(PipelineNames.HTTP_PROXY, proxy);
    }

    /**
     * The HTTP/2 connection pipeline: a flush consolidator (the streams' flushes of one event-loop
     * turn become one), the frame codec ({@link Http2FrontendCodec}, with the frontend's limits and the
     * stream-reset bound; the request id header is never added to HPACK's dynamic table) and the multiplexer, which gives each stream a child channel set up by
     * {@link #addHttp2Stream}.
     */
    static void addHttp2(ChannelPipeline p, HttpListener listener) {
        HttpFrontend f = listener.frontend();
        Http2Settings settings = Http2Settings.defaultSettings()
                .maxConcurrentStreams(f.http2MaxConcurrentStreams())
                .maxHeaderListSize(f.http2MaxHeaderListSize())
                .initialWindowSize(f.http2InitialWindowSize());
        if (f.websocketOverHttp2()) {
            // RFC 8441, 3: the client may then send extended CONNECT (Http2WebSocket)
            settings.connectProtocolEnabled(true);
        }
        AsciiString requestId = AsciiString.of(f.requestIdHeader());
        // each stream's response flushes the connection when its server's read completes; gathered
        // here, the responses of one event-loop turn go out in one TLS wrap and one write
        p.addLast(PipelineNames.HTTP2_FLUSH, new FlushConsolidationHandler(FLUSHES_PER_WRITE, true));
        Http2FrontendCodec codec = (Http2FrontendCodec) Http2FrontendCodec.forServer(listener)
                .initialSettings(settings)
                // a close (the proxy draining, the keep-alive timeout, the client's FIN or close_notify) waits for the
                // streams in flight, as long as they take: the proxy's drain timeout bounds it. Netty's
                // builder default, 0, cut them off at once
                .gracefulShutdownTimeoutMillis(-1)
                .decoderEnforceMaxRstFramesPerWindow(f.http2MaxResets(), f.http2ResetWindowSeconds())
                // a request id is new on every response: indexing it would only churn HPACK's dynamic table
                .headerSensitivityDetector((name, value) -> requestId.contentEqualsIgnoreCase(name))
                .build();
        p.addLast(PipelineNames.HTTP2_CODEC, codec);
        if (!f.keepAliveTimeout().isZero()) {
            p.addLast(PipelineNames.HTTP2_IDLE, new Http2IdleTimeout(f.keepAliveTimeout().toNanos(), codec));
        }
        Http2RequestAdapter requests = new Http2RequestAdapter(f.maxInitialLineLength(), f.maxHeaderCount(), f.headersWithUnderscores());
        p.addLast(PipelineNames.HTTP2_MULTIPLEX, new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            /** The connection's client address, port and affinity, made for its first stream and shared by all. */
            private HttpProxyHandler.Endpoint endpoint;

            /** Sharable, as every initializer: said without Netty's reflective check, which ran per stream. */
            @Override
            public boolean isSharable() {
                return true;
            }

            @Override
            protected void initChannel(Http2StreamChannel stream) {
                if (endpoint == null) {
                    // the connection's addresses: a PROXY header's are on the connection's channel
                    endpoint = new HttpProxyHandler.Endpoint(stream.parent());
                }
                addHttp2Stream(stream.pipeline(), listener, requests, endpoint);
            }
        }));
        p.addLast(PipelineNames.HTTP2_ERRORS, Http2ConnectionErrors.INSTANCE);
    }

    /**
     * Ends an HTTP/2 connection on any other error than an HTTP/2 one, which the codec answers itself
     * (a GOAWAY such as ENHANCE_YOUR_CALM for a reset flood, then the close); either way without a
     * stack trace in the log. When the client closes its side (a FIN, or over TLS a close_notify), or when the
     * proxy drains, closes the connection through the codec, which sends GOAWAY and closes once the
     * streams in flight are done, so idle HTTP/2 connections do not hold the drain to its timeout.
     */
    @ChannelHandler.Sharable
    private static final class Http2ConnectionErrors extends io.netty.channel.ChannelInboundHandlerAdapter {
        static final Http2ConnectionErrors INSTANCE = new Http2ConnectionErrors();

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof Http2Exception) {
                // a connection error the codec reports before it answers it: it sends GOAWAY with the
                // error's code (ENHANCE_YOUR_CALM for a reset flood) and closes by itself; a close from
                // here came first and said NO_ERROR. The streams it ends are ended by the proxy
                ctx.channel().attr(ENDED_BY).setIfAbsent(TerminationCause.PROXY);
                return;
            }
            if (cause instanceof IOException) {
                // the socket failed (a reset): nothing more can be sent or read, so the connection is
                // closed below the codec, whose graceful close would wait for the streams in flight;
                // once the proxy had sent GOAWAY (a drain), no write of its own would fail to end them
                ChannelHandlerContext codec = ctx.pipeline().context(PipelineNames.HTTP2_CODEC);
                if (codec != null) {
                    codec.close();
                    return;
                }
            }
            ctx.close();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == HttpListener.DRAIN || evt instanceof ChannelInputShutdownEvent
                    || evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
                // the client's FIN (accepted connections allow half-closure, for HTTP/1.1's lingering
                // close) or, over TLS, its close_notify, with or without a FIN: it sends nothing more,
                // so the connection ends once its streams are done; left open it stayed in CLOSE_WAIT
                // for good (a close_notify alone left it open, on the JDK provider). The multiplexer has
                // passed either on to the open streams, which end as HTTP/1.1 connections do
                if (evt != HttpListener.DRAIN) {
                    StalledStreams.watch(ctx.pipeline().context(PipelineNames.HTTP2_CODEC));
                }
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }
    }

    /**
     * The streams of an HTTP/2 connection whose client has ended its side (a FIN, a close_notify) that
     * wait for flow-control window: the client can send no WINDOW_UPDATE any more, so a response
     * with data queued beyond its stream's or the connection's window can never be sent whole. Such
     * a stream is reset ({@code CANCEL}) once its window is used up, which ends its exchange as the
     * client's abort ({@code CD}) and closes its server connection; HAProxy frees them at once too.
     * They used to wait for the client timeout, even after the client had closed its socket: that
     * reset is reported by epoll and io_uring, but NIO no longer watches a socket whose input has
     * ended and has nothing to write, so on NIO they waited for the client timeout (an hour in the
     * test) and held their server connections. Streams that can still finish do; a connection
     * whose socket cannot take more is left alone (its client may still read, and a reset shows as
     * a failed write). Looked at when the side ends and every {@link #INTERVAL_MILLIS} ms while
     * streams are open: the window is used up by writes, which pass on no event. Over TLS this
     * takes a half-close (TLS 1.3 on the JDK provider): Netty's OpenSSL engine answers the client's
     * close_notify with its own, after which nothing is sent and the connection ends at once.
     */
    private static final class StalledStreams implements Runnable {
        static final long INTERVAL_MILLIS = 100;

        private final ChannelHandlerContext codec;
        private final Http2Connection connection;

        private StalledStreams(ChannelHandlerContext codec) {
            this.codec = codec;
            this.connection = ((Http2ConnectionHandler) codec.handler()).connection();
        }

        /** Set on a connection whose streams are looked at: a close_notify and a FIN after it start one watch. */
        private static final AttributeKey<Boolean> WATCHED = AttributeKey.valueOf(HttpPipeline.class, "stalledStreamsWatched");

        /**
         * Starts looking at the streams of the connection of {@code codec} (the HTTP/2 codec's context),
         * after this turn's writes, unless they are looked at already.
         */
        static void watch(ChannelHandlerContext codec) {
            if (codec != null && codec.channel().attr(WATCHED).setIfAbsent(Boolean.TRUE) == null) {
                codec.executor().execute(new StalledStreams(codec));
            }
        }

        @Override
        public void run() {
            Channel ch = codec.channel();
            if (!ch.isActive() || connection.numActiveStreams() == 0) {
                return;
            }
            if (ch.isWritable()) {
                resetStalled();
            }
            codec.executor().schedule(this, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
        }

        private void resetStalled() {
            Http2RemoteFlowController flow = connection.remote().flowController();
            boolean connectionWindowUsed = flow.windowSize(connection.connectionStream()) <= 0;
            List<Http2Stream> stalled = new java.util.ArrayList<>(2);
            try {
                connection.forEachActiveStream(stream -> {
                    if (flow.hasFlowControlled(stream) && (connectionWindowUsed || flow.windowSize(stream) <= 0)) {
                        stalled.add(stream);
                    }
                    return true;
                });
            } catch (Http2Exception e) {
                // the visitor throws nothing
                throw new IllegalStateException(e);
            }
            if (stalled.isEmpty()) {
                return;
            }
            Http2ConnectionHandler handler = (Http2ConnectionHandler) codec.handler();
            for (Http2Stream stream : stalled) {
                handler.resetStream(codec, stream.id(), Http2Error.CANCEL.code(), codec.newPromise());
            }
            codec.flush();
        }
    }

    /**
     * Ends a client connection at once, as the proxy does with what is still open when it stops (after
     * its drain timeout), and marks it {@link #ENDED_BY} {@code KILLED}. The connection is closed at its
     * socket ({@link SocketClose}): the HTTP/2 frame codec's own close waits for the streams in flight
     * to end (on io_uring it could wait for ever), the TLS handler's up to 3 s for its
     * {@code close_notify} to leave a socket the client does not read.
     */
    static void kill(Channel ch) {
        ch.attr(ENDED_BY).setIfAbsent(TerminationCause.KILLED);
        SocketClose.close(ch);
    }

    /**
     * One HTTP/2 stream, which carries one request: timers, the frame-to-HTTP/1 object codec
     * ({@link Http2StreamRequestCodec}),
     * the request adapter, HSTS, compression and its own proxy handler. The HTTP/1-only decoder and encoder are not used
     * (nor made: the proxy handler has no encoder on a stream). The handler takes the client's
     * address and port from {@code endpoint}, the connection's, made once for all its streams.
     */
    static void addHttp2Stream(ChannelPipeline p, HttpListener listener, Http2RequestAdapter requests, HttpProxyHandler.Endpoint endpoint) {
        HttpFrontend f = listener.frontend();
        p.channel().config().setWriteBufferWaterMark(HttpListener.STREAM_WATER_MARK);
        HttpProxyHandler proxy = new HttpProxyHandler(listener, null);
        proxy.shareEndpoint(endpoint);
        ClientTimeouts timeouts = ClientTimeouts.forStream(f.clientTimeout().toNanos(), proxy);
        proxy.timeouts = timeouts;
        p.addLast(PipelineNames.HTTP_TIMEOUT, timeouts);
        if (f.websocketOverHttp2()) {
            p.addLast(PipelineNames.HTTP2_WEBSOCKET, Http2WebSocket.GATE);
        }
        p.addLast(PipelineNames.HTTP2_STREAM_CODEC, Http2StreamRequestCodec.INSTANCE);
        p.addLast(PipelineNames.HTTP2_REQUESTS, requests);
        if (f.hsts() != null) {
            p.addLast(PipelineNames.HSTS, new Hsts(f.hsts()));
        }
        if (f.compression() != null) {
            Compressor compressor = new Compressor(f.compression());
            proxy.compressor = compressor;
            p.addLast(PipelineNames.COMPRESSION, compressor);
        }
        p.addLast(PipelineNames.HTTP_PROXY, proxy);
    }

    /**
     * h2c with prior knowledge: first in a pipeline set up for HTTP/1.1, waits for the first bytes;
     * when they are the connection preface, replaces the HTTP/1.1 handlers with HTTP/2's; either way
     * leaves, handing the bytes on. Until then the HTTP/1.1 handlers see the connection's events: the
     * client timeout runs from the connection's start, and a FIN before a whole preface ends it as it
     * ends an HTTP/1.1 connection without a request (it was left open, and held a drain to its timeout).
     */
    private static final class PriorKnowledge extends ByteToMessageDecoder {
        private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        private static final String[] HTTP1_HANDLERS = {PipelineNames.HTTP_TIMEOUT, PipelineNames.HTTP_DECODER,
            PipelineNames.HTTP_ENCODER, PipelineNames.HSTS, PipelineNames.COMPRESSION, PipelineNames.HTTP_PROXY};
        private final HttpListener listener;

        PriorKnowledge(HttpListener listener) {
            this.listener = listener;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            int n = Math.min(in.readableBytes(), PREFACE.length);
            boolean h2 = true;
            for (int i = 0; i < n; i++) {
                if (in.getByte(in.readerIndex() + i) != PREFACE[i]) {
                    h2 = false;
                    break;
                }
            }
            if (h2 && n < PREFACE.length) {
                return;
            }
            if (h2) {
                ChannelPipeline p = ctx.pipeline();
                for (String name : HTTP1_HANDLERS) {
                    if (p.context(name) != null) {
                        p.remove(name);
                    }
                }
                addHttp2(p, listener);
            }
            ctx.pipeline().remove(this);
        }
    }

    /** Sets up a new server connection. */
    static void initServer(Channel ch, ServerRuntime server, BackendPool pool) {
        Codecs.ResponseDecoder decoder = new Codecs.ResponseDecoder(SERVER_DECODER, SERVER_MAX_HEADER_COUNT);
        ChannelPipeline p = ch.pipeline();
        p.addLast(PipelineNames.HTTP_ENCODER, new Codecs.RequestEncoder());
        p.addLast(PipelineNames.HTTP_DECODER, decoder);
        // reads sized to the room of the HTTP/2 stream a response goes to (ServerReads); set before the first read
        ch.config().setRecvByteBufAllocator(new ServerReads(ch.config().getRecvByteBufAllocator()));
        // the server timeout is BackendConnection's own (no per-read/write timer bookkeeping)
        p.addLast(PipelineNames.HTTP_BACKEND, new BackendConnection(ch, server, pool, decoder));
    }

    /**
     * Sets up an HTTP/2 server connection once it is up (and its TLS handshake chose h2): the
     * client frame codec (no server push; new streams beyond the server's concurrent-stream limit
     * wait in the codec until one ends), the multiplexer and the connection's pool state.
     */
    static void initServerHttp2(Channel ch, Http2ServerConnection connection) {
        ChannelPipeline p = ch.pipeline();
        p.addLast(PipelineNames.HTTP2_CODEC, Http2FrameCodecBuilder.forClient()
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false).maxHeaderListSize(SERVER_MAX_HEADER_SIZE))
                .encoderEnforceMaxConcurrentStreams(true)
                .build());
        p.addLast(PipelineNames.HTTP2_MULTIPLEX, new Http2MultiplexHandler(RefusePush.INSTANCE));
        p.addLast(PipelineNames.HTTP2_BACKEND, connection);
    }

    /**
     * Sets up an HTTP health check's connection to a server that speaks HTTP/2, once it is up: the
     * same client frame codec and multiplexer as {@link #initServerHttp2}, without the pool's state.
     */
    static void initHealthCheckHttp2(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        p.addLast(PipelineNames.HTTP2_CODEC, Http2FrameCodecBuilder.forClient()
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false).maxHeaderListSize(SERVER_MAX_HEADER_SIZE))
                .build());
        p.addLast(PipelineNames.HTTP2_MULTIPLEX, new Http2MultiplexHandler(RefusePush.INSTANCE));
    }

    /**
     * One request to an HTTP/2 server: a stream channel with the HTTP/1-object codec, the response
     * shaper and the same last handler as an HTTP/1.1 connection (which keeps the server timeout).
     */
    static void initServerStream(Channel ch, ServerRuntime server, BackendPool pool, Http2ServerConnection connection) {
        ChannelPipeline p = ch.pipeline();
        p.addLast(PipelineNames.HTTP2_STREAM_CODEC, new Http2StreamFrameToHttpObjectCodec(false));
        p.addLast(PipelineNames.HTTP2_RESPONSES, Http2ResponseAdapter.INSTANCE);
        // the server timeout is BackendConnection's own, per stream
        BackendConnection c = new BackendConnection(ch, server, pool, null);
        c.http2 = connection;
        p.addLast(PipelineNames.HTTP_BACKEND, c);
    }

    /** Server push is off (SETTINGS_ENABLE_PUSH 0): a pushed stream is closed at once. */
    @ChannelHandler.Sharable
    private static final class RefusePush extends io.netty.channel.ChannelInboundHandlerAdapter {
        static final RefusePush INSTANCE = new RefusePush();

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().close();
        }
    }

    /**
     * Strips every HTTP handler from a client channel before it becomes a tunnel, keeping its TLS (an
     * HTTPS frontend's tunnel is TLS too; removed, it dropped the 101 it still held and would have
     * relayed plain bytes), its io_uring close guard (a tunnel closes as any connection does) and the
     * proxy handler, which collects any bytes the decoder still held and leaves last.
     */
    static void stripClient(ChannelPipeline p) {
        removeAllBut(p, PipelineNames.HTTP_PROXY);
    }

    /**
     * Strips every HTTP handler from an HTTP/2 stream before it becomes a tunnel, keeping the last
     * handler and the stream's {@link Http2WebSocket}, which turns its frames into the tunnel's bytes.
     */
    static void stripStream(ChannelPipeline p) {
        for (String name : p.names()) {
            if (!name.equals(PipelineNames.HTTP_PROXY) && !name.equals(PipelineNames.HTTP2_WEBSOCKET)
                    && !name.startsWith("DefaultChannelPipeline")) {
                removeIfPresent(p, name);
            }
        }
    }

    /** Strips every HTTP handler from a server channel before it becomes a tunnel, keeping its TLS, close guard and last handler. */
    static void stripServer(ChannelPipeline p) {
        removeAllBut(p, PipelineNames.HTTP_BACKEND);
    }

    private static void removeAllBut(ChannelPipeline p, String keep) {
        // validators first, decoders before encoders: bytes a decoder held flow to the kept handler
        for (String name : p.names()) {
            ChannelHandler h = p.get(name);
            if (h != null && !name.equals(keep) && !isCodec(name) && !(h instanceof SslHandler) && !name.equals(PipelineNames.BACKEND_TLS)
                    && !name.equals(PipelineNames.BACKEND_TLS_ERRORS) && !name.equals(PipelineNames.CLOSE_GUARD) && !name.equals(PipelineNames.TLS_RENEGOTIATION)
                    && !name.startsWith("DefaultChannelPipeline")) {
                p.remove(name);
            }
        }
        removeIfPresent(p, PipelineNames.HTTP_DECODER);
        removeIfPresent(p, PipelineNames.HTTP_ENCODER);
    }

    private static boolean isCodec(String name) {
        return name.equals(PipelineNames.HTTP_DECODER) || name.equals(PipelineNames.HTTP_ENCODER);
    }

    private static void removeIfPresent(ChannelPipeline p, String name) {
        ChannelHandler h = p.get(name);
        if (h != null) {
            p.remove(h);
        }
    }

    /** Adds the tunnel idle timer in front of the relay on the client channel. */
    static void addTunnelTimeout(ChannelPipeline p, long tunnelTimeoutNanos) {
        p.addFirst(PipelineNames.IDLE, new IdleStateHandler(0, 0, tunnelTimeoutNanos, TimeUnit.NANOSECONDS));
    }
}
