package io.lodestone.l7.internal;

import io.lodestone.core.Backend;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.BackendTls;
import io.lodestone.core.Clock;
import io.lodestone.core.internal.BackendHandshake;
import io.lodestone.core.internal.LoopClock;
import io.lodestone.core.internal.NoSocketException;
import io.lodestone.core.internal.OffLoopResolver;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.Transport;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.internal.ServerMetrics;
import io.lodestone.l7.HttpFrontend;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The server connections of one event loop, per server: idle HTTP/1.1 keep-alive connections, and
 * the shared HTTP/2 connections of backends that speak h2 or h2c (each request a stream of one of
 * them; a new connection is opened only when every open one is at the server's stream limit or
 * has received GOAWAY). Used only from its event
 * loop, so it takes no lock. The most recently used connection is reused first; a sweep closes those
 * idle longer than the idle timeout; a connection whose server closed it leaves the pool at once.
 * It counts each new connection on its server's metrics: the connection, its connect time, or the
 * kind of connect error.
 *
 * <p>An HTTP/1.1 connection that has carried the frontend's {@code poolMaxRequests} or is older than
 * its {@code poolMaxLifetime} is closed when its exchange ends instead of being kept, and an idle one
 * past its lifetime is closed instead of being taken: a count and a timestamp per connection,
 * looked at on release and acquire.
 *
 * <p>The pool's settings (its size, idle timeout and reuse limits) are those of the listener's
 * current frontend: a reconfiguration applies to a pool already made, on its loop, at once.
 */
final class BackendPool {

    /** The most HTTP/2 connections per server and event loop; beyond, streams wait for a free slot. */
    static final int MAX_HTTP2_CONNECTIONS = 8;

    /** The most idle connections per server a pool's queue has room for from the start (4 KiB of references). */
    static final int MAX_PRESIZED_IDLE = 1024;

    /** Marks a connection the proxy gave up while it was being made: its failure is no error of its server. */
    private static final AttributeKey<Boolean> ABANDONED = AttributeKey.valueOf(BackendPool.class, "abandoned");

    private final EventLoop loop;
    private final HttpListener listener;
    /**
     * The configuration the settings below were read from: they follow a reconfiguration (the
     * listener's current frontend), looked at after it and on each release, acquire and sweep.
     */
    private HttpFrontend limitsOf;
    /** The most idle connections kept per server. */
    private int maxIdle;
    /** How long a connection may stay unused before it is closed. */
    private long idleTimeoutNanos;
    /** The most exchanges an HTTP/1.1 connection carries; {@link Integer#MAX_VALUE} for no limit. */
    private int maxRequests;
    /** How long after it was opened an HTTP/1.1 connection may be reused; {@link Long#MAX_VALUE} for no limit. */
    private long maxLifetimeNanos;
    private final Bootstrap bootstrap;
    private final IdentityHashMap<ServerRuntime, ArrayDeque<BackendConnection>> idle = new IdentityHashMap<>();
    /** The HTTP/2 connections per server (backends speaking h2 or h2c) that may take new streams. */
    private final IdentityHashMap<ServerRuntime, ArrayList<Http2ServerConnection>> http2 = new IdentityHashMap<>();
    private ScheduledFuture<?> sweeper;
    private boolean closed;

