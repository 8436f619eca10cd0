package io.lodestone.l7.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A small, deliberately strict HTTP/1.1 parser (RFC 9112, RFC 9110) for {@link SmugglingFuzzTest}: what a
 * strict server or client sees in a byte stream. It reads whole messages from a byte array, refuses
 * anything doubtful, and knows nothing of Netty or of the proxy's decoders, so that the fuzz test can
 * compare the proxy with an independent reading. Not fast, not for production.
 */
final class StrictReference {

    /** How a stream of messages ended. */
    enum End {
        /** every byte was read as whole messages (or ignored after a message that ends the connection) */
        COMPLETE,
        /** a message is invalid or ambiguous: a strict recipient answers 4xx/502 and closes */
        REJECTED,
        /** the bytes stop inside a message */
        INCOMPLETE
    }

    /** One message as a strict parser reads it. */
    record Message(String method, String target, String version, int status, List<String[]> headers, byte[] body,
            boolean chunked, boolean closes) {

        String header(String name) {
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return (method != null ? method + " " + target : String.valueOf(status)) + " body=" + SmugglingFuzzTest.escape(body);
        }
    }

    /** The messages read, how the stream ended, why, and the offset after the last whole message. */
    record Result(List<Message> messages, End end, String reason, int consumed, boolean inBody) {
        @Override
        public String toString() {
            return messages + " " + end + (reason == null ? "" : " (" + reason + ")");
        }
    }

    /** The limits of the side being modelled; a value well away from any generated length avoids boundary disputes. */
    record Limits(int maxLine, int maxHeader, int maxCount, long maxBody) {
        static final Limits NONE = new Limits(1 << 20, 1 << 20, 1000, Long.MAX_VALUE);
    }

    private static final class Reject extends Exception {
        Reject(String reason) {
            super(reason, null, false, false);
        }
    }

    private static final class Incomplete extends Exception {
        Incomplete() {
            super(null, null, false, false);
        }
    }

    private final byte[] b;
    private final Limits limits;
    private final boolean requests;
    private final boolean stopAfterClose;
    private int p;
    private boolean inBody;
    private boolean trailers;
    private boolean headFirst;
    private int finals;

    private StrictReference(byte[] b, Limits limits, boolean requests, boolean stopAfterClose) {
        this.b = b;
        this.limits = limits;
        this.requests = requests;
        this.stopAfterClose = stopAfterClose;
    }

    /**
     * Reads requests as a strict server does; it stops reading after a request that ends the
     * connection when {@code stopAfterClose} (a server), and reads on when not (checking a stream
     * the proxy wrote, whose hop-by-hop headers are its own business).
     */
    static Result requests(byte[] bytes, Limits limits, boolean stopAfterClose) {
        return new StrictReference(bytes, limits, true, stopAfterClose).all();
    }

    /**
     * Reads responses to GET requests as a strict client does; a response without framing runs to
     * the end of the bytes (its server closed after it). The proxy's own answers are read so too.
     */
    static Result responses(byte[] bytes) {
        return responses(bytes, false);
    }

    /** Reads responses, the first final one answering a HEAD request when {@code head} (no body whatever its fields say). */
    static Result responses(byte[] bytes, boolean head) {
        StrictReference r = new StrictReference(bytes, Limits.NONE, false, false);
        r.headFirst = head;
        return r.all();
    }

    private Result all() {
        List<Message> out = new ArrayList<>();
        int consumed = 0;
        try {
            while (p < b.length) {
                Message m = message();
                if (m == null) {
                    break;
                }
                out.add(m);
                consumed = p;
                if (m.closes && stopAfterClose) {
                    return new Result(out, End.COMPLETE, null, consumed, false);
                }
            }
            return new Result(out, End.COMPLETE, null, p, false);
        } catch (Reject r) {
            return new Result(out, End.REJECTED, r.getMessage(), consumed, inBody);
        } catch (Incomplete i) {
            return new Result(out, End.INCOMPLETE, null, consumed, inBody);
        }
    }

