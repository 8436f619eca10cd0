package io.lodestone.l7.internal;

import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.route.Router;
import io.lodestone.core.route.Routing;
import io.lodestone.l7.HttpFrontend;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A started {@link HttpFrontend}: its router, its server channels, its client connections, one
 * server connection pool per event loop and one retry budget per backend.
 */
public final class HttpListener implements Listener {

    /** Write-buffer water marks: a side stops reading while its peer has more than the high mark pending. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    /** Fired on every client connection when the proxy drains: idle keep-alive connections close. */
    static final Object DRAIN = new Object() {
        @Override
        public String toString() {
            return "DRAIN";
        }
    };

    private final HttpFrontend frontend;
    private final EngineContext context;
    private final FrontendMetrics metrics;
    private final Router router;
    private final List<Channel> serverChannels = new ArrayList<>();
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ChannelGroup serverConnections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ConcurrentHashMap<EventLoop, BackendPool> pools = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, RetryBudget> budgets = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private volatile boolean accepting = true;
    private volatile boolean draining;

    private HttpListener(HttpFrontend frontend, Routing routing, EngineContext context) {
        this.frontend = frontend;
        this.context = context;
        this.metrics = context.metrics().frontend(frontend.name());
        // built once: every request of every event loop is decided by this router, on the live states
        this.router = routing.router(name -> context.backend(name).usableServers());
    }

    /**
     * Binds every address of the frontend and routes its requests with {@code routing}; on failure
     * closes what was bound and throws.
     */
    public static HttpListener start(HttpFrontend frontend, Routing routing, EngineContext context) {
        HttpListener listener = new HttpListener(frontend, routing, context);
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
                .group(context.acceptGroup(), context.ioGroup())
                .channel(context.transport().serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted(ch);
                    }
                });
        for (InetSocketAddress address : frontend.bindAddresses()) {
            serverChannels.add(bootstrap.bind(address).syncUninterruptibly().channel());
        }
    }

    private void accepted(Channel ch) {
        int now = open.incrementAndGet();
        connections.add(ch);
        metrics.connectionOpened();
        int max = frontend.maxConnections();
        if (max > 0 && now >= max) {
            setAccepting(false);
        }
        ch.closeFuture().addListener(f -> {
            metrics.connectionClosed();
            int left = open.decrementAndGet();
            if (max > 0 && left < max && accepting) {
                setAccepting(true);
            }
        });
        HttpPipeline.initClient(ch, this);
    }

    private void setAccepting(boolean on) {
        for (Channel server : serverChannels) {
            server.config().setAutoRead(on);
        }
    }

    HttpFrontend frontend() {
        return frontend;
    }

    EngineContext context() {
        return context;
    }

    /** The frontend's counters. */
    FrontendMetrics metrics() {
        return metrics;
    }

    Router router() {
        return router;
    }

    boolean isDraining() {
        return draining;
    }

    /** The server connection pool of an event loop, created on first use. */
    BackendPool pool(EventLoop loop) {
        BackendPool pool = pools.get(loop);
        if (pool == null) {
            pool = pools.computeIfAbsent(loop, l -> new BackendPool(l, this));
        }
        return pool;
    }

    /** The retry budget of a backend for this frontend. */
    RetryBudget budget(BackendRuntime backend) {
        RetryBudget budget = budgets.get(backend.name());
        if (budget == null) {
            budget = budgets.computeIfAbsent(backend.name(),
                    n -> new RetryBudget(frontend.retryBudgetRatio(), frontend.minRetryConcurrency()));
        }
        return budget;
    }

    /** Tracks a server connection so that {@link #closeAll()} closes it. */
    void track(Channel serverConnection) {
        serverConnections.add(serverConnection);
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
        accepting = false;
        draining = true;
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        for (Channel ch : connections) {
            ch.pipeline().fireUserEventTriggered(DRAIN);
        }
        return connections.newCloseFuture();
    }

    @Override
    public void closeAll() {
        accepting = false;
        draining = true;
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
        for (BackendPool pool : pools.values()) {
            pool.close();
        }
        serverConnections.close().awaitUninterruptibly();
    }
}
