package io.lodestone.l7.internal;

import io.lodestone.tls.TlsInfo;
import io.lodestone.core.BackendProtocol;
import io.lodestone.core.Clock;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.internal.ClientAddresses;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.PipelineNames;
import io.lodestone.core.internal.Relay;
import io.lodestone.core.internal.FailureKind;
import io.lodestone.core.internal.NoSocketException;
import io.lodestone.core.internal.QueueWait;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.internal.StickyRequest;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.log.AccessLogEntry;
import io.lodestone.core.log.TerminationCause;
import io.lodestone.core.log.TerminationPhase;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.route.Decision;
import io.lodestone.core.route.HeaderEdit;
import io.lodestone.core.route.internal.PathNormalizer;
import io.lodestone.core.trace.TraceContext;
import io.lodestone.core.trace.Tracing;
import io.lodestone.l7.Compression;
import io.lodestone.l7.HttpFrontend;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ServerChannel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy handler of one client connection. Requests are handled one at a time, in order: a
 * request is routed (the frontend's router decides, once, before anything is forwarded), then a
 * forwarded request picks a server of the chosen backend, takes a pooled connection to it (or opens one on the client's event loop),
 * and its head and body pieces are forwarded as they arrive; the response is forwarded the same way;
 * then the server connection goes back to the pool and the next request (possibly already read and
 * queued, when the client pipelines) starts. Nothing is aggregated; each direction stops reading
 * while the other side cannot take more.
 *
 * <p>A request the router denies, redirects or answers itself gets the proxy's own response and
 * never touches a backend; its body, if any, is read and discarded (up to {@link #MAX_DISCARD}
 * bytes) so that the connection stays usable, or the connection closes after the answer when the
 * body is larger or the client waits for {@code 100-continue}.
 *
 * <p>Every request is accounted once, when its exchange ends ({@link #endExchange()}): on the
 * frontend's and the server's (or, when no server took it, the backend's) metrics, and as one
 * access log line when the log is enabled, filled into one {@link AccessLogEntry} per connection.
 * A pipelined request that never started because the connection closed before its turn is
 * accounted when it is dropped ({@link #dropQueued(TerminationCause)}), on the frontend only.
 * W3C trace context headers are passed on, replaced or started as {@link Tracing} says.
 *
 * <p>Expect: 100-continue is passed to the server, whose interim 100 (like any 1xx but 101) is
 * relayed to the client before the final response, unless the client speaks HTTP/1.0, which knows
 * no interim responses. A 101 answering a WebSocket upgrade turns both
 * connections into a raw {@link Relay} tunnel; on an HTTP/2 stream (an extended CONNECT, RFC 8441)
 * the stream is the client's side of it, through its {@link Http2WebSocket}.
 */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter implements PickContext {

    private static final Logger log = LoggerFactory.getLogger(HttpProxyHandler.class);

    /** Queued inbound messages beyond which the client is not read until the queue drains. */
    private static final int MAX_QUEUED = 64;
    /** Body bytes buffered while connecting beyond which the client is not read. */
    private static final int MAX_PENDING_BYTES = 64 * 1024;
    /** Request body bytes read and dropped after a local answer before the connection is closed instead. */
    static final long MAX_DISCARD = 64 * 1024;
    private static final String TEXT_PLAIN_UTF8 = "text/plain; charset=utf-8";
    private static final AsciiString TRACEPARENT = AsciiString.cached("traceparent");
    private static final AsciiString TRACESTATE = AsciiString.cached("tracestate");

    private final HttpListener listener;
    /** The frontend's configuration for the current request, read from the listener when a request starts. */
    private HttpListener.State state;
    private HttpFrontend frontend;
    private EngineContext context;
    /** The HTTP/1.1 connection's response encoder, told when a response answers HEAD; {@code null} on an HTTP/2 stream, which has none. */
    private final Codecs.ResponseEncoder encoder;
    private AsciiString requestIdHeader;
    /** The frontend's request counters, as {@link #state} has them (a renamed frontend counts under its new name). */
    private FrontendMetrics metrics;
    private final AccessLog accessLog;
    private final Tracing tracing;
    private final Clock clock;
    ClientTimeouts timeouts;
    /** The frontend's compressor in this pipeline, or null: what it changed of a response's size. */
    Compressor compressor;
    /** {@link Compressor#bytesDelta} when this exchange began. */
    private long compressorDeltaAtStart;

    private ChannelHandlerContext ctx;
    private Channel client;
    private BackendPool pool;
    private InetSocketAddress source;
    /** Whether the client connection is TLS (an HTTPS frontend). */
    private final boolean secure;
    /** The client connection's handshake facts, read at its first request; {@code null} without TLS. */
    private TlsInfo tlsInfo;
    private int localPortNumber;
    /**
     * The client's address (IPv6 in its RFC 5952 form, {@code ::1}) and the local port as ASCII, written
     * to every forwarded request's headers.
     */
    private AsciiString clientIp;
    private AsciiString localPort;
    private long affinityHash;
    /**
     * The facts above, made once for an HTTP/2 connection and shared by its streams ({@link #shareEndpoint}),
     * which had each made them again: the address text, the port and the hash were about 2 % of the
     * event loop's profile samples with 50 connections of 10 streams. {@code null} on an HTTP/1 connection.
     */
    private Endpoint endpoint;

    // connection state
    private ArrayDeque<Object> queued;
    /** The HTTP/1 connection's request decoder, held while {@link #queued} is full; {@code null} on an HTTP/2 stream. */
    private StrictRequestDecoder decoder;
    private boolean inputShutdown;
    private boolean closing;
    /**
     * Whether the answer being sent refuses a request head the decoder refused: what the client sends
     * after it is unknown, and the connection lingers after the answer ({@link #refuseHead}).
     */
    private boolean refusedHead;
    private boolean discardBody;
    private long discardLeft;
    private boolean tunneling;
    /**
     * Why the connection is closing, as the line of a pipelined request it drops gives it (see
     * {@link #dropQueued(TerminationCause)}); {@code null} until a request is dropped.
     */
    private TerminationCause closedBy;

    // exchange state: request != null while an exchange runs
    private HttpRequest request;
    private int exchangeId;
    private boolean requestComplete;
    private boolean keepAlive;
    /**
     * The request asked for the close ({@code Connection: close}, or HTTP/1.0 without keep-alive);
     * {@link #keepAlive} also turns false when the proxy drains. Read by {@link #closeCause} only.
     */
    private boolean closeAsked;
    /**
     * The requests this HTTP/1.x connection has started, for the frontend's
     * {@code keepAliveMaxRequests} (an HTTP/2 stream carries one and is not limited).
     */
    private int served;
    private boolean head;
    private boolean retryable;
    private boolean bodyless;
    private boolean upgrade;
    /**
     * The stream's WebSocket handshake made of an HTTP/2 extended CONNECT (RFC 8441), whose 101 it
     * checks and whose tunnel it carries; null for any other request.
     */
    private Http2WebSocket webSocket;
    private HttpVersion clientVersion;
    /** The request id: the client's (a String) or a generated one (an AsciiString, written as bytes). */
    private CharSequence requestId;
    private BackendRuntime backend;
    /**
     * The hash of the backend's request key in the current request ({@link HashKey#hash}), read before
     * the rules edit the request; 0 without one. Every pick of the exchange (retries, queue) uses it.
     */
    private long requestKeyHash;
    private RetryBudget budget;
    private boolean retrySlot;
    private ServerRuntime server;
    private List<ServerRuntime> tried;
    private int attempts;
    /** The HTTP/1.1 server connection being made for this request, or {@code null}. */
    private ChannelFuture connecting;
    /** The stream to an HTTP/2 server being opened for the exchange, null when none is (see {@link #endExchange}). */
    private Future<Channel> opening;
    private BackendConnection conn;
    private List<Object> pending;
    private int pendingBytes;
    /**
     * Whether a piece of a response is being written to the client: an HTTP/2 stream turns unwritable
     * inside that write, and the check after it (a flush first) decides whether to stop reading the server.
     */
    private boolean writingContent;
    private boolean wroteToServer;
    /**
     * Whether the client connection is inside a read burst: what is written to the server then is
     * flushed once, when the burst completes ({@link #channelReadComplete}).
     */
    private boolean clientReading;
    private boolean serverBackpressure;
    private boolean anyResponse;
    private boolean interim;
    private boolean responseStarted;
    private boolean serverReusable;
    /** Whether the response being relayed ends only when the client connection closes (no framing of its own). */
    private boolean closeDelimited;
    private boolean switching;
    /**
     * A final response head not written yet: held until the body's first piece arrives, so that a
     * response whose body is all in one piece leaves as one message, encoded into one buffer.
     */
    private HttpResponse heldHead;
    private List<HeaderEdit> responseEdits;
    /**
     * The {@code Connection} values of the request's head when they name fields beyond the connection
     * options ({@link Headers#removeHopByHop}), which its trailer section loses too; null when they
     * name none, as for almost every request.
     */
    private List<String> requestConnection;
    /** As {@link #requestConnection}, for the final response's head. */
    private List<String> responseConnection;
    /** The backend's sticky cookie for this request, or {@code null}; {@link #sticky} is its reading. */
    private StickyCookie stickyCookie;
    /** The reading of the sticky cookie, made once per connection on the first backend that has one. */
    private StickyRequest sticky;
    private List<Object> tunnelFromClient;
    // response cache of the current exchange (see the "response cache" section)
    private CacheStore cacheStore;
    private CacheFill cacheFill;
    /**
     * The client's {@code Cookie} fields as it sent them, kept when the sticky cookie's edits
     * changed them in a request that fills the cache: a response that varies on {@code Cookie} is
     * stored under them, as the lookups (the client's next request) see them; else {@code null}.
     */
    private List<String> cacheKeyCookies;
    private String cacheKey;
    private String cacheStatus;
    private NettyRequestView cacheView;
    private boolean cacheWaiting;
    private boolean cacheSwallow;
    private String clientIfNoneMatch;
    private String clientIfModifiedSince;
    private List<Object> tunnelFromServer;

    // accounting of the current request (metrics and access log)
    private AccessLogEntry logEntry;
    private long requestHeadNanos;
    private long startNanos;
    /** The backend queue this request waits in for a free server slot, or {@code null}. */
    private QueueSlot slot;
    private long queuedAt;
    /** How long the request waited in the backend's queue, however the wait ended; -1 when it did not wait. */
    private long queueNanos = -1;
    private long connectStart;
    private long connectNanos;
    private long sentNanos;
    private long responseNanos;
    private int status;
    private long bytesIn;
    private long bytesOut;
    private String method;
    private String target;
    private String traceId;
    private ServerRuntime lastServer;
    /** How the current (or last) exchange ended; NORMAL before the first, which closeCause() may read. */
    private TerminationCause cause = TerminationCause.NORMAL;
    private TerminationPhase phase = TerminationPhase.NONE;
    /** The request was refused ({@code PR}) as malformed or over a limit: an {@code invalid} error, not {@code denied}. */
    private boolean invalid;
    /** The frontend's first-byte time of the current request has been recorded ({@link #frontendFirstByte}). */
    private boolean firstByteRecorded;

    HttpProxyHandler(HttpListener listener, Codecs.ResponseEncoder encoder) {
        this.listener = listener;
        this.state = listener.state();
        this.frontend = state.frontend;
        this.context = state.context;
        this.encoder = encoder;
        this.requestIdHeader = state.requestIdHeader;
        this.secure = frontend.tls() != null;
        this.metrics = state.metrics;
        this.accessLog = context.accessLog();
        this.tracing = context.tracing();
        this.clock = context.clock();
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
        this.client = ctx.channel();
        this.decoder = ctx.pipeline().get(StrictRequestDecoder.class);
        this.pool = listener.pool(client.eventLoop());
        Endpoint e = endpoint != null ? endpoint : new Endpoint(client);
        this.source = e.source;
        this.clientIp = e.clientIp;
        this.affinityHash = e.affinityHash;
        this.localPortNumber = e.localPortNumber;
        this.localPort = e.localPort;
    }

    /**
     * Has this stream's handler take its client's address, port and affinity from {@code shared}, made
     * for the first stream of the HTTP/2 connection (see {@link #endpoint}); null makes one for this
     * channel. Called before the handler is added.
     */
    void shareEndpoint(Endpoint shared) {
        this.endpoint = shared;
    }

    /**
     * The client side of a connection as the forwarded headers, the access log and the balancers use it:
     * its address (and the RFC 5952 text of it, {@code ::1}, as the access log and a PROXY header write
     * it), the local port (and its ASCII) and the client's affinity hash. Made once per connection: an
     * HTTP/2 connection's streams share it, as they share their connection's addresses.
     */
    static final class Endpoint {
        final InetSocketAddress source;
        final AsciiString clientIp;
        final long affinityHash;
        final int localPortNumber;
        final AsciiString localPort;

        /**
         * The endpoint of connection {@code channel} (for an HTTP/2 stream, its parent connection's):
         * the PROXY header's addresses on a frontend that accepts it, else the socket's.
         */
        Endpoint(Channel channel) {
            InetSocketAddress remote = ClientAddresses.remote(channel);
            InetSocketAddress local = ClientAddresses.local(channel);
            this.source = remote;
            this.clientIp = new AsciiString(remote == null ? "unknown" : Addresses.toText(remote.getAddress()));
            // the affinity of proxy.routeAndPick(...) (RequestPickContext), so both name the same server
            this.affinityHash = remote == null ? 0 : PickContext.hash(remote.getAddress());
            this.localPortNumber = local == null ? 0 : local.getPort();
            this.localPort = new AsciiString(Integer.toString(localPortNumber));
        }
    }

    @Override
    public long affinityHash() {
        return affinityHash;
    }

    @Override
    public long requestKeyHash() {
        return requestKeyHash;
    }

    @Override
    public RandomGenerator random() {
        return ThreadLocalRandom.current();
    }

    // ---------------------------------------------------------------- client side

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        clientReading = true;
        if (tunneling) {
            stashTunnel(true, msg);
            return;
        }
        if (closing) {
            if (msg instanceof HttpRequest req) {
                // a pipelined request read after the close was decided: dropped as the queued ones were
                if (closedBy == null) {
                    closedBy = closeCause();
                }
                if (request == null && closedBy == TerminationCause.CLIENT_ABORT && cutByClose(req) != null) {
                    // no request pipelined: the head the client's reset cut short is its request's end
                    timeouts.busy();
                    clientLeftInsideHead(cutByClose(req));
                } else {
                    dropped(req, closedBy);
                }
            }
            ReferenceCountUtil.release(msg);
            return;
        }
        if (request != null && requestComplete || queued != null && !queued.isEmpty()) {
            enqueue(msg);
            return;
        }
        handle(msg);
    }

    private void handle(Object msg) {
        if (request == null) {
            if (msg instanceof HttpRequest req) {
                startRequest(req);
            } else if (discardBody) {
                // the rest of a request that was answered without being forwarded
                boolean refused = false;
                if (msg instanceof HttpContent content) {
                    discardLeft -= content.content().readableBytes();
                    // a chunk or a body over maxBodySize the decoder refused: it drops all that follows
                    refused = content.decoderResult().isFailure();
                }
                if (msg instanceof LastHttpContent) {
                    discardBody = false;
                }
                ReferenceCountUtil.release(msg);
                if (refused || discardBody && discardLeft < 0) {
                    // too much to skip: the answer is out, the connection ends, lingering while the
                    // client still sends the rest (the previous request's flags say it has a body)
                    discardBody = false;
                    if (decoder != null) {
                        lingeringClose();
                    } else {
                        closeOnFlush();
                    }
                }
            } else {
                ReferenceCountUtil.release(msg);
                if (client instanceof Http2StreamChannel) {
                    // HEADERS with END_STREAM and no :method, which the stream codec takes for trailers:
                    // a malformed request (RFC 9113, 8.1.1), not a CANCEL
                    refusedStream(null);
                    client.write(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR));
                }
                closeNow();
            }
        } else if (msg instanceof HttpContent content) {
            requestContent(content);
        } else {
            ReferenceCountUtil.release(msg);
            closeNow();
        }
    }

    private void enqueue(Object msg) {
        if (queued == null) {
            queued = new ArrayDeque<>(4);
        }
        queued.add(msg);
        if (queued.size() >= MAX_QUEUED) {
            client.config().setAutoRead(false);
            if (decoder != null) {
                // what one read brought beyond the queue stays bytes, not thousands of request objects
                decoder.hold();
            }
        }
    }

    /**
     * The queue has room again: the decoder goes on with what it held, unless a WebSocket upgrade
     * still waits for its answer. Called wherever the client is read again, since a held decoder
     * would gather what the reads bring. A connection that closes
     * while its decoder holds drops the held bytes undecoded, as it drops what is still in the kernel.
     */
    private void queueHasRoom() {
        if (decoder != null && (queued == null || queued.size() < MAX_QUEUED) && !(upgrade && request != null)) {
            decoder.resume();
        }
    }

    /**
     * Whether a pipelined request waits in the queue. Asked only after the client's FIN, when every
     * byte it sent has been read: the requests it sent before the FIN are all answered, and only the
     * last one says the connection closes.
     */
    private boolean requestQueued() {
        if (queued != null) {
            for (Object msg : queued) {
                if (msg instanceof HttpRequest) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Handles queued pipelined messages until one of them starts an exchange that must wait. */
    private void drainQueue() {
        while (queued != null && !queued.isEmpty() && !closing && !tunneling
                && (request == null || !requestComplete)) {
            handle(queued.poll());
        }
        if (!closing) {
            // a connection that closes drops what its decoder holds, undecoded
            queueHasRoom();
        }
        if (inputShutdown && request != null && !requestComplete && !responseStarted && !closing
                && (queued == null || queued.isEmpty())) {
            // a pipelined request whose body the client's FIN cut, read while an earlier one was under way
            endedInsideTheBody();
        }
    }

    /**
     * Whether the rest of this HTTP/2 stream's request, its end included, has come although this
     * handler has not read it: the stream's channel holds it while the stream is not read (server
     * backpressure), and Netty passes the connection's end (a FIN, a close_notify) on to the streams
     * at once, ahead of what they hold. The connection has seen the client's END_STREAM then (the
     * stream is half-closed on the client's side), and the request ends when its channel is read
     * again. On the client's end only.
     */
    private boolean bodyArrived() {
        return client instanceof Http2StreamChannel s && !s.stream().state().remoteSideOpen();
    }

    /**
     * The client ended its side inside the request body, which can never end now: the server, waiting
     * for the rest, would not answer before its timeout; a client abort, as HAProxy and nginx take it
     * (a server's answer already under way is left to finish). On a stream of an HTTP/2 connection the
     * proxy has already ended over a connection error, the proxy's ({@link #inputEndedBy}): {@code PR}
     * and an {@code invalid} error, as when the connection's close reaches the stream first.
     */
    private void endedInsideTheBody() {
        if (cause == TerminationCause.NORMAL) {
            TerminationCause why = inputEndedBy();
            terminated(why, TerminationPhase.REQUEST);
            invalid = why == TerminationCause.PROXY;
        }
        abortExchange();
        closeNow();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        clientReading = false;
        if (conn != null && wroteToServer) {
            wroteToServer = false;
            conn.touch();
            FlushBatch.flushLater(conn.channel);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // an HTTP/2 stream that turns unwritable inside the write of a piece of the response is looked at
        // after it, once flushed (serverContent): stopping the server's reads here only to resume them
        // at the flush cost two changes of its interest in reads per read of a fast server
        if (conn != null && !(writingContent && client instanceof Http2StreamChannel && !client.isWritable())) {
            boolean writable = client.isWritable();
            if (writable && !conn.channel.config().isAutoRead()) {
                // the server's timeout counts from when the proxy reads it again
                conn.touch();
            }
            conn.channel.config().setAutoRead(writable);
            if (!writable) {
                conn.pausedForClient(clientTimeoutNanos());
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent close && close.isSuccess()
                || evt == ChannelInputShutdownReadComplete.INSTANCE && client instanceof Http2StreamChannel) {
            // the client's FIN or, over TLS, its close_notify (with or without a FIN after it): nothing
            // more can come; a FIN after a close_notify adds nothing. Once the proxy has sent its own
            // close_notify (a lingering close), the TLS handler reports the close as complete whatever
            // the client does: only the FIN ends the lingering, and the client may still be sending.
            // An HTTP/2 stream learns of its connection's FIN from the read-complete event Netty's
            // multiplexer passes on to every open stream, as it passes on a close_notify
            if (inputShutdown || closing && evt instanceof SslCloseCompletionEvent) {
                return;
            }
            inputShutdown = true;
            if (request == null && (queued == null || queued.isEmpty())) {
                heldAbandoned();
                // the client's end: a head it cut short, which the decoder hands on only at the close
                // over TLS, is its own (CR)
                if (closedBy == null) {
                    closedBy = inputEndedBy();
                }
                closeOnFlush();
            } else if (request != null && !requestComplete && !responseStarted && !bodyArrived()) {
                endedInsideTheBody();
            } else if (request != null && !responseStarted && backend != null && backend.config().abortOnClose()) {
                // the backend's abortOnClose (HAProxy's option abortonclose): a client that ends its side
                // after a whole request has given up on it, while it waits in the queue (CQ), for its
                // server connection (CC) or for the response head (CH); without the option such a client
                // may still read the answer, as an HTTP/1.0-style one that half-closes does. A stream's
                // request is whole when its end has come, even if this handler has not read it yet
                if (cause == TerminationCause.NORMAL) {
                    terminated(inputEndedBy(), waitingPhase());
                }
                abortExchange();
                closeNow();
            } else if (request != null && requestComplete && responseStarted && !tunneling && !requestQueued()
                    && !(client instanceof Http2StreamChannel) && backend != null && backend.config().abortOnClose()) {
                // with the option a FIN is the client's end in every phase, the response's too: a client
                // that closes its socket while its response streams sends a FIN (the JDK's close sends
                // it first, then a reset for the bytes it did not read), and once the FIN is in Linux
                // reports that reset to no read and Netty to no handler, so only the next write would
                // fail, and a server that stalls mid-body never makes one. Without the option the FIN
                // may be an HTTP/1.0-style half-close read late (a large answer from the cache, a fast
                // server), and the response goes on, as HAProxy's does, to the server timeout at worst
                if (cause == TerminationCause.NORMAL) {
                    terminated(TerminationCause.CLIENT_ABORT, TerminationPhase.DATA);
                }
                abortExchange();
                closeNow();
            }
        } else if (evt == HttpListener.DRAIN) {
            // an idle connection closes; one whose next request head has begun to arrive is left to
            // finish it, and its answer closes the connection, as HAProxy's soft stop does: it was
            // closed under the request (logged KQ <BADREQ>), which the client had sent in good time
            if (request == null && (queued == null || queued.isEmpty()) && (decoder == null || !decoder.headUnderWay())) {
                closeOnFlush();
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (request == null) {
            heldAbandoned();
        }
        closing = true;
        if (request != null) {
            if (cause == TerminationCause.NORMAL) {
                TerminationCause why = connectionEndedBy();
                terminated(why, exchangePhase());
                // an HTTP/2 connection error is the client's breach of the protocol: a request not yet
                // whole counts as an invalid one, as a stream refused as malformed does
                invalid = why == TerminationCause.PROXY;
            }
            abortExchange();
        }
        // the requests pipelined behind are dropped by whoever ended the connection (KQ at the stop)
        dropQueued(queued != null && !queued.isEmpty() ? connectionEndedBy() : TerminationCause.CLIENT_ABORT);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Http2Error streamError = cause instanceof Http2FrameStreamException e ? e.error()
                : cause instanceof Http2Exception.StreamException e ? e.error()
                : cause instanceof DecoderException && client instanceof Http2StreamChannel ? malformed(cause) : null;
        if (streamError != null) {
            // the client broke the protocol on this stream (a content-length its DATA does not match,
            // malformed trailers, HEADERS that do not make a request): Netty's codec leaves the reset to
            // the stream (RFC 9113, 5.4.2), with the error's own code; a 500 would answer what is not
            // a request, and a plain close of the stream would reset it with CANCEL
            if (log.isDebugEnabled()) {
                log.debug("{}: stream {} reset: {}", frontend.name(), client, streamError, cause);
            }
            if (request != null) {
                refusedInvalid(exchangePhase());
            } else {
                refusedStream(cause);
            }
            abortExchange();
            client.write(new DefaultHttp2ResetFrame(streamError));
            closeNow();
            return;
        }
        if (cause instanceof IOException || cause instanceof DecoderException) {
            // the client's network or its bytes: routine, and the client's to fix
            if (log.isDebugEnabled()) {
                log.debug("{}: client connection {} failed", frontend.name(), client, cause);
            }
            // a write that failed because the proxy closed the connection itself (its stop, an HTTP/2
            // connection error) is not the client's: it was logged CD at the stop
            TerminationCause why = connectionEndedBy();
            if (request != null && !closing) {
                // as the close would (channelInactive), but before the requests queued behind it are dropped
                if (this.cause == TerminationCause.NORMAL) {
                    terminated(why, exchangePhase());
                    invalid = why == TerminationCause.PROXY;
                }
                abortExchange();
            }
            dropQueued(why);
        } else {
            // anything else is a fault in the proxy or in application code it runs (an ACL, a
            // balancing strategy): never silent, and a request in progress gets HAProxy's answer,
            // 500 with termination cause 'I', or has its response cut if that had begun
            // at most one WARN with its stack trace per 10 s per frontend: a key function that throws
            // for every request would otherwise write one per request
            if (state.unexpectedErrors.tryAcquire(clock.nanoTime())) {
                log.warn("{}: client connection {} closed after an unexpected error (others within 10 s at DEBUG)",
                        frontend.name(), client, cause);
            } else if (log.isDebugEnabled()) {
                log.debug("{}: client connection {} closed after an unexpected error", frontend.name(), client, cause);
            }
            if (request != null && !closing) {
                terminated(TerminationCause.INTERNAL, exchangePhase());
                sendError(HttpResponseStatus.INTERNAL_SERVER_ERROR, true);
                return;
            }
        }
        closeNow();
    }

    /**
     * Logs and counts a stream reset before its request reached this handler as a refused request
     * ({@code PR}, an {@code invalid} error), as the HTTP/1.1 frontend does a malformed request: HEADERS
     * that HPACK's field validation, the content-length check or the stream codec refused
     * ({@code cause}, null for HEADERS the codec took for trailers), or whose request was held by the
     * request adapter. The request line is the held request's, the refused HEADERS' {@code :method} and
     * {@code :path} when the stream codec knew them valid, else {@code <BADREQ>}. Nothing for a stream
     * whose request was already answered or refused: its line is written. Error path only.
     */
    private void refusedStream(Throwable cause) {
        streamWithoutRequest(TerminationCause.PROXY, cause);
    }

    /**
     * Logs and counts an HTTP/2 stream that Netty's codec refused without opening it, so that no stream
     * channel and no handler saw it: RST_STREAM {@code REFUSED_STREAM} for a stream over the connection's
     * concurrent-stream limit, or HEADERS refused while that limit is reached ({@link Http2FrontendCodec}).
     * As a stream refused after it opened ({@link #refusedStream}): one access-log line {@code PR} and an
     * {@code invalid} error on the frontend (over a limit); the line is {@code <BADREQ>}, as the refused
     * HEADERS are not kept. A {@code status} above 0 is the answer Netty's codec sent on a stream of its
     * own ({@code 431} for a header list over the limit), logged and counted as the HTTP/1.1 frontend's
     * {@code 431} is; 0 for a stream reset without an answer, which has no sample of the total time.
     * Error path only.
     */
    static void refusedUnopened(HttpListener listener, Channel connection, int status) {
        HttpListener.State state = listener.state();
        FrontendMetrics metrics = listener.metrics();
        if (status > 0) {
            // answered at once, as its time sample says
            metrics.firstByteTime(0);
            metrics.requestCompleted(status, 0, 0, 0);
        } else {
            metrics.requestUntimed();
        }
        metrics.error(ErrorKind.INVALID);
        AccessLog log = state.context.accessLog();
        if (log.isEnabled()) {
            log.log(new AccessLogEntry()
                    .start(state.context.clock().currentTimeMillis())
                    .client(ClientAddresses.remote(connection))
                    .frontend(state.frontend.name())
                    .request(BADREQ, null, null)
                    .status(status)
                    .totalTime(0)
                    .requestId(state.requestIdHeader == null ? null : RequestIds.next())
                    .termination(TerminationCause.PROXY, TerminationPhase.REQUEST));
        }
    }

    /**
     * Logs an HTTP/2 request held for its next frame ({@link Http2RequestAdapter#held}) whose client
     * reset the stream or ended its side instead, or whose connection ended: a client abort inside
     * the request ({@code CR}, as a stream reset inside its body), with the held request's line, unless
     * the proxy ended the connection itself ({@link #connectionEndedBy}: {@code KR} at a stop,
     * {@code PR} on a connection error), which it may have done before the client's end of input
     * reached the stream ({@link #inputEndedBy}). Looks the held request up only for a stream that
     * ends before any exchange began on it.
     */
    private void heldAbandoned() {
        // a stream whose exchange began had no request held: the attribute is looked up only otherwise
        if (!closing && exchangeId == 0 && client instanceof Http2StreamChannel && Http2RequestAdapter.held(client) != null) {
            streamWithoutRequest(connectionEndedBy(), null);
        }
    }

    /** Whether the proxy's stop closed {@code server}'s connection (marked {@link HttpPipeline#ENDED_BY} {@code KILLED}). */
    private static boolean closedByStop(Channel server) {
        Channel connection = server instanceof Http2StreamChannel ? server.parent() : server;
        return connection.hasAttr(HttpPipeline.ENDED_BY) && connection.attr(HttpPipeline.ENDED_BY).get() == TerminationCause.KILLED;
    }

    /**
     * Who ended the client's side when its input ended (a FIN, a close_notify): the client, unless this
     * is an HTTP/2 stream whose connection the proxy has already ended ({@link #connectionEndedBy}). A
     * connection error is marked before its GOAWAY is sent and the connection closed, and a FIN the
     * client sent right behind the offending frame reaches the streams before that close does: they
     * were logged as client aborts ({@code CR}) or as the proxy's ({@code PR}) as the two raced.
     * Error path only.
     */
    private TerminationCause inputEndedBy() {
        return client instanceof Http2StreamChannel ? connectionEndedBy() : TerminationCause.CLIENT_ABORT;
    }

    /**
     * Who ended the client's side of an exchange still under way when its channel became inactive: the
     * proxy, when it ended the connection itself ({@link HttpPipeline#ENDED_BY}: {@code KILLED} when it
     * stopped, {@code PROXY} on an HTTP/2 connection error), else the client (a close, a reset, a
     * stream reset). Error path only.
     */
    private TerminationCause connectionEndedBy() {
        Channel connection = client instanceof Http2StreamChannel ? client.parent() : client;
        // hasAttr first: attr() would create the attribute on a connection that has none
        TerminationCause why = connection.hasAttr(HttpPipeline.ENDED_BY) ? connection.attr(HttpPipeline.ENDED_BY).get() : null;
        return why != null ? why : TerminationCause.CLIENT_ABORT;
    }

    /**
     * The access-log line and the counts of a stream that ended before its request reached this
     * handler, for {@code why}: see {@link #refusedStream} and {@link #heldAbandoned()}.
     */
    private void streamWithoutRequest(TerminationCause why, Throwable cause) {
        if (closing || exchangeId != 0) {
            return;
        }
        beginAccounting(-1);
        if (!logHeld()) {
            if (cause instanceof Http2StreamRequestCodec.Refused r && r.method() != null) {
                method = r.method();
                target = r.path();
            } else {
                method = BADREQ;
            }
        }
        requestId = requestIdHeader == null ? null : RequestIds.next();
        terminated(why, TerminationPhase.REQUEST);
        invalid = why == TerminationCause.PROXY;
        account();
    }

    /**
     * Takes the request line for the access log from the request of this HTTP/2 stream held for its
     * next frame ({@link Http2RequestAdapter#held}), if there is one; returns whether there was.
     * Error path only.
     */
    private boolean logHeld() {
        HttpRequest held = Http2RequestAdapter.held(client);
        if (held == null) {
            return false;
        }
        method = held.method().name();
        target = held.uri();
        return true;
    }

    /**
     * The reset code for a stream whose frames the stream codec could not turn into a request (no
     * {@code :method} or {@code :path}, a method that is not a token, a {@code host} that differs
     * from {@code :authority}, two of them, a bad {@code content-length}): the code of Netty's own
     * stream error when it raised one, else {@code PROTOCOL_ERROR}, as RFC 9113 (8.1.1) has it for
     * a malformed request.
     */
    private static Http2Error malformed(Throwable cause) {
        Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
        return e instanceof Http2Exception.StreamException ? e.error() : Http2Error.PROTOCOL_ERROR;
    }

    /**
     * The client timeout ran out before a whole request head: answers 408. The exchange (its log
     * line's start and Ta, its total time) began {@code waitedNanos} ago, at the head's first byte or
     * at the connection's start, not now. It is logged with its request line when that had arrived
     * whole and valid, else as {@code <BADREQ>}, as a refused head is; the line is checked only now,
     * on this error path. An HTTP/2 stream's request held for its next frame
     * ({@link Http2RequestAdapter#held}) is logged with its line.
     */
    void requestHeadTimedOut(long waitedNanos) {
        if (request == null && !closing) {
            // the answer to a request that never arrived whole: as that request's, by the configuration
            // of now (its error page, request id header, metrics), not that of the connection's last request
            currentState();
            beginAccounting(-1);
            startNanos -= waitedNanos;
            if (!(client instanceof Http2StreamChannel && logHeld())) {
                logRefused(ctx.pipeline().get(PipelineNames.HTTP_DECODER) instanceof StrictRequestDecoder decoder
                        ? decoder.headTimedOut() : new HttpRejection(HttpResponseStatus.REQUEST_TIMEOUT, "client timeout"));
            }
            terminated(TerminationCause.CLIENT_TIMEOUT, TerminationPhase.REQUEST);
            answersHead(false);
            sendError(HttpResponseStatus.REQUEST_TIMEOUT, true);
        }
    }

    /**
     * One read of the listener's configuration per request: a reconfiguration applies from the next
     * request on, also on this keep-alive connection, and never in the middle of one.
     */
    private void currentState() {
        HttpListener.State current = listener.state();
        if (current != state) {
            state = current;
            frontend = current.frontend;
            context = current.context;
            requestIdHeader = current.requestIdHeader;
            metrics = current.metrics;
        }
    }

    /**
     * Sets whether the answer being made is to a HEAD request, here and in the HTTP/1.1 response
     * encoder, which then drops its body: for each request, and for an answer to no request (false).
     */
    private void answersHead(boolean head) {
        this.head = head;
        if (encoder != null) {
            encoder.head = head;
        }
    }

    /**
     * The client sent none of its request's body for the client timeout while the proxy was reading it
     * ({@link ClientTimeouts#body}): a client timeout ({@code cR}, a {@code timeout} error on the
     * frontend), answered 408 while no response has begun, as HAProxy's {@code timeout client} and
     * nginx's {@code client_body_timeout} do; the server connection, which waited for the rest, is
     * closed, and the server is not blamed. Before, such a request waited for the server timeout
     * (forever without one), then was answered 504 and counted as the server's timeout ({@code sH}).
     */
    void requestBodyTimedOut() {
        if (request == null || requestComplete || responseStarted || closing || tunneling) {
            return;
        }
        terminated(TerminationCause.CLIENT_TIMEOUT, TerminationPhase.REQUEST);
        sendError(HttpResponseStatus.REQUEST_TIMEOUT, true);
    }

    void keepAliveTimedOut() {
        if (request == null && !closing) {
            closeNow();
        }
    }

    // ---------------------------------------------------------------- requests

    private void startRequest(HttpRequest req) {
        currentState();
        timeouts.busy();
        beginAccounting(timeouts.requestHeadNanos());
        DecoderResult result = req.decoderResult();
        // before any answer, a refusal's too: the previous request's HEAD would drop this one's body
        answersHead(result.isSuccess() && HttpMethod.HEAD.equals(req.method()));
        if (result.isFailure()) {
            ReferenceCountUtil.release(req);
            HttpRejection rejection = HttpRejection.of(result.cause());
            if (rejection.clientLeft()) {
                clientLeftInsideHead(rejection);
                return;
            }
            refusedInvalid(TerminationPhase.REQUEST);
            logRefused(rejection);
            refuseHead(rejection.status(), null);
            return;
        }
        if (PathNormalizer.hasDotSegment(req.uri())) {
            // /a/../b, /a/%2e%2e/b, /a/..;/b: path rules read the path resolved, so a server that does
            // not resolve it would get a path no rule saw (/admin/../api passed a deny on /admin)
            refusedInvalid(TerminationPhase.REQUEST);
            logRefused(new HttpRejection(HttpResponseStatus.BAD_REQUEST, "dot segment in the path", req.method().name(),
                    req.uri(), req.protocolVersion().text()));
            // a whole, valid head refused by policy: its answer and log line keep the client's id
            CharSequence id = requestIdHeader == null ? null : Headers.oneRequestId(req.headers(), requestIdHeader);
            ReferenceCountUtil.release(req);
            refuseHead(HttpResponseStatus.BAD_REQUEST, id);
            return;
        }
        request = req;
        exchangeId++;
        requestComplete = false;
        if (!(req instanceof LastHttpContent) && !HttpUtil.is100ContinueExpected(req)) {
            // its body is to come: the client timeout bounds each wait for it (a client that waits for
            // 100 Continue is timed once it gets it, or once it sends the body without waiting)
            timeouts.body();
        }
        HttpHeaders h = req.headers();
        clientVersion = req.protocolVersion();
        closeAsked = !HttpUtil.isKeepAlive(req);
        keepAlive = !closeAsked && (!inputShutdown || requestQueued());
        int maxRequests = frontend.keepAliveMaxRequests();
        if (++served >= maxRequests && maxRequests > 0 && !(client instanceof Http2StreamChannel)) {
            // the last request this connection serves: its answer says Connection: close, and what the
            // client pipelined after it is dropped as the connection closes (nginx's keepalive_requests)
            keepAlive = false;
        }
        HttpMethod method = req.method();
        // a server must ignore Upgrade in an HTTP/1.0 request (RFC 9110, 7.8), so the proxy does too
        upgrade = clientVersion.minorVersion() != 0 && Headers.isWebSocketUpgrade(req);
        // an HTTP/2 stream has no Connection field (its HEADERS are refused with one): its upgrade is an
        // extended CONNECT that the stream's Http2WebSocket made into one
        webSocket = upgrade && client instanceof Http2StreamChannel
                && client.pipeline().get(PipelineNames.HTTP2_WEBSOCKET) instanceof Http2WebSocket ws && ws.handshake() ? ws : null;
        if (upgrade && decoder != null) {
            // what the client sends behind the upgrade is the tunnel's after a 101, raw, and requests
            // only after another answer: it stays bytes until the answer tells (queueHasRoom)
            decoder.hold();
        }
        bodyless = !h.contains(HttpHeaderNames.TRANSFER_ENCODING) && HttpUtil.getContentLength(req, 0L) == 0L;
        retryable = bodyless && isIdempotent(method);
        // the request id and the trace context are read here, for every answer and log line, but their
        // fields are set only after the rules, which read the request as the client sent it, as
        // proxy.route reads a TestRequest (a rule on headerExists(X-Request-ID) matched every request)
        boolean setRequestId = false;
        if (requestIdHeader != null) {
            String first = h.get(requestIdHeader);
            CharSequence id = first;
            if (!Headers.isOneRequestId(h, requestIdHeader, first)) {
                id = first == null ? null : Headers.firstRequestId(h, requestIdHeader);
                if (id == null) {
                    id = RequestIds.next();
                }
                setRequestId = true;
            }
            requestId = id;
        }
        this.method = method.name();
        target = req.uri();
        boolean traced = tracing.isEnabled();
        TraceContext trace = traced ? trace(h) : null;
        if (HttpMethod.CONNECT.equals(method)) {
            // a reverse proxy opens no tunnel on a client's request, and what follows a CONNECT is not HTTP
            terminated(TerminationCause.PROXY, TerminationPhase.REQUEST);
            ReferenceCountUtil.release(req);
            sendError(HttpResponseStatus.NOT_IMPLEMENTED, true);
            return;
        }
        Headers.originForm(req);

        if (secure && tlsInfo == null) {
            // an HTTP/2 stream's TLS is its connection's (an accepted connection's parent is the server channel)
            Channel parent = client.parent();
            tlsInfo = TlsInfo.of(parent == null || parent instanceof ServerChannel ? client : parent);
        }
        ClientCertHeaders.strip(h);
        NettyRequestView view = tlsInfo == null ? new NettyRequestView(source, localPortNumber, req)
                : new NettyRequestView(source, localPortNumber, req, tlsInfo.serverName(), tlsInfo.applicationProtocol(),
                        tlsInfo.clientCertificate());
        Decision decision = state.router.route(view);
        if (!(decision instanceof Decision.Forward forward)) {
            answer(req, decision);
            return;
        }
        backend = context.backend(forward.backend());
        if (upgrade && backend.config().protocol() != BackendProtocol.HTTP_1_1) {
            // the proxy speaks no RFC 8441 to servers, and an HTTP/2 request has no Upgrade: the server
            // would answer the GET as an ordinary request, which an HTTP/2 client would take for an open
            // tunnel and an HTTP/1.1 client's handshake fails on, unexplained. HAProxy's 502 for a server
            // without extended CONNECT, before any server is spoken to
            terminated(TerminationCause.PROXY, TerminationPhase.REQUEST);
            ReferenceCountUtil.release(req);
            sendError(HttpResponseStatus.BAD_GATEWAY, true);
            return;
        }
        // the balancing key is read from the request as the client sent it, as proxy.routeAndPick
        // reads it, before the proxy's own fields and the rules' header edits and path rewrite below
        HashKey key = backend.hashKey();
        requestKeyHash = key == null ? 0 : key.hash(view);
        if (setRequestId) {
            h.set(requestIdHeader, requestId);
        }
        if (traced) {
            traceHeaders(h, trace);
        }
        prepareRequest(req, h);
        if (frontend.clientCertificateHeaders()) {
            ClientCertHeaders.set(h, tlsInfo);
        }
        forward(req, h, view, forward);

        CacheStore store = state.cache(backend.name());
        if (store != null && cacheRequest(store, req, h, view)) {
            return;
        }
        dispatch(req, h, view);
    }

    /**
     * Answers a request head refused before it became an exchange ({@code status}: 400, 413, 414, 431)
     * and closes the connection. The client may still be sending what follows the head (above all the
     * body of a request that its {@code Content-Length} puts over the limit, which a client that does not
     * wait for {@code 100 Continue} sends at once, but also a body after an invalid head or the rest of a
     * head over the limits): on an HTTP/1 connection it lingers after the answer, as after any answer
     * before the end of a request ({@link #lingeringClose}). Closed at once, it had the kernel answer
     * those bytes with a reset, which can take the unread answer with it; the decoder drops them now.
     * {@code clientId} is the request id the client gave a whole head ({@link #sendError(HttpResponseStatus,
     * boolean, CharSequence)}). Error path only.
     */
    private void refuseHead(HttpResponseStatus status, CharSequence clientId) {
        if (decoder != null) {
            refusedHead = true;
            // not the previous request's: what follows this head is not known to be nothing
            bodyless = false;
        }
        sendError(status, true, clientId);
    }

    /** The rejection of {@code req} when it stands for a head its client's end of input cut short, else null. */
    private static HttpRejection cutByClose(HttpRequest req) {
        return req.decoderResult().cause() instanceof HttpRejection r && r.clientLeft() ? r : null;
    }

    /**
     * The client ended its side (a FIN, a reset) inside a request head: it left before its request was
     * whole ({@code CR}), as HAProxy logs it, with no error on the frontend. Tq is -1 (the head never
     * became whole), Ta and the line's date count from the head's first byte. A client that may still
     * read gets HAProxy's 400; after a reset the line has no status. The client timer has been told
     * ({@link ClientTimeouts#busy()}). Error path only.
     */
    private void clientLeftInsideHead(HttpRejection rejection) {
        long waited = timeouts.requestHeadNanos();
        beginAccounting(-1);
        startNanos -= Math.max(waited, 0);
        logRefused(rejection);
        terminated(TerminationCause.CLIENT_ABORT, TerminationPhase.REQUEST);
        if (closing || !client.isActive()) {
            account();
            return;
        }
        sendError(rejection.status(), true);
    }

    /**
     * What the access log writes for a request refused before it became an exchange, as HAProxy
     * writes it: its request line when that was whole and valid (only a later part was not), else
     * {@code <BADREQ>}.
     */
    private void logRefused(HttpRejection rejection) {
        if (rejection.method() == null) {
            method = BADREQ;
            target = null;
        } else {
            method = rejection.method();
            target = rejection.target();
            clientVersion = "HTTP/1.0".equals(rejection.version()) ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1;
        }
    }

    /** Sends a forwarded request to a server of {@link #backend}: picks one (or queues), then connects. */
    private void dispatch(HttpRequest req, HttpHeaders h, NettyRequestView view) {
        budget = state.budget(backend);
        budget.requestStarted();
        tried = null;
        attempts = 0;
        queueNanos = -1;
        ServerRuntime s = null;
        stickyCookie = backend.config().cookie();
        if (stickyCookie != null) {
            if (sticky == null) {
                sticky = new StickyRequest();
            }
            s = sticky.read(backend, stickyCookie, view, clock);
            if (sticky.present()) {
                if (cacheFill != null && (stickyCookie.mode() == StickyCookie.Mode.PREFIX || stickyCookie.isIndirect())) {
                    cacheKeyCookies = h.getAll(HttpHeaderNames.COOKIE);
                }
                if (stickyCookie.mode() == StickyCookie.Mode.PREFIX) {
                    // the server reads the value it set: every value loses its "id~"
                    Headers.stripCookiePrefix(h, stickyCookie.name());
                } else if (stickyCookie.mode() == StickyCookie.Mode.INSERT && stickyCookie.isIndirect()) {
                    Headers.removeCookie(h, stickyCookie.name());
                }
            }
        }
        if (s == null) {
            s = backend.select(this);
        }
        if (s == null && QueueWait.mayWait(backend)) {
            if (waitForSlot()) {
                if (req instanceof LastHttpContent last) {
                    requestContentDone(last);
                }
            } else {
                queueFull();
            }
            return;
        }
        if (s == null) {
            if (log.isDebugEnabled()) {
                log.debug("{}: no usable server in backend {}", frontend.name(), backend.name());
            }
            // SC with no server: a connect error on the backend, as the TCP engine counts it (HAProxy's econ)
            backend.metrics().error(ErrorKind.CONNECT);
            terminated(TerminationCause.SERVER_ABORT, TerminationPhase.CONNECT);
            sendError(HttpResponseStatus.SERVICE_UNAVAILABLE, false);
            return;
        }
        useServer(s, false);
        if (req instanceof LastHttpContent last) {
            requestContentDone(last);
        }
    }

    /**
     * Applies a forward decision to the request sent to the server: the rules' header edits in order
     * (after the proxy's own forwarding headers, so a rule may override them), the rewritten path
     * with the original query, leading slashes folded ({@link Headers#foldLeadingSlashes}), the Host
     * override; keeps the response edits for the response.
     */
    private void forward(HttpRequest req, HttpHeaders h, NettyRequestView view, Decision.Forward forward) {
        List<HeaderEdit> edits = forward.requestHeaders();
        if (!edits.isEmpty()) {
            Headers.apply(h, edits, false);
        }
        if (forward.path() != null) {
            req.setUri(forward.target(view));
        }
        // after the rules, which read the path as the client sent it (so do proxy.route's tests), and
        // after a prefix rewrite, which keeps the rest of the raw path: /svc//evil/x less /svc is //evil/x
        Headers.foldLeadingSlashes(req);
        if (forward.host() != null) {
            h.set(HttpHeaderNames.HOST, forward.host());
        }
        List<HeaderEdit> response = forward.responseHeaders();
        responseEdits = response.isEmpty() ? null : response;
    }

    /**
     * Answers a request the router denied, redirected or answered itself, without a backend. The
     * connection stays open when the client keeps it alive and the rest of the request can be
     * skipped: nothing more, or a body of at most {@link #MAX_DISCARD} bytes that is read and dropped.
     */
    private void answer(HttpRequest req, Decision decision) {
        if (req instanceof LastHttpContent) {
            requestComplete = true;
        }
        boolean close = !keepAlive || listener.isDraining();
        if (!requestComplete && !bodyless) {
            long declared = HttpUtil.getContentLength(req, -1L);
            // a client waiting for 100-continue may never send the body it announced: its next bytes
            // could be a body or a request, so the connection cannot go on
            close |= HttpUtil.is100ContinueExpected(req) || declared > MAX_DISCARD;
        }
        ReferenceCountUtil.release(req);
        int status;
        CharSequence contentType;
        String body;
        String location = null;
        ErrorPages.Page page = null;
        if (decision instanceof Decision.Deny deny) {
            terminated(TerminationCause.PROXY, TerminationPhase.REQUEST);
            status = deny.status();
            contentType = TEXT_PLAIN_UTF8;
            body = deny.body();
            ErrorPages pages = state.errorPages;
            page = pages == null ? null : pages.forDeny(deny);
        } else if (decision instanceof Decision.Redirect redirect) {
            status = redirect.status();
            contentType = null;
            body = "";
            location = redirect.location();
        } else {
            Decision.Respond respond = (Decision.Respond) decision;
            status = respond.status();
            contentType = respond.contentType();
            body = respond.body();
        }
        FullHttpResponse r;
        int length;
        if (page == null) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            length = bytes.length;
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                    length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
        } else {
            contentType = page.contentType;
            length = page.length;
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), page.content());
        }
        HttpHeaders h = r.headers();
        if (contentType != null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, length);
        if (location != null) {
            h.set(HttpHeaderNames.LOCATION, location);
        }
        returnRequestId(h);
        // before the rules' edits, so that a rule removing Date removes the proxy's too
        addDate(h);
        List<HeaderEdit> edits = decision.responseHeaders();
        if (!edits.isEmpty()) {
            Headers.apply(h, edits, true);
        }
        if (close) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (clientVersion.minorVersion() == 0) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        sendLocal(r, close, false);
    }

    /** Puts the request id on a response to the client, unless the frontend gives requests no ids. */
    private void returnRequestId(HttpHeaders h) {
        if (requestId != null) {
            h.set(requestIdHeader, requestId);
        }
    }

    private static boolean isIdempotent(HttpMethod m) {
        return m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.TRACE
                || m == HttpMethod.PUT || m == HttpMethod.DELETE;
    }

    private void prepareRequest(HttpRequest req, HttpHeaders h) {
        String host = h.get(HttpHeaderNames.HOST);
        requestConnection = Headers.removeHopByHop(h, upgrade, requestIdHeader);
        if (upgrade) {
            // WebSocket is the one upgrade proxied: a server must not be offered h2c (or any other)
            // beside it, as its 101 for that would be answered 502 instead of the request
            h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        }
        if (clientVersion != HttpVersion.HTTP_1_1) {
            // an HTTP/1.0 client waits for no 100 Continue, and a server must ignore its expectation;
            // sent on as HTTP/1.1, the server would see one it must honour
            h.remove(HttpHeaderNames.EXPECT);
            if (host != null) {
                // servers are spoken to in HTTP/1.1 so that their connections can be kept alive
                req.setProtocolVersion(HttpVersion.HTTP_1_1);
            }
        }
        // an empty Host (a target without an authority, RFC 9112 3.2) names no host to forward
        String forwardedHost = host == null || host.isEmpty() ? null : host;
        if (frontend.forwardedFor()) {
            Headers.append(h, Headers.X_FORWARDED_FOR, clientIp);
            h.set(Headers.X_FORWARDED_PROTO, secure ? Headers.HTTPS : Headers.HTTP);
            if (forwardedHost != null) {
                h.set(Headers.X_FORWARDED_HOST, forwardedHost);
            } else {
                // the field is the proxy's: a client's own would pass for it
                h.remove(Headers.X_FORWARDED_HOST);
            }
            h.set(Headers.X_FORWARDED_PORT, localPort);
            h.set(Headers.X_REAL_IP, clientIp);
        }
        if (frontend.forwarded()) {
            Headers.removeInvalidForwarded(h);
            Headers.append(h, Headers.FORWARDED, forwardedElement(forwardedHost));
        }
        if (frontend.via() != null) {
            Headers.append(h, HttpHeaderNames.VIA, viaValue(clientVersion));
        }
    }

    private String forwardedElement(String host) {
        StringBuilder sb = new StringBuilder(64).append("for=");
        if (clientIp.indexOf(':', 0) >= 0) {
            sb.append("\"[").append(clientIp).append("]\"");
        } else {
            sb.append(clientIp);
        }
        if (host != null) {
            sb.append(";host=\"").append(host.replace("\"", "")).append('"');
        }
        return sb.append(secure ? ";proto=https" : ";proto=http").toString();
    }

    /** The Via entry of a request: the version it was received with (RFC 9110, 7.6.3), "2" on an HTTP/2 stream. */
    private String viaValue(HttpVersion version) {
        String received = client instanceof Http2StreamChannel ? "2 "
                : version.minorVersion() == 0 && version.majorVersion() == 1 ? "1.0 " : "1.1 ";
        return received + frontend.via();
    }

    private void requestContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            // an invalid chunk, a body over the limit: the proxy refuses the rest of the request
            HttpResponseStatus status = HttpRejection.of(content.decoderResult().cause()).status();
            content.release();
            refuseRestOfRequest(status);
            return;
        }
        bytesIn += content.content().readableBytes();
        if (!(content instanceof LastHttpContent) && !responseStarted) {
            timeouts.body();
        }
        if (content instanceof LastHttpContent last && last != LastHttpContent.EMPTY_LAST_CONTENT
                && !last.trailingHeaders().isEmpty()) {
            if (requestConnection != null) {
                Headers.removeConnectionNamed(last.trailingHeaders(), requestConnection);
            }
            if (!underscoreTrailers(last.trailingHeaders())) {
                content.release();
                refuseRestOfRequest(HttpResponseStatus.BAD_REQUEST);
                return;
            }
            Headers.removeForbiddenTrailers(last.trailingHeaders(), requestIdHeader);
        }
        if (conn != null) {
            conn.channel.write(content, conn.channel.voidPromise());
            wroteToServer = true;
            if (!conn.channel.isWritable()) {
                conn.touch();
                conn.channel.flush();
                wroteToServer = false;
                if (!conn.channel.isWritable()) {
                    serverBackpressure = true;
                    client.config().setAutoRead(false);
                }
            }
        } else {
            if (pending == null) {
                pending = new ArrayList<>(4);
            }
            pending.add(content);
            pendingBytes += content.content().readableBytes();
            if (pendingBytes > MAX_PENDING_BYTES) {
                client.config().setAutoRead(false);
            }
        }
        if (content instanceof LastHttpContent last) {
            requestContentDone(last);
        }
    }

    /** Refuses a request whose body or trailers turned out invalid after its head was taken. */
    private void refuseRestOfRequest(HttpResponseStatus status) {
        if (responseStarted) {
            refusedInvalid(TerminationPhase.DATA);
            abortExchange();
            closeNow();
        } else {
            refusedInvalid(TerminationPhase.REQUEST);
            sendError(status, true);
        }
    }

    /**
     * Applies the frontend's rule for field names with an underscore to a client's trailer section,
     * as to its header section, since a server that merges trailers into the headers would read
     * {@code X_Real_IP} there as the proxy's {@code X-Real-IP}: {@code DROP_HEADER} removes those
     * fields; false when {@code REJECT_REQUEST} refuses the request.
     */
    private boolean underscoreTrailers(HttpHeaders trailers) {
        HttpFrontend.HeadersWithUnderscores rule = frontend.headersWithUnderscores();
        if (rule == HttpFrontend.HeadersWithUnderscores.ALLOW || !Headers.hasUnderscoreName(trailers)) {
            return true;
        }
        if (rule == HttpFrontend.HeadersWithUnderscores.REJECT_REQUEST) {
            return false;
        }
        Headers.removeUnderscoreNames(trailers);
        return true;
    }

    private void requestContentDone(LastHttpContent last) {
        requestComplete = true;
        timeouts.bodyDone();
        if (retryable && last != LastHttpContent.EMPTY_LAST_CONTENT && !last.trailingHeaders().isEmpty()) {
            retryable = false;
        }
    }

    /**
     * The sticky cookie of the response of {@code answered}'s backend, when it has one. Insert mode:
     * the server's own cookie of that name is removed (HAProxy's insert without preserve: it would
     * overwrite the proxy's), and a client without a valid cookie, or whose cookie's dates need a
     * refresh, gets one. Rewrite mode: the value of the server's cookie becomes the server's id.
     * Prefix mode: the server's id and {@code ~} go before its value, or, with {@code indirect}, the
     * server's cookie is removed from the answer to a client that came by its cookie (as HAProxy).
     */
    private void stickiness(HttpHeaders h, ServerRuntime answered) {
        StickyCookie config = answered.backend().config().cookie();
        if (config == null) {
            return;
        }
        switch (config.mode()) {
            case INSERT -> {
                Headers.removeSetCookie(h, config.name());
                // the request was read for an insert cookie of this name: a reconfiguration while it
                // was in flight may have changed the mode or the name, and a cookie of the old mode
                // (a prefix cookie's name, say) must not be inserted; the next request gets the new one
                if (stickyCookie != null && stickyCookie.mode() == StickyCookie.Mode.INSERT && stickyCookie.name().equals(config.name())) {
                    insertCookie(h, answered);
                }
            }
            case REWRITE -> Headers.editSetCookie(h, config.name(), answered.cookieValue(config), false);
            case PREFIX -> {
                if (config.isIndirect() && stickyCookie == config && sticky.direct(answered)) {
                    Headers.removeSetCookie(h, config.name());
                } else if (h.contains(HttpHeaderNames.SET_COOKIE)) {
                    Headers.editSetCookie(h, config.name(), answered.cookieValue(config) + '~', true);
                }
            }
            default -> throw new IllegalStateException("cookie mode: " + config.mode());
        }
    }

    /**
     * Sends a client without a valid sticky cookie (none, or one naming a server it could not use)
     * the cookie of the server that answered, or refreshes the dates of its cookie (maxidle,
     * maxlife); with {@code nocache}, marks such a response private.
     */
    private void insertCookie(HttpHeaders h, ServerRuntime answered) {
        String value = sticky.insertValue(answered);
        if (value == null) {
            return;
        }
        h.add(HttpHeaderNames.SET_COOKIE, stickyCookie.setCookie(value));
        if (stickyCookie.isNocache()) {
            // once per client that gets the cookie: every field of the server's is read and kept
            List<String> cc = h.getAll(HttpHeaderNames.CACHE_CONTROL);
            if (cc.isEmpty()) {
                h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.PRIVATE);
            } else {
                CachePolicy.Directives d = CachePolicy.Directives.of(h);
                if (!d.isPrivate && !d.noStore) {
                    h.set(HttpHeaderNames.CACHE_CONTROL, String.join(", ", cc) + ", private");
                }
            }
        }
    }

    // ---------------------------------------------------------------- the backend's queue

    /**
     * Every usable server of the backend is at its connection limit and the backend has a queue
     * ({@link QueueWait#mayWait}): the request waits in it (the client's reads stop once
     * {@link #MAX_PENDING_BYTES} of body are buffered) and this returns {@code true}, or, when the
     * queue holds the backend's {@code maxQueued} already, {@code false}.
     */
    private boolean waitForSlot() {
        if (QueueWait.isFull(backend)) {
            return false;
        }
        QueueSlot q = new QueueSlot(backend);
        slot = q;
        queuedAt = clock.nanoTime();
        if (q.start()) {
            return true;
        }
        slot = null;
        return false;
    }

    /**
     * Every usable server is full and so is the backend's queue ({@code maxQueued}): answered 503 at
     * once, logged {@code SQ} (HAProxy's state for a full {@code maxqueue}: refused on the server
     * side, at the queue) with a {@code connect} error on the backend, as {@code SC} counts a full
     * backend without a queue. It took no slot and no place in the queue.
     */
    private void queueFull() {
        if (log.isDebugEnabled()) {
            log.debug("{}: request {} found the queue of backend {} full", frontend.name(), requestId, backend.name());
        }
        backend.metrics().error(ErrorKind.CONNECT);
        terminated(TerminationCause.SERVER_ABORT, TerminationPhase.QUEUE);
        sendError(HttpResponseStatus.SERVICE_UNAVAILABLE, false);
    }

    /** Ends the wait's bookkeeping: the request no longer waits, and the time it waited is known. */
    private void waited() {
        slot = null;
        queueNanos = clock.nanoTime() - queuedAt;
    }

    /**
     * The backend this request waited for was removed by a reconfiguration: no server will take it,
     * so it is answered 503 at once, not at its queue timeout; logged {@code SC} with a connect error
     * on the backend, as when no server is usable.
     */
    private void backendRetired() {
        waited();
        if (log.isDebugEnabled()) {
            log.debug("{}: request {} was waiting for backend {}, which a reconfiguration removed", frontend.name(), requestId,
                    backend.name());
        }
        backend.metrics().error(ErrorKind.CONNECT);
        terminated(TerminationCause.SERVER_ABORT, TerminationPhase.CONNECT);
        sendError(HttpResponseStatus.SERVICE_UNAVAILABLE, false);
    }

    private void slotTaken(ServerRuntime s) {
        waited();
        if (listener.isClosing()) {
            // the slot of a request the proxy's stop ended first: this one ends too (KQ), with its
            // connection, which the stop closes next, rather than go to the server in the middle of the stop
            s.release();
            terminated(TerminationCause.KILLED, TerminationPhase.QUEUE);
            HttpPipeline.kill(client instanceof Http2StreamChannel ? client.parent() : client);
            return;
        }
        useServer(s, false);
    }

    private void queueTimedOut() {
        waited();
        if (log.isDebugEnabled()) {
            log.debug("{}: request {} waited the queue timeout for a server of backend {}", frontend.name(), requestId, backend.name());
        }
        // sQ: a timeout error on the backend, whose queue it was (HAProxy counts econ there)
        backend.metrics().error(ErrorKind.TIMEOUT);
        terminated(TerminationCause.SERVER_TIMEOUT, TerminationPhase.QUEUE);
        sendError(HttpResponseStatus.SERVICE_UNAVAILABLE, false);
    }

    /** Stops waiting; a wake-up already on its way finds the wait over and hands the slot on. */
    private void leaveQueue() {
        QueueSlot q = slot;
        slot = null;
        queueNanos = clock.nanoTime() - queuedAt;
        q.cancel();
    }

    /**
     * One wait of one request in a backend's queue ({@link QueueWait}: a wake-up hops to the client's
     * event loop); its outcome goes to the exchange that waits.
     */
    private final class QueueSlot extends QueueWait {

        QueueSlot(BackendRuntime backend) {
            super(backend, client.eventLoop(), HttpProxyHandler.this);
        }

        @Override
        protected void served(ServerRuntime server) {
            slotTaken(server);
        }

        @Override
        protected void retired() {
            backendRetired();
        }

        @Override
        protected void timedOut() {
            queueTimedOut();
        }

        /**
         * The balancing strategy threw on the pick a wake-up made (a task of the loop, outside the
         * pipeline): handled as if it had thrown in the pipeline, 500 logged {@code IQ}, the wait
         * already over.
         */
        @Override
        protected void failed(RuntimeException e) {
            exceptionCaught(ctx, e);
        }
    }

    // ---------------------------------------------------------------- picking and connecting

    private void useServer(ServerRuntime s, boolean fresh) {
        server = s;
        lastServer = s;
        attempts++;
        BackendConnection c = fresh ? null : pool.acquire(s);
        if (c != null) {
            connectNanos = 0;
            bind(c);
            return;
        }
        int id = exchangeId;
        connectStart = clock.nanoTime();
        if (BackendPool.multiplexed(s)) {
            // HTTP/2 to the server: the request is a new stream of a shared connection
            Future<Channel> stream = pool.openHttp2Stream(s);
            if (stream.isDone()) {
                connected(stream.isSuccess(), stream.getNow(), stream.cause(), s, id);
            } else {
                opening = stream;
                stream.addListener(done -> {
                    if (opening == stream) {
                        opening = null;
                    }
                    connected(stream.isSuccess(), stream.getNow(), stream.cause(), s, id);
                });
            }
            return;
        }
        ChannelFuture f;
        try {
            f = pool.connect(s);
        } catch (NoSocketException e) {
            connectFailed(s, e);
            return;
        }
        if (f.isDone()) {
            connected(f.isSuccess(), f.channel(), f.cause(), s, id);
        } else {
            connecting = f;
            f.addListener((ChannelFutureListener) done -> connected(done.isSuccess(), done.channel(), done.cause(), s, id));
        }
    }

    private void connected(boolean success, Channel ch, Throwable failure, ServerRuntime s, int id) {
        if (connecting != null && connecting.channel() == ch) {
            connecting = null;
        }
        if (success) {
            BackendConnection c = (BackendConnection) ch.pipeline().get(PipelineNames.HTTP_BACKEND);
            if (c == null || !ch.isActive()) {
                ch.close();
                if (request != null && id == exchangeId && server == s) {
                    connectFailed(s, new IllegalStateException("server connection closed"));
                }
                return;
            }
            if (request == null || id != exchangeId || server != s || closing) {
                pool.release(c);
                return;
            }
            connectNanos = clock.nanoTime() - connectStart;
            bind(c);
        } else if (request != null && id == exchangeId && server == s && !closing) {
            connectFailed(s, failure);
        }
    }

    private void connectFailed(ServerRuntime s, Throwable cause) {
        if (cause instanceof NoSocketException) {
            noSocket(s, cause);
            return;
        }
        if (log.isDebugEnabled()) {
            log.debug("{}: connect to {} failed: {}", frontend.name(), s, cause.toString());
        }
        boolean timeout = cause instanceof ConnectTimeoutException;
        s.reportFailure(timeout ? FailureKind.TIMEOUT : FailureKind.CONNECT);
        terminated(timeout ? TerminationCause.SERVER_TIMEOUT : TerminationCause.SERVER_ABORT, TerminationPhase.CONNECT);
        releaseServer();
        if (tried == null) {
            tried = new ArrayList<>(2);
        }
        tried.add(s);
        retry(timeout ? HttpResponseStatus.GATEWAY_TIMEOUT : HttpResponseStatus.BAD_GATEWAY, null);
    }

    /**
     * No connection could be made to {@code s}: the proxy had no file descriptor left for its socket
     * ({@link NoSocketException}). A connect error on the server (counted by the pool, once per
     * connection), but no failure of the server's for its outlier detection, and {@code RC} in the
     * access log (HAProxy's resource error); the next server is tried within the backend's retries,
     * else the answer is 503.
     */
    private void noSocket(ServerRuntime s, Throwable cause) {
        if (listener.noSocketWarnings.tryAcquire(clock.nanoTime())) {
            log.warn("{}: cannot open a connection to server {}: {}", frontend.name(), s, cause.getMessage());
        }
        terminated(TerminationCause.RESOURCE, TerminationPhase.CONNECT);
        releaseServer();
        if (tried == null) {
            tried = new ArrayList<>(2);
        }
        tried.add(s);
        retry(HttpResponseStatus.SERVICE_UNAVAILABLE, null);
    }

    /**
     * Tries again after a failure, within the backend's retries and the retry budget: on
     * {@code sameServer} when given (a stream an HTTP/2 server refused unprocessed), with the slot the
     * request still holds there, else on a server not tried yet; otherwise gives the slot back and
     * answers {@code failure}.
     */
    private void retry(HttpResponseStatus failure, ServerRuntime sameServer) {
        retry(failure, sameServer, false);
    }

    /**
     * As {@link #retry(HttpResponseStatus, ServerRuntime)}; {@code outsideBudget} for a request that a
     * server's GOAWAY left unprocessed, which is sent again without a slot of the retry budget: a
     * graceful GOAWAY refuses every stream above its last at once, often more than the budget's
     * minimum, and is no sign of a failing server (the backend's retries still bound it).
     */
    private void retry(HttpResponseStatus failure, ServerRuntime sameServer, boolean outsideBudget) {
        ServerRuntime next = null;
        if (attempts <= backend.config().retries() && (retrySlot || outsideBudget || budget.tryStartRetry())) {
            retrySlot |= !outsideBudget;
            if (sameServer != null) {
                // the request still holds its slot there
                next = server == sameServer || sameServer.tryAcquire() ? sameServer : null;
            } else {
                next = backend.select(this, tried);
            }
        }
        if (next == null) {
            releaseServer();
            sendError(failure, false);
            return;
        }
        if (sameServer != null) {
            sameServer.metrics().retry();
        } else if (tried != null && !tried.isEmpty()) {
            tried.get(tried.size() - 1).metrics().redispatch();
        }
        terminated(TerminationCause.NORMAL, TerminationPhase.NONE);
        useServer(next, sameServer != null);
    }

    /**
     * Sends a request that a stale pooled connection lost (reset before any response byte, an
     * idempotent request without a body) again, on a fresh connection to the same server. It is the
     * pool's own repair, not a retry of the server's failure: the backend's retries and the retry
     * budget do not bound it (nginx likewise counts no try for a cached connection's failure), and a
     * fresh connection is never stale, so it happens once per attempt. The request keeps the slot it
     * holds on the server.
     */
    private void resendFresh(ServerRuntime s) {
        if (server != s && !s.tryAcquire()) {
            releaseServer();
            sendError(HttpResponseStatus.BAD_GATEWAY, false);
            return;
        }
        s.metrics().retry();
        terminated(TerminationCause.NORMAL, TerminationPhase.NONE);
        // the same attempt on another connection: useServer counts one more
        attempts--;
        useServer(s, true);
    }

    private void bind(BackendConnection c) {
        conn = c;
        c.bind(this, client);
        if (c.decoder != null) {
            c.decoder.requestSent(head);
        } else {
            // HTTP/2 servers (gRPC ones in particular) learn that the proxy passes trailers on
            request.headers().set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
        }
        anyResponse = false;
        interim = false;
        responseStarted = false;
        switching = false;
        Channel ch = c.channel;
        sentNanos = clock.nanoTime();
        ch.write(request, ch.voidPromise());
        if (bodyless && requestComplete && pending == null && !(request instanceof LastHttpContent)) {
            // a retry of a request without a body, whose end went to the failed connection
            ch.write(LastHttpContent.EMPTY_LAST_CONTENT, ch.voidPromise());
        }
        if (pending != null) {
            for (Object msg : pending) {
                ch.write(msg, ch.voidPromise());
            }
            pending = null;
            pendingBytes = 0;
        }
        if (clientReading) {
            // flushed with whatever else this read burst sends the server (the request's end)
            wroteToServer = true;
        } else {
            ch.flush();
            wroteToServer = false;
        }
        if (!ch.isWritable()) {
            serverBackpressure = true;
            client.config().setAutoRead(false);
        } else {
            serverBackpressure = false;
            updateClientRead();
        }
    }

    private void updateClientRead() {
        boolean read = !serverBackpressure && (queued == null || queued.size() < MAX_QUEUED)
                && (conn != null || pendingBytes <= MAX_PENDING_BYTES);
        client.config().setAutoRead(read);
        if (read) {
            queueHasRoom();
        }
    }

    // ---------------------------------------------------------------- server side

    void serverWritabilityChanged(boolean writable) {
        if (!requestComplete) {
            serverBackpressure = !writable;
            updateClientRead();
        }
    }

    void serverRead(BackendConnection c, Object msg) {
        if (tunneling) {
            stashTunnel(false, msg);
            return;
        }
        if (msg instanceof FullHttpResponse whole) {
            serverWholeResponse(c, whole);
        } else if (msg instanceof HttpResponse response) {
            serverResponse(c, response);
        } else if (msg instanceof HttpContent content) {
            serverContent(c, content);
        } else {
            ReferenceCountUtil.release(msg);
            c.channel.close();
        }
    }

    /**
     * A final response whose whole body arrived with its head (the strict decoder's one message):
     * handled as its head, then written on as it is, head and body encoded into one buffer. A response
     * the cache takes in is handled as a head and a last content, as it arrives in pieces. An invalid
     * one (the decoder's stand-in, status 999, with its failure) is refused as it is, cache or not.
     */
    private void serverWholeResponse(BackendConnection c, FullHttpResponse whole) {
        if (cacheFill != null && whole.decoderResult().isSuccess()) {
            serverResponse(c, new DefaultHttpResponse(whole.protocolVersion(), whole.status(), whole.headers()));
            serverContent(c, new DefaultLastHttpContent(whole.content(), whole.trailingHeaders()));
            return;
        }
        serverResponse(c, whole);
        if (heldHead != whole) {
            // refused (and released) as a response
            return;
        }
        heldHead = null;
        bytesOut += whole.content().readableBytes();
        closingMidRequest(whole.headers());
        client.write(whole, client.voidPromise());
        responseComplete();
    }

    private void serverResponse(BackendConnection c, HttpResponse response) {
        if (!anyResponse) {
            long now = clock.nanoTime();
            responseNanos = now - sentNanos;
            c.server.metrics().firstByteTime(responseNanos);
            // the client's wait: from the request's start, as its Ta
            frontendFirstByte(now);
            if (retrySlot) {
                // as Envoy's budget counts it, a retry is in flight until its response head: a response
                // that streams on (a download, server-sent events) holds no slot, and is never retried
                retrySlot = false;
                budget.retryEnded();
            }
        }
        anyResponse = true;
        if (response.decoderResult().isFailure()) {
            terminated(TerminationCause.PROXY, TerminationPhase.HEADERS);
            c.server.metrics().error(ErrorKind.RESPONSE);
            c.server.reportFailure(FailureKind.SERVER_ERROR);
            ReferenceCountUtil.release(response);
            c.exchange = null;
            c.channel.close();
            conn = null;
            serverFailed(HttpResponseStatus.BAD_GATEWAY);
            return;
        }
        int code = response.status().code();
        HttpHeaders h = response.headers();
        if (code >= 500) {
            c.server.reportFailure(FailureKind.SERVER_ERROR);
        } else if (code >= 200 || code == 101) {
            c.server.reportSuccess();
        }
        if (code < 200 && code != 101) {
            interim = true;
            if (code == 100 && !requestComplete) {
                // the client that waited for it sends its body now
                timeouts.body();
            }
            if (clientVersion.minorVersion() == 0) {
                // an HTTP/1.0 client does not know interim responses (RFC 9110, 15.2)
                ReferenceCountUtil.release(response);
                return;
            }
            Headers.removeHopByHop(h, false);
            if (client instanceof Http2StreamChannel) {
                // the HTTP/2 codec sends an interim response as one HEADERS frame, made from a whole
                // message; its end, which follows from the server, is dropped (serverContent)
                client.write(new DefaultFullHttpResponse(response.protocolVersion(), response.status(), Unpooled.EMPTY_BUFFER,
                        h, EmptyHttpHeaders.INSTANCE), client.voidPromise());
                ReferenceCountUtil.release(response);
                return;
            }
            client.write(response, client.voidPromise());
            return;
        }
        if (code == 101) {
            // a 101 to an HTTP/2 client's handshake must answer the key the proxy sent (the client cannot check it)
            if (upgrade && Headers.isWebSocketUpgradeResponse(response) && (webSocket == null || webSocket.accepts(h))) {
                switching = true;
                Headers.removeHopByHop(h, true);
                if (frontend.via() != null) {
                    Headers.append(h, HttpHeaderNames.VIA, "1.1 " + frontend.via());
                }
                returnRequestId(h);
                // a WebSocket client is stuck to its server by the handshake's answer, as HAProxy does
                stickiness(h, c.server);
                responseStarted = true;
                status = code;
                client.write(response, client.voidPromise());
                return;
            }
            // a 101 that was not asked for cannot be relayed as HTTP
            terminated(TerminationCause.PROXY, TerminationPhase.HEADERS);
            ReferenceCountUtil.release(response);
            c.exchange = null;
            c.channel.close();
            conn = null;
            serverFailed(HttpResponseStatus.BAD_GATEWAY);
            return;
        }
        if (code == 204) {
            // no 204 has a Content-Length (RFC 9110, 8.6): Netty's HTTP/1.1 encoder drops one, the HTTP/2
            // conversion kept it, and nghttp2's clients reset a stream whose 204 has one other than 0
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        if (cacheFill != null && cacheResponse(c, response, code)) {
            return;
        }
        if (cacheStore != null && code >= 200 && code < 400 && isUnsafe(request.method())) {
            cacheInvalidate(h);
        }
        responseStarted = true;
        status = code;
        boolean bodyless = head || code == 204 || code == 304;
        boolean chunked = HttpUtil.isTransferEncodingChunked(response);
        boolean delimited = bodyless || chunked || h.contains(HttpHeaderNames.CONTENT_LENGTH);
        serverReusable = delimited && serverKeepsAlive(response);
        List<String> connection = Headers.removeHopByHop(h, false);
        if (connection != null) {
            // else kept from cacheResponse, which removed them first
            responseConnection = connection;
        }
        boolean clientKeepAlive = keepAlive && !closing && !listener.isDraining();
        if (clientVersion.minorVersion() == 0) {
            if (chunked) {
                // an HTTP/1.0 client cannot read chunks: send the body raw and end it by closing
                HttpUtil.setTransferEncodingChunked(response, false);
                clientKeepAlive = false;
            } else if (!delimited) {
                clientKeepAlive = false;
            }
        } else if (!delimited) {
            if (clientKeepAlive) {
                HttpUtil.setTransferEncodingChunked(response, true);
            }
        }
        keepAlive = clientKeepAlive;
        closeDelimited = !bodyless && (clientVersion.minorVersion() == 0 ? chunked || !delimited : !delimited && !clientKeepAlive);
        if (!clientKeepAlive) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (clientVersion.minorVersion() == 0) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
        addDate(h);
        if (code == 304 && frontend.compression() != null && clientVersion.minorVersion() != 0
                && request.headers().contains(HttpHeaderNames.IF_NONE_MATCH)) {
            // the compressor leaves 304s alone: one that confirms the client's weak ETag of a compressed
            // 200 gets that ETag back, not the server's strong one
            Compressor.serverNotModified(h, request.headers().getAll(HttpHeaderNames.IF_NONE_MATCH));
        }
        returnRequestId(h);
        if (cacheStatus != null && cacheStore.statusHeader != null) {
            h.set(cacheStore.statusHeader, cacheStatus);
        }
        if (frontend.via() != null) {
            // the version the response was received with (RFC 9110, 7.6.3): 2 from a server spoken to in HTTP/2
            Headers.append(h, HttpHeaderNames.VIA, (c.channel instanceof Http2StreamChannel ? "2 " : "1.1 ") + frontend.via());
        }
        if (responseEdits != null) {
            Headers.apply(h, responseEdits, true);
        }
        stickiness(h, c.server);
        // written with the body's first piece, or at the end of this read burst (serverReadComplete)
        heldHead = response;
    }

    private void serverContent(BackendConnection c, HttpContent content) {
        if (content.decoderResult().isFailure()) {
            content.release();
            c.server.metrics().error(ErrorKind.RESPONSE);
            serverBroke(c);
            return;
        }
        if (head && content.content().isReadable()) {
            // DATA an HTTP/2 server sent on a HEAD stream (an HTTP/1.1 server's bytes after its answer to
            // HEAD are never read as a body): an answer to HEAD has no content (RFC 9110, 9.3.2), so none
            // is sent (the HTTP/1.1 encoder would drop it, an HTTP/2 stream would send it), counted or cached
            HttpContent empty = content instanceof LastHttpContent last ? last.replace(Unpooled.EMPTY_BUFFER)
                    : content.replace(Unpooled.EMPTY_BUFFER);
            content.release();
            content = empty;
        }
        bytesOut += content.content().readableBytes();
        if (interim) {
            if (content instanceof LastHttpContent) {
                interim = false;
            }
            if (clientVersion.minorVersion() == 0 || client instanceof Http2StreamChannel) {
                content.release();
            } else {
                client.write(content, client.voidPromise());
            }
            return;
        }
        if (!responseStarted) {
            content.release();
            serverBroke(c);
            return;
        }
        if (cacheSwallow) {
            // the body of a response the client got a 304 for instead: it only fills the cache
            boolean last = content instanceof LastHttpContent;
            bytesOut -= content.content().readableBytes();
            if (cacheFill != null) {
                cacheFill.content(content.content(), last);
            }
            content.release();
            if (!last && (cacheFill == null || !cacheFill.storing())) {
                // nor that, once the response turns out not to be stored (by its head, or a body grown past
                // maxEntryBytes): its server connection is closed, as nginx ends an upstream whose answer
                // became a 304, instead of reading the rest for nothing while the client's next request waits
                serverReusable = false;
                last = true;
            }
            if (last) {
                client.flush();
                responseComplete();
            }
            return;
        }
        if (cacheFill != null) {
            cacheFill.content(content.content(), content instanceof LastHttpContent);
        }
        if (content instanceof LastHttpContent last && last != LastHttpContent.EMPTY_LAST_CONTENT
                && !last.trailingHeaders().isEmpty()) {
            if (responseConnection != null) {
                Headers.removeConnectionNamed(last.trailingHeaders(), responseConnection);
            }
            // to either kind of client: Netty's HTTP/2 conversion drops only the connection fields
            Headers.removeForbiddenResponseTrailers(last.trailingHeaders());
        }
        HttpResponse held = heldHead;
        if (held != null) {
            heldHead = null;
            if (content instanceof LastHttpContent last) {
                // the whole response in one message: head and body are encoded into one buffer
                closingMidRequest(held.headers());
                client.write(new DefaultFullHttpResponse(held.protocolVersion(), held.status(), last.content(),
                        held.headers(), last.trailingHeaders()), client.voidPromise());
                responseComplete();
                return;
            }
            closingMidRequest(held.headers());
            client.write(held, client.voidPromise());
        }
        if (content instanceof LastHttpContent) {
            if (switching) {
                client.write(content, client.voidPromise());
                startTunnel(c);
                return;
            }
            // flushed when the server's read burst completes (BackendConnection#channelReadComplete)
            client.write(content, client.voidPromise());
            responseComplete();
            return;
        }
        writingContent = true;
        try {
            client.write(content, client.voidPromise());
        } finally {
            writingContent = false;
        }
        if (!client.isWritable()) {
            client.flush();
            if (!client.isWritable()) {
                c.channel.config().setAutoRead(false);
                c.pausedForClient(clientTimeoutNanos());
            }
        }
    }

    /**
     * Adds the {@code Date} a final response lacks: RFC 9110 (6.6.1) has a recipient with a clock add
     * it to a response it forwards, and an origin server (the proxy, for its own answers) send it; Envoy
     * does both. A server's own {@code Date} is kept.
     */
    private void addDate(HttpHeaders h) {
        if (!h.contains(HttpHeaderNames.DATE)) {
            h.set(HttpHeaderNames.DATE, HttpDates.now(clock));
        }
    }

    /**
     * A response head about to be written (alone, or with its whole body) before the request has
     * ended: the connection will close after the response, and the head says so, as RFC 9110 (10.1.1)
     * asks of a server that answers before the whole request content, so that a client that held back
     * its body (after {@code Expect: 100-continue}) or is still uploading does not send its next request
     * on the connection. When the request's end still arrives while the response streams, the
     * connection closes after the response all the same: the head announced it, and RFC 9112 (9.6) has
     * a server that sent {@code close} close after that response (the client, told so, sends nothing
     * more on it); only a request still unfinished at the response's end gets the lingering close
     * ({@link #responseComplete}). An HTTP/2 stream needs no such word.
     */
    private void closingMidRequest(HttpHeaders h) {
        if (!requestComplete && !(client instanceof Http2StreamChannel)) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            keepAlive = false;
        }
    }

    void serverReadComplete() {
        HttpResponse held = heldHead;
        if (held != null) {
            heldHead = null;
            closingMidRequest(held.headers());
            client.write(held, client.voidPromise());
        }
        FlushBatch.flushLater(client);
    }

    void serverTimedOut(BackendConnection c) {
        if (log.isDebugEnabled()) {
            log.debug("{}: server {} timed out on request {}", frontend.name(), c.server, requestId);
        }
        c.server.reportFailure(FailureKind.TIMEOUT);
        c.server.metrics().error(ErrorKind.TIMEOUT);
        terminated(TerminationCause.SERVER_TIMEOUT, responseStarted ? TerminationPhase.DATA : TerminationPhase.HEADERS);
        c.exchange = null;
        if (c.http2 != null) {
            // is the connection the stream was on still alive?
            c.http2.probe();
        }
        c.channel.close();
        conn = null;
        serverFailed(HttpResponseStatus.GATEWAY_TIMEOUT);
    }

    /** The client timeout, which bounds how long a response waits for a client that takes none of it (0: none). */
    long clientTimeoutNanos() {
        return frontend.clientTimeout().toNanos();
    }

    /**
     * The client took none of the response for the client timeout while the server waited for it to
     * (its reading paused): a client timeout ({@code cD}), not the server's failure, as with HAProxy.
     * The response has started, so the client's connection (or stream) closes.
     */
    void clientStalledTimedOut(BackendConnection c) {
        if (log.isDebugEnabled()) {
            log.debug("{}: client took none of the response of request {} within the client timeout", frontend.name(), requestId);
        }
        terminated(TerminationCause.CLIENT_TIMEOUT, TerminationPhase.DATA);
        c.exchange = null;
        c.channel.close();
        conn = null;
        serverFailed(HttpResponseStatus.GATEWAY_TIMEOUT);
    }

    void serverClosed(BackendConnection c) {
        TerminationCause endedBy = connectionEndedBy();
        if (endedBy == TerminationCause.KILLED || closedByStop(c.channel)) {
            // the proxy stops: it closed this server connection itself, maybe before the client's
            // inactive event came; not the server's failure, nothing to retry. A client connection
            // the stop did not have to close had ended by itself (a reset in the drain), and an
            // HTTP/2 stream hears of that a turn later: it was the server's failure then (a 502,
            // SH, a reset counted on the server)
            terminated(endedBy, exchangePhase());
            abortExchange();
            closeNow();
            return;
        }
        c.exchange = null;
        conn = null;
        if (!anyResponse && requestComplete && (retryable || c.refused && bodyless)
                && (c.decoder == null || !c.decoder.responseBegun())) {
            // a reset before any response byte of an idempotent request without a body (part of a head
            // counts: the server has begun to answer, as when a FIN ends that part): try again,
            // on a fresh connection to the same server when a reused one was stale, else elsewhere;
            // an HTTP/2 stream the server refused unprocessed (GOAWAY, REFUSED_STREAM) is tried
            // again on the same server whatever its method
            terminated(TerminationCause.SERVER_ABORT, TerminationPhase.HEADERS);
            // sent again to the same server, the request keeps its slot: given back, it would go to
            // a request waiting in the backend's queue
            if (c.refused) {
                retry(HttpResponseStatus.BAD_GATEWAY, c.server, c.goneAway);
                return;
            }
            if (c.reused) {
                // a stale pooled connection is routine: not counted, and not a retry
                resendFresh(c.server);
                return;
            }
            releaseServer();
            // a fresh connection closed on us
            c.server.metrics().error(ErrorKind.RESET);
            c.server.reportFailure(FailureKind.SERVER_ERROR);
            if (tried == null) {
                tried = new ArrayList<>(2);
            }
            tried.add(c.server);
            retry(HttpResponseStatus.BAD_GATEWAY, null);
            return;
        }
        c.server.metrics().error(ErrorKind.RESET);
        if (!anyResponse) {
            // closed or reset before its response: a 502 on the server's behalf, a failure as a 5xx is
            c.server.reportFailure(FailureKind.SERVER_ERROR);
        }
        terminated(TerminationCause.SERVER_ABORT, responseStarted ? TerminationPhase.DATA : TerminationPhase.HEADERS);
        serverFailed(HttpResponseStatus.BAD_GATEWAY);
    }

    private void serverBroke(BackendConnection c) {
        terminated(TerminationCause.SERVER_ABORT, TerminationPhase.DATA);
        c.exchange = null;
        c.channel.close();
        conn = null;
        serverFailed(HttpResponseStatus.BAD_GATEWAY);
    }

    /**
     * The server failed this exchange: answer {@code status} if nothing was sent yet (a response head
     * held back counts as nothing), else close the client connection, with a reset when the response
     * was delimited by the close, so that the client cannot take its cut-off end for a complete one.
     */
    private void serverFailed(HttpResponseStatus status) {
        HttpResponse held = heldHead;
        if (responseStarted && held != null && cacheFill == null) {
            heldHead = null;
            ReferenceCountUtil.release(held);
            responseStarted = false;
        }
        if (responseStarted) {
            abortExchange();
            if (closeDelimited) {
                closing = true;
                dropQueued();
                Relay.resetOnFlush(client);
            } else {
                closeNow();
            }
        } else {
            sendError(status, !requestComplete);
        }
    }

    // ---------------------------------------------------------------- ending exchanges

    private void responseComplete() {
        BackendConnection c = conn;
        boolean reuse = serverReusable && requestComplete;
        boolean midRequest = !requestComplete;
        if (midRequest) {
            // the server answered before the whole request arrived: the rest cannot be forwarded
            keepAlive = false;
        }
        endExchange();
        if (c != null) {
            c.exchange = null;
            if (reuse) {
                c.reused = true;
                c.channel.config().setAutoRead(true);
                pool.release(c);
            } else {
                c.channel.close();
            }
        }
        if (midRequest) {
            lingeringClose();
            return;
        }
        afterResponse();
    }

    private void afterResponse() {
        if (!keepAlive || inputShutdown && (queued == null || queued.isEmpty()) || listener.isDraining()) {
            closeOnFlush();
            return;
        }
        // a head the client began during the response is timed as a request, not as an idle connection
        timeouts.idle(decoder != null && decoder.headUnderWay());
        drainQueue();
        if (conn != null && wroteToServer) {
            wroteToServer = false;
            conn.touch();
            conn.channel.flush();
        }
        if (request == null && !closing) {
            updateClientRead();
        }
    }

    /** Ends the exchange's accounting: server load, retry budget, per-request state, a server stream still opening. */
    private void endExchange() {
        Future<Channel> stream = opening;
        if (slot != null) {
            leaveQueue();
        }
        if (cacheStore != null) {
            endCache();
        }
        if (request != null && !tunneling) {
            account();
        }
        releaseServer();
        if (retrySlot) {
            retrySlot = false;
            budget.retryEnded();
        }
        if (budget != null) {
            budget.requestEnded();
            budget = null;
        }
        if (pending != null) {
            for (Object msg : pending) {
                ReferenceCountUtil.release(msg);
            }
            pending = null;
            pendingBytes = 0;
        }
        request = null;
        connecting = null;
        opening = null;
        responseEdits = null;
        requestConnection = null;
        responseConnection = null;
        heldHead = null;
        stickyCookie = null;
        conn = null;
        tried = null;
        serverBackpressure = false;
        responseStarted = false;
        anyResponse = false;
        interim = false;
        if (stream != null) {
            // a stream to an HTTP/2 server still opening (its connection waits for the server's
            // SETTINGS), given up by its client or answered by the proxy (a bad chunk in the body):
            // it leaves the connection's wait list and is never opened. Last: its listener then finds
            // the exchange over
            stream.cancel(false);
        }
    }

    /**
     * Starts the accounting of a request: its start time and nothing recorded yet. {@code headNanos} is
     * how long its head took (Tq), or -1 when that was not timed (a pipelined head) or the head never
     * became whole; the exchange starts that long ago, at the head's first byte, so that Ta, the total
     * time and the log line's date count from there, as HAProxy's Ta and request date do.
     */
    private void beginAccounting(long headNanos) {
        requestHeadNanos = headNanos;
        if (compressor != null) {
            compressorDeltaAtStart = compressor.bytesDelta();
        }
        startNanos = clock.nanoTime() - Math.max(headNanos, 0);
        queueNanos = -1;
        connectNanos = -1;
        responseNanos = -1;
        status = 0;
        bytesIn = 0;
        bytesOut = 0;
        method = null;
        target = null;
        requestId = null;
        traceId = null;
        backend = null;
        lastServer = null;
        cause = TerminationCause.NORMAL;
        phase = TerminationPhase.NONE;
        invalid = false;
        firstByteRecorded = false;
    }

    /**
     * Records the frontend's first-byte time of the current request, from its start to {@code now}, once:
     * a server's head the client does not get (malformed, a 101 nobody asked for, a head held back when
     * the server fails) is followed by the proxy's own answer, which is no second sample.
     */
    private void frontendFirstByte(long now) {
        if (!firstByteRecorded) {
            firstByteRecorded = true;
            metrics.firstByteTime(now - startNanos);
        }
    }

    /**
     * Where the current exchange is: reading the request, waiting in the backend's queue, connecting
     * to its server, waiting for the response head (or for a response the cache is filling), or in its body.
     */
    private TerminationPhase exchangePhase() {
        return !requestComplete ? TerminationPhase.REQUEST : waitingPhase();
    }

    /** Where an exchange whose request is whole is: {@link #exchangePhase()} past the request. */
    private TerminationPhase waitingPhase() {
        return responseStarted ? TerminationPhase.DATA
                : slot != null ? TerminationPhase.QUEUE
                : conn == null && server != null ? TerminationPhase.CONNECT
                : TerminationPhase.HEADERS;
    }

    private void terminated(TerminationCause cause, TerminationPhase phase) {
        this.cause = cause;
        this.phase = phase;
    }

    /** The proxy refuses the request as malformed or over a limit ({@code PR}, an {@code invalid} error). */
    private void refusedInvalid(TerminationPhase phase) {
        terminated(TerminationCause.PROXY, phase);
        invalid = true;
    }

    /**
     * Records the request on the frontend and on the server that took it last (or its backend, when
     * none did), and logs it: the frontend and the log with the bytes the client got (compressed, when
     * the compressor compressed the response), the server with those it sent. Lock-free; fills the
     * connection's one log entry only when the log is on.
     */
    private void account() {
        long total = clock.nanoTime() - startNanos;
        // the client got the compressed bytes; the server sent (and its figures count) the others
        long toClient = compressor == null ? bytesOut : bytesOut + compressor.bytesDelta() - compressorDeltaAtStart;
        metrics.requestCompleted(status, bytesIn, toClient, total);
        if (cause != TerminationCause.NORMAL) {
            clientError();
        }
        ServerRuntime s = lastServer;
        if (s != null) {
            s.metrics().requestCompleted(status, bytesIn, bytesOut, total);
        } else if (backend != null) {
            backend.metrics().requestCompleted(status, bytesIn, bytesOut, total);
        }
        if (accessLog.isEnabled()) {
            AccessLogEntry e = logEntry == null ? logEntry = new AccessLogEntry() : logEntry.reset();
            // the wall-clock start, read only when it is logged: now less the time the request took
            e.start(clock.currentTimeMillis() - total / 1_000_000)
                    .client(source)
                    .frontend(frontend.name())
                    .backend(backend == null ? null : backend.name())
                    .server(s == null ? null : s.server().name())
                    .request(method, target, target == null ? null : client instanceof Http2StreamChannel ? HTTP_2_0 : clientVersion.text())
                    .status(status)
                    .bytes(bytesIn, toClient)
                    .requestTime(requestHeadNanos)
                    // the time it waited in the queue however the wait ended (HAProxy's Tw, and the TCP
                    // engine's); 0 when a server took it at once, -1 when none did and it did not wait
                    .queueTime(queueNanos >= 0 ? queueNanos : s == null ? -1 : 0)
                    .connectTime(connectNanos)
                    .responseTime(responseNanos)
                    .totalTime(total)
                    .requestId(requestId)
                    .traceId(traceId)
                    .termination(cause, phase);
            accessLog.log(e);
        }
    }

    /**
     * Counts the frontend's error for how the client's side of the exchange ended, as the TCP engine
     * and the TLS handshake count the same termination codes: {@code PR} (a request refused) a
     * {@code denied} error for a rule's deny or a {@code CONNECT}, an {@code invalid} one for a
     * malformed request or one over a limit, {@code cR} (408) a
     * {@code timeout}, {@code CD} (the client gone during the response) a {@code reset}. A client that
     * left before its response began ({@code CR}, {@code CQ}, {@code CC}, {@code CH}) counts none, as
     * a TCP client that leaves before its session is relayed.
     */
    private void clientError() {
        switch (cause) {
            case PROXY:
                if (phase == TerminationPhase.REQUEST) {
                    metrics.error(invalid ? ErrorKind.INVALID : ErrorKind.DENIED);
                }
                break;
            case CLIENT_TIMEOUT:
                metrics.error(ErrorKind.TIMEOUT);
                break;
            case CLIENT_ABORT:
                if (phase == TerminationPhase.DATA) {
                    metrics.error(ErrorKind.RESET);
                }
                break;
            default:
                break;
        }
    }

    /**
     * W3C Trace Context over the request's fields: a request with more than one {@code traceparent}
     * has none that can be trusted and starts a new trace (as the specification's test suite expects);
     * several {@code tracestate} fields are one list, joined with commas as RFC 9110 (5.3) combines
     * fields. Returns the context to forward, or {@code null} when the request is forwarded without
     * one, and notes its trace id for the log; the fields are left as the client sent them for the
     * rules ({@link #traceHeaders} sets them once the request is forwarded).
     */
    private TraceContext trace(HttpHeaders h) {
        String parent = h.get(TRACEPARENT);
        String state = null;
        if (parent != null) {
            List<String> parents = h.getAll(TRACEPARENT);
            if (parents.size() > 1) {
                parent = null;
            } else {
                List<String> states = h.getAll(TRACESTATE);
                state = states.isEmpty() ? null : states.size() == 1 ? states.get(0) : String.join(",", states);
            }
        }
        TraceContext t = tracing.onRequest(parent, state);
        if (t != null) {
            traceId = t.traceId();
        }
        return t;
    }

    /** Puts trace context {@code t} on a request to forward, or removes the client's when {@code null}. */
    private static void traceHeaders(HttpHeaders h, TraceContext t) {
        if (t == null) {
            h.remove(TRACEPARENT);
            h.remove(TRACESTATE);
            return;
        }
        h.set(TRACEPARENT, t.traceparent());
        String upstreamState = t.traceState();
        if (upstreamState == null) {
            h.remove(TRACESTATE);
        } else {
            h.set(TRACESTATE, upstreamState);
        }
    }

    private void releaseServer() {
        if (server != null) {
            server.release();
            server = null;
        }
    }

    /**
     * The client connection went away mid-exchange: drop the server connection too, never pooled, and
     * a server connection still being made.
     */
    private void abortExchange() {
        ChannelFuture f = connecting;
        BackendConnection c = conn;
        if (c != null) {
            c.exchange = null;
            c.channel.close();
        }
        endExchange();
        if (f != null) {
            // after the exchange has ended: the failed connect it reports at once is no one's any more
            BackendPool.abandon(f);
        }
    }

    /**
     * Answers the current request (or the connection, when no request was read) with a small error
     * response and ends the exchange; the connection closes afterwards when {@code close} is set or the
     * request was not read to its end.
     */
    private void sendError(HttpResponseStatus status, boolean close) {
        sendError(status, close, null);
    }

    /**
     * {@link #sendError(HttpResponseStatus, boolean)}; {@code clientId}, when not null, is the request
     * id the client sent with a head refused before it became an exchange, which its answer keeps.
     */
    private void sendError(HttpResponseStatus status, boolean close, CharSequence clientId) {
        if (responseStarted) {
            abortExchange();
            closeNow();
            return;
        }
        boolean hadRequest = request != null;
        boolean midRequest = hadRequest && !requestComplete;
        // the unread rest of a request without a body is just its end: skip it and keep the connection;
        // a draining listener closes it after the answer (afterResponse), which says so, as answer() does
        boolean closeAfter = close || !hadRequest || !keepAlive || listener.isDraining() || midRequest && !bodyless;
        if (!hadRequest) {
            // a head refused or never completed: its answer and log line get an id of their own,
            // unless it was whole and named one
            requestId = requestIdHeader == null ? null : clientId != null ? clientId : RequestIds.next();
        }
        sendLocal(ErrorResponses.of(status, requestIdHeader, requestId, closeAfter, state.errorPages), closeAfter);
    }

    /**
     * Sends the proxy's own response to the current request (or the connection, when no request was
     * read), ends the exchange and, unless {@code closeAfter}, skips the rest of the request and goes
     * on with the next one.
     */
    private void sendLocal(FullHttpResponse response, boolean closeAfter) {
        sendLocal(response, closeAfter, true);
    }

    /**
     * {@link #sendLocal(FullHttpResponse, boolean)}, adding the {@code Date} the response lacks when
     * {@code date}; without, the caller added it before the rules' edits, which may have removed it.
     */
    private void sendLocal(FullHttpResponse response, boolean closeAfter, boolean date) {
        BackendConnection c = conn;
        if (c != null) {
            c.exchange = null;
            c.channel.close();
        }
        boolean midRequest = request != null && !requestComplete;
        status = response.status().code();
        if (date) {
            addDate(response.headers());
        }
        if (!closeAfter && request != null && clientVersion.minorVersion() == 0) {
            // an HTTP/1.0 client takes a response without keep-alive for the connection's last (RFC 9112,
            // 9.3); answer() and the cache's answers say it already, the error answers did not
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        if (head && response.content().isReadable() && client instanceof Http2StreamChannel) {
            // an answer to HEAD has no content (RFC 9110, 9.3.2): the HTTP/1.1 encoder drops it, an HTTP/2
            // stream would send it as DATA, for which nghttp2's clients reset the stream
            FullHttpResponse bodyless = response.replace(Unpooled.EMPTY_BUFFER);
            response.release();
            response = bodyless;
        }
        if (!head) {
            // bytes out are the body sent: an answer to HEAD has its Content-Length and no body, which
            // the HTTP/1.1 encoder drops as the HTTP/2 path does above
            bytesOut += response.content().readableBytes();
        }
        frontendFirstByte(clock.nanoTime());
        if (request == null) {
            // an answer to a request that never became an exchange (malformed, too slow)
            account();
        }
        endExchange();
        if (midRequest && !closeAfter) {
            discardBody = true;
            discardLeft = MAX_DISCARD;
        }
        client.writeAndFlush(response, client.voidPromise());
        if (closeAfter) {
            if (midRequest || refusedHead) {
                lingeringClose();
            } else {
                closeOnFlush();
            }
            return;
        }
        afterResponse();
    }

    // ---------------------------------------------------------------- response cache

    private static final String HIT = "HIT";
    private static final String MISS = "MISS";
    private static final String EXPIRED = "EXPIRED";
    private static final String REVALIDATED = "REVALIDATED";
    private static final String BYPASS = "BYPASS";

    /**
     * Before a forwarded request is dispatched to its cached backend: answers it from the cache when
     * a fresh response is stored, or parks it behind another request's fill of the same key, and
     * returns {@code true}; else returns {@code false} and the request goes to the backend, filling
     * the cache (revalidating a stale response with the backend when it has validators).
     */
    private boolean cacheRequest(CacheStore store, HttpRequest req, HttpHeaders h, NettyRequestView view) {
        cacheStore = store;
        if (!head && !HttpMethod.GET.equals(req.method()) || !bodyless || upgrade
                || h.contains(HttpHeaderNames.AUTHORIZATION) || h.contains(HttpHeaderNames.RANGE)) {
            store.bypassed();
            cacheStatus = BYPASS;
            return false;
        }
        // a request's no-cache (or max-age=0, or Pragma: no-cache without Cache-Control) has what is
        // stored validated with the server first (RFC 9111 5.2.1.4), a conditional request when it has
        // validators; its other directives narrow which stored responses may answer it (5.2.1)
        CachePolicy.Directives d = null;
        boolean revalidate = false;
        if (h.contains(HttpHeaderNames.CACHE_CONTROL)) {
            d = CachePolicy.Directives.of(h);
            if (d.noStore) {
                store.bypassed();
                cacheStatus = BYPASS;
                return false;
            }
            revalidate = d.noCache || d.maxAge == 0;
        } else if (h.contains(HttpHeaderNames.PRAGMA)) {
            revalidate = h.containsValue(HttpHeaderNames.PRAGMA, HttpHeaderValues.NO_CACHE, true);
        }
        String primary = CacheStore.primaryKey(req.method().name(), h.get(HttpHeaderNames.HOST), req.uri());
        cacheKey = primary;
        for (int attempt = 0; attempt < 3; attempt++) {
            // one lookup for a plain key; a marker there names the Vary headers of the full key
            CachedResponse m = store.peek(primary);
            String key = m != null && m.isMarker() ? primary + CacheStore.secondaryKey(m.varyNames, h) : primary;
            CachedResponse e = key == primary ? m : store.get(key);
            long now = clock.nanoTime();
            if (e != null && !revalidate && e.satisfies(now, d)) {
                store.hit();
                serveCached(req, e, HIT);
                return true;
            }
            if (head && !revalidate && e == null) {
                // a HEAD may be answered by the stored response to GET
                CachedResponse g = store.get(store.lookupKey(CacheStore.primaryKey("GET", h.get(HttpHeaderNames.HOST), req.uri()), h));
                if (g != null && g.satisfies(now, d)) {
                    store.hit();
                    serveCached(req, g, HIT);
                    return true;
                }
            }
            if (d != null && d.onlyIfCached) {
                // nothing stored may answer it, and the server must not be asked (RFC 9111 5.2.1.7)
                store.miss();
                cacheStatus = MISS;
                onlyIfCachedMiss(req);
                return true;
            }
            CacheFill inFlight = store.inFlight(key);
            if (inFlight != null) {
                if (inFlight.await(cacheWaker())) {
                    store.coalesced();
                    cacheWaiting = true;
                    cacheView = view;
                    if (req instanceof LastHttpContent last) {
                        requestContentDone(last);
                    }
                    return true;
                }
                continue;
            }
            CachedResponse stale = e != null && e.hasValidators() ? e : null;
            CacheFill fill = store.startFill(key, primary, stale, now);
            if (fill == null) {
                continue;
            }
            cacheFill = fill;
            // the client's own validators answer it later, against the response that fills the cache
            // (RFC 9111 4.3.2): the backend is asked for the whole response, which the cache can store
            clientIfNoneMatch = Headers.list(h, HttpHeaderNames.IF_NONE_MATCH);
            clientIfModifiedSince = h.get(HttpHeaderNames.IF_MODIFIED_SINCE);
            if (clientIfNoneMatch != null || clientIfModifiedSince != null) {
                h.remove(HttpHeaderNames.IF_NONE_MATCH);
                h.remove(HttpHeaderNames.IF_MODIFIED_SINCE);
            }
            if (stale != null) {
                if (stale.etag != null) {
                    h.set(HttpHeaderNames.IF_NONE_MATCH, stale.etag);
                }
                if (stale.lastModified != Long.MIN_VALUE) {
                    h.set(HttpHeaderNames.IF_MODIFIED_SINCE, CachePolicy.formatDate(stale.lastModified));
                }
            } else {
                store.miss();
                cacheStatus = e != null && !e.isFresh(now) ? EXPIRED : MISS;
            }
            return false;
        }
        store.miss();
        cacheStatus = MISS;
        return false;
    }

    /** Wakes this request, on its own loop, when the fill it waits for ends. */
    private Runnable cacheWaker() {
        int id = exchangeId;
        return () -> {
            try {
                client.eventLoop().execute(() -> cacheWoken(id));
            } catch (RejectedExecutionException e) {
                // the proxy is shutting down: nobody is served any more
            }
        };
    }

    /** The fill this request waited for ended: answer from the cache, or go to the backend after all. */
    private void cacheWoken(int id) {
        if (id != exchangeId || request == null || closing || !cacheWaiting) {
            return;
        }
        cacheWaiting = false;
        NettyRequestView view = cacheView;
        cacheView = null;
        HttpHeaders h = request.headers();
        CachedResponse e = cacheStore.get(cacheStore.lookupKey(cacheKey, h));
        CachePolicy.Directives d = h.contains(HttpHeaderNames.CACHE_CONTROL) ? CachePolicy.Directives.of(h) : null;
        if (e != null && e.satisfies(clock.nanoTime(), d)) {
            cacheStore.hit();
            serveCached(request, e, HIT);
            return;
        }
        cacheStore.miss();
        cacheStatus = MISS;
        dispatch(request, h, view);
    }

    /**
     * Whether the server keeps its connection open after {@code response}. An HTTP/1.1 response does
     * unless it says {@code close}; but a request sent as HTTP/1.0 (one without {@code Host}) asked
     * the server to close after answering, and many servers then answer in HTTP/1.1 and close without
     * saying so: only their explicit {@code keep-alive} keeps such a connection.
     */
    private boolean serverKeepsAlive(HttpResponse response) {
        if (request.protocolVersion().minorVersion() == 0) {
            return response.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE, true);
        }
        return HttpUtil.isKeepAlive(response);
    }

    /**
     * The backend answered a request that fills the cache: a 304 to a revalidation refreshes the
     * stored response, which the client gets instead ({@code true}); anything else streams on and is
     * copied as it goes when it can be stored ({@code false}).
     */
    private boolean cacheResponse(BackendConnection c, HttpResponse response, int code) {
        HttpHeaders h = response.headers();
        boolean serverKeepAlive = serverKeepsAlive(response);
        responseConnection = Headers.removeHopByHop(h, false);
        if (!serverKeepAlive) {
            // the server's close, read again by the response path below (the stored copy leaves it out)
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        CacheFill fill = cacheFill;
        if (fill.stale != null) {
            if (code == HttpResponseStatus.NOT_MODIFIED.code()) {
                serverReusable = HttpUtil.isKeepAlive(response);
                CachedResponse fresh = fill.revalidated(h, clock.nanoTime(), clock.currentTimeMillis());
                cacheStore.revalidated();
                ReferenceCountUtil.release(response);
                keepAlive = keepAlive && !closing && !listener.isDraining();
                FullHttpResponse r = cachedResponse(fresh, REVALIDATED, !keepAlive, clientIfNoneMatch, clientIfModifiedSince,
                        request.headers(), h.getAll(HttpHeaderNames.SET_COOKIE));
                stickiness(r.headers(), c.server);
                responseStarted = true;
                cacheSwallow = true;
                status = r.status().code();
                bytesOut += r.content().readableBytes();
                client.write(r, client.voidPromise());
                return true;
            }
            cacheStore.miss();
            cacheStatus = EXPIRED;
        }
        HttpHeaders keyHeaders = request.headers();
        if (cacheKeyCookies != null) {
            // the Vary key of the client's own request, before the sticky cookie's edits
            keyHeaders = keyHeaders.copy();
            keyHeaders.set(HttpHeaderNames.COOKIE, cacheKeyCookies);
        }
        fill.response(code, h, keyHeaders, head);
        if (code == 200 && (clientIfNoneMatch != null || clientIfModifiedSince != null) && CachePolicy.notModified(clientIfNoneMatch,
                clientIfModifiedSince, h.get(HttpHeaderNames.ETAG), CachePolicy.date(h, HttpHeaderNames.LAST_MODIFIED))) {
            // the client's validators match the new response: it gets 304, the body goes to the cache only
            serverReusable = (head || HttpUtil.isTransferEncodingChunked(response) || h.contains(HttpHeaderNames.CONTENT_LENGTH))
                    && HttpUtil.isKeepAlive(response);
            keepAlive = keepAlive && !closing && !listener.isDraining();
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, Unpooled.EMPTY_BUFFER);
            HttpHeaders rh = r.headers();
            for (AsciiString name : NOT_MODIFIED_HEADERS) {
                List<String> values = h.getAll(name);
                if (!values.isEmpty()) {
                    rh.set(name, values);
                }
            }
            asCompressed(rh, code, h, HttpUtil.getContentLength(response, -1L), request.headers());
            // the 200's cookies are for this client, as they would be on the server's own 304
            List<String> cookies = h.getAll(HttpHeaderNames.SET_COOKIE);
            if (!cookies.isEmpty()) {
                rh.set(HttpHeaderNames.SET_COOKIE, cookies);
            }
            addDate(rh);
            returnRequestId(rh);
            if (frontend.via() != null) {
                Headers.append(rh, HttpHeaderNames.VIA, "1.1 " + frontend.via());
            }
            if (cacheStore.statusHeader != null && cacheStatus != null) {
                rh.set(cacheStore.statusHeader, cacheStatus);
            }
            if (responseEdits != null) {
                Headers.apply(rh, responseEdits, true);
            }
            stickiness(rh, c.server);
            if (!keepAlive) {
                rh.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (clientVersion.minorVersion() == 0) {
                rh.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            ReferenceCountUtil.release(response);
            responseStarted = true;
            cacheSwallow = true;
            status = 304;
            client.write(r, client.voidPromise());
            return true;
        }
        return false;
    }

    private static boolean isUnsafe(HttpMethod m) {
        return !HttpMethod.GET.equals(m) && !HttpMethod.HEAD.equals(m) && !HttpMethod.OPTIONS.equals(m)
                && !HttpMethod.TRACE.equals(m);
    }

    /**
     * A non-error response to an unsafe request: the stored responses to GET and HEAD of its URL,
     * and of a same-host {@code Location} or {@code Content-Location}, are removed (RFC 9111 4.4).
     */
    private void cacheInvalidate(HttpHeaders response) {
        String host = request.headers().get(HttpHeaderNames.HOST);
        cacheStore.invalidate(host, request.uri());
        invalidateLocation(host, response.get(HttpHeaderNames.LOCATION));
        invalidateLocation(host, response.get(HttpHeaderNames.CONTENT_LOCATION));
    }

    /** Invalidates a location when it is a path or an absolute URL of the request's host; anything else is left alone. */
    private void invalidateLocation(String host, String location) {
        if (location == null || location.isEmpty()) {
            return;
        }
        String target;
        if (location.charAt(0) == '/') {
            if (location.startsWith("//")) {
                return;
            }
            target = location;
        } else {
            int scheme = location.indexOf("://");
            if (scheme < 0 || host == null) {
                return;
            }
            int path = location.indexOf('/', scheme + 3);
            int authorityEnd = path < 0 ? location.length() : path;
            if (authorityEnd - scheme - 3 != host.length() || !location.regionMatches(true, scheme + 3, host, 0, host.length())) {
                return;
            }
            target = path < 0 ? "/" : location.substring(path);
        }
        int fragment = target.indexOf('#');
        cacheStore.invalidate(host, fragment < 0 ? target : target.substring(0, fragment));
    }

    /** Answers a request with {@code only-if-cached} that nothing stored may answer: 504, the server not asked. */
    private void onlyIfCachedMiss(HttpRequest req) {
        if (req instanceof LastHttpContent) {
            requestComplete = true;
        }
        ReferenceCountUtil.release(req);
        boolean close = !keepAlive || listener.isDraining();
        FullHttpResponse r = ErrorResponses.of(HttpResponseStatus.GATEWAY_TIMEOUT, requestIdHeader, requestId, close, state.errorPages);
        if (cacheStore.statusHeader != null) {
            r.headers().set(cacheStore.statusHeader, MISS);
        }
        if (frontend.via() != null) {
            Headers.append(r.headers(), HttpHeaderNames.VIA, "1.1 " + frontend.via());
        }
        sendLocal(r, close);
    }

    /** Answers the current request with a stored response (or 304 when the client's validators match it). */
    private void serveCached(HttpRequest req, CachedResponse e, String label) {
        if (req instanceof LastHttpContent) {
            requestComplete = true;
        }
        HttpHeaders h = req.headers();
        String inm = Headers.list(h, HttpHeaderNames.IF_NONE_MATCH);
        String ims = h.get(HttpHeaderNames.IF_MODIFIED_SINCE);
        ReferenceCountUtil.release(req);
        boolean close = !keepAlive || listener.isDraining();
        sendLocal(cachedResponse(e, label, close, inm, ims, h, List.of()), close, false);
    }

    /**
     * A stored response for the current client, whose request had the headers {@code requestHeaders}:
     * its age, the proxy's headers, {@code setCookies} (those of the server's 304 that revalidated it,
     * which are not stored), the rules' edits, the cache status.
     */
    private FullHttpResponse cachedResponse(CachedResponse e, String label, boolean close, String inm, String ims,
            HttpHeaders requestHeaders, List<String> setCookies) {
        // a client's conditions are evaluated against a 2xx only (RFC 9110 13.2.1): a stored 302, 404 or
        // 500 answers as it is
        boolean notModified = (inm != null || ims != null) && e.status / 100 == 2
                && CachePolicy.notModified(inm, ims, e.etag, e.lastModified);
        FullHttpResponse r;
        if (notModified) {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, Unpooled.EMPTY_BUFFER);
            HttpHeaders h = r.headers();
            for (AsciiString name : NOT_MODIFIED_HEADERS) {
                List<String> values = e.headers.getAll(name);
                if (!values.isEmpty()) {
                    h.set(name, values);
                }
            }
            asCompressed(h, e.status, e.headers, e.contentLength, requestHeaders);
        } else {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(e.status),
                    head || e.body.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(e.body));
            HttpHeaders h = r.headers();
            h.set(e.headers);
            if (e.status != 204 && e.contentLength >= 0) {
                h.set(HttpHeaderNames.CONTENT_LENGTH, e.contentLength);
            }
        }
        HttpHeaders h = r.headers();
        if (!setCookies.isEmpty()) {
            h.set(HttpHeaderNames.SET_COOKIE, setCookies);
        }
        h.set(HttpHeaderNames.AGE, e.ageMillis(clock.nanoTime()) / 1000);
        returnRequestId(h);
        if (frontend.via() != null) {
            Headers.append(h, HttpHeaderNames.VIA, "1.1 " + frontend.via());
        }
        if (cacheStore.statusHeader != null) {
            h.set(cacheStore.statusHeader, label);
        }
        addDate(h);
        if (responseEdits != null) {
            Headers.apply(h, responseEdits, true);
        }
        if (close) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (clientVersion.minorVersion() == 0) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        return r;
    }

    /**
     * With compression, gives a 304 the cache makes the {@code Vary} and {@code ETag} that the response
     * it stands for ({@code status}, {@code representation}, a body of {@code size} bytes) gets on its
     * way out to this client, compressed or not (RFC 9110 15.4.5); the compressor leaves 304s alone.
     */
    private void asCompressed(HttpHeaders notModified, int status, HttpHeaders representation, long size, HttpHeaders requestHeaders) {
        Compression compression = frontend.compression();
        if (compression != null) {
            List<String> acceptEncoding = requestHeaders.getAll(HttpHeaderNames.ACCEPT_ENCODING);
            Compressor.notModified(notModified, status, representation, size,
                    acceptEncoding.isEmpty() ? null : String.join(",", acceptEncoding), clientVersion, compression);
        }
    }

    /**
     * The protocol an HTTP/2 stream's request is logged with, as HAProxy and nginx log it: the stream
     * reaches this handler converted to an HTTP/1.1 request.
     */
    private static final String HTTP_2_0 = "HTTP/2.0";

    /** The request line logged for a request whose request line could not be parsed, as HAProxy logs it. */
    private static final String BADREQ = "<BADREQ>";

    /** The headers a 304 carries from the stored response (RFC 9110 15.4.5). */
    private static final AsciiString[] NOT_MODIFIED_HEADERS = {HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.CONTENT_LOCATION,
        HttpHeaderNames.DATE, HttpHeaderNames.ETAG, HttpHeaderNames.EXPIRES, HttpHeaderNames.VARY, HttpHeaderNames.LAST_MODIFIED};

    /** Ends the exchange's part in the cache: a fill is stored (when complete) and its waiters woken. */
    private void endCache() {
        CacheFill fill = cacheFill;
        cacheFill = null;
        cacheKeyCookies = null;
        cacheStore = null;
        cacheKey = null;
        cacheStatus = null;
        cacheView = null;
        cacheWaiting = false;
        cacheSwallow = false;
        clientIfNoneMatch = null;
        clientIfModifiedSince = null;
        if (fill != null) {
            fill.finish(clock.nanoTime(), clock.currentTimeMillis());
        }
    }

    // ---------------------------------------------------------------- WebSocket tunnels

    /**
     * Turns the exchange whose server answered 101 into a byte tunnel. The exchange is accounted and
     * logged when the tunnel ends, as HAProxy logs it: its bytes are the tunnel's each way, its Ta runs
     * to the close, and a reset or the tunnel timeout on either side gives its termination ({@link TunnelEnd}).
     */
    private void startTunnel(BackendConnection c) {
        tunneling = true;
        Channel upstream = c.channel;
        ServerRuntime s = server;
        server = null;
        // left to the tunnel's end (endExchange does not account a tunnel)
        endExchange();
        upstream.closeFuture().addListener(f -> {
            if (s != null) {
                s.release();
            }
        });
        releaseQueued();
        if (webSocket != null) {
            HttpPipeline.stripStream(client.pipeline());
        } else {
            HttpPipeline.stripClient(client.pipeline());
        }
        HttpPipeline.stripServer(upstream.pipeline());
        c.exchange = null;
        upstream.pipeline().remove(c);
        client.pipeline().remove(this);
        HttpPipeline.addTunnelTimeout(client.pipeline(), frontend.tunnelTimeout().toNanos());
        if (webSocket != null) {
            // the server's FIN is the stream's END_STREAM (RFC 8441, 4; RFC 9113, 8.5), and the client may
            // still send until its own END_STREAM: the server's connection stays open for it
            upstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            // what the HTTP/2 client sent before the answer, held as bytes by its stream
            bytesIn += writeStash(webSocket.open(), upstream);
        }
        bytesIn += writeStash(tunnelFromClient, upstream);
        bytesOut += writeStash(tunnelFromServer, client);
        tunnelFromClient = null;
        tunnelFromServer = null;
        TunnelEnd end = new TunnelEnd();
        end.sides = Relay.join(client, upstream, Duration.ZERO, end);
        client.closeFuture().addListener(end);
    }

    /**
     * How a WebSocket tunnel ended, and its accounting when the client's side closes: a reset on one
     * side ({@code CD}, {@code SD}: a {@code reset} error on the frontend or the server, as a TCP
     * session's), the tunnel timeout ({@code cD}, a {@code timeout} error on the frontend), the proxy's
     * stop ({@code KD}), else a close ({@code --}). One per tunnel.
     */
    private final class TunnelEnd implements Relay.Observer, ChannelFutureListener {
        Relay.Side[] sides;

        @Override
        public void aborted(Channel failed, Throwable cause) {
            if (failed == client) {
                terminated(TerminationCause.CLIENT_ABORT, TerminationPhase.DATA);
            } else {
                terminated(TerminationCause.SERVER_ABORT, TerminationPhase.DATA);
                if (lastServer != null) {
                    lastServer.metrics().error(ErrorKind.RESET);
                }
            }
        }

        @Override
        public void idleTimedOut(Channel waitedOn) {
            terminated(waitedOn == client ? TerminationCause.CLIENT_TIMEOUT : TerminationCause.SERVER_TIMEOUT,
                    TerminationPhase.DATA);
            if (waitedOn != client && lastServer != null) {
                lastServer.metrics().error(ErrorKind.TIMEOUT);
            }
        }

        @Override
        public void operationComplete(ChannelFuture f) {
            if (cause == TerminationCause.NORMAL && connectionEndedBy() == TerminationCause.KILLED) {
                // closed by the proxy's stop (at its drain timeout), as a TCP session is: KD, no error
                terminated(TerminationCause.KILLED, TerminationPhase.DATA);
            }
            Relay.Side[] s = sides;
            if (s != null) {
                bytesIn += s[0].bytesRead();
                bytesOut += s[1].bytesRead();
            }
            account();
        }
    }

    private void stashTunnel(boolean fromClient, Object msg) {
        if (!(msg instanceof ByteBuf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        List<Object> stash = fromClient ? tunnelFromClient : tunnelFromServer;
        if (stash == null) {
            stash = new ArrayList<>(2);
            if (fromClient) {
                tunnelFromClient = stash;
            } else {
                tunnelFromServer = stash;
            }
        }
        stash.add(msg);
    }

    /** Writes what was stashed for the tunnel to {@code to}; returns its bytes. */
    private static long writeStash(List<Object> stash, Channel to) {
        long bytes = 0;
        if (stash != null) {
            for (Object msg : stash) {
                bytes += ((ByteBuf) msg).readableBytes();
                to.write(msg, to.voidPromise());
            }
        }
        return bytes;
    }

    // ---------------------------------------------------------------- closing

    /** Releases what is queued, unlogged: the bytes that follow a WebSocket upgrade are no requests. */
    private void releaseQueued() {
        if (queued != null) {
            Object msg;
            while ((msg = queued.poll()) != null) {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /**
     * Releases what is queued as the connection closes, each pipelined request among it dropped as
     * {@link #closeCause} says. A connection that queued nothing pays one test.
     */
    private void dropQueued() {
        if (queued != null && !queued.isEmpty()) {
            dropQueued(closeCause());
        }
    }

    /**
     * Releases what is queued as the connection closes: each pipelined request among it, read whole
     * but never started, gets its access-log line and its count, ended by {@code why} while it waited
     * its turn, and nothing of it reaches a server. So do requests read after the close was decided
     * ({@link #channelRead}). Error path only.
     */
    private void dropQueued(TerminationCause why) {
        if (closedBy == null) {
            closedBy = why;
        }
        if (queued != null) {
            Object msg;
            while ((msg = queued.poll()) != null) {
                if (msg instanceof HttpRequest req) {
                    dropped(req, closedBy);
                }
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /**
     * Who ended the pipelined requests the connection drops as it closes, read from how the exchange
     * that closed it ended: the client ({@code C}, its reset, or its FIN with abortOnClose), a server
     * ({@code S}, a response cut by its failure or timeout), an internal error ({@code I}), the
     * proxy's stop ({@code K}: a whole exchange on a connection that would have gone on), else the
     * proxy ({@code P}: an answer that closes the connection, or a request that asked for the close,
     * while the proxy stops too).
     */
    private TerminationCause closeCause() {
        switch (cause) {
            case CLIENT_ABORT:
                return TerminationCause.CLIENT_ABORT;
            case SERVER_ABORT:
            case SERVER_TIMEOUT:
            case SERVER_DOWN:
                return TerminationCause.SERVER_ABORT;
            case INTERNAL:
                return TerminationCause.INTERNAL;
            default:
                // an exchange that ended well on a request that let the connection go on closes it only
                // because the proxy stops; a refusal that closes, or a request that asked for the close,
                // closes it at any time
                return cause == TerminationCause.NORMAL && !closeAsked && listener.isDraining()
                        ? TerminationCause.KILLED : TerminationCause.PROXY;
        }
    }

    /**
     * Counts and logs a pipelined request dropped unstarted, as a client abort's line is written: its
     * request line, no status, no backend, {@code Ta} 0 (its turn never came) and the other times
     * -1, the request id the client gave it, and {@code why} with the queue's phase ({@code CQ},
     * {@code PQ}...): a request on the frontend and no error. It leaves the current exchange's
     * accounting alone.
     */
    private void dropped(HttpRequest req, TerminationCause why) {
        metrics.requestUntimed();
        if (!accessLog.isEnabled()) {
            return;
        }
        String m;
        String t;
        String version;
        CharSequence id = null;
        if (req.decoderResult().isFailure()) {
            // a malformed one: its line when that was valid, as a refused request's
            HttpRejection rejection = HttpRejection.of(req.decoderResult().cause());
            m = rejection.method() == null ? BADREQ : rejection.method();
            t = rejection.method() == null ? null : rejection.target();
            version = "HTTP/1.0".equals(rejection.version()) ? "HTTP/1.0" : "HTTP/1.1";
        } else {
            m = req.method().name();
            t = req.uri();
            version = client instanceof Http2StreamChannel ? HTTP_2_0 : req.protocolVersion().text();
            if (requestIdHeader != null) {
                id = Headers.oneRequestId(req.headers(), requestIdHeader);
            }
        }
        AccessLogEntry e = logEntry == null ? logEntry = new AccessLogEntry() : logEntry.reset();
        e.start(clock.currentTimeMillis())
                .client(source)
                .frontend(frontend.name())
                .backend(null)
                .server(null)
                .request(m, t, t == null ? null : version)
                .status(0)
                .bytes(0, 0)
                .requestTime(-1)
                .queueTime(-1)
                .connectTime(-1)
                .responseTime(-1)
                .totalTime(0)
                .requestId(id)
                .traceId(null)
                .termination(why, TerminationPhase.QUEUE);
        accessLog.log(e);
    }

    private void closeOnFlush() {
        closing = true;
        dropQueued();
        Relay.closeOnFlush(client);
    }

    /**
     * Ends the client connection after a response that came before the end of its request, while the
     * client may still be sending it: a FIN once the response is out, then whatever the client still
     * sends is read and dropped until it closes its side, or for at most the client timeout. Closing
     * at once would make the kernel answer the bytes that keep coming with a reset, and a reset can
     * take the response with it before the client has read it (nginx's lingering close; HAProxy
     * drains too). Over TLS the FIN follows a {@code close_notify}. HTTP/2 streams close as before.
     */
    private void lingeringClose() {
        if (!bodyless && !inputShutdown && client instanceof Http2StreamChannel) {
            // after a complete response, RST_STREAM NO_ERROR asks the client to stop sending its request
            // (RFC 9113, 8.1); the CANCEL a stream's close sends would make it drop the response too.
            // Later in the turn, once the response is flushed: a reset drops the stream's DATA that
            // flow control still holds
            closing = true;
            dropQueued();
            client.eventLoop().execute(() -> {
                client.flush();
                client.write(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR));
                Relay.closeOnFlush(client);
            });
            return;
        }
        if (bodyless || inputShutdown || !(client instanceof DuplexChannel)) {
            // nothing more can come (the unread rest of a request without a body is just its end, or the
            // client has closed its side), or a stream that cannot half-close
            closeOnFlush();
            return;
        }
        closing = true;
        dropQueued();
        client.config().setAutoRead(true);
        // what the client still sends is read and dropped: the decoder must not keep it
        queueHasRoom();
        // over TLS: the response, then close_notify, then the FIN
        Relay.shutdownOutput(client);
        timeouts.linger();
    }

    /** The client timeout ran out while the connection lingered after its response: it ends now. */
    void lingerTimedOut() {
        client.close();
    }

    /**
     * Closes the client connection without waiting for it to take what is still queued. What was
     * written is flushed first, which matters when a server dies mid-response: its last bytes and its
     * end can come in one read burst, before the burst's flush at the end of the turn
     * ({@link FlushBatch}), and the client must get the part of the response the server did send.
     */
    private void closeNow() {
        closing = true;
        dropQueued();
        client.flush();
        client.close();
    }
}
