package io.lodestone.l4.internal;

import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.l4.TcpFrontend;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A started {@link TcpFrontend}: its server channels and its open client connections. */
public final class TcpListener implements Listener {

    /** Write-buffer water marks: a side stops reading while its peer has more than the high mark pending. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(128 * 1024, 512 * 1024);

    private final TcpFrontend frontend;
    private final EngineContext context;
    private final List<Channel> serverChannels = new ArrayList<>();
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final AtomicInteger open = new AtomicInteger();
    private volatile boolean accepting = true;

    private TcpListener(TcpFrontend frontend, EngineContext context) {
        this.frontend = frontend;
        this.context = context;
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
                .group(context.acceptGroup(), context.ioGroup())
                .channel(context.transport().serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
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
            Channel ch = bootstrap.bind(address).syncUninterruptibly().channel();
            serverChannels.add(ch);
        }
    }

    private void accepted(Channel ch) {
        int now = open.incrementAndGet();
        connections.add(ch);
        int max = frontend.maxConnections();
        if (max > 0 && now >= max) {
            setAccepting(false);
        }
        ch.closeFuture().addListener(f -> {
            int left = open.decrementAndGet();
            if (max > 0 && left < max && accepting) {
                setAccepting(true);
            }
        });
        ch.pipeline().addLast(new TcpConnection(frontend, context, context.backend(frontend.defaultBackend())));
    }

    /** Pauses or resumes accepting; paused connections wait in the kernel's backlog. */
    private void setAccepting(boolean on) {
        for (Channel server : serverChannels) {
            server.config().setAutoRead(on);
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
        accepting = false;
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        return connections.newCloseFuture();
    }

    @Override
    public void closeAll() {
        accepting = false;
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
    }
}
