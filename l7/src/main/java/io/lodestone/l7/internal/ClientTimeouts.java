package io.lodestone.l7.internal;

import io.lodestone.core.internal.LoopClock;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The client connection's timers, first in its pipeline so that it sees raw bytes: between requests
 * the keep-alive timeout runs; from the first byte of a request until its head is decoded the client
 * timeout runs (then 408); while its body comes, the client timeout runs again from each read, unless
 * the proxy itself has stopped reading the client (then 408 too, while no response has begun); after a
 * response that came before its request's end, the client timeout bounds how long the connection lingers. One scheduled task per connection at a time, moved forward lazily, so a
 * request costs no scheduling; the time is the event loop's {@link LoopClock}, read once per turn.
 *
 * <p>On an HTTP/2 stream ({@link #forStream}) the head arrives whole with the stream's first read, so the client
 * timeout is scheduled only when the read burst that opened the stream ends without a whole request head (a request
 * held for its next frame), and the keep-alive timer never runs (the connection has its own): a stream costs no
 * scheduling either.
 */
final class ClientTimeouts extends ChannelInboundHandlerAdapter implements Runnable {

    private static final int IDLE = 0;
    private static final int HEAD = 1;
    private static final int BUSY = 2;
    private static final int LINGER = 3;
    private static final int BODY = 4;

    private final long clientTimeoutNanos;
    private final long keepAliveNanos;
    private final HttpProxyHandler proxy;
    private final boolean stream;
    private ChannelHandlerContext ctx;
    private int state = HEAD;
    private long deadline;
    private long scheduledAt;
    private ScheduledFuture<?> task;
    private long headStart;
    private long headNanos = -1;

    ClientTimeouts(long clientTimeoutNanos, long keepAliveNanos, HttpProxyHandler proxy) {
        this(clientTimeoutNanos, keepAliveNanos, proxy, false);
    }

    private ClientTimeouts(long clientTimeoutNanos, long keepAliveNanos, HttpProxyHandler proxy, boolean stream) {
        this.clientTimeoutNanos = clientTimeoutNanos;
        this.keepAliveNanos = keepAliveNanos;
        this.proxy = proxy;
        this.stream = stream;
    }

    /** The timers of an HTTP/2 stream: see the class comment. */
    static ClientTimeouts forStream(long clientTimeoutNanos, HttpProxyHandler proxy) {
        return new ClientTimeouts(clientTimeoutNanos, 0, proxy, true);
    }

    /**
     * Not sharable, as Netty's reflective check finds: said without it, since that check (a lookup in a
     * per-thread map of classes) ran for every handler added, per HTTP/2 stream too.
     */
    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        arm(HEAD, clientTimeoutNanos);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // the timer stops but the state stays: a head the close cut short, which the decoder hands on
        // after this, is still timed from its first byte (busy())
        cancelTask();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == IDLE) {
            arm(HEAD, clientTimeoutNanos);
        } else if (state == BODY) {
            // moved forward lazily: the scheduled task looks at the deadline when it runs
            deadline = LoopClock.nanoTime() + clientTimeoutNanos;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (stream && state == HEAD && task == null) {
            schedule(LoopClock.nanoTime());
        }
        ctx.fireChannelReadComplete();
    }

    /** A request head arrived: no client timer until its response is done. */
    void busy() {
        headNanos = state == HEAD ? LoopClock.nanoTime() - headStart : -1;
        state = BUSY;
    }

    /**
     * How long the head of the request that just arrived took from its first byte (HAProxy's
     * {@code TR}, the access log's request time), or -1 when it was already read while the previous
     * request was being served (pipelining).
     */
    long requestHeadNanos() {
        return headNanos;
    }

    /**
     * The request's body is still to come: the client timeout runs from now and again from each read
     * until {@link #bodyDone}, as HAProxy's {@code timeout client} bounds a client that stops sending
     * its body (nginx's {@code client_body_timeout}). Does nothing while it already runs.
     */
    void body() {
        if (state != BODY) {
            arm(BODY, clientTimeoutNanos);
        }
    }

    /** The request's body has ended: no client timer until its response is done. */
    void bodyDone() {
        if (state == BODY) {
            state = BUSY;
        }
    }

    /**
     * A response is done: the keep-alive timer runs until the next request's first byte (not on a
     * stream); when part of the next head has already come ({@code headUnderWay}, read while the
     * response was under way), that request is not idle, and the client timeout runs for it from now.
     */
    void idle(boolean headUnderWay) {
        if (stream) {
            state = BUSY;
            return;
        }
        if (headUnderWay) {
            arm(HEAD, clientTimeoutNanos);
        } else {
            arm(IDLE, keepAliveNanos);
        }
    }

    /**
     * The connection lingers after a response that came before its request's end: it is closed when
     * the client timeout runs out, whatever the client still sends.
     */
    void linger() {
        arm(LINGER, clientTimeoutNanos);
    }

    private void arm(int newState, long timeoutNanos) {
        state = newState;
        long now = LoopClock.nanoTime();
        if (newState == HEAD) {
            headStart = now;
        }
        deadline = now + timeoutNanos;
        if (task != null && scheduledAt - deadline > 0) {
            task.cancel(false);
            task = null;
        }
        if (task == null && !(stream && newState == HEAD)) {
            schedule(now);
        }
    }

    private void schedule(long now) {
        scheduledAt = deadline;
        task = ctx.executor().schedule(this, deadline - now, TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        cancelTask();
        state = BUSY;
    }

    private void cancelTask() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    @Override
    public void run() {
        task = null;
        if (state == BUSY || !ctx.channel().isActive()) {
            return;
        }
        long now = LoopClock.nanoTime();
        if (state == BODY && !ctx.channel().config().isAutoRead()) {
            // the proxy has stopped reading the client (its server takes no more yet): the client is
            // not the quiet side; its time starts again when the proxy reads it again
            deadline = now + clientTimeoutNanos;
        }
        if (deadline - now > 0) {
            schedule(now);
            return;
        }
        int expired = state;
        state = BUSY;
        if (expired == HEAD) {
            proxy.requestHeadTimedOut(now - headStart);
        } else if (expired == BODY) {
            proxy.requestBodyTimedOut();
        } else if (expired == LINGER) {
            proxy.lingerTimedOut();
        } else {
            proxy.keepAliveTimedOut();
        }
    }
}
