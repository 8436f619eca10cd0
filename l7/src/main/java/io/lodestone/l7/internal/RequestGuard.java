package io.lodestone.l7.internal;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.ClosedChannelException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits right after {@link ClientCodec} on a client connection and answers every rejected request, so
 * the engine only ever sees valid ones. A request refused at its head is never passed on; pipelined
 * requests before it are still answered, in order, then the error response (see {@link ErrorResponses})
 * is written and the connection closed. A failure inside a body already passed on in part (invalid
 * chunk, body over the limit) is answered at once when no byte of its response was written yet, else
 * the connection is simply closed; the engine sees the connection close and drops the backend side of
 * the unfinished request. After an error, inbound messages are dropped and the engine's writes fail.
 *
 * <p>It counts requests passed on and final responses written (a {@link LastHttpContent} after a
 * non-1xx {@link HttpResponse}), so it must see every response the engine writes. One instance per
 * connection.
 */
public final class RequestGuard extends ChannelDuplexHandler {

    private static final Logger log = LoggerFactory.getLogger(RequestGuard.class);

    private int inFlight;
    private boolean requestOpen;
    private boolean finalResponse;
    private boolean responseStarted;
    private HttpRejection pending;
    private boolean closing;

    /** Creates the guard of one client connection. */
    public RequestGuard() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing || pending != null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpObject h && h.decoderResult().isFailure()) {
            HttpRejection rejection = HttpRejection.of(h.decoderResult().cause());
            ReferenceCountUtil.release(msg);
            if (log.isDebugEnabled()) {
                log.debug("{} rejected request: {} {}", ctx.channel(), rejection.status().code(), rejection.getMessage());
            }
            if (requestOpen) {
                requestOpen = false;
                if (inFlight == 1 && !responseStarted) {
                    sendError(ctx, rejection);
                } else {
                    closing = true;
                    ctx.close();
                }
            } else if (inFlight == 0) {
                sendError(ctx, rejection);
            } else {
                pending = rejection;
            }
            return;
        }
        if (msg instanceof HttpRequest) {
            inFlight++;
            requestOpen = true;
        }
        if (msg instanceof LastHttpContent) {
            requestOpen = false;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            promise.tryFailure(new ClosedChannelException());
            return;
        }
        boolean completes = false;
        if (msg instanceof HttpResponse response) {
            int code = response.status().code();
            finalResponse = code >= 200 || code == 101;
            responseStarted |= finalResponse;
        }
        if (msg instanceof LastHttpContent && finalResponse) {
            finalResponse = false;
            responseStarted = false;
            inFlight--;
            completes = true;
        }
        ctx.write(msg, promise);
        if (completes && pending != null && inFlight == 0) {
            sendError(ctx, pending);
        }
    }

    private void sendError(ChannelHandlerContext ctx, HttpRejection rejection) {
        closing = true;
        ErrorResponses.sendAndClose(ctx, rejection.status());
    }
}
