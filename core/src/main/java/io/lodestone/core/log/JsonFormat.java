package io.lodestone.core.log;

import java.net.InetSocketAddress;

/**
 * The JSON access log format: one object per line, with these members in this order:
 *
 * <pre>
 * {"time":"2024-05-01T12:34:56.789Z","client_ip":"127.0.0.1","client_port":54321,"frontend":"web",
 *  "backend":"app","server":"web1","method":"GET","path":"/index.html","protocol":"HTTP/1.1",
 *  "status":200,"bytes_in":312,"bytes_out":4096,"tq_ms":0,"tw_ms":0,"tc_ms":1,"tr_ms":5,"ta_ms":7,
 *  "termination":"--","request_id":"5f0c...","trace_id":"4bf92f..."}
 * </pre>
 *
 * An absent value, a phase not reached and the status of a TCP connection are {@code null}. Strings
 * are escaped by hand as RFC 8259 asks (quote, backslash, control characters), plus DEL, U+2028 and
 * U+2029, so a line is valid JSON and valid JavaScript whatever the client sent.
 */
final class JsonFormat implements EntryFormatter {

    static final JsonFormat INSTANCE = new JsonFormat();

    private JsonFormat() {
    }

    @Override
    public void format(AccessLogEntry e, StringBuilder out) {
        out.append("{\"time\":\"");
        Appending.isoTime(out, e.startMillis());
        out.append("\",\"client_ip\":");
        InetSocketAddress client = e.client();
        if (client == null) {
            out.append("null,\"client_port\":null");
        } else {
            out.append('"');
            Appending.host(out, client);
            out.append("\",\"client_port\":").append(client.getPort());
        }
        string(out, ",\"frontend\":", e.frontend());
        string(out, ",\"backend\":", e.backend());
        string(out, ",\"server\":", e.server());
        string(out, ",\"method\":", e.method());
        string(out, ",\"path\":", e.path());
        string(out, ",\"protocol\":", e.protocol());
        out.append(",\"status\":");
        if (e.status() > 0) {
            out.append(e.status());
        } else {
            out.append("null");
        }
        out.append(",\"bytes_in\":").append(e.bytesIn()).append(",\"bytes_out\":").append(e.bytesOut());
        millis(out, ",\"tq_ms\":", e.requestNanos());
        millis(out, ",\"tw_ms\":", e.queueNanos());
        millis(out, ",\"tc_ms\":", e.connectNanos());
        millis(out, ",\"tr_ms\":", e.responseNanos());
        millis(out, ",\"ta_ms\":", e.totalNanos());
        out.append(",\"termination\":\"").append(e.cause().code()).append(e.phase().code()).append('"');
        string(out, ",\"request_id\":", e.requestId());
        string(out, ",\"trace_id\":", e.traceId());
        out.append('}');
    }

    private static void millis(StringBuilder out, String key, long nanos) {
        out.append(key);
        if (nanos < 0) {
            out.append("null");
        } else {
            out.append(nanos / 1_000_000);
        }
    }

    private static void string(StringBuilder out, String key, CharSequence value) {
        out.append(key);
        if (value == null) {
            out.append("null");
            return;
        }
        out.append('"');
        for (int i = 0, n = value.length(); i < n; i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    // C0, DEL and C1 (a client's byte 0x85 is NEL, a line break to some readers), as the
                    // text format; U+2028 and U+2029 for JavaScript readers
                    if (c < 0x20 || c >= 0x7f && c <= 0x9f || c == '\u2028' || c == '\u2029') {
                        Appending.unicodeEscape(out, c);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
