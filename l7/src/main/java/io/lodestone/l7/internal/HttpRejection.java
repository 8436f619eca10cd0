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

    /** Creates a rejection answered with {@code status}; {@code reason} names the rule that was broken. */
    public HttpRejection(HttpResponseStatus status, String reason) {
        super(reason, null, false, false);
        this.status = status;
    }

    /** The status the client is answered with (for a backend response: 502). */
    public HttpResponseStatus status() {
        return status;
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
