package io.lodestone.l7.internal;

import io.lodestone.core.Clock;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.internal.ServerMetrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The idle keep-alive server connections of one event loop, per server. Used only from its event
 * loop, so it takes no lock. The most recently used connection is reused first; a sweep closes those
 * idle longer than the idle timeout; a connection whose server closed it leaves the pool at once.
 * It counts each new connection on its server's metrics: the connection, its connect time, or the
 * kind of connect error.
 */
final class BackendPool {

    private final EventLoop loop;
    private final HttpListener listener;
    private final int maxIdle;
    private final long idleTimeoutNanos;
    private final Bootstrap bootstrap;
    private final IdentityHashMap<ServerRuntime, ArrayDeque<BackendConnection>> idle = new IdentityHashMap<>();
    private ScheduledFuture<?> sweeper;
    private boolean closed;

    BackendPool(EventLoop loop, HttpListener listener) {
        this.loop = loop;
        this.listener = listener;
        this.maxIdle = listener.frontend().maxIdlePerServer();
        this.idleTimeoutNanos = listener.frontend().poolIdleTimeout().toNanos();
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(listener.context().transport().socketChannelClass())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, HttpListener.WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // the handlers are added by connect() once the server is known
                    }
                });
    }

    /** Returns an idle connection to the server that is still open, or {@code null}. */
    BackendConnection acquire(ServerRuntime server) {
        ArrayDeque<BackendConnection> deque = idle.get(server);
        if (deque == null) {
            return null;
        }
        BackendConnection c;
        while ((c = deque.pollFirst()) != null) {
            c.pooled = false;
            if (c.channel.isActive()) {
                return c;
            }
            c.channel.close();
        }
        return null;
    }

    /** Opens a new connection to the server; its pipeline is ready when the future completes. */
    ChannelFuture connect(ServerRuntime server) {
        long connectMillis = server.backend().config().connectTimeout().toMillis();
        Bootstrap b = bootstrap.clone()
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectMillis))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        HttpPipeline.initServer(ch, server, BackendPool.this);
                    }
                });
        Clock clock = listener.context().clock();
        long start = clock.nanoTime();
        ChannelFuture f = b.connect(server.server().address());
        listener.track(f.channel());
        f.addListener((ChannelFutureListener) done -> connectDone(done, server, clock.nanoTime() - start));
        return f;
    }

    /** Counts a new server connection and its connect time, or the kind of connect error. */
    private static void connectDone(ChannelFuture done, ServerRuntime server, long nanos) {
        ServerMetrics metrics = server.metrics();
        if (done.isSuccess()) {
            metrics.connectTime(nanos);
            metrics.connectionOpened();
            done.channel().closeFuture().addListener(closed -> metrics.connectionClosed());
        } else {
            metrics.error(done.cause() instanceof ConnectTimeoutException ? ErrorKind.TIMEOUT : ErrorKind.CONNECT);
        }
    }

    /** Keeps a connection whose exchange ended cleanly for reuse, or closes it when the pool is full. */
    void release(BackendConnection c) {
        if (closed || maxIdle == 0 || !c.channel.isActive()) {
            c.channel.close();
            return;
        }
        ArrayDeque<BackendConnection> deque = idle.get(c.server);
        if (deque == null) {
            deque = new ArrayDeque<>();
            idle.put(c.server, deque);
        }
        if (deque.size() >= maxIdle) {
            c.channel.close();
            return;
        }
        c.idleSince = System.nanoTime();
        c.pooled = true;
        deque.addFirst(c);
        if (sweeper == null) {
            long period = Math.max(TimeUnit.MILLISECONDS.toNanos(10), idleTimeoutNanos / 2);
            sweeper = loop.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
        }
    }

    /** Forgets a pooled connection that its server closed. */
    void remove(BackendConnection c) {
        c.pooled = false;
        ArrayDeque<BackendConnection> deque = idle.get(c.server);
        if (deque != null) {
            deque.remove(c);
        }
    }

    /** The number of idle connections to a server on this loop (for tests and metrics). */
    int idleCount(ServerRuntime server) {
        ArrayDeque<BackendConnection> deque = idle.get(server);
        return deque == null ? 0 : deque.size();
    }

    private void sweep() {
        long now = System.nanoTime();
        for (ArrayDeque<BackendConnection> deque : idle.values()) {
            BackendConnection oldest;
            while ((oldest = deque.peekLast()) != null && now - oldest.idleSince >= idleTimeoutNanos) {
                deque.pollLast();
                oldest.pooled = false;
                oldest.channel.close();
            }
        }
    }

    /** Closes every idle connection and stops the sweep; later releases close at once. */
    void close() {
        if (!loop.inEventLoop()) {
            loop.execute(this::close);
            return;
        }
        closed = true;
        if (sweeper != null) {
            sweeper.cancel(false);
        }
        List<BackendConnection> all = new ArrayList<>();
        for (ArrayDeque<BackendConnection> deque : idle.values()) {
            all.addAll(deque);
            deque.clear();
        }
        for (BackendConnection c : all) {
            c.pooled = false;
            c.channel.close();
        }
    }
}
