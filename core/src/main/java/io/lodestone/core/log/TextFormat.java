package io.lodestone.core.log;

import java.net.Inet6Address;
import java.net.InetSocketAddress;

/**
 * The text access log format, one line per request or connection, fields separated by one space:
 *
 * <pre>
 * 127.0.0.1:54321 [2024-05-01T12:34:56.789Z] web app/web1 0/0/1/5/7 200 312 4096 -- "GET /index.html HTTP/1.1" 5f0c... 4bf92f...
 * </pre>
 *
 * client address and port, start time (UTC), frontend, backend/server, Tq/Tw/Tc/Tr/Ta in
 * milliseconds (-1 when not reached), status, bytes in, bytes out, termination state, the quoted
 * request line, request id, trace id. An absent value is written {@code -}; a TCP connection has
 * status {@code -} and request {@code "-"}; a method without a path is written alone (an HTTP
 * request whose request line could not be parsed: {@code "<BADREQ>"}). Control characters (C0, DEL and C1), quotes, backslashes
 * (and spaces in unquoted fields) are escaped as {@code \xHH} or {@code \"}, so a line never splits or
 * forges a field.
 */
final class TextFormat implements EntryFormatter {

    static final TextFormat INSTANCE = new TextFormat();

    private TextFormat() {
    }

    @Override
    public void format(AccessLogEntry e, StringBuilder out) {
        InetSocketAddress client = e.client();
        if (client == null) {
            out.append('-');
        } else {
            boolean v6 = client.getAddress() instanceof Inet6Address;
            if (v6) {
                out.append('[');
            }
            Appending.host(out, client);
            if (v6) {
                out.append(']');
            }
            out.append(':').append(client.getPort());
        }
        out.append(" [");
        Appending.isoTime(out, e.startMillis());
        out.append("] ");
        field(out, e.frontend());
        out.append(' ');
        field(out, e.backend());
        out.append('/');
        field(out, e.server());
        out.append(' ');
        Appending.millis(out, e.requestNanos());
        out.append('/');
        Appending.millis(out, e.queueNanos());
        out.append('/');
        Appending.millis(out, e.connectNanos());
        out.append('/');
        Appending.millis(out, e.responseNanos());
        out.append('/');
        Appending.millis(out, e.totalNanos());
        out.append(' ');
        if (e.status() > 0) {
            out.append(e.status());
        } else {
            out.append('-');
        }
        out.append(' ').append(e.bytesIn()).append(' ').append(e.bytesOut()).append(' ');
        out.append(e.cause().code()).append(e.phase().code()).append(" \"");
        if (e.method() == null) {
            out.append('-');
        } else {
            escaped(out, e.method(), true);
            if (e.path() != null) {
                out.append(' ');
                escaped(out, e.path(), true);
            }
            if (e.protocol() != null) {
                out.append(' ');
                escaped(out, e.protocol(), true);
            }
        }
        out.append("\" ");
        field(out, e.requestId());
        out.append(' ');
        field(out, e.traceId());
    }

    private static void field(StringBuilder out, CharSequence value) {
        if (value == null || value.length() == 0) {
            out.append('-');
        } else {
            escaped(out, value, false);
        }
    }

    private static void escaped(StringBuilder out, CharSequence value, boolean quoted) {
        for (int i = 0, n = value.length(); i < n; i++) {
            char c = value.charAt(i);
            // C0 controls, DEL and the C1 controls (a client's byte 0x85 is NEL, a line break to some readers)
            if (c < 0x20 || c >= 0x7f && c <= 0x9f || (!quoted && c == ' ')) {
                Appending.hexEscape(out, c);
            } else if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else {
                out.append(c);
            }
        }
    }
}
