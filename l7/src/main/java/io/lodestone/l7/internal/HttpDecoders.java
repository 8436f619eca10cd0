package io.lodestone.l7.internal;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;

/** The Netty decoder configuration behind the strict decoders. */
final class HttpDecoders {

    private HttpDecoders() {
    }

    /**
     * A copy of {@code config} with Netty's own checks all switched on explicitly, so that no system
     * property can relax them: strict CRLF, header name and value validation, no duplicate
     * Content-Length, RFC 9112 Transfer-Encoding rules. Its limits are the head scan's and measure a
     * subset of the same bytes, so the scan always answers first; for chunk-size lines Netty's line limit
     * still applies, which bounds chunk extensions.
     */
    static HttpDecoderConfig strict(HttpDecoderConfig config) {
        return config.clone()
                .setHeadersFactory(DefaultHttpHeadersFactory.headersFactory())
                .setTrailersFactory(DefaultHttpHeadersFactory.trailersFactory())
                .setAllowDuplicateContentLengths(false)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true)
                .setChunkedSupported(true);
    }

    static int checkPositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
        return value;
    }
}
