package io.lodestone.core.internal;

/**
 * The names of the handlers Lodestone puts in channel pipelines, and their order, in one place.
 *
 * <p>On io_uring every connection's pipeline starts with {@link #CLOSE_GUARD}, before the handlers
 * below.
 *
 * <p>Client channels of a frontend that accepts the PROXY protocol start with {@link #PROXY_HEADER_LINE_LIMIT}
 * → {@link #PROXY_HEADER_DECODER} → {@link #PROXY_HEADER} and nothing else (after {@link #CLOSE_GUARD} on
 * io_uring): the engine's handlers below are added once the header is read, when all three have left. Other frontends never have them.
 *
 * <p>L4 client channel: {@link #TLS} (TLS termination, when the frontend has it; with the JDK provider
 * {@link #TLS_RENEGOTIATION} in front of it, on L7 too) or
 * {@link #CLIENT_HELLO} (TLS passthrough: reads the ClientHello, removes itself and passes the bytes
 * on untouched) → {@link #RELAY} (which also runs the pair's idle timer).
 * <br>L4 server channel: {@link #BACKEND_TLS} (backends with TLS; added once connected) →
 * {@link #BACKEND_TLS_ERRORS} (added with it) → {@link #PROXY_PROTOCOL} (removed once the header is written) → {@link #RELAY}.
 *
 * <p>L7 client channel: {@link #TLS} (on TLS frontends; first, so every later handler sees
 * plaintext) → {@link #TLS_HANDSHAKE} (on TLS frontends: accounts a handshake that does not succeed,
 * adds the HTTP/1.1 handlers below when the frontend offers no h2, and leaves once the handshake is done)
 * → {@link #PROTOCOL} (when the frontend speaks HTTP/2: ALPN or the h2c preface
 * decides, then it leaves, adding either the HTTP/1.1 handlers below or {@link #HTTP2_FLUSH} → {@link #HTTP2_CODEC} → {@link #HTTP2_IDLE} →
 * {@link #HTTP2_MULTIPLEX} → {@link #HTTP2_ERRORS}; for h2c it is added in front of the HTTP/1.1 handlers, which it
 * replaces when the preface comes) → {@link #HTTP_TIMEOUT} (request-head and keep-alive timers, sees raw bytes)
 * → {@link #HTTP_DECODER} (request decoder, line and header-block limits) → {@link #HTTP_ENCODER}
 * (response encoder; the decoder itself rejects every invalid request, so no validation handler follows)
 * → {@link #HSTS} (TLS frontends with HSTS: adds the header to outgoing responses) → {@link #COMPRESSION}
 * (frontends with compression: sees each request's Accept-Encoding, compresses the responses) → {@link #HTTP_PROXY}.
 * <br>L7 HTTP/2 stream channel: {@link #HTTP_TIMEOUT} → {@link #HTTP2_WEBSOCKET} (frontends that take
 * WebSocket over HTTP/2, RFC 8441: turns an extended CONNECT into a WebSocket upgrade, and the stream's
 * DATA into a tunnel's bytes after the server's 101) → {@link #HTTP2_STREAM_CODEC} →
 * {@link #HTTP2_REQUESTS} → {@link #HSTS} → {@link #COMPRESSION} → {@link #HTTP_PROXY}.
 * <br>L7 server channel: {@link #BACKEND_TLS} (backends with TLS; added once connected, first, kept by
 * WebSocket tunnels) → {@link #BACKEND_TLS_ERRORS} (added with it, kept by WebSocket tunnels) → {@link #HTTP_ENCODER} (request encoder) → {@link #HTTP_DECODER} (response
 * decoder, which turns an invalid response into a 502) → {@link #HTTP_BACKEND} (which also keeps the backend's
 * server timeout).
 * <br>L7 HTTP/2 server connection (backends speaking h2 or h2c): {@link #BACKEND_TLS} →
 * {@link #BACKEND_TLS_ERRORS} → {@link #HTTP2_CODEC} → {@link #HTTP2_MULTIPLEX} → {@link #HTTP2_BACKEND} (the connection's state in
 * its pool: GOAWAY, streams in use); each request is a stream channel: {@link #HTTP2_STREAM_CODEC} →
 * {@link #HTTP2_RESPONSES} → {@link #HTTP_BACKEND}.
 * <br>L7 WebSocket tunnel, after the server's 101: every HTTP handler is removed from both channels;
 * client channel {@link #IDLE} (tunnel timeout) → {@link #RELAY}; server channel {@link #RELAY}. An
 * HTTP/2 stream's tunnel keeps its {@link #HTTP2_WEBSOCKET}: {@link #IDLE} → {@link #HTTP2_WEBSOCKET} → {@link #RELAY}.
 *
 * <p>Admin endpoint client channel: {@link #IDLE} (closes idle connections) → {@link #HTTP_CODEC}
 * → {@link #HTTP_AGGREGATOR} (bounded whole requests) → {@link #ADMIN_FLOW} (one request at a time)
 * → {@link #ADMIN}.
 */
