package io.lodestone.core.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends connections at their sockets, as the proxy does with what is still open at the end of its
 * drain timeout. The close passes none of the connection's handlers (only the io_uring
 * {@link CloseGuard}), so nothing is sent first and nothing waits for the peer: no TLS
 * {@code close_notify}, no HTTP/2 GOAWAY. Going through them can hold a close: {@code SslHandler}
 * waits up to 3 s for its {@code close_notify} to leave a socket the peer does not read, and Netty's
 * HTTP/2 codec waits for the connection's streams to end, for ever when the connection goes down in
 * the meantime (its streams then end without telling it), which io_uring's deferred close brings
 * about. A response cut short by the stop is better not followed by a {@code close_notify} anyway:
 * it would make a body delimited by the close look whole.
 */
public final class SocketClose {

    /** How long {@link #awaitClosed} waits: a close at the socket takes a turn of the event loop. */
    static final Duration AWAIT = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(SocketClose.class);

    private SocketClose() {
    }

    /** Closes {@code ch}'s socket on its event loop; any thread. */
    public static void close(Channel ch) {
        if (ch.eventLoop().inEventLoop()) {
            closeNow(ch);
            return;
        }
        try {
            ch.eventLoop().execute(() -> closeNow(ch));
        } catch (RejectedExecutionException e) {
            // an event loop the application handed in and already shuts down
            ch.close();
        }
    }

    /** Closes {@code ch}'s socket; on its event loop. */
    public static void closeNow(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        ChannelHandlerContext guard = p.context(PipelineNames.CLOSE_GUARD);
        if (guard != null) {
            ((CloseGuard) guard.handler()).closeSocket(guard);
            return;
        }
        ChannelHandlerContext first = p.firstContext();
        if (first != null) {
            // from the first handler's context: on to the channel, passing no handler
            first.close();
        } else {
            ch.close();
        }
    }

    /**
     * Waits for every channel of {@code group}, closed at its socket, to be closed, uninterruptibly and
     * for at most {@link #AWAIT}; logs a warning naming {@code owner} when some are still open then.
     * Returns whether all closed. It waits on each channel's close future, not on the group's: the
     * group's future belongs to the {@code GlobalEventExecutor}, on which the proxy retires a listener
     * that a reconfiguration removed, and waiting on it from there throws
     * {@code BlockingOperationException}: the listener's close stopped half-way (its response caches
     * stayed registered, and held, for the life of the proxy).
     */
    public static boolean awaitClosed(ChannelGroup group, String owner) {
        long deadline = System.nanoTime() + AWAIT.toNanos();
        int open = 0;
        for (Channel ch : group) {
            // past the deadline a zero wait only looks
            if (!ch.closeFuture().awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                open++;
            }
        }
        if (open == 0) {
            return true;
        }
        log.warn("{}: {} connections still open {} s after the stop closed them; no longer waiting", owner, open, AWAIT.toSeconds());
        return false;
    }
}
