package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * The HTTP codecs of both sides: the decoders told whether the exchange in progress answers a HEAD
 * request, the encoders writing {@link RawHeaders} back out from their bytes.
 */
final class Codecs {

    private Codecs() {
    }

    /**
     * Decodes a server's responses. One request is in flight per server connection, and the proxy
     * calls {@link #requestSent} before sending each: a final response to HEAD has no body whatever its
     * headers say, and bytes the server sends while it owes no response close the connection.
     */
    static final class ResponseDecoder extends StrictResponseDecoder {
        private boolean head;

        ResponseDecoder(HttpDecoderConfig config, int maxHeaderCount) {
            super(config, maxHeaderCount);
        }

        /** The proxy is sending the server a request, a HEAD one when {@code head}. */
        void requestSent(boolean head) {
            this.head = head;
            awaitResponse();
        }

        @Override
        protected boolean bodyless(int code) {
            return head || super.bodyless(code);
        }

        @Override
        protected boolean oneRequestAtATime() {
            return true;
        }
    }

    /**
     * Encodes responses to the client. The proxy answers requests one at a time, in order, and sets
     * {@link #head} for each, so a response to HEAD keeps its Content-Length but gets no body.
     */
    static final class ResponseEncoder extends HttpResponseEncoder {
        boolean head;

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            if (head && msg.status().code() >= 200) {
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }

        @Override
        protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
            if (!RawHeaders.encode(headers, buf)) {
                super.encodeHeaders(headers, buf);
            }
        }
    }

    /** Encodes requests to a server. */
    static final class RequestEncoder extends HttpRequestEncoder {
        @Override
        protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
            if (!RawHeaders.encode(headers, buf)) {
                super.encodeHeaders(headers, buf);
            }
        }
    }
}