public final class PipelineNames {

    /** io_uring connections, first: drops the reads asked for after a close (see {@code CloseGuard}). */
    public static final String CLOSE_GUARD = "lodestone.close-guard";
    /** Closes the connection pair when a side is idle too long. */
    public static final String IDLE = "lodestone.idle";
    /** Copies bytes to the peer channel with backpressure and half-close. */
    public static final String RELAY = "lodestone.relay";
    /**
     * Frontends that accept the PROXY protocol: first, refuses a version 1 line longer than 107 bytes, which
     * the decoder would take; leaves at the line's end, or at once for anything but a version 1 header.
     */
    public static final String PROXY_HEADER_LINE_LIMIT = "lodestone.proxy-header-line-limit";
    /**
     * Frontends that accept the PROXY protocol: Netty's decoder of the header (version 1 or 2), after {@link #PROXY_HEADER_LINE_LIMIT};
     * removes itself once it has decoded it and hands on the bytes after it.
     */
    public static final String PROXY_HEADER_DECODER = "lodestone.proxy-header-decoder";
    /**
     * Frontends that accept the PROXY protocol: takes the decoded header, bounds the wait for it, then
     * adds the engine's handlers and leaves ({@code ProxyHeaderReader}).
     */
    public static final String PROXY_HEADER = "lodestone.proxy-header";
    /** Writes the PROXY protocol header before the first relayed byte. */
    public static final String PROXY_PROTOCOL = "lodestone.proxy-protocol";

    /**
     * The TLS handler of a client connection (an SNI handler that replaces itself with the
     * {@code SslHandler} once it has chosen the certificate). First in the pipeline, after
     * {@link #CLOSE_GUARD} on io_uring.
     */
    public static final String TLS = "lodestone.tls";
    /**
     * Just before {@link #TLS} with the JDK provider: closes a connection whose client starts a TLS 1.2
     * renegotiation (OpenSSL's engine refuses it itself).
     */
    public static final String TLS_RENEGOTIATION = "lodestone.tls-renegotiation";
    /** L4 TLS passthrough: buffers the ClientHello, fires its SNI and ALPN, passes the bytes on untouched. */
    public static final String CLIENT_HELLO = "lodestone.client-hello";

