package io.lodestone.l7.internal;

import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;

/**
 * Why a message was refused: the status to answer with and a short reason for the logs. Carried as the
 * cause of a failed {@link io.netty.handler.codec.DecoderResult} by {@link StrictRequestDecoder} and
 * {@link StrictResponseDecoder}. Without a stack trace: it is a verdict on the peer's bytes, not a bug.
 */
public final class HttpRejection extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient HttpResponseStatus status;
    private final String method;
    private final String target;
    private final String version;
    private final boolean clientLeft;

    /** Creates a rejection answered with {@code status}; {@code reason} names the rule that was broken. */
    public HttpRejection(HttpResponseStatus status, String reason) {
        this(status, reason, null, null, null);
    }

    /**
     * Creates a rejection of a request whose request line was whole and valid ({@code method},
     * {@code target}, {@code version}) and only a later part broke a rule: the access log writes the
     * line, where a request without one is {@code <BADREQ>}.
     */
    HttpRejection(HttpResponseStatus status, String reason, String method, String target, String version) {
        this(status, reason, method, target, version, false);
    }

    private HttpRejection(HttpResponseStatus status, String reason, String method, String target, String version,
            boolean clientLeft) {
        super(reason, null, false, false);
        this.status = status;
        this.method = method;
        this.target = target;
        this.version = version;
        this.clientLeft = clientLeft;
    }

    /**
     * The rejection of a request head that the client's end of input (a FIN, a reset) cut short: 400,
     * as HAProxy answers it, but the client left before its request was whole ({@code CR}); its bytes
     * were not found malformed.
     */
    static HttpRejection cutByClose() {
        return new HttpRejection(HttpResponseStatus.BAD_REQUEST, "connection closed inside a request head", null, null, null, true);
    }

    /** Whether the client's end of input cut the head short ({@link #cutByClose()}) rather than a rule refusing it. */
    boolean clientLeft() {
        return clientLeft;
    }

    /** The status the client is answered with (for a backend response: 502). */
    public HttpResponseStatus status() {
        return status;
    }

    /** The refused request's method when its request line was valid, else {@code null}. */
    public String method() {
        return method;
    }

    /** The refused request's target when its request line was valid, else {@code null}. */
    public String target() {
        return target;
    }

    /** The refused request's version ({@code HTTP/1.1} or {@code HTTP/1.0}) when its request line was valid, else {@code null}. */
    public String version() {
        return version;
    }

    /**
     * Maps any decoder failure to a rejection: a rejection stays as it is, Netty's line and header
     * limits become 414 and 431, anything else is a 400.
     */
    public static HttpRejection of(Throwable cause) {
        if (cause instanceof HttpRejection rejection) {
            return rejection;
        }
        String reason = String.valueOf(cause.getMessage());
        if (cause instanceof TooLongHttpLineException) {
            return new HttpRejection(HttpResponseStatus.REQUEST_URI_TOO_LONG, reason);
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return new HttpRejection(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, reason);
        }
        if (cause instanceof TooLongFrameException) {
            return new HttpRejection(HttpResponseStatus.BAD_REQUEST, reason);
        }
        return new HttpRejection(HttpResponseStatus.BAD_REQUEST, cause.getClass().getSimpleName() + ": " + reason);
    }
}
