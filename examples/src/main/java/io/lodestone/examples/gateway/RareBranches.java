package io.lodestone.examples.gateway;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The part of the {@code --warm-up} run that takes the branches of Netty's channel code which only a
 * race reaches, on each transport that loads here.
 *
 * <p>When a client resets its connection in the same turn of the event loop in which its server's
 * next bytes arrive, the proxy writes those bytes to a channel that has just closed, and asks it
 * whether it is writable. A load generator that stops in the middle of large downloads does that
 * often; the warm-up's clients, whose pace is their own, hardly ever. Until the JIT has seen such a
 * write, its compiled channel write has no code for it: the first one sends the method back to the
 * interpreter, and its recompilation, a quarter of a second of one CPU, then delays the requests
 * that follow. The same holds for asking a channel that is already reading to read.
 *
 * <p>So, on a connection between two channels of the transport, this reads twice without waiting,
 * closes the connection, and then writes to it, flushes it and asks whether it is writable, from its
 * event loop as the proxy does. A branch that the JIT has seen taken even a few times is compiled
 * with the rest (a method already compiled without it is compiled again then, still within the
 * warm-up), and none of this reaches the proxy or its servers.
 *
 * <p>{@link #wrapOperationIds()} does the same for a branch that only a long-lived connection reaches,
 * and {@link #connectWithTimeouts()} for one that the profile misses when connections are closed far
 * more often than opened.
 */
final class RareBranches {

    /** How many times each closed-channel operation runs: enough that the profile keeps it. */
    static final int TIMES = 256;

    /**
     * The io_uring operations one channel of {@link #wrapOperationIds()} submits: past the 32,768
     * after which Netty's per-channel operation id reaches 0 and is skipped.
     */
    static final int OPERATIONS = 40_000;

    /**
     * The connections {@link #connectWithTimeouts()} opens: enough that the channel's connect path is
     * profiled, not only run before profiling starts.
     */
    static final int CONNECTS = 2_000;
    private static final long TIMEOUT_SECONDS = 10;

    private RareBranches() {
    }

    /**
     * Takes the rare branches on io_uring and epoll when their native libraries load, and on NIO.
     *
     * @return the client channel classes it ran with, in that order
     * @throws IllegalStateException when a connection on 127.0.0.1 fails or takes more than ten seconds,
     *         or a closed channel does not refuse a write
     */
    static List<Class<? extends Channel>> takeOnEveryTransport() {
        List<Class<? extends Channel>> taken = new ArrayList<>(3);
        if (IoUring.isAvailable()) {
            taken.add(take(IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class, IoUringSocketChannel.class));
        }
        if (Epoll.isAvailable()) {
            taken.add(take(EpollIoHandler.newFactory(), EpollServerSocketChannel.class, EpollSocketChannel.class));
        }
        taken.add(take(NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class));
        return taken;
    }

    /**
     * On io_uring, when it loads: one channel submits {@value #OPERATIONS} operations, one write of a
     * byte after another, so that Netty's per-channel operation id wraps.
     *
     * <p>Netty 4.2.18 numbers the operations each io_uring channel submits with a {@code short} that
     * starts at {@link Short#MIN_VALUE} and skips 0, which it keeps for "none". The skip is a branch
     * that a channel takes only after 32,768 operations, so no short warm-up takes it, and the JIT
     * compiles every path that submits an operation (a poll, a receive, a send, an accept) without
     * it. A pooled server connection gets there after a minute or so of load, and that first skip
     * sends the compiled code of the path back to the interpreter; in a run of a new connection per
     * request behind a gateway on one core, recompiling the read completion and the accept path that
     * had it inlined took 334 ms of that core within half a second, 36 s after the load began.
     * Taken here first, before anything else is compiled, the branch is in the profile (the JIT also
     * notes the one recompilation that this channel's own compiled code may need), and every later
     * compilation keeps it.
     *
     * @return the writes that completed, {@value #OPERATIONS}; 0 when io_uring does not load here
     * @throws IllegalStateException when a connection on 127.0.0.1 fails, a write fails, or no write
     *         completes for ten seconds
     */
    static int wrapOperationIds() {
        return onIoUring("wrapping io_uring's operation ids", (group, server) -> {
            Channel client = new Bootstrap().group(group).channel(IoUringSocketChannel.class)
                    .handler(new Discard())
                    .connect(server.localAddress()).sync().channel();
            CompletableFuture<Integer> done = new CompletableFuture<>();
            AtomicInteger progress = new AtomicInteger();
            client.eventLoop().execute(() -> writeOneAfterAnother(client, 0, progress, done));
            int written = awaitProgress(done, progress);
            client.close().sync();
            return written;
        });
    }

    /**
     * Writes one byte once the write before it has completed, so that each is an operation of its
     * own; completes {@code done} with the count after {@value #OPERATIONS}, or with the first failure.
     * {@code progress} follows the count.
     */
    private static void writeOneAfterAnother(Channel client, int written, AtomicInteger progress,
            CompletableFuture<Integer> done) {
        progress.lazySet(written);
        if (written == OPERATIONS) {
            done.complete(written);
            return;
        }
        client.writeAndFlush(oneByte(client)).addListener(write -> {
            if (write.isSuccess()) {
                writeOneAfterAnother(client, written + 1, progress, done);
            } else {
                done.completeExceptionally(write.cause());
            }
        });
    }

    /**
     * Waits for {@code done} as long as {@code progress} moves, and fails once it has stood still for
     * ten seconds. A bound on the whole failed the warm-up (and the gateway's start) on a machine busy
     * with other work, where the 40,000 writes took more than ten seconds while none of them hung.
     */
    private static int awaitProgress(CompletableFuture<Integer> done, AtomicInteger progress)
            throws InterruptedException, ExecutionException, TimeoutException {
        int seen = 0;
        while (true) {
            try {
                return done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                int now = progress.get();
                if (now == seen) {
                    throw new TimeoutException("no write completed in " + TIMEOUT_SECONDS + " s, after " + now + " of "
                            + OPERATIONS);
                }
                seen = now;
            }
        }
    }

    /**
     * On io_uring, when it loads: {@value #CONNECTS} connections opened with a connect timeout and
     * closed again, one after another.
     *
     * <p>Netty's io_uring channel cancels a connection's connect timeout when the connect completes
     * and again when the channel closes, through one method whose profile the JIT shares between
     * the two. Connections are closed far more often than opened: in a rig-like run the profile
     * that the JIT compiled the channel's completion handler from held 7,338 calls, every one a
     * close without a timeout, and the first server connection opened in a measured round sent that
     * compiled handler back to the interpreter; compiling it again took 257 ms of the gateway's
     * core. Opening and closing connections here, before anything else, puts both in the profile.
     *
     * @return the connections opened and closed, {@value #CONNECTS}; 0 when io_uring does not load here
     * @throws IllegalStateException when a connection on 127.0.0.1 fails, or takes more than ten
     *         seconds to open (its connect timeout) or to close
     */
    static int connectWithTimeouts() {
        return onIoUring("connecting with timeouts", (group, server) -> {
            Bootstrap connect = new Bootstrap().group(group).channel(IoUringSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS))
                    .handler(new Discard());
            // each connection bounded, not the whole: on a busy machine the 2,000 take longer, and none hangs
            for (int i = 0; i < CONNECTS; i++) {
                ChannelFuture closed = connect.connect(server.localAddress()).sync().channel().close();
                if (!closed.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    throw new TimeoutException("connection " + (i + 1) + " of " + CONNECTS + " not closed in "
                            + TIMEOUT_SECONDS + " s");
                }
                closed.sync();
            }
            return CONNECTS;
        });
    }

    /** What {@link #withServer} runs: given the event loop group and the listening channel. */
    /**
     * {@link #withServer} on io_uring, counting what {@code body} did; 0 without running it when
     * io_uring does not load here.
     */
    private static int onIoUring(String what, OnServer<Integer> body) {
        if (!IoUring.isAvailable()) {
            return 0;
        }
        return withServer(IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class, what, body);
    }

    private interface OnServer<T> {
        T run(EventLoopGroup group, Channel server) throws InterruptedException, ExecutionException, TimeoutException;
    }

    /**
     * Runs {@code body} beside a discarding server of {@code serverClass} on an ephemeral port of
     * 127.0.0.1, in an event loop group of one loop of {@code io}, then closes the server and shuts
     * the group down.
     *
     * @throws IllegalStateException naming {@code what} when {@code body} fails, is interrupted or
     *         times out
     */
    private static <T> T withServer(IoHandlerFactory io, Class<? extends ServerChannel> serverClass, String what,
            OnServer<T> body) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
        try {
            Channel server = new ServerBootstrap().group(group).channel(serverClass)
                    .childHandler(new Discard())
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            try {
                return body.run(group, server);
            } finally {
                server.close().sync();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + what, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(what + ": " + e, e);
        } finally {
            group.shutdownGracefully(0, TIMEOUT_SECONDS, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static Class<? extends Channel> take(IoHandlerFactory io, Class<? extends ServerChannel> serverClass,
            Class<? extends Channel> clientClass) {
        return withServer(io, serverClass, "taking the rare branches on " + clientClass.getSimpleName(), (group, server) -> {
            Channel client = new Bootstrap().group(group).channel(clientClass)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new Quiet())
                    .connect(server.localAddress()).sync().channel();
            CompletableFuture<Void> done = new CompletableFuture<>();
            client.eventLoop().execute(() -> {
                client.read();
                client.read();
                client.close().addListener(closed -> {
                    try {
                        onClosed(client);
                        done.complete(null);
                    } catch (RuntimeException e) {
                        done.completeExceptionally(e);
                    }
                });
            });
            done.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return clientClass;
        });
    }

    /**
     * On the closed channel's event loop, what the proxy does to a client that reset mid-response:
     * each write must fail as closed and free its buffer, whether it has a promise of its own or the
     * channel's void one, and the channel must not say it is writable.
     */
    private static void onClosed(Channel closed) {
        for (int i = 0; i < TIMES; i++) {
            expectRefused(closed, closed.write(oneByte(closed)));
            expectRefused(closed, closed.writeAndFlush(oneByte(closed)));
            ByteBuf one = oneByte(closed);
            closed.write(one, closed.voidPromise());
            if (one.refCnt() != 0) {
                throw new IllegalStateException("a closed " + name(closed) + " kept a buffer written with the void promise");
            }
            closed.flush();
            if (closed.isWritable()) {
                throw new IllegalStateException("a closed " + name(closed) + " says it is writable");
            }
        }
    }

    private static ByteBuf oneByte(Channel channel) {
        return channel.alloc().buffer(1).writeByte('x');
    }

    private static void expectRefused(Channel closed, ChannelFuture write) {
        if (!(write.cause() instanceof ClosedChannelException)) {
            throw new IllegalStateException("a write to a closed " + name(closed) + " ended with "
                    + (write.isDone() ? write.cause() : "nothing yet"));
        }
    }

    private static String name(Channel channel) {
        return channel.getClass().getSimpleName();
    }

    /** Frees what a connection of this class's servers, or a client of {@link #connectWithTimeouts()}, reads. */
    @ChannelHandler.Sharable
    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Keeps a refused write's failure, which a void promise reports to the pipeline while the channel
     * is still registered, from reaching the pipeline's tail and being logged as unhandled.
     */
    private static final class Quiet extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof ClosedChannelException)) {
                ctx.fireExceptionCaught(cause);
            }
        }
    }
}