    BackendPool(EventLoop loop, HttpListener listener) {
        this.loop = loop;
        this.listener = listener;
        readLimits(listener.frontend());
        // for servers given by host name (see open)
        this.bootstrap = new Bootstrap()
                .group(loop)
                .resolver(OffLoopResolver.INSTANCE)
                // TCP_NODELAY is on by default for Netty's socket channels
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, HttpListener.WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // an HTTP/2 connection's handlers are added once it is up
                    }
                });
    }

    /**
     * Returns an idle connection to the server that is still open, within its lifetime and made with
     * the backend's current protocol and TLS settings, or {@code null}. Those made before a
     * reconfiguration changed them (TLS turned on or off, other TLS settings, HTTP/2) are closed as
     * they are found: a request never goes out in plaintext, or under the old TLS settings, because
     * a connection from before was pooled.
     */
    BackendConnection acquire(ServerRuntime server) {
        ArrayDeque<BackendConnection> deque = idle.get(server);
        if (deque == null) {
            return null;
        }
        currentLimits();
        Backend config = server.backend().config();
        boolean http1 = config.protocol() == BackendProtocol.HTTP_1_1;
        BackendConnection c;
        while ((c = deque.pollFirst()) != null) {
            c.pooled = false;
            if (c.channel.isActive() && !expired(c) && http1 && c.tls == config.tls()) {
                return c;
            }
            c.channel.close();
        }
        return null;
    }

    /** Reads the pool's settings from the listener's configuration when it changed since they were last read. */
    private void currentLimits() {
        HttpFrontend f = listener.frontend();
        if (f != limitsOf) {
            readLimits(f);
        }
    }

    /**
     * Takes {@code f}'s settings: idle connections beyond a smaller size close (the longest idle
     * first), and a running sweep is scheduled again when the idle timeout, which sets its period,
     * changed.
     */
    private void readLimits(HttpFrontend f) {
        limitsOf = f;
        maxIdle = f.maxIdlePerServer();
        long timeout = f.poolIdleTimeout().toNanos();
        boolean sweepAgain = sweeper != null && timeout != idleTimeoutNanos;
        idleTimeoutNanos = timeout;
        if (sweepAgain) {
            sweeper.cancel(false);
            scheduleSweep();
        }
        for (ArrayDeque<BackendConnection> deque : idle.values()) {
            while (deque.size() > maxIdle) {
                BackendConnection oldest = deque.pollLast();
                oldest.pooled = false;
                oldest.channel.close();
            }
        }
        int requests = f.poolMaxRequests();
        maxRequests = requests > 0 ? requests : Integer.MAX_VALUE;
        maxLifetimeNanos = f.poolMaxLifetime() == null ? Long.MAX_VALUE : f.poolMaxLifetime().toNanos();
    }

    /** Whether a connection is older than the lifetime (never without one). */
    private boolean expired(BackendConnection c) {
        return maxLifetimeNanos != Long.MAX_VALUE && LoopClock.nanoTime() - c.openedAt >= maxLifetimeNanos;
    }

    /**
     * Opens a new connection to the server; its pipeline is ready (and, for a backend with TLS, its
     * handshake done) when the future completes. Throws {@link NoSocketException} when the socket
     * cannot be made (no file descriptor left).
     */
    ChannelFuture connect(ServerRuntime server) {
        Clock clock = listener.context().clock();
        long start = clock.nanoTime();
        ChannelFuture tcp;
        try {
            tcp = open(server, true);
        } catch (NoSocketException e) {
            // counted here, once per connection, as connectDone counts the other failures
            server.metrics().error(ErrorKind.CONNECT);
            throw e;
        }
        ChannelFuture f = BackendHandshake.after(tcp, server.backend().config().tls(), server.server().address(),
                BackendHandshake.HTTP_1_1, server.tlsWarnings());
        listener.track(f.channel());
        f.addListener((ChannelFutureListener) done -> connectDone(done, server, clock.nanoTime() - start));
        return f;
    }

    /**
     * Opens a TCP connection to the server on this loop with its backend's connect timeout; with
     * {@code http1} the HTTP/1.1 pipeline is set up before the connect is issued. A server given by
     * IP address gets a socket of its address family at once (an IPv4 server no dual-stack IPv6
     * socket), registered and connected without a bootstrap or an initializer: connections are
     * opened in bursts when traffic returns to an emptied pool, usually before the JIT has compiled
     * this path, so the less it runs the better. A host name is resolved by the bootstrap. A socket
     * that cannot be made (no file descriptor left) throws {@link NoSocketException}.
     */
    private ChannelFuture open(ServerRuntime server, boolean http1) {
        InetSocketAddress address = server.server().address();
        int connectMillis = (int) Math.min(Integer.MAX_VALUE, server.backend().config().connectTimeout().toMillis());
        if (address.isUnresolved()) {
            Bootstrap b = bootstrap.clone()
                    .channelFactory(listener.context().transport().socketChannelFactory())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMillis);
            if (http1) {
                b.handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        HttpPipeline.initServer(ch, server, BackendPool.this);
                    }
                });
            }
            return Transport.connect(b, address);
        }
        // TCP_NODELAY is on by default for Netty's socket channels
        SocketChannel ch = listener.context().transport().newSocketChannel(address.getAddress());
        ch.config().setWriteBufferWaterMark(HttpListener.WATER_MARK);
        ch.config().setConnectTimeoutMillis(connectMillis);
        return listener.context().transport().connect(loop, ch, address,
                http1 ? c -> HttpPipeline.initServer(c, server, this) : null);
    }

    /**
     * Gives up a connection {@link #connect} is still making, for a request whose client went away:
     * the connect (or the TLS handshake after it) is cut short by closing the channel, and its failure
     * counts no error on the server, which did nothing wrong.
     */
    static void abandon(ChannelFuture connecting) {
        if (!connecting.isDone()) {
            connecting.channel().attr(ABANDONED).set(Boolean.TRUE);
        }
        connecting.channel().close();
    }

    /** Counts a new server connection and its connect time, or the kind of connect error. */
    private static void connectDone(ChannelFuture done, ServerRuntime server, long nanos) {
        ServerMetrics metrics = server.metrics();
        if (done.isSuccess()) {
            metrics.connectTime(nanos);
            metrics.connectionOpened();
            done.channel().closeFuture().addListener(closed -> metrics.connectionClosed());
        } else if (!done.channel().hasAttr(ABANDONED)) {
            metrics.error(done.cause() instanceof ConnectTimeoutException ? ErrorKind.TIMEOUT : ErrorKind.CONNECT);
        }
    }

    /**
     * Keeps a connection whose exchange ended cleanly for reuse, or closes it when the pool is full,
     * when it has carried the most requests a connection may, or when it is past its lifetime.
     */
    void release(BackendConnection c) {
        if (c.http2 != null) {
            // a stream carries one exchange; its connection stays with the other streams
            c.channel.close();
            return;
        }
        currentLimits();
        if (closed || maxIdle == 0 || !c.channel.isActive() || c.decoder != null && c.decoder.overran() || c.server.isRemoved()
                || c.exchanges >= maxRequests || expired(c)) {
            c.channel.close();
            return;
        }
        ArrayDeque<BackendConnection> deque = idle.get(c.server);
        if (deque == null) {
            // room for every idle connection the pool keeps (up to a bound), so that the queue never
            // grows on the request path: growing it the first time after the JIT has compiled this
            // path without that branch sends the compiled request path back to the interpreter
            deque = new ArrayDeque<>(Math.min(maxIdle, MAX_PRESIZED_IDLE));
            idle.put(c.server, deque);
        }
        if (deque.size() >= maxIdle) {
            c.channel.close();
            return;
        }
        c.idleSince = LoopClock.nanoTime();
        c.pooled();
        deque.addFirst(c);
        if (sweeper == null) {
            scheduleSweep();
        }
    }

    /** Sweeps every half idle timeout (at least every 10 ms) from now on. */
    private void scheduleSweep() {
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(10), idleTimeoutNanos / 2);
        sweeper = loop.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    /**
     * Applies the listener's configuration after a reconfiguration, on the pool's loop, and the
     * backends' HTTP/2 keep-alive settings to the shared connections that take new streams.
     */
    void reconfigured() {
        if (!loop.inEventLoop()) {
            loop.execute(this::reconfigured);
            return;
        }
        if (!closed) {
            currentLimits();
            for (ArrayList<Http2ServerConnection> list : http2.values()) {
                for (int i = 0; i < list.size(); i++) {
                    list.get(i).keepAliveReconfigured();
                }
            }
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

    /**
     * Closes every idle connection of a server removed from its backend (an HTTP/2 connection that
     * still carries streams: when the last one ends) and forgets the server, so that servers coming
     * and going leave nothing behind. Run by the sweep (a server removed by
     * {@code removeServer}) and, on its own loop, after each reconfiguration of the proxy.
     */
    void closeRemoved() {
        if (!loop.inEventLoop()) {
            loop.execute(this::closeRemoved);
            return;
        }
        Iterator<Map.Entry<ServerRuntime, ArrayDeque<BackendConnection>>> entries = idle.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<ServerRuntime, ArrayDeque<BackendConnection>> e = entries.next();
            if (e.getKey().isRemoved()) {
                // read before the removal: an IdentityHashMap entry is a view of its table slot
                ArrayDeque<BackendConnection> deque = e.getValue();
                entries.remove();
                BackendConnection c;
                while ((c = deque.pollFirst()) != null) {
                    c.pooled = false;
                    c.channel.close();
                }
            }
        }
        // an HTTP/2 server's shared connections: those no stream uses close now, the others when their
        // last stream ends (they stayed open for the pool idle timeout, 60 s by default)
        Iterator<Map.Entry<ServerRuntime, ArrayList<Http2ServerConnection>>> shared = http2.entrySet().iterator();
        while (shared.hasNext()) {
            Map.Entry<ServerRuntime, ArrayList<Http2ServerConnection>> e = shared.next();
            if (e.getKey().isRemoved()) {
                ArrayList<Http2ServerConnection> list = e.getValue();
                shared.remove();
                for (Http2ServerConnection c : list) {
                    c.serverRemoved();
                }
            }
        }
    }

    /** Closes the connections idle longer than the idle timeout, and those of removed servers. */
    private void sweep() {
        currentLimits();
        closeRemoved();
        long now = LoopClock.nanoTime();
        for (ArrayDeque<BackendConnection> deque : idle.values()) {
            BackendConnection oldest;
            while ((oldest = deque.peekLast()) != null && now - oldest.idleSince >= idleTimeoutNanos) {
                deque.pollLast();
                oldest.pooled = false;
                oldest.channel.close();
            }
        }
    }

    /** Whether the server's backend speaks HTTP/2 (h2 or h2c): its requests are streams of shared connections. */
    static boolean multiplexed(ServerRuntime server) {
        return server.backend().config().protocol() != BackendProtocol.HTTP_1_1;
    }

    /**
     * Opens a stream to the server for one request, on a connection of this loop that takes one
     * more (the first found), else on a new connection; the stream's pipeline is ready when the
     * future completes. A new connection whose socket cannot be made (no file descriptor left) fails
     * it with {@link NoSocketException}.
     */
    Future<Channel> openHttp2Stream(ServerRuntime server) {
        Promise<Channel> p = loop.newPromise();
        openHttp2Stream(server, p);
        return p;
    }

    void openHttp2Stream(ServerRuntime server, Promise<Channel> stream) {
        if (closed) {
            stream.tryFailure(new IllegalStateException("the proxy is closing"));
            return;
        }
        ArrayList<Http2ServerConnection> list = http2.get(server);
        if (list == null) {
            list = new ArrayList<>(2);
            http2.put(server, list);
        }
        Http2ServerConnection least = null;
        BackendTls tls = server.backend().config().tls();
        for (int i = 0; i < list.size(); i++) {
            Http2ServerConnection c = list.get(i);
            if (c.tls != tls) {
                // made before a reconfiguration changed the backend's TLS settings: no new stream on it
                list.remove(i--);
                c.retire();
                continue;
            }
            if (c.accepts()) {
                c.open(stream);
                return;
            }
            if (c.channel.isActive() && (least == null || c.inUse < least.inUse)) {
                least = c;
            }
        }
        if (least != null && list.size() >= MAX_HTTP2_CONNECTIONS) {
            // every connection is at the server's limit: the stream waits in the codec until one ends
            least.open(stream);
            return;
        }
        Http2ServerConnection c;
        try {
            c = connectHttp2(server, list);
        } catch (NoSocketException e) {
            // no file descriptor left: the request learns it from its stream, on this loop
            server.metrics().error(ErrorKind.CONNECT);
            stream.tryFailure(e);
            return;
        }
        c.open(stream);
    }

    private Http2ServerConnection connectHttp2(ServerRuntime server, List<Http2ServerConnection> list) {
        InetSocketAddress address = server.server().address();
        Clock clock = listener.context().clock();
        long start = clock.nanoTime();
        // the connect timeout covers the whole setup: TCP, TLS (BackendHandshake) and the server's SETTINGS
        long connectTimeoutNanos = server.backend().config().connectTimeout().toNanos();
        long setupStart = loop.ticker().nanoTime();
        ChannelFuture tcp = open(server, false);
        Channel ch = tcp.channel();
        BackendTls tls = server.backend().config().tls();
        ChannelFuture setup = BackendHandshake.after(tcp, tls, address, BackendHandshake.H2, server.tlsWarnings());
        Http2ServerConnection c = new Http2ServerConnection(ch, server, this, setup);
        list.add(c);
        listener.track(ch);
        setup.addListener((ChannelFutureListener) done -> {
            connectDone(done, server, clock.nanoTime() - start);
            if (!done.isSuccess()) {
                http2Unusable(c);
                c.failWaiting(done.cause());
                return;
            }
            HttpPipeline.initServerHttp2(ch, c);
            c.expectSettingsWithin(connectTimeoutNanos - (loop.ticker().nanoTime() - setupStart));
        });
        return c;
    }

    /** How long a connection may stay unused before it is closed. */
    long idleTimeoutNanos() {
        currentLimits();
        return idleTimeoutNanos;
    }

    /** An HTTP/2 connection takes no new streams any more (GOAWAY, closed, failed): forget it. */
    void http2Unusable(Http2ServerConnection c) {
        ArrayList<Http2ServerConnection> list = http2.get(c.server);
        if (list != null) {
            list.remove(c);
            if (list.isEmpty() && c.server.isRemoved()) {
                http2.remove(c.server);
            }
        }
    }

    /** The HTTP/2 connections to a server on this loop that take new streams (for tests and metrics). */
    int http2Count(ServerRuntime server) {
        ArrayList<Http2ServerConnection> list = http2.get(server);
        return list == null ? 0 : list.size();
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
        List<Http2ServerConnection> shared = new ArrayList<>();
        for (ArrayList<Http2ServerConnection> list : http2.values()) {
            shared.addAll(list);
            list.clear();
        }
        for (Http2ServerConnection c : shared) {
            c.channel.close();
        }
    }
}
