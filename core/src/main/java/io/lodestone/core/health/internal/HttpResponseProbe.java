package io.lodestone.core.health.internal;

import io.lodestone.core.health.HealthCheckResult;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Reads the start of an HTTP/1.x response by hand, for health checks: the status line, and when a
 * body substring is expected, the headers and at most {@link #MAX_BODY} bytes of body. Anything that
 * is not an HTTP/1.0 or HTTP/1.1 response is rejected. Not thread-safe; one per probe.
 *
 * <p>The body is searched as received: with chunked transfer coding, a substring split across two
 * chunks is not found.
 */
final class HttpResponseProbe {

    /** The longest status line accepted. */
    static final int MAX_STATUS_LINE = 1024;
    /** The largest header section read when the body is searched. */
    static final int MAX_HEADERS = 16 * 1024;
    /** The most body bytes searched. */
    static final int MAX_BODY = 64 * 1024;

    private final int minStatus;
    private final int maxStatus;
    private final byte[] expected;
    private byte[] data = new byte[512];
    private int size;
    private int status = -1;
    private int bodyStart = -1;
    private long contentLength = -1;
    private int searchedUpTo;

    HttpResponseProbe(int minStatus, int maxStatus, String expectedBody) {
        this.minStatus = minStatus;
        this.maxStatus = maxStatus;
        this.expected = expectedBody == null ? null : expectedBody.getBytes(StandardCharsets.UTF_8);
    }

    /** Takes more bytes (without releasing {@code in}); returns the result once it is decided, else {@code null}. */
    HealthCheckResult feed(ByteBuf in) {
        int n = in.readableBytes();
        int limit = MAX_STATUS_LINE + MAX_HEADERS + MAX_BODY;
        int take = Math.min(n, limit - size);
        if (take > 0) {
            ensure(size + take);
            in.getBytes(in.readerIndex(), data, size, take);
            size += take;
        }
        return decide(false);
    }

    /** The result at the end of the stream. */
    HealthCheckResult end() {
        HealthCheckResult r = decide(true);
        return r != null ? r : HealthCheckResult.unhealthy("connection closed before the response was complete");
    }

    private void ensure(int capacity) {
        if (capacity > data.length) {
            byte[] bigger = new byte[Math.max(capacity, data.length * 2)];
            System.arraycopy(data, 0, bigger, 0, size);
            data = bigger;
        }
    }

    private HealthCheckResult decide(boolean eof) {
        if (status < 0) {
            int eol = indexOf((byte) '\n', 0, Math.min(size, MAX_STATUS_LINE));
            if (eol < 0) {
                if (size >= MAX_STATUS_LINE) {
                    return HealthCheckResult.unhealthy("invalid HTTP response: status line too long");
                }
                if (!looksLikeHttp()) {
                    return HealthCheckResult.unhealthy("invalid HTTP response: " + printable(0, Math.min(size, 40)));
                }
                return eof ? HealthCheckResult.unhealthy("connection closed before the status line") : null;
            }
            int lineEnd = eol > 0 && data[eol - 1] == '\r' ? eol - 1 : eol;
            status = parseStatusLine(lineEnd);
            if (status < 0) {
                return HealthCheckResult.unhealthy("invalid HTTP status line: " + printable(0, Math.min(lineEnd, 80)));
            }
            if (status < minStatus || status > maxStatus) {
                return HealthCheckResult.unhealthy("HTTP " + status + " (expected: " + minStatus + ".." + maxStatus + ")");
            }
            if (expected == null) {
                return HealthCheckResult.healthy("HTTP " + status);
            }
            searchedUpTo = eol + 1;
        }
        if (bodyStart < 0) {
            HealthCheckResult r = readHeaders(eof);
            if (bodyStart < 0) {
                return r;
            }
        }
        return searchBody(eof);
    }

    /** Whether the bytes so far could be the start of {@code HTTP/1.}. */
    private boolean looksLikeHttp() {
        byte[] prefix = {'H', 'T', 'T', 'P', '/', '1', '.'};
        for (int i = 0; i < Math.min(size, prefix.length); i++) {
            if (data[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** Parses {@code HTTP/1.x SP 3DIGIT [SP reason]}; returns the status or -1. */
    private int parseStatusLine(int end) {
        if (end < 12 || data[0] != 'H' || data[1] != 'T' || data[2] != 'T' || data[3] != 'P' || data[4] != '/'
                || data[5] != '1' || data[6] != '.' || (data[7] != '0' && data[7] != '1') || data[8] != ' ') {
            return -1;
        }
        int code = 0;
        for (int i = 9; i < 12; i++) {
            byte b = data[i];
            if (b < '0' || b > '9') {
                return -1;
            }
            code = code * 10 + (b - '0');
        }
        if (code < 100 || code > 599 || (end > 12 && data[12] != ' ')) {
            return -1;
        }
        for (int i = 13; i < end; i++) {
            byte b = data[i];
            if ((b < ' ' && b != '\t') || b == 0x7f) {
                return -1;
            }
        }
        return code;
    }

    private HealthCheckResult readHeaders(boolean eof) {
        int pos = searchedUpTo;
        while (true) {
            int eol = indexOf((byte) '\n', pos, size);
            if (eol < 0) {
                if (size - searchedUpTo > MAX_HEADERS) {
                    return HealthCheckResult.unhealthy("invalid HTTP response: headers too large");
                }
                return eof ? HealthCheckResult.unhealthy("connection closed in the response headers") : null;
            }
            int lineEnd = eol > pos && data[eol - 1] == '\r' ? eol - 1 : eol;
            if (lineEnd == pos) {
                bodyStart = eol + 1;
                searchedUpTo = bodyStart;
                return null;
            }
            int colon = indexOf((byte) ':', pos, lineEnd);
            if (colon <= pos) {
                return HealthCheckResult.unhealthy("invalid HTTP header line: " + printable(pos, Math.min(lineEnd, pos + 80)));
            }
            if (nameIs(pos, colon, "content-length")) {
                long v = parseLength(colon + 1, lineEnd);
                if (v < 0) {
                    return HealthCheckResult.unhealthy("invalid HTTP Content-Length: " + printable(colon + 1, Math.min(lineEnd, colon + 40)));
                }
                contentLength = v;
            }
            pos = eol + 1;
            searchedUpTo = pos;
        }
    }

    private HealthCheckResult searchBody(boolean eof) {
        int available = size - bodyStart;
        int end = size;
        boolean complete = eof || available >= MAX_BODY || size >= MAX_STATUS_LINE + MAX_HEADERS + MAX_BODY;
        if (contentLength >= 0 && available >= contentLength) {
            end = (int) (bodyStart + contentLength);
            complete = true;
        }
        int from = Math.max(bodyStart, searchedUpTo - expected.length + 1);
        if (indexOf(expected, from, end) >= 0) {
            return HealthCheckResult.healthy("HTTP " + status + ", body matches");
        }
        searchedUpTo = end;
        return complete ? HealthCheckResult.unhealthy("HTTP " + status + ", body does not contain the expected text") : null;
    }

    private boolean nameIs(int from, int to, String lowerName) {
        if (to - from != lowerName.length()) {
            return false;
        }
        for (int i = 0; i < lowerName.length(); i++) {
            int c = data[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lowerName.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private long parseLength(int from, int to) {
        while (from < to && (data[from] == ' ' || data[from] == '\t')) {
            from++;
        }
        while (to > from && (data[to - 1] == ' ' || data[to - 1] == '\t')) {
            to--;
        }
        if (from == to || to - from > 18) {
            return -1;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            if (data[i] < '0' || data[i] > '9') {
                return -1;
            }
            v = v * 10 + (data[i] - '0');
        }
        return v;
    }

    private int indexOf(byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (data[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private int indexOf(byte[] needle, int from, int to) {
        outer:
        for (int i = Math.max(0, from); i <= to - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (data[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private String printable(int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            int c = data[i] & 0xff;
            sb.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
        }
        return sb.toString();
    }
}
