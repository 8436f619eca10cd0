package io.lodestone.core.internal;

/**
 * The names of the handlers Lodestone puts in channel pipelines, and their order, in one place.
 *
 * <p>L4 client channel: {@link #RELAY} (which also runs the pair's idle timer).
 * <br>L4 server channel: {@link #PROXY_PROTOCOL} (removed once the header is written) → {@link #RELAY}.
 *
 * <p>L7 client channel: {@link #HTTP_TIMEOUT} (request-head and keep-alive timers, sees raw bytes)
 * → {@link #HTTP_DECODER} (request decoder, line and header-block limits) → {@link #HTTP_ENCODER}
 * (response encoder) → request validation handlers (between the codec and the proxy handler; they see
 * decoded {@code HttpRequest}/{@code HttpContent} objects and must pass other messages on)
 * → {@link #HTTP_PROXY}.
 * <br>L7 server channel: {@link #HTTP_ENCODER} (request encoder) → {@link #HTTP_DECODER} (response
 * decoder) → response validation handlers → {@link #IDLE} (the backend's server timeout)
 * → {@link #HTTP_BACKEND}.
 * <br>L7 WebSocket tunnel, after the server's 101: every HTTP handler is removed from both channels;
 * client channel {@link #IDLE} (tunnel timeout) → {@link #RELAY}; server channel {@link #RELAY}.
 *
 * <p>Admin endpoint client channel: {@link #IDLE} (closes idle connections) → {@link #HTTP_CODEC}
 * → {@link #HTTP_AGGREGATOR} (bounded whole requests) → {@link #ADMIN}.
 */
public final class PipelineNames {

    /** Closes the connection pair when a side is idle too long. */
    public static final String IDLE = "lodestone.idle";
    /** Copies bytes to the peer channel with backpressure and half-close. */
    public static final String RELAY = "lodestone.relay";
    /** Writes the PROXY protocol header before the first relayed byte. */
    public static final String PROXY_PROTOCOL = "lodestone.proxy-protocol";

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
    /** Admin endpoint: answers the admin requests. */
    public static final String ADMIN = "lodestone.admin";

    private PipelineNames() {
    }
}
