package io.lodestone.l7.internal;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;

/** The Netty decoder configuration behind the strict decoders, and the checks of their limits. */
final class HttpDecoders {

    private HttpDecoders() {
    }

    /**
     * Netty's own checks, all switched on explicitly so that no system property can relax them: strict
     * CRLF, header name and value validation, no duplicate Content-Length, RFC 9112 Transfer-Encoding
     * rules. Its limits equal ours and measure a subset of the same bytes, so the head scan always
     * answers first; for chunk-size lines the line limit still applies (bounds chunk extensions).
     */
    static HttpDecoderConfig config(int maxInitialLineLength, int maxHeaderSize) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(maxInitialLineLength)
                .setMaxHeaderSize(maxHeaderSize)
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

    static long checkPositive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
        return value;
    }
}
