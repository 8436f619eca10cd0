package io.lodestone.core.internal;

import io.lodestone.core.BackendTls;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.concurrent.Ticker;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backend TLS for both engines: once a server connection is up, puts the backend's TLS handler
 * first in its pipeline and completes when the handshake has. A failed handshake fails the returned
 * future (and closes the channel), so callers treat it as a failed connection attempt.
 *
 * <p>The channel's connect timeout covers the handshake too, as HAProxy's and nginx's connect
 * timeouts do: the handshake gets what the TCP connect left of it (read on the event loop's ticker,
 * the proxy's clock), or the TLS handler's own timeout when that ends first, and a handshake that
 * runs out of time fails as a connect timeout ({@link ConnectTimeoutException}).
 *
 * <p>Any other failed handshake fails with an {@link SSLHandshakeException} that says why in its
 * message (the certificate expired, is not trusted, does not name the server, ...): Netty's OpenSSL
 * engine says only "General OpenSslEngine problem" and keeps the reason in its causes. The engines'
 * handshakes log it at WARN, at most once per server every {@link #WARN_INTERVAL_NANOS} on the
 * proxy's clock ({@link ServerRuntime#tlsWarnings()}), as a server the proxy cannot verify answers
 * every request with an error until someone looks.
 */
public final class BackendHandshake {

    /** The ALPN id of HTTP/1.1, for a connection that speaks it. */
    public static final String HTTP_1_1 = "http/1.1";
    /** The ALPN id of HTTP/2 over TLS, for a connection that speaks it. */
    public static final String H2 = "h2";

    private static final Logger log = LoggerFactory.getLogger(BackendHandshake.class);
    /** How often a server's failed handshakes are logged at WARN (the others at DEBUG). */
    static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final String OPENSSL_GENERIC = "General OpenSslEngine problem";

    private BackendHandshake() {
    }

    /**
     * Returns {@code connect} itself without TLS; else a future of the same channel that completes
     * when both the TCP connection and the TLS handshake have, for a connection that will speak
     * {@code protocol}: {@link #HTTP_1_1} takes {@link BackendTls#newHttp1Handler} and fails when the
     * server chooses another protocol by ALPN, {@link #H2} fails unless the server chooses {@code h2},
     * {@code null} takes whatever the server chose. A failed handshake is logged at WARN when
     * {@code warnings} lets it through, else at DEBUG; {@code warnings} null leaves it unlogged (a
     * health check, which reports it in its result).
     */
    public static ChannelFuture after(ChannelFuture connect, BackendTls tls, InetSocketAddress address, String protocol,
            LogThrottle warnings) {
        boolean http1 = HTTP_1_1.equals(protocol);
        if (tls == null) {
            return connect;
        }
        Channel ch = connect.channel();
        ChannelPromise done = ch.newPromise();
        Ticker ticker = ch.eventLoop().ticker();
        long startNanos = ticker.nanoTime();
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                done.tryFailure(f.cause());
                return;
            }
            SslHandler ssl;
            try {
                ssl = http1 ? tls.newHttp1Handler(ch.alloc(), address.getHostString(), address.getPort())
                        : tls.newHandler(ch.alloc(), address.getHostString(), address.getPort());
            } catch (RuntimeException e) {
                ch.close();
                done.tryFailure(e);
                return;
            }
            int connectMillis = ch.config().getConnectTimeoutMillis();
            if (connectMillis > 0) {
                long leftMillis = Math.max(1, connectMillis - TimeUnit.NANOSECONDS.toMillis(ticker.nanoTime() - startNanos));
                long own = ssl.getHandshakeTimeoutMillis();
                if (own <= 0 || leftMillis < own) {
                    ssl.setHandshakeTimeoutMillis(leftMillis);
                }
            }
            CloseGuard.addFirst(ch.pipeline(), PipelineNames.BACKEND_TLS, ssl);
            // before the handshake ends: the TLS handler is often alone in the pipeline then
            ch.pipeline().addAfter(PipelineNames.BACKEND_TLS, PipelineNames.BACKEND_TLS_ERRORS,
                    new TlsErrors(ssl, address, warnings));
            if (!ch.config().isAutoRead()) {
                // the handler asks for more reads itself until the handshake is done
                ch.read();
            }
            SslHandler handler = ssl;
            ssl.handshakeFuture().addListener(h -> {
                String chosen = h.isSuccess() ? handler.applicationProtocol() : null;
                // an HTTP/1.1 connection takes no ALPN as HTTP/1.1; an h2 one needs h2
                boolean wrongProtocol = h.isSuccess() && protocol != null
                        && (http1 ? chosen != null && !chosen.equals(HTTP_1_1) : !protocol.equals(chosen));
                if (wrongProtocol) {
                    ch.close();
                    SSLHandshakeException wrong = new SSLHandshakeException("the server chose "
                            + (chosen == null ? "no protocol" : chosen) + " by ALPN, and this connection speaks "
                            + (http1 ? "HTTP/1.1" : protocol));
                    if (warnings != null) {
                        logFailure(address, wrong.getMessage(), warnings, ticker.nanoTime());
                    }
                    done.tryFailure(wrong);
                } else if (h.isSuccess()) {
                    done.trySuccess();
                } else {
                    ch.close();
                    Throwable cause = h.cause();
                    if (cause instanceof SslHandshakeTimeoutException) {
                        ConnectTimeoutException timeout = new ConnectTimeoutException(
                                "TLS handshake timed out: " + address);
                        timeout.initCause(cause);
                        cause = timeout;
                    } else if (!(cause instanceof ClosedChannelException)) {
                        SSLHandshakeException failed = new SSLHandshakeException(reason(cause));
                        failed.initCause(cause);
                        cause = failed;
                        if (warnings != null) {
                            logFailure(address, failed.getMessage(), warnings, ticker.nanoTime());
                        }
                    }
                    done.tryFailure(cause);
                }
            });
        });
        return done;
    }

    /**
     * Why a handshake failed, in words: the certificate problem when there is one (expired, not valid
     * yet, not trusted), else the first message of the cause chain that is not the OpenSSL engine's
     * generic one (a host name mismatch, an alert the server sent).
     */
    public static String reason(Throwable cause) {
        String first = null;
        String untrusted = null;
        int depth = 0;
        for (Throwable t = cause; t != null && depth < 16; t = t.getCause(), depth++) {
            String message = t.getMessage();
            if (t instanceof CertificateExpiredException) {
                return "the server's certificate (or its chain) has expired (" + message + ")";
            }
            if (t instanceof CertificateNotYetValidException) {
                return "the server's certificate (or its chain) is not valid yet (" + message + ")";
            }
            if (untrusted == null && (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException)) {
                untrusted = "the server's certificate is not trusted (" + message + ")";
            }
            if (first == null && message != null && !message.isEmpty() && !message.equals(OPENSSL_GENERIC)
                    && !(t instanceof DecoderException)) {
                first = message;
            }
        }
        if (untrusted != null) {
            return untrusted;
        }
        if (first != null) {
            return first;
        }
        return cause == null ? "unknown error" : cause.getClass().getSimpleName();
    }

    private static void logFailure(InetSocketAddress address, String reason, LogThrottle warnings, long nowNanos) {
        logFailure("TLS handshake with server {} failed: {}", address, reason, warnings, nowNanos);
    }

    private static void logFailure(String format, InetSocketAddress address, String reason, LogThrottle warnings,
            long nowNanos) {
        if (warnings.tryAcquire(nowNanos)) {
            log.warn(format, Addresses.format(address), reason);
        } else if (log.isDebugEnabled()) {
            log.debug(format, Addresses.format(address), reason);
        }
    }

    /**
     * Right after the TLS handler of a server connection, from the start of its handshake. Until the
     * handshake has succeeded, takes the TLS handler's exceptions and closes: the handshake's future
     * reports them (the connection attempt fails with the reason, logged as above), and only the TLS
     * handler may be in the pipeline then (L4, HTTP/2, the TCP health check), so Netty would log each
     * one again, as an exception that reached the pipeline's tail, unthrottled and with OpenSSL's
     * generic message. After it, logs a TLS error (an alert from the server, such as TLS 1.3's refusal
     * of the proxy's client certificate, which comes after the proxy's handshake is done) as a failed
     * handshake is logged, unless the connection is a health check's, and passes it on. Sees exceptions
     * only.
     */
    private static final class TlsErrors extends ChannelInboundHandlerAdapter {
        private final SslHandler ssl;
        private final InetSocketAddress address;
        /** The server's throttle of TLS warnings; {@code null} for a health check's connection. */
        private final LogThrottle warnings;

        TlsErrors(SslHandler ssl, InetSocketAddress address, LogThrottle warnings) {
            this.ssl = ssl;
            this.address = address;
            this.warnings = warnings;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!ssl.handshakeFuture().isSuccess()) {
                ctx.close();
                return;
            }
            for (Throwable t = cause; warnings != null && t != null; t = t.getCause()) {
                if (t instanceof SSLException) {
                    logFailure("TLS with server {} failed after the handshake: {}", address, reason(cause), warnings,
                            ctx.executor().ticker().nanoTime());
                    break;
                }
            }
            ctx.fireExceptionCaught(cause);
        }
    }

    /** The TLS handler of a server connection, or {@code null} when it is plain TCP. */
    public static SslHandler handler(Channel ch) {
        return (SslHandler) ch.pipeline().get(PipelineNames.BACKEND_TLS);
    }
}