    /**
     * L7: waits for a client's TLS handshake; logs and counts one that fails or times out, and leaves
     * once it is done.
     */
    public static final String TLS_HANDSHAKE = "lodestone.tls-handshake";
    /** L7: chooses HTTP/2 or HTTP/1.1 for a client connection (ALPN or the h2c preface), then leaves. */
    public static final String PROTOCOL = "lodestone.protocol";
    /**
     * L7: gathers the flushes of an HTTP/2 client connection's streams (one per response) into one
     * flush per event-loop turn, so that responses finishing together share TLS records and writes.
     */
    public static final String HTTP2_FLUSH = "lodestone.http2-flush";
    /** L7: the HTTP/2 frame codec of a client connection. */
    public static final String HTTP2_CODEC = "lodestone.http2-codec";
    /** L7: the keep-alive timeout of an HTTP/2 client connection: closes it after so long without a stream. */
    public static final String HTTP2_IDLE = "lodestone.http2-idle";
    /** L7: the HTTP/2 stream multiplexer, one child channel per stream. */
    public static final String HTTP2_MULTIPLEX = "lodestone.http2-multiplex";
    /** L7: closes an HTTP/2 connection on an error the codec has already answered with GOAWAY. */
    public static final String HTTP2_ERRORS = "lodestone.http2-errors";
    /** L7: turns an HTTP/2 stream's frames into HTTP/1 objects and back. */
    public static final String HTTP2_STREAM_CODEC = "lodestone.http2-stream-codec";
    /** L7: shapes an HTTP/2 stream's requests like the HTTP/1.1 decoder's (no extension headers, head then body). */
    public static final String HTTP2_REQUESTS = "lodestone.http2-requests";
    /**
     * L7, frontends that take WebSocket over HTTP/2 (RFC 8441): turns a stream's extended CONNECT into a
     * WebSocket upgrade request, and once the server's 101 is relayed, the stream's DATA into the tunnel's
     * bytes and back; stays in the tunnel.
     */
    public static final String HTTP2_WEBSOCKET = "lodestone.http2-websocket";
    /** The TLS handler of a server connection (backend TLS, re-encryption). Always first in the pipeline. */
    public static final String BACKEND_TLS = "lodestone.backend-tls";
    /**
     * Right after {@link #BACKEND_TLS}, added with it: takes the exceptions of a handshake that fails
     * (the connection attempt reports them); after the handshake, logs a TLS error the server causes
     * (its alert refusing the proxy's client certificate, which TLS 1.3 sends after the handshake) and
     * passes it on.
     */
    public static final String BACKEND_TLS_ERRORS = "lodestone.backend-tls-errors";
    /** L7: the state of an HTTP/2 server connection in its pool (streams in use, GOAWAY received). */
    public static final String HTTP2_BACKEND = "lodestone.http2-backend";
    /** L7: shapes an HTTP/2 server stream's responses like the HTTP/1.1 decoder's (no extension headers, head then body). */
    public static final String HTTP2_RESPONSES = "lodestone.http2-responses";
    /** L7: adds {@code Strict-Transport-Security} to the responses of a TLS frontend. */
    public static final String HSTS = "lodestone.hsts";
    /** L7: compresses responses (gzip, deflate, brotli) for clients that accept it. */
    public static final String COMPRESSION = "lodestone.compression";
    /** L7: closes a client connection idle between requests, answers 408 to a request head that is too slow. */
    public static final String HTTP_TIMEOUT = "lodestone.http-timeout";
    /** L7: the HTTP/1.1 decoder (requests on the client channel, responses on the server channel). */
    public static final String HTTP_DECODER = "lodestone.http-decoder";
    /** L7: the HTTP/1.1 encoder (responses on the client channel, requests on the server channel). */
    public static final String HTTP_ENCODER = "lodestone.http-encoder";
    /** L7: the proxy handler of a client connection: routes, picks, forwards, answers errors. */
    public static final String HTTP_PROXY = "lodestone.http-proxy";
    /** L7: the handler of a pooled server connection, passing responses to the client's proxy handler. */
    public static final String HTTP_BACKEND = "lodestone.http-backend";
    /** Admin endpoint: the HTTP/1.1 server codec. */
    public static final String HTTP_CODEC = "lodestone.http-codec";
    /** Admin endpoint: aggregates a small request into one message, refusing a large one. */
    public static final String HTTP_AGGREGATOR = "lodestone.http-aggregator";
    /**
     * Admin endpoint: holds the requests decoded beyond the one being answered, handing on the next
     * when the admin handler asks for it, once its answer before is sent.
     */
    public static final String ADMIN_FLOW = "lodestone.admin-flow";
    /** Admin endpoint: answers the admin requests. */
    public static final String ADMIN = "lodestone.admin";

    private PipelineNames() {
    }
}
