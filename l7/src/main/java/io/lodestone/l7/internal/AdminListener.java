package io.lodestone.l7.internal;

import io.lodestone.core.Frontend;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.SocketClose;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpExpectationFailedEvent;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpContentException;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A started admin endpoint: one server channel and its connections. Requests are small and rare,
 * so each is aggregated (at most {@value #MAX_REQUEST_BYTES} bytes) and answered whole.
 */
public final class AdminListener implements Listener {

    /** The largest request the endpoint reads; larger ones get 413. */
    static final int MAX_REQUEST_BYTES = 16 * 1024;
    /** An admin connection idle this long is closed. */
    static final int IDLE_SECONDS = 60;

    /** What requests started from now on follow; replaced whole by {@link #update}. */
    private volatile Settings settings;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel serverChannel;
    /** The snapshot the last stats page was computed from, for its rates. */
    private volatile Sample previous;

    private AdminListener(EngineContext context, String name, byte[] token, Duration refresh) {
        this.settings = new Settings(context, name, sha256(token), refresh, context.metrics().frontend(name));
    }

    /**
     * One configuration of the endpoint: the proxy's backends and counters as of the last
     * reconfiguration, the frontend's name and counters, the token's digest, the stats page's refresh.
     */
    private record Settings(EngineContext context, String name, byte[] tokenDigest, Duration refresh, FrontendMetrics metrics) {
    }

    /**
     * Takes a new configuration of the endpoint in a reconfiguration of the proxy, keeping its socket
     * and its open connections: requests from now on see the backends of {@code context} and need
     * {@code token}; connections stay counted under the name they were accepted with.
     */
    public boolean update(EngineContext context, String name, byte[] token, Duration refresh) {
        settings = new Settings(context, name, sha256(token), refresh, context.metrics().frontend(name));
        return true;
    }

    /** Binds the endpoint on {@code address}; {@code token} is the bearer token as bytes. */
    public static AdminListener start(EngineContext context, String name, InetSocketAddress address, byte[] token,
            Duration refresh) {
        AdminListener listener = new AdminListener(context, name, token, refresh);
        listener.bind(address);
        return listener;
    }

    private void bind(InetSocketAddress address) {
        EngineContext context = settings.context();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(context.acceptGroup(), context.ioGroup())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // read by the handler, one request at a time (see AdminHandler)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        context.transport().accepted(ch);
                        connections.add(ch);
                        FrontendMetrics metrics = settings.metrics();
                        metrics.connectionOpened();
                        ch.closeFuture().addListener(f -> metrics.connectionClosed());
                        ch.pipeline()
                                .addLast(PipelineNames.IDLE, new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                                .addLast(PipelineNames.HTTP_CODEC, new HttpServerCodec())
                                .addLast(PipelineNames.HTTP_AGGREGATOR, new InTurnAggregator())
                                .addLast(PipelineNames.ADMIN_FLOW, new FlowControlHandler())
                                .addLast(PipelineNames.ADMIN, new AdminHandler(AdminListener.this));
                    }
                });
        serverChannel = context.transport().bind(bootstrap, address, "admin " + settings.name() + " bind");
    }

    EngineContext context() {
        return settings.context();
    }

    String name() {
        return settings.name();
    }

    Duration refresh() {
        return settings.refresh();
    }

    FrontendMetrics metrics() {
        return settings.metrics();
    }

    /** Whether {@code candidate} is the token: compares digests, so the time taken tells nothing about the token. */
    boolean acceptsToken(byte[] candidate) {
        return MessageDigest.isEqual(settings.tokenDigest(), sha256(candidate));
    }

    /**
     * Takes a snapshot for the stats page and returns it with the one before, for rates; the one
     * before is replaced only once it is a second old, so that quick reloads still show rates.
     */
    Sample[] sample() {
        EngineContext context = settings.context();
        MetricsSnapshot now = context.metrics().snapshot();
        Sample current = new Sample(now, context.clock().nanoTime());
        Sample before = previous;
        if (before == null || current.nanos - before.nanos >= 1_000_000_000L) {
            previous = current;
        }
        return new Sample[] {current, before};
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    /**
     * Whether {@code frontend} (an admin endpoint: the proxy checks the engine) is on the address this
     * endpoint is bound to, the port the OS chose for port 0 listed by number: it then takes this socket
     * as it is, through {@link #rebind}, rather than binding an address this one holds.
     */
    @Override
    public boolean canRebind(Frontend frontend) {
        List<InetSocketAddress> addresses = frontend.bindAddresses();
        return addresses.size() == 1 && addresses.get(0).getPort() != 0
                && addresses.get(0).equals(serverChannel.localAddress());
    }

    /** The endpoint's one socket is kept: nothing to bind, nothing to close; {@link #update} follows. */
    @Override
    public Rebinding rebind(Frontend frontend) {
        return new Rebinding() {
            @Override
            public void commit() {
            }

            @Override
            public void abort() {
            }
        };
    }

    @Override
    public List<InetSocketAddress> localAddresses() {
        return List.of((InetSocketAddress) serverChannel.localAddress());
    }

    @Override
    public int openConnections() {
        return connections.size();
    }

    @Override
    public Future<?> drain() {
        serverChannel.close().syncUninterruptibly();
        return connections.close();
    }

    /**
     * Closes every connection still open at its socket ({@link SocketClose}) and waits for them, for
     * a bounded time; the group's own close waited on its future without a bound.
     */
    @Override
    public void closeAll() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        for (Channel ch : connections) {
            SocketClose.close(ch);
        }
        SocketClose.awaitClosed(connections, name());
    }

    /** A metrics snapshot and when it was taken, on the proxy's clock. */
    record Sample(MetricsSnapshot snapshot, long nanos) {
    }

    /**
     * Netty's aggregator, but a request over {@value #MAX_REQUEST_BYTES} bytes is refused in its turn:
     * it is handed on as a request whose decoding failed ({@link TooLongHttpContentException}), which
     * {@link AdminHandler} answers with 413 after the answers to the requests pipelined before it.
     * Netty's own aggregator writes its 413 at once, ahead of the answers to requests that wait
     * behind the one being answered ({@code FlowControlHandler}), and with auto-read off closes the
     * connection after it: a client that pipelined {@code GET}, {@code GET}, then a {@code POST} too
     * large got the 413 as its second request's answer, and its third's as the second's (io_uring,
     * where writes complete a turn later). As before auto-read was turned off, a keep-alive request
     * refused by its {@code Content-Length} keeps the connection, its body (if the client sends it)
     * read and dropped; one whose chunked body outgrew the limit is answered with {@code Connection: close}.
     */
    static final class InTurnAggregator extends HttpObjectAggregator {

        InTurnAggregator() {
            super(MAX_REQUEST_BYTES);
        }

        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            if (HttpUtil.is100ContinueExpected(start) && HttpUtil.getContentLength(start, -1L) > maxContentLength) {
                // no body comes after the 413: the decoder reads the next request, as Netty's own
                // refusal has it; the 413 itself is answered in its turn (handleOversizedMessage)
                pipeline.fireUserEventTriggered(HttpExpectationFailedEvent.INSTANCE);
                return null;
            }
            return super.newContinueResponse(start, maxContentLength, pipeline);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
            if (!(oversized instanceof HttpRequest r)) {
                super.handleOversizedMessage(ctx, oversized);
                return;
            }
            FullHttpRequest refused = new DefaultFullHttpRequest(r.protocolVersion(), r.method(), r.uri(),
                    Unpooled.EMPTY_BUFFER, r.headers().copy(), EmptyHttpHeaders.INSTANCE);
            refused.setDecoderResult(DecoderResult.failure(
                    new TooLongHttpContentException("request larger than " + MAX_REQUEST_BYTES + " bytes")));
            if (oversized instanceof FullHttpRequest) {
                // its body outgrew the limit as it came (chunked): the answer closes, as Netty's does
                HttpUtil.setKeepAlive(refused, false);
            }
            ctx.fireChannelRead(refused);
        }
    }
}
