package io.lodestone.l7.internal;

import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.l7.HttpFrontend;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Assembles the L7 pipelines, in the order documented in {@link PipelineNames}: the one place that
 * adds or removes handlers on an HTTP client or server channel.
 *
 * <p>Request and response validation handlers plug in through {@link #addRequestValidation} and
 * {@link #addResponseValidation}: between the codec and the proxy handler, so they see decoded
 * messages and may answer or close before anything is forwarded.
 */
final class HttpPipeline {

    /** Body pieces are passed on as they arrive, up to this size each. */
    private static final int MAX_CHUNK_SIZE = 64 * 1024;
    /** Servers may send larger heads than clients are allowed to. */
    private static final int SERVER_MAX_HEADER_SIZE = 64 * 1024;
    private static final int SERVER_MAX_HEADER_COUNT = 1024;

    private HttpPipeline() {
    }

    /** Sets up an accepted client connection. */
    static void initClient(Channel ch, HttpListener listener) {
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
        ChannelPipeline p = ch.pipeline();
        if (f.tls() != null) {
            p.addLast(PipelineNames.TLS, f.tls().newHandler());
        }
        p.addLast(PipelineNames.HTTP_TIMEOUT, timeouts);
        p.addLast(PipelineNames.HTTP_DECODER, new StrictRequestDecoder(config, f.maxHeaderCount(),
                f.maxBodySize() == 0 ? Long.MAX_VALUE : f.maxBodySize()));
        p.addLast(PipelineNames.HTTP_ENCODER, encoder);
        addRequestValidation(p, f);
        if (f.hsts() != null) {
            p.addLast(PipelineNames.HSTS, new Hsts(f.hsts()));
        }
        p.addLast(PipelineNames.HTTP_PROXY, proxy);
    }

    /**
     * The slot for request checks beyond the strict decoder's (smuggling shapes, limits and body size
     * are {@link StrictRequestDecoder}'s; handlers here only ever see valid requests).
     */
    static void addRequestValidation(ChannelPipeline p, HttpFrontend frontend) {
        // nothing beyond the strict decoder yet
    }

    /** Sets up a new server connection. */
    static void initServer(Channel ch, ServerRuntime server, BackendPool pool) {
        HttpDecoderConfig config = new HttpDecoderConfig()
                .setMaxHeaderSize(SERVER_MAX_HEADER_SIZE)
                .setMaxChunkSize(MAX_CHUNK_SIZE)
                .setAllowDuplicateContentLengths(false)
                .setAllowPartialChunks(true);
        Codecs.ResponseDecoder decoder = new Codecs.ResponseDecoder(config, SERVER_MAX_HEADER_COUNT);
        ChannelPipeline p = ch.pipeline();
        p.addLast(PipelineNames.HTTP_ENCODER, new HttpRequestEncoder());
        p.addLast(PipelineNames.HTTP_DECODER, decoder);
        addResponseValidation(p);
        long serverTimeout = server.backend().config().serverTimeout().toNanos();
        p.addLast(PipelineNames.IDLE, new IdleStateHandler(0, 0, serverTimeout, TimeUnit.NANOSECONDS));
        p.addLast(PipelineNames.HTTP_BACKEND, new BackendConnection(ch, server, pool, decoder));
    }

    /**
     * The slot for response checks beyond the strict decoder's ({@link StrictResponseDecoder} turns an
     * invalid response into a failed decoder result, which the proxy answers with 502).
     */
    static void addResponseValidation(ChannelPipeline p) {
        // nothing beyond the strict decoder yet
    }

    /**
     * Strips every HTTP handler from a client channel before it becomes a tunnel, keeping the proxy
     * handler, which collects any bytes the decoder still held and leaves last.
     */
    static void stripClient(ChannelPipeline p) {
        removeAllBut(p, PipelineNames.HTTP_PROXY);
    }

    /** Strips every HTTP handler from a server channel before it becomes a tunnel, keeping its last handler. */
    static void stripServer(ChannelPipeline p) {
        removeAllBut(p, PipelineNames.HTTP_BACKEND);
    }

    private static void removeAllBut(ChannelPipeline p, String keep) {
        // validators first, decoders before encoders: bytes a decoder held flow to the kept handler
        for (String name : p.names()) {
            if (!name.equals(keep) && !isCodec(name) && p.get(name) != null && !name.startsWith("DefaultChannelPipeline")) {
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
