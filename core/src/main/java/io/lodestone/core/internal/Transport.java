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
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The channel transport: native epoll on Linux when it loads, NIO otherwise. The system property
 * {@code lodestone.transport=nio} forces NIO.
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

    /** Returns epoll when available and not disabled, NIO otherwise. */
    public static Transport best() {
        if (!"nio".equalsIgnoreCase(System.getProperty("lodestone.transport")) && Epoll.isAvailable()) {
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

    /** Creates an event loop group of this transport; 0 threads means Netty's default. */
    public EventLoopGroup newGroup(int threads, String threadName) {
        IoHandlerFactory factory = this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(threadName, true), factory);
    }
}
