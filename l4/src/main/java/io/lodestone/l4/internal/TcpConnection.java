package io.lodestone.l4.internal;

import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.Relay;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.balance.PickContext;
import io.lodestone.l4.TcpFrontend;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection of a TCP frontend: picks a server, connects on the client's own event loop
 * (retrying other servers on failure), writes the PROXY header when configured, then hands both
 * channels to the {@link Relay}. Removes itself once the relay runs.
 */
final class TcpConnection extends ChannelInboundHandlerAdapter implements PickContext {

    private static final Logger log = LoggerFactory.getLogger(TcpConnection.class);

    private final TcpFrontend frontend;
    private final EngineContext context;
    private final BackendRuntime backend;
    private List<ServerRuntime> tried;
    private List<Object> pending;
    private Channel client;

    TcpConnection(TcpFrontend frontend, EngineContext context, BackendRuntime backend) {
        this.frontend = frontend;
        this.context = context;
        this.backend = backend;
    }

    @Override
    public long affinityHash() {
        InetSocketAddress remote = (InetSocketAddress) client.remoteAddress();
        return remote == null ? 0 : remote.getAddress().hashCode();
    }

    @Override
    public RandomGenerator random() {
        return ThreadLocalRandom.current();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        ServerRuntime server = backend.select(this);
        if (server == null) {
            if (log.isDebugEnabled()) {
                log.debug("{}: no usable server in backend {}", frontend.name(), backend.name());
            }
            client.close();
            return;
        }
        connect(server);
        ctx.fireChannelActive();
    }

    /** Bytes that arrive before the server connection is up (epoll reads on a FIN) wait here. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (pending == null) {
            pending = new ArrayList<>(2);
        }
        pending.add(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        // an early FIN is seen by the relay through isInputShutdown() once it starts
        if (!(evt instanceof ChannelInputShutdownEvent)) {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releasePending();
        ctx.fireChannelInactive();
    }

    private void releasePending() {
        if (pending != null) {
            for (Object msg : pending) {
                ReferenceCountUtil.release(msg);
            }
            pending = null;
        }
    }

    private void connect(ServerRuntime server) {
        long connectMillis = backend.config().connectTimeout().toMillis();
        Bootstrap b = new Bootstrap()
                .group(client.eventLoop())
                .channel(context.transport().socketChannelClass())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectMillis))
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, TcpListener.WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // handlers are added once connected
                    }
                });
        ChannelFuture f = b.connect(server.server().address());
        f.addListener(done -> {
            if (f.isSuccess()) {
                connected(server, f.channel());
            } else {
                server.release();
                failed(server, f.cause());
            }
        });
    }

    private void failed(ServerRuntime server, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("{}: connect to {} failed: {}", frontend.name(), server, cause.toString());
        }
        if (!client.isActive()) {
            return;
        }
        if (tried == null) {
            tried = new ArrayList<>(2);
        }
        tried.add(server);
        ServerRuntime next = tried.size() <= backend.config().retries() ? backend.select(this, tried) : null;
        if (next == null) {
            client.close();
        } else {
            connect(next);
        }
    }

    private void connected(ServerRuntime server, Channel upstream) {
        upstream.closeFuture().addListener(f -> server.release());
        if (!client.isActive()) {
            upstream.close();
            return;
        }
        ProxyProtocol pp = backend.proxyProtocol(server);
        if (pp != ProxyProtocol.NONE) {
            upstream.pipeline().addLast(PipelineNames.PROXY_PROTOCOL, HAProxyMessageEncoder.INSTANCE);
            upstream.write(proxyHeader(pp), upstream.voidPromise());
            upstream.pipeline().remove(PipelineNames.PROXY_PROTOCOL);
        }
        long clientIdle = frontend.clientTimeout().toMillis();
        if (clientIdle > 0) {
            client.pipeline().addBefore(client.pipeline().context(this).name(), PipelineNames.IDLE,
                    new IdleStateHandler(0, 0, clientIdle, TimeUnit.MILLISECONDS));
        }
        long serverIdle = backend.config().serverTimeout().toMillis();
        upstream.pipeline().addLast(PipelineNames.IDLE, new IdleStateHandler(0, 0, serverIdle, TimeUnit.MILLISECONDS));
        if (pending != null) {
            for (Object msg : pending) {
                upstream.write(msg, upstream.voidPromise());
            }
            pending = null;
        }
        client.pipeline().remove(this);
        Relay.join(client, upstream);
    }

    private HAProxyMessage proxyHeader(ProxyProtocol version) {
        InetSocketAddress src = (InetSocketAddress) client.remoteAddress();
        InetSocketAddress dst = (InetSocketAddress) client.localAddress();
        boolean v6 = src.getAddress() instanceof Inet6Address;
        HAProxyProxiedProtocol protocol = v6 ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4;
        String dstHost = dst.getAddress().getHostAddress();
        if (v6 != dst.getAddress() instanceof Inet6Address) {
            dstHost = v6 ? "::" : "0.0.0.0";
        }
        return new HAProxyMessage(version == ProxyProtocol.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2,
                HAProxyCommand.PROXY, protocol, src.getAddress().getHostAddress(), dstHost, src.getPort(), dst.getPort());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("{}: client connection failed: {}", frontend.name(), cause.toString());
        }
        ctx.close();
    }
}
