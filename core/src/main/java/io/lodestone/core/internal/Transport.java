package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannelRecvByteBufAllocator;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ThreadFactory;
import io.netty.util.concurrent.ThreadAwareExecutor;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.spi.SelectorProvider;
import java.util.function.Consumer;

/**
 * The channel transport: Linux io_uring where it loads (x86_64, a kernel that allows it), else native
 * epoll where it loads (Linux x86_64 and aarch64), else the JDK's NIO. The system property
 * {@code lodestone.transport} ({@code io_uring}, {@code epoll} or {@code nio}) asks for one; a
 * transport that does not load falls back to the next in that order.
 *
 * <p>io_uring comes first because it costs less per request: with 50 and 256 keep-alive clients of
 * small responses through one CPU, 6–30 % more requests/s than epoll at 13–28 % less CPU per
 * request, as the kernel is entered once per turn of the loop for all its reads and writes instead
 * of once per read and per write.
 *
 * <p>Epoll's event loops come from {@link EpollWithoutEmptyInterest}, which works around a bug in
 * Netty 4.2.18's epoll registration that cut the tail of a relayed transfer after a half-close.
 * Event loops an application hands in are used as they are.
 */
public enum Transport {
    /** Linux epoll through netty-transport-native-epoll. */
    EPOLL(EpollServerSocketChannel.class, EpollSocketChannel.class),
    /** The JDK's NIO selector. */
    NIO(NioServerSocketChannel.class, NioSocketChannel.class),
    /** Linux io_uring through netty-transport-native-io_uring. */
    IO_URING(IoUringServerSocketChannel.class, IoUringSocketChannel.class);

    /**
     * Netty's system property for io_uring's multishot poll, which Lodestone turns off unless the
     * application has set it. With it on, Netty 4.2.18's io_uring channel misses a reset that arrives
     * while it is reading the bytes sent just before it: the multishot poll's wake-up is dropped while
     * a read is in flight, the last read leaves the socket empty but for the error, and nothing reads
     * again until the socket's next event or its idle timeout, which then closed a relayed TCP session
     * as if it had ended. Netty reads the property once, when its {@code IoUring} class loads, so
     * this must run before: {@link Transport} touches io_uring only from its methods.
     */
    static final String MULTISHOT_POLL_PROPERTY = "io.netty.iouring.pollAddMultishotEnabled";

    /**
     * Netty's system property for io_uring's multishot accept, which Lodestone turns off unless the
     * application has set it, as {@link #MULTISHOT_POLL_PROPERTY}. With it on, Netty 4.2.18 arms a
     * new multishot accept at once after one ends with an error, whether the listening channel still
     * reads or not: at the process's file descriptor limit ({@code EMFILE}, with connections waiting
     * in the backlog) every accept fails at once, so the accept loop spun on one CPU and logged the
     * failure a few hundred thousand times in five seconds, where ServerBootstrap's pause of a
     * second after an accept error (epoll, NIO, single-shot io_uring) makes that one line a second.
     * A single-shot accept costs one more submission per accept burst.
     */
    static final String MULTISHOT_ACCEPT_PROPERTY = "io.netty.iouring.acceptMultiShotEnabled";

    static {
        if (System.getProperty(MULTISHOT_POLL_PROPERTY) == null) {
            System.setProperty(MULTISHOT_POLL_PROPERTY, "false");
        }
        if (System.getProperty(MULTISHOT_ACCEPT_PROPERTY) == null) {
            System.setProperty(MULTISHOT_ACCEPT_PROPERTY, "false");
        }
    }

    /** The most connections a listener accepts each time it is ready (HAProxy's default {@code maxaccept}). */
    public static final int ACCEPTS_PER_READ = 64;

    /** The unsent bytes the kernel queues on an accepted socket (epoll and io_uring): {@code TCP_NOTSENT_LOWAT}. */
    static final int CLIENT_NOTSENT_LOWAT = 512 * 1024;

    /** Linux's {@code TCP_QUICKACK} ({@code IPPROTO_TCP} 6, option 12), which Netty's listeners do not offer by name. */
    static final IntegerUnixChannelOption TCP_QUICKACK = new IntegerUnixChannelOption("TCP_QUICKACK", 6, 12);

    /** Linux's {@code TCP_DEFER_ACCEPT} ({@code IPPROTO_TCP} 6, option 9), in seconds, for io_uring's listeners too. */
    static final IntegerUnixChannelOption TCP_DEFER_ACCEPT = new IntegerUnixChannelOption("TCP_DEFER_ACCEPT", 6, 9);

