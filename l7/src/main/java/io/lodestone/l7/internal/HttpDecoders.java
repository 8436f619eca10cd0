package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.util.AsciiString;
import java.util.List;

/** The Netty decoder configuration behind the strict decoders, and the body reading they share. */
final class HttpDecoders {

    private static final DefaultHeaders.NameValidator<CharSequence> NETTY_NAMES =
            DefaultHttpHeadersFactory.headersFactory().getNameValidator();

    /**
     * Header names of decoded heads (and so of every header the proxy later sets on them): a name that
     * is an {@link AsciiString} passes unchecked, any other {@link CharSequence} goes through Netty's
     * token check. In this module an {@code AsciiString} name is always one of: a constant; a configured
     * name checked to be a token at {@code build()} (request id, cache status); or a name the decoder
     * cut from a head whose bytes {@link HeadScanner} had already checked to be a token. Names from
     * header edits and user code arrive as {@code String} and stay checked. Checking the proxy's own
     * constant names again on every request was measurable CPU.
     */
    static final DefaultHeaders.NameValidator<CharSequence> NAMES = name -> {
        if (!(name instanceof AsciiString)) {
            NETTY_NAMES.validateName(name);
        }
    };

    private HttpDecoders() {
    }

    /**
     * Reads what has arrived of a Content-Length body whose head the scanner emitted: one piece of at
     * most {@code maxChunkSize} bytes, as a {@link DefaultHttpContent}, or as a {@link LastHttpContent}
     * (without trailers) when it ends the body. These are the pieces, at the same boundaries, that
     * Netty's decoder cuts from the same bytes. A connection that ends before the body does gets no
     * further message, as with Netty: the proxy sees the channel close.
     *
     * @param remaining the body bytes still to come, more than 0
     * @return the body bytes still to come after this piece
     */
    static long readBody(ByteBuf in, List<Object> out, long remaining, int maxChunkSize) {
        int n = (int) Math.min(Math.min(in.readableBytes(), maxChunkSize), remaining);
        if (n == 0) {
            return remaining;
        }
        ByteBuf piece = in.readRetainedSlice(n);
        if (n == remaining) {
            out.add(new DefaultLastHttpContent(piece, EmptyHttpHeaders.INSTANCE));
        } else {
            out.add(new DefaultHttpContent(piece));
        }
        return remaining - n;
    }

    private static final DefaultHeaders.ValueValidator<CharSequence> NETTY_VALUES =
            DefaultHttpHeadersFactory.headersFactory().getValueValidator();

    /**
     * Header values of decoded heads, on the same terms as {@link #NAMES}: an {@link AsciiString}
     * value is one the proxy made (a constant, the client address or local port, a generated request
     * id, a value built from configuration checked at {@code build()}) or one {@link HeadScanner} cut
     * from a head whose bytes it had already checked, and passes unchecked; any other
     * value, a {@code String} from a header edit, user code or text assembled from request data,
     * goes through Netty's check (no CR, LF or other control characters).
     */
    static final DefaultHeaders.ValueValidator<CharSequence> VALUES = value -> {
        if (!(value instanceof AsciiString)) {
            NETTY_VALUES.validate(value);
        }
    };

    /** Headers checked with {@link #NAMES} and {@link #VALUES}: one factory for every decoder. */
    private static final DefaultHttpHeadersFactory HEADERS =
            DefaultHttpHeadersFactory.headersFactory().withNameValidator(NAMES).withValueValidator(VALUES);

    /**
     * A copy of {@code config} with Netty's own checks all switched on explicitly, so that no system
     * property can relax them: strict CRLF, header name and value validation, no duplicate
     * Content-Length, RFC 9112 Transfer-Encoding rules. Header names and values of heads are checked by
     * {@link #NAMES} and {@link #VALUES} (the head scan has checked the decoded ones on their bytes already); trailers,
     * which the head scan does not see, keep Netty's full checks. Its limits are the head scan's and measure a
     * subset of the same bytes, so the scan always answers first; for chunk-size lines Netty's line limit
     * still applies, which bounds chunk extensions.
     */
    static HttpDecoderConfig strict(HttpDecoderConfig config) {
        return config.clone()
                .setHeadersFactory(HEADERS)
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
