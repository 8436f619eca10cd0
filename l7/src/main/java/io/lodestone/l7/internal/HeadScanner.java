package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Finds and validates the raw bytes of one message head (start line and header section) before
 * Netty's decoder parses it, because the decoder quietly repairs some things that a proxy must refuse:
 * it folds obs-fold lines into the previous value, keeps the first of several Content-Length values in
 * HTTP/1.0, splits the start line on any run of whitespace, and accepts transfer codings before
 * {@code chunked}. What passes here is unambiguous, so the decoder and every backend read it the same way.
 *
 * <p>Rules, each failing with an {@link HttpRejection}: lines end with CRLF (no bare CR or LF); the
 * request line is {@code method SP target SP HTTP/1.x} with single spaces, a token method, a target of
 * visible ASCII without {@code #} in origin, absolute (its authority {@code uri-host [ ":" port ]},
 * see {@link Authority}: no userinfo), authority (CONNECT) or asterisk (OPTIONS) form;
 * the status line is {@code HTTP/1.x SP 3DIGIT [SP reason]}, at the response's first byte (no empty
 * line before it, unlike a request line); a header line is {@code token ":" OWS
 * value OWS} with no whitespace before the colon, no line starting with whitespace (obs-fold), and a
 * value of visible characters, SP, HTAB and obs-text only (no NUL, no CR, no other control); at most
 * one Content-Length, all digits; at most one Transfer-Encoding, exactly {@code chunked}; never both;
 * no Transfer-Encoding in HTTP/1.0; in a request, exactly one Host in HTTP/1.1 and at most one in
 * HTTP/1.0, empty or {@code uri-host [ ":" port ]}. Limits: start line (414), header section size and field count (431),
 * declared request body size (413). A response breaking any rule is a 502. It notes whether a field
 * name has an underscore ({@link #underscoreNames}) and, for a frontend that refuses those, answers 400.
 * The rejection of a request whose request line was valid (only a later part was not) carries that
 * line, for the access log, as does {@link #timedOut} for a head the client did not finish in time;
 * those strings are made on the error path only.
 *
 * <p>The scan is incremental and allocation-free on the valid path: bytes are copied once, in pieces of
 * at most {@link #PIECE} bytes, into an array where line ends are searched as they arrive; the complete
 * head is then validated in one pass over that same array, and nothing is consumed until it is complete.
 * One instance per connection, its working arrays shared with the other scanners of its thread; not
 * thread-safe.
 */
final class HeadScanner {

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte SP = ' ';
    private static final byte HT = '\t';
    /** The first bytes of every response. */
    private static final byte[] VERSION_PREFIX = {'H', 'T', 'T', 'P', '/'};
    /** Bytes copied out of the buffer at a time while searching for the end of the head. */
    private static final int PIECE = 1024;

    /** The token characters (RFC 9110 5.6.2), indexed by byte value; also read by {@link ChunkedFraming}. */
    static final boolean[] TCHAR = new boolean[256];
    private static final boolean[] FIELD_CHAR = new boolean[256];
    private static final boolean[] TARGET_CHAR = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
        for (int c = 0x21; c <= 0x7E; c++) {
            FIELD_CHAR[c] = true;
            TARGET_CHAR[c] = c != '#';
        }
        for (int c = 0x80; c <= 0xFF; c++) {
            FIELD_CHAR[c] = true;
        }
        FIELD_CHAR[SP] = true;
        FIELD_CHAR[HT] = true;
    }

    private final boolean request;
    private final int maxInitialLineLength;
    private final int maxHeaderSize;
    private final int maxHeaderCount;
    private final long maxBodySize;

    /**
     * Working memory shared by the scanners of one thread: the head being searched and the offsets of
     * its fields. One copy per event loop instead of one per connection keeps it in the CPU cache when
     * hundreds of connections are open (and saves 2 KiB per connection). A scanner left with part of a
     * head finds its bytes still in its buffer (nothing is consumed before the head is complete) and
     * copies them back when another scanner used the array in between.
     */
    private static final FastThreadLocal<Scratch> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected Scratch initialValue() {
            return new Scratch();
        }
    };

    private static final class Scratch {
        byte[] head = new byte[PIECE];
        int[] fields = new int[64];
        /** The scanner whose bytes {@link #head} holds. */
        HeadScanner owner;
    }

    /** This thread's working memory, taken at the start of each {@link #scan}. */
    private Scratch scratch;
    /**
     * The bytes from the reader index on, copied out of the buffer as they are searched ({@link #scanned}
     * of them); while validating, {@link #base} is the buffer index of the first. The scratch array.
     */
    private byte[] head;
    private int base;

    /** Bytes after the reader index already copied into {@link #head} and searched for line ends. */
    private int scanned;
    /** Offset from the reader index of the LF ending the start line, or -1. */
    private int startLineEnd = -1;
    /** Empty lines skipped before the current start line. */
    private int skipped;

    /** The validated head's Content-Length, or -1. */
    long contentLength;
    /** Whether the validated head declared {@code Transfer-Encoding: chunked}. */
    boolean chunked;
    /** Whether a field name of the validated head contains an underscore. */
    boolean underscoreNames;

    /** The validated head's length in bytes, from its start line to the empty line that ends it. */
    int headLength;
    /** Whether the validated head is HTTP/1.1 (else HTTP/1.0). */
    boolean http11;
    /** The validated response's status code; 0 for a request. */
    int statusCode;
    /** Offsets in {@link #head} of the validated request's method end and target, or of the status line's end. */
    private int methodEnd;
    private int targetStart;
    private int targetEnd;
    private int lineEnd;
    /**
     * Whether the request line of the head being validated is valid (its parts at {@link #methodEnd},
     * {@link #targetStart} and {@link #targetEnd}, its version {@link #lineHttp11}): a rejection of a
     * later part then carries the line for the access log. Read on the error path only.
     */
    private boolean lineValid;
    private boolean lineHttp11;
    /**
     * The validated head's fields, four offsets in {@link #head} each: name start and end, value start
     * and end. The scratch array.
     */
    private int[] fields;
    private int fieldCount;

    /** Whether a request field name with an underscore is answered 400. */
    private final boolean rejectUnderscores;
    /** {@link #head} read as characters. */
    private final HeadChars chars = new HeadChars();

    HeadScanner(boolean request, int maxInitialLineLength, int maxHeaderSize, int maxHeaderCount, long maxBodySize) {
        this(request, maxInitialLineLength, maxHeaderSize, maxHeaderCount, maxBodySize, false);
    }

    /** A scanner that also answers 400 to a field name with an underscore when {@code rejectUnderscores}. */
    HeadScanner(boolean request, int maxInitialLineLength, int maxHeaderSize, int maxHeaderCount, long maxBodySize,
            boolean rejectUnderscores) {
        this.request = request;
        this.maxInitialLineLength = maxInitialLineLength;
        this.maxHeaderSize = maxHeaderSize;
        this.maxHeaderCount = maxHeaderCount;
        this.maxBodySize = maxBodySize;
        this.rejectUnderscores = rejectUnderscores;
    }

    /**
     * Looks for a complete head at the reader index of {@code in}, skipping empty lines before a request.
     *
     * @return {@code true} when a complete, valid head starts at the reader index (nothing of it is
     *         consumed), {@code false} when more bytes are needed
     * @throws HttpRejection when the bytes break a rule or a limit
     */
    boolean scan(ByteBuf in) {
        if (scanned == 0 && request) {
            skipEmptyLines(in);
            if (in.readableBytes() == 1 && in.getByte(in.readerIndex()) == CR) {
                return false;
            }
        }
        int r = in.readerIndex();
        int available = in.writerIndex() - r;
        Scratch sc = claim(in, r);
        byte[] a = head;
        while (scanned < available) {
            int from = scanned;
            int n = Math.min(PIECE, available - from);
            if (a.length < from + n) {
                a = head = sc.head = Arrays.copyOf(a, Math.max(from + n, a.length * 2));
            }
            in.getBytes(r + from, a, from, n);
            scanned = from + n;
            if (!request && from < VERSION_PREFIX.length) {
                checkResponseStart(a, from, Math.min(scanned, VERSION_PREFIX.length));
            }
            for (int i = from; i < scanned; i++) {
                if (a[i] != LF) {
                    continue;
                }
                if (i == 0 || a[i - 1] != CR) {
                    if (startLineEnd >= 0) {
                        checkLineOfRejected(in, r);
                    }
                    throw reject(HttpResponseStatus.BAD_REQUEST, "line ending without CR");
                }
                if (startLineEnd < 0) {
                    startLineEnd = i;
                    if (startLineEnd - 1 > maxInitialLineLength) {
                        throw reject(HttpResponseStatus.REQUEST_URI_TOO_LONG, "start line longer than " + maxInitialLineLength);
                    }
                } else if (a[i - 2] == LF) {
                    try {
                        validate(in, r, r + i + 1);
                    } finally {
                        scanned = 0;
                        startLineEnd = -1;
                        skipped = 0;
                        lineValid = false;
                    }
                    return true;
                }
            }
            if (startLineEnd < 0) {
                if (scanned > maxInitialLineLength + 1) {
                    throw reject(HttpResponseStatus.REQUEST_URI_TOO_LONG, "start line longer than " + maxInitialLineLength);
                }
            } else if (scanned - startLineEnd - 1 > maxHeaderSize + 2) {
                checkLineOfRejected(in, r);
                throw reject(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "header section larger than " + maxHeaderSize);
            }
        }
        return false;
    }

    /**
     * Takes this thread's working memory for the head at buffer index {@code r} of {@code in}: when
     * another scanner used it since this head's first bytes were searched, copies them back.
     */
    private Scratch claim(ByteBuf in, int r) {
        Scratch sc = scratch = SCRATCH.get();
        byte[] a = head = sc.head;
        fields = sc.fields;
        if (sc.owner != this) {
            sc.owner = this;
            if (scanned > 0) {
                if (a.length < scanned) {
                    a = head = sc.head = Arrays.copyOf(a, Math.max(scanned, a.length * 2));
                }
                in.getBytes(r, a, 0, scanned);
            }
        }
        return sc;
    }

    /**
     * The rejection of the request head in progress at the reader index of {@code in}, which the
     * client did not finish within its timeout (408): like a refused head's, it carries the request
     * line when that has arrived whole and is valid, for the access log, else none ({@code <BADREQ>}).
     * The error path only; the head's bytes are still in {@code in}, none of them consumed.
     */
    HttpRejection timedOut(ByteBuf in) {
        try {
            if (request && startLineEnd >= 0) {
                int r = in.readerIndex();
                claim(in, r);
                checkLineOfRejected(in, r);
            }
            return reject(HttpResponseStatus.REQUEST_TIMEOUT, "client timeout inside a request head");
        } finally {
            lineValid = false;
        }
    }

    /** Whether part of a head has been seen but not yet completed. */
    boolean inProgress() {
        return scanned > 0;
    }

    /**
     * A response starts with {@code HTTP/} at its first byte, as bytes arrive: RFC 9112 (2.2) lets a
     * server skip empty lines before a request line, but a client none before a status line, and a
     * server that sends anything else there (an empty line, garbage) is out of step with its requests.
     */
    private void checkResponseStart(byte[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] != VERSION_PREFIX[i]) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "response not starting with HTTP/");
            }
        }
    }

    private void skipEmptyLines(ByteBuf in) {
        while (in.readableBytes() >= 2 && in.getByte(in.readerIndex()) == CR && in.getByte(in.readerIndex() + 1) == LF) {
            in.skipBytes(2);
            skipped += 2;
            if (skipped > maxInitialLineLength) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "too many empty lines before the start line");
            }
        }
        if (in.isReadable() && in.getByte(in.readerIndex()) == LF) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "line ending without CR");
        }
    }

    private void validate(ByteBuf in, int r, int end) {
        // the head is in the array already (copied while searching): plain array reads from here on
        base = r;
        contentLength = -1;
        chunked = false;
        boolean underscores = false;
        int lineCr = r + startLineEnd - 1;
        int headerBytes = end - (lineCr + 2) - 2;
        if (headerBytes > maxHeaderSize) {
            checkLineOfRejected(in, r);
            throw reject(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "header section larger than " + maxHeaderSize);
        }
        http11 = request ? requestLine(in, r, lineCr) : statusLine(in, r, lineCr);
        lineValid = request;
        lineHttp11 = http11;
        headLength = end - r;
        lineEnd = lineCr - r;
        fieldCount = 0;
        int pos = lineCr + 2;
        int last = end - 2;
        int count = 0;
        int lengths = 0;
        int encodings = 0;
        int hosts = 0;
        while (pos < last) {
            if (++count > maxHeaderCount) {
                throw reject(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "more than " + maxHeaderCount + " header fields");
            }
            byte first = at(pos);
            if (first == SP || first == HT) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "obs-fold: header line starting with whitespace");
            }
            int nameStart = pos;
            byte n;
            while (TCHAR[(n = at(pos)) & 0xFF]) {
                underscores |= n == '_';
                pos++;
            }
            int nameLength = pos - nameStart;
            byte c = at(pos);
            if (c != ':' || nameLength == 0) {
                if (nameLength > 0 && (c == SP || c == HT)) {
                    throw reject(HttpResponseStatus.BAD_REQUEST, "whitespace between header name and colon");
                }
                throw reject(HttpResponseStatus.BAD_REQUEST, "invalid header name");
            }
            int valueStart = ++pos;
            byte b;
            while ((b = at(pos)) != CR) {
                if (!FIELD_CHAR[b & 0xFF]) {
                    throw reject(HttpResponseStatus.BAD_REQUEST, "invalid character 0x" + Integer.toHexString(b & 0xFF) + " in header value");
                }
                pos++;
            }
            if (at(pos + 1) != LF) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "CR inside a header value");
            }
            int valueEnd = pos;
            pos += 2;
            while (valueStart < valueEnd && isOws(at(valueStart))) {
                valueStart++;
            }
            while (valueEnd > valueStart && isOws(at(valueEnd - 1))) {
                valueEnd--;
            }
            record(nameStart, nameLength, valueStart, valueEnd);
            switch (nameLength) {
                case 4:
                    if (request && equalsLower(in, nameStart, 4, "host")) {
                        if (++hosts > 1) {
                            throw reject(HttpResponseStatus.BAD_REQUEST, "several Host headers");
                        }
                        checkHost(valueStart, valueEnd);
                    }
                    break;
                case 14:
                    if (equalsLower(in, nameStart, 14, "content-length")) {
                        if (++lengths > 1) {
                            throw reject(HttpResponseStatus.BAD_REQUEST, "several Content-Length headers");
                        }
                        contentLength = parseLength(in, valueStart, valueEnd);
                    }
                    break;
                case 17:
                    if (equalsLower(in, nameStart, 17, "transfer-encoding")) {
                        if (++encodings > 1) {
                            throw reject(HttpResponseStatus.BAD_REQUEST, "several Transfer-Encoding headers");
                        }
                        if (valueEnd - valueStart != 7 || !equalsLower(in, valueStart, 7, "chunked")) {
                            throw reject(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding other than chunked");
                        }
                        chunked = true;
                    }
                    break;
                default:
                    break;
            }
        }
        underscoreNames = underscores;
        if (underscores && rejectUnderscores) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "underscore in a header name");
        }
        if (lengths > 0 && encodings > 0) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "both Content-Length and Transfer-Encoding");
        }
        if (encodings > 0 && !http11) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 message");
        }
        if (request) {
            if (http11 && hosts == 0) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "HTTP/1.1 request without Host");
            }
            if (contentLength > maxBodySize) {
                throw reject(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Content-Length above " + maxBodySize);
            }
        }
    }

    /**
     * On the error path of a head refused for its header section before the request line was validated
     * (a bare LF in it, or its size): checks the request line, which is whole, so that the rejection
     * carries it when it is valid.
     */
    private void checkLineOfRejected(ByteBuf in, int r) {
        if (!request) {
            return;
        }
        base = r;
        try {
            lineHttp11 = requestLine(in, r, r + startLineEnd - 1);
            lineValid = true;
        } catch (HttpRejection invalid) {
            lineValid = false;
        }
    }

    /** Validates {@code method SP target SP version}; returns whether the version is HTTP/1.1. */
    private boolean requestLine(ByteBuf in, int r, int cr) {
        int i = r;
        while (TCHAR[at(i) & 0xFF]) {
            i++;
        }
        int methodLength = i - r;
        if (methodLength == 0 || at(i) != SP) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid method");
        }
        methodEnd = methodLength;
        int target = ++i;
        while (TARGET_CHAR[at(i) & 0xFF]) {
            i++;
        }
        int targetLength = i - target;
        if (targetLength == 0 || at(i) != SP) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid request target");
        }
        byte f = at(target);
        // origin form, the usual one, is told by its first byte alone
        int scheme = f == '/' ? 0 : targetLength > 7 && equalsLower(in, target, 7, "http://") ? 7
                : targetLength > 8 && equalsLower(in, target, 8, "https://") ? 8 : 0;
        boolean form = f == '/'
                || (targetLength == 1 && f == '*' && methodLength == 7 && equalsExact(in, r, "OPTIONS"))
                || (methodLength == 7 && equalsExact(in, r, "CONNECT"))
                || scheme > 0;
        if (!form) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid request target form");
        }
        if (scheme > 0) {
            checkAuthority(target + scheme, i);
        }
        targetStart = target - r;
        targetEnd = i - r;
        return version(in, i + 1, cr);
    }

    /** Validates {@code version SP 3DIGIT [SP reason]}; returns whether the version is HTTP/1.1. */
    private boolean statusLine(ByteBuf in, int r, int cr) {
        if (cr - r < 12 || at(r + 8) != SP) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid status line");
        }
        boolean http11 = version(in, r, r + 8);
        byte d0 = at(r + 9);
        if (d0 < '1' || d0 > '5' || !isDigit(at(r + 10)) || !isDigit(at(r + 11))) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid status code");
        }
        statusCode = (d0 - '0') * 100 + (at(r + 10) - '0') * 10 + (at(r + 11) - '0');
        int i = r + 12;
        if (i < cr) {
            if (at(i) != SP) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "invalid status line");
            }
            for (i++; i < cr; i++) {
                if (!FIELD_CHAR[at(i) & 0xFF]) {
                    throw reject(HttpResponseStatus.BAD_REQUEST, "invalid character in reason phrase");
                }
            }
        }
        return http11;
    }

    private boolean version(ByteBuf in, int start, int end) {
        boolean shaped = end - start == 8 && equalsExact(in, start, "HTTP/") && isDigit(at(start + 5))
                && at(start + 6) == '.' && isDigit(at(start + 7));
        if (!shaped) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid HTTP version");
        }
        if (at(start + 5) == '1') {
            byte minor = at(start + 7);
            if (minor == '1') {
                return true;
            }
            if (minor == '0') {
                return false;
            }
        }
        throw reject(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "unsupported HTTP version");
    }

    /**
     * Checks a {@code Host} value: empty (RFC 9110 7.2: what a client sends for a target URI without
     * an authority) or {@code uri-host [ ":" port ]} ({@link Authority}).
     */
    private void checkHost(int start, int end) {
        if (start < end && !Authority.valid(chars, start - base, end - base)) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid Host");
        }
    }

    /**
     * Checks the authority of an absolute-form target, which becomes the request's {@code Host}:
     * {@code uri-host [ ":" port ]} ({@link Authority}), so no userinfo, which RFC 9110 (4.2.4) has a
     * recipient treat as an error, and a host that is not empty (4.2.1: such a URI must be rejected).
     */
    private void checkAuthority(int start, int targetEnd) {
        int i = start;
        while (i < targetEnd && at(i) != '/' && at(i) != '?') {
            i++;
        }
        if (!Authority.valid(chars, start - base, i - base)) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid authority in the request target");
        }
    }

    /** The bytes of {@link #head} as characters (ISO-8859-1), for {@link Authority}; one per scanner. */
    private final class HeadChars implements CharSequence {
        @Override
        public int length() {
            return head.length;
        }

        @Override
        public char charAt(int index) {
            return (char) (head[index] & 0xFF);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new String(head, start, end - start, StandardCharsets.ISO_8859_1);
        }
    }

    private long parseLength(ByteBuf in, int start, int end) {
        int digits = end - start;
        if (digits == 0 || digits > 18) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "invalid Content-Length");
        }
        long value = 0;
        for (int i = start; i < end; i++) {
            byte b = at(i);
            if (!isDigit(b)) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "invalid Content-Length");
            }
            value = value * 10 + (b - '0');
        }
        return value;
    }

    private void record(int nameStart, int nameLength, int valueStart, int valueEnd) {
        int k = fieldCount * 4;
        if (k + 4 > fields.length) {
            fields = scratch.fields = Arrays.copyOf(fields, fields.length * 2);
        }
        fields[k] = nameStart - base;
        fields[k + 1] = nameStart - base + nameLength;
        fields[k + 2] = valueStart - base;
        fields[k + 3] = valueEnd - base;
        fieldCount++;
    }

    /**
     * The request whose head {@link #scan} last validated, built from the scanned bytes without
     * parsing them again: the method (a constant for the standard ones), the target, the version and
     * every field in order, names with their case kept and values with surrounding whitespace removed,
     * as Netty's decoder would give them. The fields are {@link RawHeaders}, read in place from one copy
     * of the head's bytes.
     */
    HttpRequest request(HttpHeadersFactory headersFactory) {
        return request(headersFactory, false);
    }

    /**
     * The request whose head {@link #scan} last validated; with {@code whole}, a {@link FullHttpRequest}
     * with no body, the request and its end in one message.
     */
    HttpRequest request(HttpHeadersFactory headersFactory, boolean whole) {
        byte[] copy = Arrays.copyOf(head, headLength);
        HttpMethod method = method(copy, methodEnd);
        String uri = new String(copy, targetStart, targetEnd - targetStart, StandardCharsets.ISO_8859_1);
        HttpVersion version = http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0;
        HttpHeaders headers = headers(copy, headersFactory, RawHeaders.REQUEST_ROOM);
        return whole
                ? new DefaultFullHttpRequest(version, method, uri, Unpooled.EMPTY_BUFFER, headers, EmptyHttpHeaders.INSTANCE)
                : new DefaultHttpRequest(version, method, uri, headers);
    }

    /** The response whose head {@link #scan} last validated, built like {@link #request}. */
    HttpResponse response(HttpHeadersFactory headersFactory) {
        return response(headersFactory, null);
    }

    /**
     * The response whose head {@link #scan} last validated; with a {@code body} (empty or not), a
     * {@link FullHttpResponse} that carries it, the response and its end in one message.
     */
    HttpResponse response(HttpHeadersFactory headersFactory, ByteBuf body) {
        byte[] copy = Arrays.copyOf(head, headLength);
        HttpResponseStatus status = statusCode == 200 && lineEnd == 15 && copy[13] == 'O' && copy[14] == 'K'
                ? HttpResponseStatus.OK
                : HttpResponseStatus.valueOf(statusCode,
                        lineEnd > 13 ? new String(copy, 13, lineEnd - 13, StandardCharsets.ISO_8859_1) : "");
        HttpVersion version = http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0;
        HttpHeaders headers = headers(copy, headersFactory, RawHeaders.RESPONSE_ROOM);
        return body != null
                ? new DefaultFullHttpResponse(version, status, body, headers, EmptyHttpHeaders.INSTANCE)
                : new DefaultHttpResponse(version, status, headers);
    }

    private HttpHeaders headers(byte[] copy, HttpHeadersFactory headersFactory, int room) {
        return new RawHeaders(copy, Arrays.copyOf(fields, fieldCount * 4), headersFactory, room);
    }

    private static HttpMethod method(byte[] a, int length) {
        switch (length) {
            case 3:
                if (a[0] == 'G' && a[1] == 'E' && a[2] == 'T') {
                    return HttpMethod.GET;
                }
                if (a[0] == 'P' && a[1] == 'U' && a[2] == 'T') {
                    return HttpMethod.PUT;
                }
                break;
            case 4:
                if (a[0] == 'P' && a[1] == 'O' && a[2] == 'S' && a[3] == 'T') {
                    return HttpMethod.POST;
                }
                if (a[0] == 'H' && a[1] == 'E' && a[2] == 'A' && a[3] == 'D') {
                    return HttpMethod.HEAD;
                }
                break;
            default:
                break;
        }
        return HttpMethod.valueOf(new String(a, 0, length, StandardCharsets.ISO_8859_1));
    }

    private HttpRejection reject(HttpResponseStatus requestStatus, String reason) {
        if (!request) {
            return new HttpRejection(HttpResponseStatus.BAD_GATEWAY, reason);
        }
        if (!lineValid) {
            return new HttpRejection(requestStatus, reason);
        }
        // the request line was whole and valid, a later part was not: the access log gets the line
        return new HttpRejection(requestStatus, reason, new String(head, 0, methodEnd, StandardCharsets.ISO_8859_1),
                new String(head, targetStart, targetEnd - targetStart, StandardCharsets.ISO_8859_1),
                lineHttp11 ? "HTTP/1.1" : "HTTP/1.0");
    }

    private static boolean isOws(byte b) {
        return b == SP || b == HT;
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** Compares case-insensitively with {@code lower} (lower-case ASCII letters, digits and punctuation). */
    private boolean equalsLower(ByteBuf in, int start, int length, String lower) {
        for (int i = 0; i < length; i++) {
            int b = at(start + i);
            if (b >= 'A' && b <= 'Z') {
                b += 32;
            }
            if (b != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private boolean equalsExact(ByteBuf in, int start, String expected) {
        for (int i = 0; i < expected.length(); i++) {
            if (at(start + i) != expected.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The byte at buffer index {@code index} of the head being validated. */
    private byte at(int index) {
        return head[index - base];
    }
}