    /**
     * Linux's {@code TCP_NOTSENT_LOWAT} ({@code IPPROTO_TCP} 6, option 25), which Netty's listeners do
     * not offer by name. Set on a listening socket, it is inherited by the sockets accepted from it.
     */
    static final IntegerUnixChannelOption TCP_NOTSENT_LOWAT = new IntegerUnixChannelOption("TCP_NOTSENT_LOWAT", 6, 25);

    private final Class<? extends ServerSocketChannel> serverChannelClass;
    private final Class<? extends SocketChannel> socketChannelClass;

    Transport(Class<? extends ServerSocketChannel> serverChannelClass, Class<? extends SocketChannel> socketChannelClass) {
        this.serverChannelClass = serverChannelClass;
        this.socketChannelClass = socketChannelClass;
    }

    /**
     * Returns the transport that {@code lodestone.transport} asks for, io_uring when it names none;
     * one that does not load falls back to epoll, then NIO.
     */
    public static Transport best() {
        Transport asked = asked();
        if (asked == NIO) {
            return NIO;
        }
        if (asked == IO_URING && IoUring.isAvailable()) {
            return IO_URING;
        }
        return Epoll.isAvailable() ? EPOLL : NIO;
    }

    /**
     * Returns the transport that {@code lodestone.transport} names ({@code io_uring}, {@code epoll} or
     * {@code nio}, in any case; io_uring when the property is not set), whether or not it loads here.
     *
     * @throws IllegalArgumentException when the property names none of them
     */
    public static Transport asked() {
        String asked = System.getProperty("lodestone.transport");
        if (asked == null || "io_uring".equalsIgnoreCase(asked)) {
            return IO_URING;
        }
        if ("epoll".equalsIgnoreCase(asked)) {
            return EPOLL;
        }
        if ("nio".equalsIgnoreCase(asked)) {
            return NIO;
        }
        throw new IllegalArgumentException("lodestone.transport: " + asked + " (expected: io_uring, epoll or nio)");
    }

    /** Whether this transport's native library loads here (NIO always does). */
    public boolean isAvailable() {
        return switch (this) {
            case EPOLL -> Epoll.isAvailable();
            case NIO -> true;
            case IO_URING -> IoUring.isAvailable();
        };
    }