    /** One message, or null when only empty lines remain (before a request line, RFC 9112 2.2). */
    private Message message() throws Reject, Incomplete {
        inBody = false;
        trailers = false;
        if (requests) {
            while (p + 1 < b.length && b[p] == '\r' && b[p + 1] == '\n') {
                p += 2;
            }
            if (p == b.length) {
                return null;
            }
        }
        int lineEnd = line(limits.maxLine);
        String first = text(p, lineEnd);
        p = lineEnd + 2;
        String method = null;
        String target = null;
        String version;
        int status = 0;
        if (requests) {
            String[] parts = first.split(" ", -1);
            if (parts.length != 3) {
                throw new Reject("request line: " + parts.length + " parts");
            }
            method = parts[0];
            target = parts[1];
            version = parts[2];
            if (!token(method)) {
                throw new Reject("method");
            }
            checkTarget(method, target);
        } else {
            if (first.length() < 12 || first.charAt(8) != ' ' || (first.length() > 12 && first.charAt(12) != ' ')) {
                throw new Reject("status line");
            }
            version = first.substring(0, 8);
            String code = first.substring(9, 12);
            for (int i = 0; i < 3; i++) {
                if (code.charAt(i) < '0' || code.charAt(i) > '9') {
                    throw new Reject("status code");
                }
            }
            status = Integer.parseInt(code);
            if (status < 100 || status > 599) {
                throw new Reject("status code range");
            }
            for (int i = 13; i < first.length(); i++) {
                if (!fieldChar(first.charAt(i))) {
                    throw new Reject("reason phrase");
                }
            }
        }
        if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
            throw new Reject("version " + version);
        }
        boolean http10 = version.equals("HTTP/1.0");
        List<String[]> headers = fields(limits.maxHeader, limits.maxCount);

