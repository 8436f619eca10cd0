package io.lodestone.core.internal;

import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.route.internal.Cidr;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the PROXY protocol header (version 1 or 2, told apart by its first bytes) that starts every
 * connection of a frontend that accepts it, shared by both engines. Netty's {@link HAProxyMessageDecoder}
 * ({@link PipelineNames#PROXY_HEADER_DECODER}) parses it; this handler ({@link PipelineNames#PROXY_HEADER})
 * follows it and is the only other handler of the connection until the header is read. Then it sets the
 * header's addresses on the channel for {@link ClientAddresses}, counts the connection under the
 * frontend's per-source limits (on the header's source), has the engine add its handlers
 * ({@link Next#headerRead}), fires {@code channelActive} to them, as if the connection had just been
 * accepted, and removes itself; the decoder removes itself too and hands on the bytes that followed
 * the header.
 *
 * <p>A {@code LOCAL} command (version 2, a load balancer's health check) or an {@code UNKNOWN} or
 * {@code AF_UNIX} family keeps the connection's own addresses. Version 2 TLVs are ignored (the decoder
 * parses them; they are released with the message). A connection that starts with anything else, whose
 * header is malformed or longer than the protocol allows (a version 1 line of more than 107 bytes, which
 * {@link V1LineLimit}, before the decoder, refuses), or that does not complete it within the
 * timeout, is closed without a byte written to it, logged at DEBUG and counted as an
 * {@link ErrorKind#INVALID invalid} or {@link ErrorKind#TIMEOUT timeout} error on the frontend; one that
 * closes or ends its side before it is closed with no error, and so is one still waiting when the
 * proxy drains ({@link #DRAIN}). Every message the decoder makes is released here.
 */
public final class ProxyHeaderReader extends ChannelInboundHandlerAdapter implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ProxyHeaderReader.class);

    /**
     * Fired by an engine on its client connections when the proxy drains (the L7 engine's own drain
     * event): a connection still waiting for its header is closed at once, as HAProxy's soft stop
     * closes a connection that has not sent a request yet, rather than held until the header's timeout.
     * Handlers after the reader see it as the engine's drain.
     */
    public static final Object DRAIN = new Object() {
        @Override
        public String toString() {
            return "DRAIN";
        }
    };

    /** Adds an engine's handlers to a connection whose header was read (on the connection's loop). */
    public interface Next {
        /** Adds the handlers of connection {@code ch} after the reader; they get its {@code channelActive} next. */
        void headerRead(Channel ch);
    }

    private final String frontend;
    private final FrontendMetrics metrics;
    private final long timeoutNanos;
    private final SourceLimits sourceLimits;
    private final Next next;
    private ScheduledFuture<?> timer;
    private ChannelHandlerContext ctx;
    /** The header was read, or the connection is being closed: nothing more to decide. */
    private boolean decided;

    private ProxyHeaderReader(String frontend, FrontendMetrics metrics, long timeoutNanos, SourceLimits sourceLimits,
            Next next) {
        this.frontend = frontend;
        this.metrics = metrics;
        this.timeoutNanos = timeoutNanos;
        this.sourceLimits = sourceLimits;
        this.next = next;
    }

    /**
     * Makes {@code ch} wait for its PROXY header: adds the line limit, the decoder and the reader, the connection's only
     * handlers (after {@link PipelineNames#CLOSE_GUARD} on io_uring).
     *
     * @param frontend the frontend's name, for the log
     * @param timeoutNanos how long the whole header may take from the connection's start
     * @param sourceLimits the frontend's per-source limits, checked on the header's source; {@code null} for none
     * @param next adds the engine's handlers once the header is read
     */
    public static void install(Channel ch, String frontend, FrontendMetrics metrics, long timeoutNanos,
            SourceLimits sourceLimits, Next next) {
        ch.pipeline().addLast(PipelineNames.PROXY_HEADER_LINE_LIMIT, new V1LineLimit());
        ch.pipeline().addLast(PipelineNames.PROXY_HEADER_DECODER, new HAProxyMessageDecoder());
        ch.pipeline().addLast(PipelineNames.PROXY_HEADER,
                new ProxyHeaderReader(frontend, metrics, timeoutNanos, sourceLimits, next));
    }

    /**
     * Holds a version 1 line to the protocol's 107 bytes, CRLF included ({@link PipelineNames#PROXY_HEADER_LINE_LIMIT}),
     * which Netty's decoder does not: it takes a line of up to 108 bytes before the CRLF (110 in all).
     * Looks at the bytes on their way to the decoder, without keeping them, and leaves at the line's
     * LF, or at once when the first byte is not that of {@code PROXY} (version 2, or no header, for the
     * decoder to judge). A line still without its LF at its 107th byte is malformed: the reader gets a
     * {@link HAProxyProtocolException}, as for any header the decoder refuses, and what follows is dropped.
     */
    static final class V1LineLimit extends ChannelInboundHandlerAdapter {
        /** The longest version 1 line, CRLF included (the protocol's section 2.1). */
        static final int MAX_LINE = 107;
        /** The bytes of the line seen so far. */
        private int seen;
        private boolean refused;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (refused) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (!(msg instanceof ByteBuf buf)) {
                ctx.fireChannelRead(msg);
                return;
            }
            int from = buf.readerIndex();
            int n = buf.readableBytes();
            if (n == 0) {
                ctx.fireChannelRead(msg);
                return;
            }
            if (seen == 0 && buf.getByte(from) != 'P') {
                leave(ctx, msg);
                return;
            }
            int scan = Math.min(n, MAX_LINE - seen);
            if (buf.indexOf(from, from + scan, (byte) '\n') >= 0) {
                leave(ctx, msg);
                return;
            }
            seen += scan;
            if (seen < MAX_LINE) {
                ctx.fireChannelRead(msg);
                return;
            }
            refused = true;
            buf.release();
            ctx.fireExceptionCaught(new HAProxyProtocolException(
                    "version 1 header line longer than " + MAX_LINE + " bytes"));
        }

        private void leave(ChannelHandlerContext ctx, Object msg) {
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * Checks a frontend's trusted sources for the PROXY protocol, at {@code build()}.
     *
     * @param label the frontend, as build errors name it ({@code frontend web})
     * @return an immutable copy
     * @throws IllegalArgumentException naming the field and the value: an empty list, or a network that does not parse
     */
    public static List<String> checkSources(String label, List<String> cidrs) {
        String field = label + " acceptProxyProtocolFrom";
        if (cidrs.isEmpty()) {
            throw new IllegalArgumentException(field + ": [] (expected: at least one address or network, such as 10.0.0.0/8)");
        }
        for (String c : cidrs) {
            Cidr.parse(field, c);
        }
        return List.copyOf(cidrs);
    }

    /**
     * Which connections of a frontend must start with a PROXY header: every one, or those from trusted
     * networks only. Immutable, read on accept.
     */
    public static final class Policy {
        /** {@code null}: every source. */
        private final Cidr[] trusted;

        private Policy(Cidr[] trusted) {
            this.trusted = trusted;
        }

        /**
         * The policy of a frontend, or {@code null} when it does not accept the PROXY protocol.
         *
         * @param trusted the networks whose connections must send the header; empty for every source
         *     (checked at build by {@link #checkSources})
         */
        public static Policy of(boolean accept, List<String> trusted) {
            if (!accept) {
                return null;
            }
            if (trusted.isEmpty()) {
                return new Policy(null);
            }
            Cidr[] networks = new Cidr[trusted.size()];
            for (int i = 0; i < networks.length; i++) {
                networks[i] = Cidr.parse("acceptProxyProtocolFrom", trusted.get(i));
            }
            return new Policy(networks);
        }

        /** Whether a connection from {@code remote} (the TCP peer) must start with a PROXY header. */
        public boolean expectsHeader(SocketAddress remote) {
            if (trusted == null) {
                return true;
            }
            InetAddress a = remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
            if (a == null) {
                return false;
            }
            for (Cidr c : trusted) {
                if (c.contains(a)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Not sharable: one per connection. */
    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelTimer();
    }

    /** Held back from the engine's handlers until the header is read; reading starts (auto-read may be off). */
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timer = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        if (!ctx.channel().config().isAutoRead()) {
            ctx.read();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (decided || !(msg instanceof HAProxyMessage header)) {
            // nothing but the header comes before the decoder leaves
            ReferenceCountUtil.release(msg);
            return;
        }
        ClientAddresses addresses;
        try {
            addresses = addresses(header);
        } catch (DecoderException e) {
            // as malformed as any header the decoder refuses: never served with the connection's own addresses
            exceptionCaught(ctx, e);
            return;
        } finally {
            header.release();
        }
        headerRead(ctx, addresses);
    }

    /** Reading goes on until the header is whole (the decoder asks for more itself when auto-read is off). */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!decided && !ctx.channel().config().isAutoRead()) {
            ctx.read();
        }
    }

    private void headerRead(ChannelHandlerContext ctx, ClientAddresses addresses) {
        decided = true;
        cancelTimer();
        Channel ch = ctx.channel();
        if (addresses != null) {
            ch.attr(ClientAddresses.PROXIED).set(addresses);
        }
        if (sourceLimits != null) {
            InetAddress source = SourceLimits.address(ClientAddresses.remote(ch));
            if (!sourceLimits.tryAcquire(source)) {
                metrics.connectionRefused();
                ch.close();
                return;
            }
            ch.closeFuture().addListener((ChannelFutureListener) f -> sourceLimits.release(source));
        }
        try {
            next.headerRead(ch);
        } catch (RuntimeException e) {
            log.warn("{}: closing a connection that could not be prepared after its PROXY header: {}", frontend, ch, e);
            ch.close();
            return;
        }
        ctx.fireChannelActive();
        ctx.pipeline().remove(this);
    }

    /**
     * The header's addresses, or {@code null} to keep the connection's own: a {@code LOCAL} command, an
     * {@code UNKNOWN} or {@code AF_UNIX} family.
     *
     * @throws DecoderException when an address of a {@code PROXY} command is no IP address (the decoder
     *     lets an IPv6 zone through, {@code fe80::1%eth0}, which HAProxy refuses)
     */
    static ClientAddresses addresses(HAProxyMessage header) {
        if (header.command() != HAProxyCommand.PROXY) {
            return null;
        }
        HAProxyProxiedProtocol.AddressFamily family = header.proxiedProtocol().addressFamily();
        if (family != HAProxyProxiedProtocol.AddressFamily.AF_IPv4 && family != HAProxyProxiedProtocol.AddressFamily.AF_IPv6) {
            return null;
        }
        InetAddress source = NetUtil.createInetAddressFromIpAddressString(header.sourceAddress());
        InetAddress destination = NetUtil.createInetAddressFromIpAddressString(header.destinationAddress());
        if (source == null || destination == null) {
            throw new DecoderException("PROXY header addresses that are no IP addresses: " + header.sourceAddress()
                    + " " + header.destinationAddress());
        }
        return new ClientAddresses(new InetSocketAddress(source, header.sourcePort()),
                new InetSocketAddress(destination, header.destinationPort()));
    }

    /** The header was not whole in time. */
    @Override
    public void run() {
        timer = null;
        if (decided || !ctx.channel().isActive()) {
            return;
        }
        decided = true;
        if (log.isDebugEnabled()) {
            log.debug("{}: no whole PROXY header from {} in time", frontend, ctx.channel().remoteAddress());
        }
        metrics.error(ErrorKind.TIMEOUT);
        ctx.close();
    }

    /** The decoder's error (not a PROXY header, a malformed one), or the connection's. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!decided) {
            decided = true;
            if (cause instanceof DecoderException) {
                metrics.error(ErrorKind.INVALID);
            }
            if (log.isDebugEnabled()) {
                log.debug("{}: no valid PROXY header from {}: {}", frontend, ctx.channel().remoteAddress(), cause.toString());
            }
        }
        ctx.close();
    }

    /** A FIN before the header is whole: it can never be. The proxy's drain: it will not be waited for. */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == DRAIN) {
            if (!decided) {
                decided = true;
                cancelTimer();
                if (log.isDebugEnabled()) {
                    log.debug("{}: closing {}, still without its PROXY header, as the proxy drains", frontend,
                            ctx.channel().remoteAddress());
                }
                ctx.close();
            }
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent && !decided) {
            decided = true;
            if (log.isDebugEnabled()) {
                log.debug("{}: {} ended its side before its PROXY header", frontend, ctx.channel().remoteAddress());
            }
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        decided = true;
        cancelTimer();
        ctx.fireChannelInactive();
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
