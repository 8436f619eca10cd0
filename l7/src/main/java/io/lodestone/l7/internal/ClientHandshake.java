package io.lodestone.l7.internal;

import io.lodestone.core.internal.ClientAddresses;
import io.lodestone.core.Clock;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.log.AccessLogEntry;
import io.lodestone.core.log.TerminationCause;
import io.lodestone.core.log.TerminationPhase;
import io.lodestone.core.metrics.ErrorKind;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands behind the TLS handler of a client connection until its handshake is done, then leaves, so
 * that no request passes through it; on a frontend that offers no HTTP/2 it adds the HTTP/1.1 handlers
 * first (on one that does, the protocol handler behind it chooses them).
 *
 * <p>A connection whose handshake does not succeed never makes a request, so it is accounted here,
 * once, as the TCP engine accounts its TLS connections: one access log line with no request and the
 * termination state in the request phase, and the frontend's error counters.
 * <ul>
 * <li>not TLS (plain HTTP on the TLS port), a ClientHello too large, a failed handshake (an old
 *     protocol version, no shared cipher, an alert from the client): {@code PR}, a {@code denied} error;</li>
 * <li>no ClientHello, or no finished handshake, within the ServerTls handshake timeout: {@code cR}, a
 *     {@code timeout} error;</li>
 * <li>the client closed or reset the connection before its handshake was done: {@code CR}, no error.</li>
 * </ul>
 * The cause goes to this class's slf4j logger at DEBUG only: such clients are routine, and theirs to fix.
 * A connection closed by the proxy's drain before its handshake was done is not logged, like an idle one.
 */
final class ClientHandshake extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(ClientHandshake.class);

    private final HttpListener listener;
    /** Adds the HTTP/1.1 handlers once the handshake is done (frontends that offer no HTTP/2). */
    private final boolean http1;
    private long startNanos;
    /** The handshake succeeded or its failure was accounted: nothing more to record. */
    private boolean decided;
    /** Plaintext read before the handshake's success was reported, handed on after it; rarely any. */
    private ArrayList<Object> early;

    ClientHandshake(HttpListener listener, boolean http1) {
        this.listener = listener;
        this.http1 = http1;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        startNanos = listener.state().context.clock().nanoTime();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent handshake) {
            if (handshake.isSuccess()) {
                decided = true;
                if (http1) {
                    HttpPipeline.addHttp1(ctx.pipeline(), listener);
                }
                ctx.fireUserEventTriggered(evt);
                ctx.pipeline().remove(this);
                return;
            }
            Throwable cause = handshake.cause();
            failed(ctx, cause instanceof SslHandshakeTimeoutException ? TerminationCause.CLIENT_TIMEOUT
                    : clientLeft(ctx.channel()) ? TerminationCause.CLIENT_ABORT : TerminationCause.PROXY, cause);
        } else if (evt instanceof SniCompletionEvent sni) {
            // the SNI handler's wait for the ClientHello, bounded by the handshake timeout, ran out (other
            // failures of the SNI handler come as a failed handshake)
            if (!sni.isSuccess() && sni.cause() instanceof SslHandshakeTimeoutException) {
                failed(ctx, TerminationCause.CLIENT_TIMEOUT, sni.cause());
            }
        } else if (evt instanceof ChannelInputShutdownEvent) {
            // the client closed its side (half-closure is allowed for HTTP/1.1's sake): no handshake comes
            failed(ctx, TerminationCause.CLIENT_ABORT, null);
            ctx.close();
            return;
        } else if (evt == HttpListener.DRAIN) {
            decided = true;
            releaseEarly();
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (decided) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (early == null) {
            early = new ArrayList<>(2);
        }
        early.add(msg);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ArrayList<Object> msgs = early;
        if (msgs != null) {
            early = null;
            // after the success event: the handlers that read requests are in place
            for (Object msg : msgs) {
                ctx.fireChannelRead(msg);
            }
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // gone before the TLS handler reported anything (a close or reset while the ClientHello was partial)
        failed(ctx, TerminationCause.CLIENT_ABORT, null);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // the TLS handler's failure (reported again as a failed handshake) or the client's network: the
        // connection ends here, and no handler behind would know what to do with it
        if (!decided && log.isDebugEnabled()) {
            log.debug("{}: client connection {} failed during the TLS handshake", listener.state().frontend.name(),
                    ctx.channel(), cause);
        }
        ctx.close();
    }

    private void releaseEarly() {
        if (early != null) {
            for (Object msg : early) {
                ReferenceCountUtil.release(msg);
            }
            early = null;
        }
    }

    private static boolean clientLeft(Channel ch) {
        return !ch.isActive() || ch instanceof DuplexChannel duplex && duplex.isInputShutdown();
    }

    /** Accounts a connection whose handshake did not succeed: its access log line and the frontend's error. */
    private void failed(ChannelHandlerContext ctx, TerminationCause termination, Throwable cause) {
        if (decided) {
            return;
        }
        decided = true;
        releaseEarly();
        HttpListener.State state = listener.state();
        if (log.isDebugEnabled()) {
            log.debug("{}: TLS handshake with {} did not succeed ({})", state.frontend.name(), ctx.channel(),
                    termination.code(), cause);
        }
        if (termination == TerminationCause.PROXY) {
            state.metrics.error(ErrorKind.DENIED);
        } else if (termination == TerminationCause.CLIENT_TIMEOUT) {
            state.metrics.error(ErrorKind.TIMEOUT);
        }
        AccessLog accessLog = state.context.accessLog();
        if (accessLog.isEnabled()) {
            Clock clock = state.context.clock();
            long total = clock.nanoTime() - startNanos;
            accessLog.log(new AccessLogEntry()
                    .start(clock.currentTimeMillis() - total / 1_000_000)
                    .client(ClientAddresses.remote(ctx.channel()))
                    .frontend(state.frontend.name())
                    .totalTime(total)
                    .termination(termination, TerminationPhase.REQUEST));
        }
    }
}