        String connection = joined(headers, "connection");
        boolean closes = http10 ? !hasToken(connection, "keep-alive") : hasToken(connection, "close");
        if (requests) {
            int hosts = count(headers, "host");
            if (hosts > 1 || (!http10 && hosts == 0)) {
                throw new Reject(hosts + " Host fields");
            }
            if (hosts == 1 && !authority(get(headers, "host"))) {
                throw new Reject("Host value");
            }
        }
        int lengths = count(headers, "content-length");
        int codings = count(headers, "transfer-encoding");
        if (!requests && status < 200 && (lengths > 0 || codings > 0)) {
            // a 1xx has no body: its "body" would be read as the final response
            throw new Reject("framing on a " + status);
        }
        boolean chunked = false;
        long length = requests ? 0 : -1;
        if (codings > 0) {
            if (http10) {
                throw new Reject("Transfer-Encoding on HTTP/1.0");
            }
            if (lengths > 0) {
                throw new Reject("Content-Length with Transfer-Encoding");
            }
            if (codings > 1 || !get(headers, "transfer-encoding").equalsIgnoreCase("chunked")) {
                throw new Reject("Transfer-Encoding " + joined(headers, "transfer-encoding"));
            }
            chunked = true;
        } else if (lengths > 1) {
            throw new Reject("several Content-Length fields");
        } else if (lengths == 1) {
            String v = get(headers, "content-length");
            if (v.isEmpty() || v.length() > 18) {
                throw new Reject("Content-Length " + v);
            }
            for (int i = 0; i < v.length(); i++) {
                if (v.charAt(i) < '0' || v.charAt(i) > '9') {
                    throw new Reject("Content-Length " + v);
                }
            }
            length = Long.parseLong(v);
            if (length > limits.maxBody) {
                throw new Reject("Content-Length over the limit");
            }
        }
        inBody = true;
        byte[] body;
        boolean answersHead = headFirst && status >= 200 && finals++ == 0;
        if (!requests && (status < 200 || status == 204 || status == 304 || answersHead)) {
            body = new byte[0];
        } else if (chunked) {
            body = chunkedBody();
        } else if (length >= 0) {
            if (b.length - p < length) {
                throw new Incomplete();
            }
            body = Arrays.copyOfRange(b, p, p + (int) length);
            p += (int) length;
        } else {
            body = Arrays.copyOfRange(b, p, b.length);
            p = b.length;
            closes = true;
        }
        return new Message(method, target, version, status, headers, body, chunked, closes);
    }

    private byte[] chunkedBody() throws Reject, Incomplete {
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        while (true) {
            int end = line(limits.maxLine);
            long size = chunkSize(text(p, end));
            p = end + 2;
            if (size == 0) {
                trailers = true;
                fields(limits.maxHeader, limits.maxCount);
                trailers = false;
                return body.toByteArray();
            }
            if (body.size() + size > limits.maxBody) {
                throw new Reject("chunked body over the limit");
            }
            if (b.length - p < size) {
                throw new Incomplete();
            }
            body.write(b, p, (int) size);
            p += (int) size;
            if (p < b.length && b[p] != '\r' || p + 1 < b.length && b[p + 1] != '\n') {
                throw new Reject("no CRLF after chunk data");
            }
            if (p + 2 > b.length) {
                throw new Incomplete();
            }
            p += 2;
        }
    }

    private long chunkSize(String line) throws Reject {
        int i = 0;
        long size = 0;
        while (i < line.length() && Character.digit(line.charAt(i), 16) >= 0 && line.charAt(i) < 0x80) {
            if (size > 0xFFFFFFFFFFFFFFL) {
                throw new Reject("chunk size overflow");
            }
            size = size * 16 + Character.digit(line.charAt(i), 16);
            i++;
        }
        if (i == 0) {
            throw new Reject("chunk size " + line);
        }
        if (requests) {
            chunkExtensions(line, i);
        } else {
            // a server's size line is read as HAProxy and Go read it (the proxy's README says so)
            while (i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
                i++;
            }
            if (i < line.length()) {
                if (line.charAt(i) != ';') {
                    throw new Reject("chunk size line " + line);
                }
                for (int j = i; j < line.length(); j++) {
                    char c = line.charAt(j);
                    if (c != '\t' && (c < 0x20 || c == 0x7f)) {
                        throw new Reject("control character in a chunk extension");
                    }
                }
            }
        }
        return size;
    }

    /** chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1). */
    private static void chunkExtensions(String line, int i) throws Reject {
        while (true) {
            int ws = i;
            i = skipWhitespace(line, i);
            if (i == line.length()) {
                if (i != ws) {
                    throw new Reject("whitespace before the end of a chunk size line");
                }
                return;
            }
            if (line.charAt(i) != ';') {
                throw new Reject("chunk size line " + line);
            }
            i = skipWhitespace(line, i + 1);
            int name = i;
            while (i < line.length() && tchar(line.charAt(i))) {
                i++;
            }
            if (i == name) {
                throw new Reject("chunk extension without a name");
            }
            int afterName = i;
            i = skipWhitespace(line, i);
            if (i < line.length() && line.charAt(i) == '=') {
                i = skipWhitespace(line, i + 1);
                if (i < line.length() && line.charAt(i) == '"') {
                    i++;
                    while (true) {
                        if (i >= line.length()) {
                            throw new Reject("unclosed quoted string");
                        }
                        char c = line.charAt(i);
                        if (c == '"') {
                            i++;
                            break;
                        }
                        if (c == '\\') {
                            if (i + 1 >= line.length() || !fieldChar(line.charAt(i + 1))) {
                                throw new Reject("bad quoted pair");
                            }
                            i += 2;
                        } else if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x7e && c != '\\') || c >= 0x80) {
                            i++;
                        } else {
                            throw new Reject("bad character in a quoted string");
                        }
                    }
                } else {
                    int value = i;
                    while (i < line.length() && tchar(line.charAt(i))) {
                        i++;
                    }
                    if (i == value) {
                        throw new Reject("chunk extension without a value after =");
                    }
                }
            } else {
                i = afterName;
            }
        }
    }

    /**
     * Why a response the proxy wrote could be read two ways by a lenient client, or null: framing
     * fields on a response that has no body by its status (1xx, 204; Transfer-Encoding on a 304).
     * The rest (several lengths, a length with chunked) the parser already refuses.
     */
    static String framingOnABodilessResponse(Message m) {
        String length = get(m.headers(), "content-length");
        boolean coding = count(m.headers(), "transfer-encoding") > 0;
        if ((m.status() < 200 || m.status() == 204) && (coding || length != null && !length.equals("0"))) {
            return "framing fields on a " + m.status();
        }
        return m.status() == 304 && coding ? "Transfer-Encoding on a 304" : null;
    }

    private static int skipWhitespace(String s, int i) {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
            i++;
        }
        return i;
    }

    /** Header (or trailer) fields up to the empty line, name and trimmed value. */
    private List<String[]> fields(int maxHeader, int maxCount) throws Reject, Incomplete {
        List<String[]> out = new ArrayList<>();
        int size = 0;
        while (true) {
            int end = line(maxHeader);
            if (end == p) {
                p += 2;
                return out;
            }
            size += end - p + 2;
            if (size > maxHeader) {
                throw new Reject("header section too large");
            }
            if (out.size() >= maxCount) {
                throw new Reject("too many fields");
            }
            String line = text(p, end);
            p = end + 2;
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                if (trailers && !out.isEmpty()) {
                    // obs-fold in a trailer section: replaced by a space, as RFC 9112 (5.2) allows and the
                    // proxy's README says; trailers frame nothing
                    continue;
                }
                throw new Reject("obs-fold or a line starting with whitespace");
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !token(line.substring(0, colon))) {
                throw new Reject("field name " + SmugglingFuzzTest.escape(line));
            }
            int from = skipWhitespace(line, colon + 1);
            int to = line.length();
            while (to > from && (line.charAt(to - 1) == ' ' || line.charAt(to - 1) == '\t')) {
                to--;
            }
            for (int i = from; i < to; i++) {
                if (!fieldChar(line.charAt(i))) {
                    throw new Reject("control character in a field value");
                }
            }
            out.add(new String[] {line.substring(0, colon), line.substring(from, to)});
        }
    }

    /** The index of the CR of the line starting at p; bare CR or LF refused, an over-long line refused even unfinished. */
    private int line(int max) throws Reject, Incomplete {
        for (int i = p; i < b.length; i++) {
            if (i - p > max) {
                throw new Reject("line too long");
            }
            if (b[i] == '\n') {
                throw new Reject("bare LF");
            }
            if (b[i] == '\r') {
                if (i + 1 == b.length) {
                    throw new Incomplete();
                }
                if (b[i + 1] != '\n') {
                    throw new Reject("bare CR");
                }
                return i;
            }
        }
        if (b.length - p > max) {
            throw new Reject("line too long");
        }
        throw new Incomplete();
    }

    private void checkTarget(String method, String target) throws Reject {
        if (target.equals("*")) {
            if (!method.equals("OPTIONS")) {
                throw new Reject("* target");
            }
            return;
        }
        String path = target;
        String lower = target.toLowerCase(Locale.ROOT);
        int scheme = lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : -1;
        if (scheme > 0) {
            int end = scheme;
            while (end < target.length() && "/?#".indexOf(target.charAt(end)) < 0) {
                end++;
            }
            String authority = target.substring(scheme, end);
            if (authority.isEmpty() || authority.indexOf('@') >= 0 || !authority(authority)) {
                throw new Reject("absolute-form authority");
            }
            path = target.substring(end);
            if (path.isEmpty()) {
                return;
            }
            if (path.charAt(0) == '?') {
                path = "/" + path;
            }
        }
        if (path.charAt(0) != '/') {
            throw new Reject("target form");
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%') {
                // a '%' without two hex digits is not RFC 3986, but it frames nothing and the proxy
                // forwards the target as it came (as HAProxy does), so it is not checked here
                continue;
            } else if (!(unreserved(c) || "!$&'()*+,;=:@/?".indexOf(c) >= 0)) {
                throw new Reject("target character " + (int) c);
            }
        }
    }

    /** uri-host [":" port], with the reg-names and IP literals the generator writes (RFC 3986 3.2.2). */
    static boolean authority(String a) {
        int i = 0;
        if (a.startsWith("[")) {
            int close = a.indexOf(']');
            if (close < 3) {
                return false;
            }
            for (int j = 1; j < close; j++) {
                char c = a.charAt(j);
                if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
                    return false;
                }
            }
            i = close + 1;
        } else {
            while (i < a.length() && a.charAt(i) != ':') {
                char c = a.charAt(i);
                if (!(unreserved(c) || "!$&'()*+,;=".indexOf(c) >= 0)) {
                    return false;
                }
                i++;
            }
            if (i == 0 && i < a.length()) {
                return false;
            }
        }
        if (i == a.length()) {
            return true;
        }
        if (a.charAt(i) != ':') {
            return false;
        }
        long port = 0;
        for (int j = i + 1; j < a.length(); j++) {
            char c = a.charAt(j);
            if (c < '0' || c > '9') {
                return false;
            }
            port = Math.min(port * 10 + (c - '0'), 1_000_000);
        }
        return port <= 65535;
    }

    private static boolean unreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0;
    }

    static boolean tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    private static boolean token(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!tchar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** field-vchar, SP or HTAB (RFC 9110 5.5). */
    private static boolean fieldChar(char c) {
        return c == '\t' || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
    }

    private static int count(List<String[]> headers, String name) {
        int n = 0;
        for (String[] h : headers) {
            if (h[0].equalsIgnoreCase(name)) {
                n++;
            }
        }
        return n;
    }

    private static String get(List<String[]> headers, String name) {
        for (String[] h : headers) {
            if (h[0].equalsIgnoreCase(name)) {
                return h[1];
            }
        }
        return null;
    }

    private static String joined(List<String[]> headers, String name) {
        StringBuilder sb = new StringBuilder();
        for (String[] h : headers) {
            if (h[0].equalsIgnoreCase(name)) {
                sb.append(sb.length() == 0 ? "" : ",").append(h[1]);
            }
        }
        return sb.toString();
    }

    private static boolean hasToken(String list, String token) {
        for (String t : list.split(",")) {
            if (t.trim().equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }

    private String text(int from, int to) {
        return new String(b, from, to - from, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
