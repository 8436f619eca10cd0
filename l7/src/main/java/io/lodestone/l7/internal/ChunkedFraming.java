package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.Arrays;

/**
 * Follows a chunked body on its raw bytes, ahead of Netty's decoder, and finds the first byte that
 * breaks RFC 9112 7.1: each chunk-size line is one or more hex digits (at most {@code 7fffffff}, the
 * largest Netty reads), then chunk extensions, then CRLF, where
 * {@code chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )}, a name is a
 * token and a value a token or a quoted-string; each chunk's data is followed by CRLF; after the last
 * chunk come trailer lines up to an empty line. Netty's decoder accepts a {@code ;} without a name
 * ({@code 5;}, {@code 5; }, {@code 5;=x}) and an {@code =} without a value; this check refuses them,
 * and whatever else Netty refuses, so that Netty never reads a body this check let through differently.
 * Each trailer line must start with a field name (a token) and its colon, or with whitespace (an
 * obs-fold, which Netty's decoder replaces with a space); Netty checks the rest of it. Netty's decoder
 * reads a response's trailer line leniently, {@code X-T v} as an {@code X-T} field with an empty value
 * and {@code X-T : v} as {@code X-T: v}, which would then be forwarded as valid fields: checking the
 * name here refuses those as the head scan refuses them in a head. A trailer section may have no more
 * fields than a head ({@link #ChunkedFraming(boolean, int)}).
 *
 * <p>The extensions of a valid line are overwritten in the buffer once checked, their first byte with
 * {@code ;} and the others with spaces, so that Netty's decoder, which reads the line after this
 * check, sees the size and an empty extension, which it lets through. Netty's
 * own check of extensions refuses whitespace between a token value and the next {@code ;}
 * ({@code 5;a=b ;c}), which the grammar above allows; the proxy forwards no extension, so nothing
 * is lost. The bytes are the decoder's input buffer, which nothing else reads.
 *
 * <p>A response's chunked body is read {@linkplain #ChunkedFraming(boolean) leniently} in its
 * extensions, as HAProxy, nginx and Go's client read it: whitespace may end the size line
 * ({@code 5 }), and after a {@code ;} any visible characters, spaces and tabs may come up to the CR
 * ({@code 5;}, {@code 5;a }); the size, the CRLFs and the data are checked as strictly as in a
 * request, and a control character or a bare LF in the line is still refused. Extensions are never
 * forwarded, so this reads no message differently; it only spares servers that pad their size lines.
 *
 * <p>One per connection, fed the bytes of one body at a time as they arrive; allocates nothing and
 * stops at the body's end, so bytes of the next request are left to the head scanner.
 */
final class ChunkedFraming {

    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private static final int SIZE_FIRST = 0;
    private static final int SIZE = 1;
    /** Whitespace after the size or an extension: only more of it or {@code ;} may follow (no CR). */
    private static final int BEFORE_SEMICOLON = 2;
    /** After {@code ;}: whitespace, then a name. */
    private static final int BEFORE_NAME = 3;
    private static final int NAME = 4;
    /** Whitespace after a name: more of it, {@code =} or {@code ;} may follow (no CR). */
    private static final int AFTER_NAME = 5;
    /** After {@code =}: whitespace, then a value. */
    private static final int BEFORE_VALUE = 6;
    private static final int TOKEN_VALUE = 7;
    private static final int QUOTED = 8;
    private static final int QUOTED_PAIR = 9;
    /** After a quoted value's closing quote. */
    private static final int AFTER_QUOTED = 18;
    private static final int SIZE_LF = 10;
    private static final int DATA = 11;
    private static final int DATA_CR = 12;
    private static final int DATA_LF = 13;
    private static final int TRAILER_START = 14;
    private static final int TRAILER_LINE = 15;
    private static final int END_LF = 16;
    private static final int DONE = 17;
    /** In a response's size line, after {@code ;}: anything visible, SP or HTAB up to the CR. */
    private static final int LENIENT_EXTENSION = 19;
    /** In a trailer field's name: more of it, then {@code :}. */
    private static final int TRAILER_NAME = 20;

    private static final boolean[] TCHAR = HeadScanner.TCHAR;
    private static final boolean[] QDTEXT = new boolean[256];
    private static final boolean[] QUOTABLE = new boolean[256];
    private static final int[] HEX = new int[256];

    static {
        Arrays.fill(HEX, -1);
        for (int c = 0; c < 10; c++) {
            HEX['0' + c] = c;
        }
        for (int c = 0; c < 6; c++) {
            HEX['a' + c] = 10 + c;
            HEX['A' + c] = 10 + c;
        }
        for (int c = 0x21; c <= 0xFF; c++) {
            QUOTABLE[c] = c != 0x7F;
            QDTEXT[c] = c != 0x7F && c != '"' && c != '\\';
        }
        QUOTABLE[' '] = true;
        QUOTABLE['\t'] = true;
        QDTEXT[' '] = true;
        QDTEXT['\t'] = true;
    }

    /** Whether extensions are read leniently (responses). */
    private final boolean lenient;
    /** The most field lines a trailer section may have (obs-fold continuations not counted). */
    private final int maxTrailerFields;
    private int state = DONE;
    private long size;
    /** The field lines of the trailer section so far. */
    private int trailerFields;

    /** A check of requests' bodies: extensions must follow the grammar. */
    ChunkedFraming(int maxTrailerFields) {
        this(false, maxTrailerFields);
    }

