package io.lodestone.core.internal;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.channels.spi.SelectorProvider;

/**
 * The channel transport. NIO by default; native epoll with the system property
 * {@code lodestone.transport=epoll} (on Linux, when it loads).
 *
 * <p>Epoll is not the default because of a bug in Netty 4.2's epoll registration (4.2.18 to 4.2.20):
 * when a channel's interest set becomes empty Netty removes its descriptor from epoll but keeps
 * the registration marked as added, so the next interest change fails with {@code ENOENT}. A
 * relayed connection hits it when one side half-closes and the other side's data later fills the
 * half-closed side's socket buffer: the write fails and the tail of the transfer is lost
 * ({@code TcpBulkTransferTest} caught it). Once Netty fixes it, epoll becomes the default again.
 */
public enum Transport {
    /** Linux epoll through netty-transport-native-epoll. */
    EPOLL(EpollServerSocketChannel.class, EpollSocketChannel.class),
    /** The JDK's NIO selector. */
    NIO(NioServerSocketChannel.class, NioSocketChannel.class);

    private final Class<? extends ServerSocketChannel> serverChannelClass;
    private final Class<? extends SocketChannel> socketChannelClass;

    Transport(Class<? extends ServerSocketChannel> serverChannelClass, Class<? extends SocketChannel> socketChannelClass) {
        this.serverChannelClass = serverChannelClass;
        this.socketChannelClass = socketChannelClass;
    }

    /** Returns NIO, or epoll when {@code lodestone.transport=epoll} asks for it and it loads. */
    public static Transport best() {
        if ("epoll".equalsIgnoreCase(System.getProperty("lodestone.transport")) && Epoll.isAvailable()) {
            return EPOLL;
        }
        return NIO;
    }

    /** Returns the transport that the channels of an application-supplied group must use. */
    public static Transport of(EventLoopGroup group) {
        if (group instanceof IoEventLoopGroup io && Epoll.isAvailable() && io.isIoType(EpollIoHandler.class)) {
            return EPOLL;
        }
        return NIO;
    }

    /** The server (listening) channel class. */
    public Class<? extends ServerSocketChannel> serverChannelClass() {
        return serverChannelClass;
    }

    /** The client (connected) channel class. */
    public Class<? extends SocketChannel> socketChannelClass() {
        return socketChannelClass;
    }

    /**
     * Creates an unregistered client channel whose socket has the address family of {@code target}:
     * an IPv4 socket for an IPv4 server rather than a dual-stack IPv6 one, and no reflection.
     */
    public SocketChannel newSocketChannel(InetAddress target) {
        SocketProtocolFamily family = target instanceof Inet6Address ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
        return this == EPOLL ? new EpollSocketChannel(family) : new NioSocketChannel(SelectorProvider.provider(), family);
    }

    /** Creates an unregistered listening channel with the address family of {@code bind}. */
    public ServerSocketChannel newServerSocketChannel(InetAddress bind) {
        SocketProtocolFamily family = bind instanceof Inet6Address ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
        return this == EPOLL ? new EpollServerSocketChannel(family) : new NioServerSocketChannel(SelectorProvider.provider(), family);
    }

    /** Creates an event loop group of this transport; 0 threads means Netty's default. */
    public EventLoopGroup newGroup(int threads, String threadName) {
        IoHandlerFactory factory = this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(threadName, true), factory);
    }
}
