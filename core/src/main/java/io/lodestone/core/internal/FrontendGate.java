package io.lodestone.core.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A frontend's connection limit (its maxconn) where connections are accepted, shared by both
 * engines: the handler of every listening channel of one frontend, all registered on one accept
 * loop. The gate counts a connection when the accept loop reads it, before the connection reaches
 * its own loop; at the limit it stops accepting (auto-read off on the listening channels, so further
 * connections wait in the kernel's backlog), and connections the transport accepted in the same
 * burst beyond the limit wait, accepted but not served, until a slot frees. Each admitted connection
 * is {@link #release released} once when it closes, which serves a waiting one or resumes accepting.
 * With a limit of 0 it only counts. A connection waiting on a listening channel that closed meanwhile
 * (an address a reconfiguration dropped) is served through another listening channel of the frontend.
 *
 * <p>A counted connection that never reaches its loop gives its slot back at once: when the engine
 * fails to prepare it, or when its loop does not take it (a loop shutting down refuses the
 * registration, closes the channel, and the close listeners meant to release it never run, since
 * they would run on that loop). The gate keeps the admitted channels to release each exactly once,
 * whichever of these paths and the close comes first.
 *
 * <p>An engine subclasses it for what differs: {@link #admissible} may refuse a connection before
 * it is counted (a per-source limit), {@link #admitted} prepares a counted connection before it is
 * handed on to be registered, {@link #abandoned} gives back what a connection held when it is closed
 * before it reached its loop. No lock: the count is atomic, the admitted channels are a concurrent
 * set, and the waiting connections belong to the accept loop.
 */
@ChannelHandler.Sharable
public abstract class FrontendGate extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(FrontendGate.class);

    private final EventLoop acceptLoop;
    private final int maxConnections;
    /** The listening channels, as the listener binds them. */
    private final List<Channel> listening;
    /** Connections admitted and not released yet. */
    private final AtomicInteger open = new AtomicInteger();
    /** The channels counted in {@link #open}, so that each is released once. */
    private final Set<Channel> admittedChannels = ConcurrentHashMap.newKeySet();
    private final Runnable admitWaiting = this::admitWaiting;
    private volatile boolean closing;
    /** Accepted connections over the limit, not served yet; accept loop only. */
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();

    /**
     * @param acceptLoop the loop every listening channel is registered on
     * @param maxConnections the frontend's limit, 0 for none
     * @param listening the listening channels open now, kept by the listener as it binds and drops them
     */
    protected FrontendGate(EventLoop acceptLoop, int maxConnections, List<Channel> listening) {
        this.acceptLoop = acceptLoop;
        this.maxConnections = maxConnections;
        this.listening = listening;
    }

    /** The loop every listening channel is registered on. */
    public final EventLoop acceptLoop() {
        return acceptLoop;
    }

    /** Connections admitted and not released yet. */
    public final int connections() {
        return open.get();
    }

    /**
     * Accept loop only: whether an accepted connection may be counted; the gate closes it at once when
     * not. Every connection is admissible unless an engine says otherwise.
     */
    protected boolean admissible(Channel child) {
        return true;
    }

    /** Accept loop only: a connection was counted and is handed on to be registered on its own loop next. */
    protected abstract void admitted(Channel child);

    /**
     * Accept loop only: a connection is closed before it reached its own loop: one that waited for a
     * slot when the frontend stops accepting, or one admitted that the engine failed to prepare or
     * its loop did not take. Gives back what {@link #admissible} took.
     */
    protected void abandoned(Channel child) {
    }

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel child = (Channel) msg;
        if (closing || !admissible(child)) {
            child.unsafe().closeForcibly();
        } else if (maxConnections > 0 && (open.get() >= maxConnections || !waiting.isEmpty())) {
            waiting.add(new Waiting(ctx, child));
            setAccepting(false);
        } else {
            admit(ctx, child);
        }
    }

    /**
     * An admitted connection closed: frees its slot and, under a limit, serves a waiting one or
     * resumes accepting. Returns whether it did, {@code false} when the slot was given back already
     * (the connection never reached its loop) or the channel was never admitted.
     */
    public final boolean release(Channel child) {
        if (!admittedChannels.remove(child)) {
            return false;
        }
        open.decrementAndGet();
        if (maxConnections > 0 && !acceptLoop.isShuttingDown()) {
            acceptLoop.execute(admitWaiting);
        }
        return true;
    }

    /**
     * Stops accepting: closes the listening channels, then the connections waiting for a slot. Any
     * thread but the accept loop.
     */
    public final void stopAccepting() {
        closing = true;
        for (Channel ch : listening) {
            ch.close().syncUninterruptibly();
        }
        if (!acceptLoop.isShuttingDown()) {
            acceptLoop.submit(this::closeWaiting).awaitUninterruptibly();
        }
    }

    /** Accept loop only. */
    private void admit(ChannelHandlerContext listeningCtx, Channel child) {
        if (listeningCtx.isRemoved()) {
            // it waited on a listening socket closed since (an address a reconfiguration dropped),
            // whose pipeline would drop it: another socket of the frontend hands it on alike
            listeningCtx = liveContext();
            if (listeningCtx == null) {
                abandoned(child);
                child.unsafe().closeForcibly();
                return;
            }
        }
        admittedChannels.add(child);
        int now = open.incrementAndGet();
        try {
            admitted(child);
        } catch (RuntimeException e) {
            log.warn("closing an accepted connection that could not be prepared: {}", child, e);
            notServed(child);
            return;
        }
        if (maxConnections > 0 && now >= maxConnections) {
            setAccepting(false);
        }
        listeningCtx.fireChannelRead(child);
        // a loop that refuses the registration closes the channel here, before it was ever registered
        if (!child.isOpen() && !child.isRegistered()) {
            notServed(child);
        }
    }

    /** Accept loop only: an admitted connection closed before it reached its loop; its slot is given back once. */
    private void notServed(Channel child) {
        if (child.isOpen()) {
            child.unsafe().closeForcibly();
        }
        if (release(child)) {
            abandoned(child);
        }
    }

    /** Accept loop only: serves waiting connections while slots are free, then resumes accepting. */
    private void admitWaiting() {
        while (!waiting.isEmpty() && open.get() < maxConnections) {
            Waiting w = waiting.poll();
            if (closing) {
                abandoned(w.child);
                w.child.unsafe().closeForcibly();
            } else {
                admit(w.listeningCtx, w.child);
            }
        }
        if (waiting.isEmpty() && open.get() < maxConnections && !closing) {
            setAccepting(true);
        }
    }

    /**
     * Accept loop only: the gate's context in the pipeline of a listening channel still open, or
     * {@code null}. Every listening channel of a frontend is bound through the same bootstrap, so any
     * of them registers an accepted connection as the one that accepted it would have.
     */
    private ChannelHandlerContext liveContext() {
        for (Channel ch : listening) {
            ChannelHandlerContext ctx = ch.pipeline().context(this);
            if (ctx != null && !ctx.isRemoved()) {
                return ctx;
            }
        }
        return null;
    }

    /** Accept loop only. */
    private void closeWaiting() {
        Waiting w;
        while ((w = waiting.poll()) != null) {
            abandoned(w.child);
            w.child.unsafe().closeForcibly();
        }
    }

    /** Accept loop only: pauses or resumes reading new connections from every listening channel. */
    private void setAccepting(boolean on) {
        for (Channel ch : listening) {
            ch.config().setAutoRead(on);
        }
    }

    /** A connection accepted over the limit and the listening channel's context to serve it through. */
    private record Waiting(ChannelHandlerContext listeningCtx, Channel child) {
    }
}
