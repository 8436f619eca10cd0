package io.lodestone.l4.internal;

import io.lodestone.core.Clock;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.l4.TcpFrontend;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A started {@link TcpFrontend}: its server channels, its open connections and the settings its
 * connections share.
 *
 * <p>Every server channel of one listener is registered on one accept loop, which owns the
 * frontend's connection limit: it counts a connection when it accepts it, stops accepting at the
 * limit (further connections wait in the kernel's backlog) and resumes when a connection closes.
 * Connections the transport accepted in the same burst beyond the limit wait, accepted but not
 * served, until a slot frees.
 */
public final class TcpListener implements Listener {

    /** Write-buffer water marks: a side stops reading while its peer has more than the high mark pending. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);
    /** Every channel of the engine allocates from the pooled allocator. */
    static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

    private final TcpFrontend frontend;
    private final BackendRuntime backend;
    private final EngineContext context;
    private final FrontendMetrics metrics;
    private final AccessLog accessLog;
    private final EventLoop acceptLoop;
    private final ChannelFactory<? extends SocketChannel> upstreamFactory;
    private final Bootstrap resolvingBootstrap;
    private final int connectTimeoutMillis;
    private final int maxConnections;
    private final List<Channel> serverChannels = new ArrayList<>();
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final AtomicInteger open = new AtomicInteger();
    private final Gate gate = new Gate();
    private final ChannelFutureListener closed = f -> released();
    private volatile boolean closing;
    /** Accepted connections over the limit, not served yet; accept loop only. */
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();

    private TcpListener(TcpFrontend frontend, EngineContext context) {
        this.frontend = frontend;
        this.context = context;
        this.backend = context.backend(frontend.defaultBackend());
        this.metrics = context.metrics().frontend(frontend.name());
        this.accessLog = context.accessLog();
        this.acceptLoop = context.acceptGroup().next();
        this.upstreamFactory = new ReflectiveChannelFactory<>(context.transport().socketChannelClass());
        long connectMillis = backend.config().connectTimeout().toMillis();
        this.connectTimeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, connectMillis));
        this.maxConnections = frontend.maxConnections();
        this.resolvingBootstrap = new Bootstrap()
                .group(context.ioGroup())
                .channelFactory(upstreamFactory)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .option(ChannelOption.ALLOCATOR, ALLOCATOR)
                .handler(new ChannelInboundHandlerAdapter());
    }

    /** Binds every address of the frontend; on failure closes what was bound and throws. */
    public static TcpListener start(TcpFrontend frontend, EngineContext context) {
        TcpListener listener = new TcpListener(frontend, context);
        try {
            listener.bind();
        } catch (RuntimeException e) {
            listener.closeAll();
            throw e;
        }
        return listener;
    }

    private void bind() {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptLoop, context.ioGroup())
                .channel(context.transport().serverChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(gate)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childOption(ChannelOption.ALLOCATOR, ALLOCATOR)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ch.pipeline().addLast(new TcpConnection(TcpListener.this));
                    }
                });
        for (InetSocketAddress address : frontend.bindAddresses()) {
            InetSocketAddress resolved = address.isUnresolved()
                    ? new InetSocketAddress(address.getHostString(), address.getPort()) : address;
            if (resolved.isUnresolved()) {
                throw new IllegalArgumentException("frontend " + frontend.name() + " bind: "
                        + address.getHostString() + ":" + address.getPort() + " (cannot resolve the host)");
            }
            serverChannels.add(bootstrap.bind(resolved).syncUninterruptibly().channel());
        }
    }

    TcpFrontend frontend() {
        return frontend;
    }

    BackendRuntime backend() {
        return backend;
    }

    FrontendMetrics metrics() {
        return metrics;
    }

    AccessLog accessLog() {
        return accessLog;
    }

    Clock clock() {
        return context.clock();
    }

    /**
     * Opens a connection to {@code address} on {@code loop}: a channel made and registered directly
     * (no per-connection bootstrap, no resolver) for an IP address, through a bootstrap that resolves
     * the name otherwise. The caller closes the channel when the returned future fails.
     */
    ChannelFuture connect(EventLoop loop, InetSocketAddress address) {
        if (address.isUnresolved()) {
            return resolvingBootstrap.clone(loop).connect(address);
        }
        SocketChannel ch = upstreamFactory.newChannel();
        SocketChannelConfig config = ch.config();
        config.setAutoRead(false);
        config.setAllowHalfClosure(true);
        config.setTcpNoDelay(true);
        config.setWriteBufferWaterMark(WATER_MARK);
        config.setAllocator(ALLOCATOR);
        config.setConnectTimeoutMillis(connectTimeoutMillis);
        ChannelPromise connected = new DefaultChannelPromise(ch, loop);
        loop.register(ch).addListener((ChannelFutureListener) registered -> {
            if (registered.isSuccess()) {
                ch.connect(address, connected);
            } else {
                connected.tryFailure(registered.cause());
            }
        });
        return connected;
    }

    /** Adds a connected server-side channel to the channels {@link #closeAll()} closes. */
    void track(Channel upstream) {
        channels.add(upstream);
    }

    /** A client connection closed: free its slot and, under a limit, serve a waiting one or resume accepting. */
    private void released() {
        open.decrementAndGet();
        if (maxConnections > 0) {
            acceptLoop.execute(this::admitWaiting);
        }
    }

    /** Accept loop only. */
    private void admit(ChannelHandlerContext serverCtx, Channel child) {
        int now = open.incrementAndGet();
        child.closeFuture().addListener(closed);
        if (maxConnections > 0 && now >= maxConnections) {
            setAccepting(false);
        }
        serverCtx.fireChannelRead(child);
    }

    /** Accept loop only. */
    private void admitWaiting() {
        while (!waiting.isEmpty() && open.get() < maxConnections) {
            Waiting w = waiting.poll();
            if (closing) {
                w.child.unsafe().closeForcibly();
            } else {
                admit(w.serverCtx, w.child);
            }
        }
        if (waiting.isEmpty() && open.get() < maxConnections && !closing) {
            setAccepting(true);
        }
    }

    /** Accept loop only: pauses or resumes reading new connections from every server channel. */
    private void setAccepting(boolean on) {
        for (Channel server : serverChannels) {
            server.config().setAutoRead(on);
        }
    }

    /** Accept loop only. */
    private void closeWaiting() {
        Waiting w;
        while ((w = waiting.poll()) != null) {
            w.child.unsafe().closeForcibly();
        }
    }

    @Override
    public List<InetSocketAddress> localAddresses() {
        List<InetSocketAddress> out = new ArrayList<>(serverChannels.size());
        for (Channel ch : serverChannels) {
            out.add((InetSocketAddress) ch.localAddress());
        }
        return out;
    }

    @Override
    public int openConnections() {
        return open.get();
    }

    @Override
    public Future<?> drain() {
        stopAccepting();
        return channels.newCloseFuture();
    }

    @Override
    public void closeAll() {
        stopAccepting();
        channels.close().awaitUninterruptibly();
    }

    private void stopAccepting() {
        closing = true;
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        if (!acceptLoop.isShuttingDown()) {
            acceptLoop.submit(this::closeWaiting).awaitUninterruptibly();
        }
    }

    /** Counts accepted connections on the accept loop and holds those over the limit. */
    @ChannelHandler.Sharable
    private final class Gate extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel child = (Channel) msg;
            if (closing) {
                child.unsafe().closeForcibly();
            } else if (maxConnections > 0 && (open.get() >= maxConnections || !waiting.isEmpty())) {
                waiting.add(new Waiting(ctx, child));
                setAccepting(false);
            } else {
                admit(ctx, child);
            }
        }
    }

    /** A connection accepted over the limit and the server channel context to serve it through. */
    private record Waiting(ChannelHandlerContext serverCtx, Channel child) {
    }

    /**
     * The idle timeout of a relayed pair: with the relay counting a byte in either direction as
     * activity of both sides, the client timeout and the backend's server timeout both apply, so the
     * shorter one wins ({@link Duration#ZERO} client timeout: only the server timeout).
     */
    Duration idleTimeout(BackendRuntime backend) {
        Duration server = backend.config().serverTimeout();
        Duration client = frontend.clientTimeout();
        return client.isZero() || client.compareTo(server) > 0 ? server : client;
    }
}