    /** Returns the transport that the channels of an application-supplied group must use. */
    public static Transport of(EventLoopGroup group) {
        if (group instanceof IoEventLoopGroup io && Epoll.isAvailable()
                && (io.isIoType(EpollIoHandler.class) || io.isIoType(EpollWithoutEmptyInterest.class))) {
            return EPOLL;
        }
        if (group instanceof IoEventLoopGroup io && IoUring.isAvailable()
                && (io.isIoType(IoUringIoHandler.class) || io.isIoType(IoUringWithoutLostPollOut.class))) {
            return IO_URING;
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
     * an IPv4 socket for an IPv4 server rather than a dual-stack IPv6 one, and no reflection. Netty's
     * io_uring channels have no such choice and are always dual-stack.
     */
    public SocketChannel newSocketChannel(InetAddress target) {
        SocketProtocolFamily family = target instanceof Inet6Address ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
        try {
            return switch (this) {
                case EPOLL -> new EpollSocketChannel(family);
                case NIO -> new NioSocketChannel(SelectorProvider.provider(), family);
                case IO_URING -> guarded(new IoUringSocketChannel());
            };
        } catch (ChannelException e) {
            throw noSocket(e);
        }
    }

    /**
     * Connects {@code bootstrap} (whose resolver turns a host name into an address) to
     * {@code address}, as {@link Bootstrap#connect(SocketAddress)} does, except when the channel
     * cannot be made or registered (no file descriptor left: {@code socket()} failed with
     * {@code EMFILE}): this throws {@link NoSocketException} on the caller's thread, as
     * {@link #newSocketChannel} does. Netty fails such a connect with the future of a placeholder
     * channel that has no event loop: its listeners run on Netty's global executor, away from the
     * loop the connect was for, and closing the channel throws, so an engine that handled it as a
     * failed connect touched its connection's state from another thread, and left the client open.
     */
    public static ChannelFuture connect(Bootstrap bootstrap, SocketAddress address) {
        ChannelFuture f = bootstrap.connect(address);
        if (f.isDone() && !f.isSuccess() && !f.channel().isRegistered()) {
            // Netty closed what it made: nothing is left to close
            throw noSocket(f.cause());
        }
        return f;
    }

    private static NoSocketException noSocket(Throwable cause) {
        // the system's reason ("... failed with error(-24): Too many open files"), not its wrappers
        Throwable root = cause;
        for (int i = 0; i < 8 && root.getCause() != null; i++) {
            root = root.getCause();
        }
        return new NoSocketException("no socket for a server connection: "
                + (root.getMessage() != null ? root.getMessage() : root.toString()), cause);
    }

    /**
     * Makes unregistered client channels of the default address family, for bootstraps that resolve
     * a host name first; io_uring ones start with their {@link CloseGuard}. Such a bootstrap connects
     * through {@link #connect(Bootstrap, SocketAddress)}, which turns a channel that cannot be made
     * into a {@link NoSocketException}.
     */
    public ChannelFactory<SocketChannel> socketChannelFactory() {
        return switch (this) {
            case EPOLL -> EpollSocketChannel::new;
            case NIO -> NioSocketChannel::new;
            case IO_URING -> () -> guarded(new IoUringSocketChannel());
        };
    }

    /**
     * Readies a connection a listener of this transport accepted, before any other handler is added:
     * on io_uring, puts its {@link CloseGuard} first. Client channels made by
     * {@link #newSocketChannel} and {@link #socketChannelFactory} have theirs already.
     */
    public void accepted(Channel ch) {
        if (this == IO_URING) {
            CloseGuard.install(ch);
        }
    }

    private static SocketChannel guarded(SocketChannel ch) {
        CloseGuard.install(ch);
        return ch;
    }

    /**
     * Registers {@code ch}, made by {@link #newSocketChannel}, with {@code loop} and connects it to
     * {@code address}; {@code beforeConnect}, when not {@code null}, runs once the channel is
     * registered and before the connect is issued (to build its pipeline). The future completes
     * when the connection is up; on failure the caller closes the channel. A registration that fails
     * fails it with a {@link NoSocketException}.
     */
    public ChannelFuture connect(EventLoop loop, SocketChannel ch, InetSocketAddress address, Consumer<Channel> beforeConnect) {
        ChannelPromise connected = new DefaultChannelPromise(ch, loop);
        loop.register(ch).addListener((ChannelFutureListener) registered -> {
            if (!registered.isSuccess()) {
                // Netty closed the channel: a resource of the proxy, as a socket that cannot be made
                connected.tryFailure(noSocket(registered.cause()));
                return;
            }
            if (beforeConnect != null) {
                beforeConnect.accept(ch);
            }
            ch.connect(address, connected);
        });
        return connected;
    }

    /** Creates an unregistered listening channel with the address family of {@code bind}. */
    public ServerSocketChannel newServerSocketChannel(InetAddress bind) {
        SocketProtocolFamily family = bind instanceof Inet6Address ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
        return switch (this) {
            case EPOLL -> new EpollServerSocketChannel(family);
            case NIO -> new NioServerSocketChannel(SelectorProvider.provider(), family);
            case IO_URING -> new IoUringServerSocketChannel();
        };
    }

    /**
     * Binds {@code bootstrap}, which must have no channel class or factory yet, to {@code address}
     * with a listening socket of the address's family: an IPv4 address gets an IPv4 socket rather
     * than a dual-stack IPv6 one, whose accepted connections would each be IPv6 sockets. A host name
     * is resolved first; one that does not resolve fails with a message naming {@code field}.
     *
     * <p>The listener accepts until the kernel's queue is empty, at most {@link #ACCEPTS_PER_READ}
     * connections each time it is ready. Netty 4.2's epoll listener stops after one: it goes on
     * only when a read returned as many bytes as it asked for, and an accept returns a descriptor
     * number instead. Under load each turn of the event loop, which may take milliseconds with
     * hundreds of busy connections, then took in a single new connection, so 256 clients arriving
     * at once waited up to half a second to be accepted.
     *
     * <p>On epoll and io_uring, every accepted socket gets {@code TCP_NOTSENT_LOWAT} {@link #CLIENT_NOTSENT_LOWAT}:
     * the kernel takes at most that much data not yet sent to the client, on top of what is in
     * flight. The listening socket gets it, and the sockets accepted from it inherit it, which spares
     * a {@code setsockopt} per connection. Without it a write may queue megabytes in an autotuned
     * send buffer (Netty writes up to twice its size at once), and with a few large downloads on one
     * event loop some of them wait behind the others' queues: 10 MiB responses to 4 clients had a
     * p99 of 80–117 ms, with it 61–71 ms, at the same or a higher rate.
     */
    public Channel bind(ServerBootstrap bootstrap, InetSocketAddress address, String field) {
        return bind(bootstrap, address, field, false);
    }

    /**
     * As {@link #bind(ServerBootstrap, InetSocketAddress, String)}; with {@code ackWithFirstAnswer},
     * for a protocol in which the client speaks first and the proxy answers at once (HTTP), the
     * accepted connections do not acknowledge the client's first data on their own. The listening
     * socket (epoll and io_uring) gets {@code TCP_QUICKACK} 0 once it listens, which accepted sockets inherit: the
     * kernel then delays the acknowledgement of a new connection's first segment, and the answer
     * carries it. Without it the kernel acknowledges a request on its own the moment it arrives, one
     * segment more per new connection, which the client's side of the kernel must also take in. When
     * no answer comes within the delayed-acknowledgement timeout (40 ms on Linux), the kernel
     * acknowledges anyway. HAProxy does the same in HTTP mode ({@code option tcp-smart-accept}), and
     * makes the same trade: a client that keeps Nagle's algorithm on and writes a request in two
     * small pieces holds back the second until that acknowledgement comes.
     */
    public Channel bind(ServerBootstrap bootstrap, InetSocketAddress address, String field, boolean ackWithFirstAnswer) {
        InetSocketAddress resolved = address.isUnresolved()
                ? new InetSocketAddress(address.getHostString(), address.getPort()) : address;
        if (resolved.isUnresolved()) {
            throw new IllegalArgumentException(field + ": " + address.getHostString() + ":" + address.getPort()
                    + " (cannot resolve the host)");
        }
        InetAddress host = resolved.getAddress();
        ServerChannelRecvByteBufAllocator accepts = new ServerChannelRecvByteBufAllocator();
        accepts.respectMaybeMoreData(false).maxMessagesPerRead(ACCEPTS_PER_READ);
        ServerBootstrap listener = bootstrap.clone();
        if (this != NIO) {
            listener.option(TCP_NOTSENT_LOWAT, CLIENT_NOTSENT_LOWAT);
        }
        Channel channel = listener.channelFactory(() -> newServerSocketChannel(host))
                .option(ChannelOption.RCVBUF_ALLOCATOR, accepts)
                .bind(resolved).syncUninterruptibly().channel();
        if (ackWithFirstAnswer && this != NIO) {
            // after listen(2), which resets the socket's acknowledgement state
            channel.config().setOption(TCP_QUICKACK, 0);
        }
        return channel;
    }

    /**
     * Turns Linux's {@code TCP_DEFER_ACCEPT} on (one second) or off on a listening channel bound by
     * {@link #bind}: with it on, the kernel queues a new connection for accept only once its client
     * has sent data. Not on NIO, which has no such option; there it does nothing.
     */
    public void deferAccept(Channel listener, boolean on) {
        if (this != NIO) {
            listener.config().setOption(TCP_DEFER_ACCEPT, on ? 1 : 0);
        }
    }

    /** Creates an event loop group of this transport; 0 threads means Netty's default. */
    public EventLoopGroup newGroup(int threads, String threadName) {
        return newGroup(threads, threadName, 0);
    }

    /**
     * Creates an event loop group of this transport whose loops busy-poll for {@code busyPollNanos}
     * after they last handled I/O ({@link BusyPoll}); 0 never busy-polls, and NIO loops never do.
     */
    public EventLoopGroup newGroup(int threads, String threadName, long busyPollNanos) {
        return newGroup(threads, threadName, busyPollNanos, Clock.system());
    }

    /**
     * Creates an event loop group of this transport as {@link #newGroup(int, String, long)} does, whose
     * timers follow {@code clock}: Netty's own loops for {@link Clock#system()}, {@link ProxyClockLoops}
     * for any other clock.
     */
    public EventLoopGroup newGroup(int threads, String threadName, long busyPollNanos, Clock clock) {
        Clock timerClock = clock == Clock.system() ? null : clock;
        IoHandlerFactory factory = switch (this) {
            case EPOLL -> EpollWithoutEmptyInterest.newFactory(busyPollNanos, timerClock);
            case NIO -> timerClock == null ? NioIoHandler.newFactory() : ClockedIoHandler.aroundNio(NioIoHandler.newFactory(), timerClock);
            case IO_URING -> IoUringWithoutLostPollOut.newFactory(busyPollNanos, timerClock);
        };
        ThreadFactory threadFactory = new DefaultThreadFactory(threadName, true);
        return timerClock == null
                ? new MultiThreadIoEventLoopGroup(threads, threadFactory, onFixedThreads(factory))
                : ProxyClockLoops.newGroup(threads, threadFactory, onFixedThreads(factory), timerClock);
    }

    /**
     * {@code factory}, saying that its handlers stay on the thread they start on. Netty lets an event
     * loop whose handler could move between threads be suspended by an auto-scaling group, and to
     * decide when, it times the I/O of every turn of such a loop: three clock readings per turn. The
     * groups here have a fixed number of threads and never suspend a loop, so the readings are saved.
     */
    static IoHandlerFactory onFixedThreads(IoHandlerFactory factory) {
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(ThreadAwareExecutor executor) {
                return factory.newHandler(executor);
            }

            @Override
            public boolean isChangingThreadSupported() {
                return false;
            }
        };
    }
}