    /**
     * A check whose extensions are read leniently when {@code lenient} (responses' bodies), else by the
     * grammar, and whose trailer sections may have at most {@code maxTrailerFields} fields, the limit of
     * the head's (HAProxy counts trailers against {@code tune.http.maxhdr} too): without it a trailer
     * section would be bounded only by Netty's size limit, thousands of fields forwarded to a server
     * that may merge them into the headers.
     */
    ChunkedFraming(boolean lenient, int maxTrailerFields) {
        this.lenient = lenient;
        this.maxTrailerFields = maxTrailerFields;
    }

    /** The decoders' end of a body this check refused: a failed last content answered {@code status}. */
    static LastHttpContent refused(HttpResponseStatus status) {
        LastHttpContent failed = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        failed.setDecoderResult(DecoderResult.failure(new HttpRejection(status,
                "invalid chunked body: a chunk-size line or chunk delimiter breaks RFC 9112 7.1")));
        return failed;
    }

    /** Starts a body: its first byte is a chunk-size line's. */
    void start() {
        state = SIZE_FIRST;
        size = 0;
        trailerFields = 0;
    }

    /** Whether the body's last byte (the CRLF after the trailers) has been seen, or none was started. */
    boolean done() {
        return state == DONE;
    }

    /**
     * Reads the body's next bytes, {@code in} from {@code from} to {@code to}, stopping after the
     * body's last byte.
     *
     * @return the index of the first byte that breaks the framing, or -1 when there is none
     */
    int scan(ByteBuf in, int from, int to) {
        int s = state;
        int i = from;
        while (i < to && s != DONE) {
            if (s == DATA) {
                int n = (int) Math.min(to - i, size);
                i += n;
                size -= n;
                if (size == 0) {
                    s = DATA_CR;
                }
                continue;
            }
            int c = in.getByte(i) & 0xFF;
            int before = s;
            switch (s) {
                case SIZE_FIRST, SIZE -> {
                    int digit = HEX[c];
                    if (digit >= 0) {
                        size = size << 4 | digit;
                        s = size > Integer.MAX_VALUE ? -1 : SIZE;
                    } else {
                        s = s == SIZE_FIRST ? -1 : lenient ? lenientAfterSize(c) : afterValue(c);
                    }
                }
                case BEFORE_SEMICOLON -> s = lenient ? lenientAfterSize(c) : c == ';' ? BEFORE_NAME : isBws(c) ? s : -1;
                case LENIENT_EXTENSION -> s = c == CR ? SIZE_LF : c == '\t' || c >= 0x20 && c != 0x7F ? s : -1;
                case BEFORE_NAME -> s = TCHAR[c] ? NAME : isBws(c) ? s : -1;
                case NAME -> s = TCHAR[c] ? s : c == '=' ? BEFORE_VALUE : isBws(c) ? AFTER_NAME : afterValue(c);
                case AFTER_NAME -> s = c == '=' ? BEFORE_VALUE : c == ';' ? BEFORE_NAME : isBws(c) ? s : -1;
                case BEFORE_VALUE -> s = TCHAR[c] ? TOKEN_VALUE : c == '"' ? QUOTED : isBws(c) ? s : -1;
                case TOKEN_VALUE -> s = TCHAR[c] ? s : afterValue(c);
                case QUOTED -> s = c == '"' ? AFTER_QUOTED : c == '\\' ? QUOTED_PAIR : QDTEXT[c] ? s : -1;
                case QUOTED_PAIR -> s = QUOTABLE[c] ? QUOTED : -1;
                case AFTER_QUOTED -> s = afterValue(c);
                case SIZE_LF -> s = c != LF ? -1 : size > 0 ? DATA : TRAILER_START;
                case DATA_CR -> s = c == CR ? DATA_LF : -1;
                case DATA_LF -> s = c == LF ? SIZE_FIRST : -1;
                case TRAILER_START -> s = c == CR ? END_LF
                        : TCHAR[c] ? (++trailerFields > maxTrailerFields ? -1 : TRAILER_NAME) : isBws(c) ? TRAILER_LINE : -1;
                case TRAILER_NAME -> s = TCHAR[c] ? s : c == ':' ? TRAILER_LINE : -1;
                case TRAILER_LINE -> s = c == LF ? TRAILER_START : s;
                case END_LF -> s = c == LF ? DONE : -1;
                default -> throw new IllegalStateException("chunked framing state " + s);
            }
            if (s < 0) {
                state = DONE;
                return i;
            }
            if (s >= BEFORE_SEMICOLON && s <= QUOTED_PAIR || s == AFTER_QUOTED || s == LENIENT_EXTENSION) {
                // the extensions become ";" and spaces, an extension without a name to Netty's checks
                in.setByte(i, before == SIZE ? ';' : ' ');
            }
            i++;
        }
        state = s;
        return -1;
    }

    /**
     * The state after a size, a name or a value: whitespace before a {@code ;}, {@code ;} for the
     * next extension or CR for the line's end; -1 for anything else.
     */
    private static int afterValue(int c) {
        if (c == ';') {
            return BEFORE_NAME;
        }
        if (c == CR) {
            return SIZE_LF;
        }
        return isBws(c) ? BEFORE_SEMICOLON : -1;
    }

    /** Leniently, after a size and its whitespace: more whitespace, CR for the line's end, or {@code ;} and anything visible. */
    private static int lenientAfterSize(int c) {
        if (c == ';') {
            return LENIENT_EXTENSION;
        }
        if (c == CR) {
            return SIZE_LF;
        }
        return isBws(c) ? BEFORE_SEMICOLON : -1;
    }

    private static boolean isBws(int c) {
        return c == ' ' || c == '\t';
    }
}
