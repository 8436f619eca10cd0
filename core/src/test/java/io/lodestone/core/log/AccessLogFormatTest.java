package io.lodestone.core.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The text and JSON lines for a success, a deny, a 502, a 504 and a TCP connection; escaping of hostile input. */
class AccessLogFormatTest {

    private static final long START = Instant.parse("2026-03-14T15:09:26.535Z").toEpochMilli();
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 54321);

    private static AccessLogEntry ok() {
        return new AccessLogEntry().start(START).client(CLIENT).frontend("web").backend("app").server("web1")
                .request("GET", "/index.html?q=1", "HTTP/1.1").status(200).bytes(312, 4096)
                .requestTime(1_200_000).queueTime(0).connectTime(2_000_000).responseTime(15_900_000).totalTime(19_000_000)
                .requestId("r-42").traceId("4bf92f3577b34da6a3ce929d0e0e4736");
    }

    private static String text(AccessLogEntry e) {
        StringBuilder sb = new StringBuilder();
        AccessLog.text().format(e, sb);
        return sb.toString();
    }

    private static Map<String, Object> json(AccessLogEntry e) {
        StringBuilder sb = new StringBuilder();
        AccessLog.json().format(e, sb);
        assertThat(sb.toString()).doesNotContain("\n");
        return FlatJson.parse(sb.toString());
    }

    @Test
    void success() {
        assertThat(text(ok())).isEqualTo("127.0.0.1:54321 [2026-03-14T15:09:26.535Z] web app/web1 1/0/2/15/19 200 312 4096 -- "
                + "\"GET /index.html?q=1 HTTP/1.1\" r-42 4bf92f3577b34da6a3ce929d0e0e4736");
        Map<String, Object> j = json(ok());
        assertThat(j).containsExactly(
                Map.entry("time", "2026-03-14T15:09:26.535Z"), Map.entry("client_ip", "127.0.0.1"), Map.entry("client_port", 54321L),
                Map.entry("frontend", "web"), Map.entry("backend", "app"), Map.entry("server", "web1"),
                Map.entry("method", "GET"), Map.entry("path", "/index.html?q=1"), Map.entry("protocol", "HTTP/1.1"),
                Map.entry("status", 200L), Map.entry("bytes_in", 312L), Map.entry("bytes_out", 4096L),
                Map.entry("tq_ms", 1L), Map.entry("tw_ms", 0L), Map.entry("tc_ms", 2L), Map.entry("tr_ms", 15L), Map.entry("ta_ms", 19L),
                Map.entry("termination", "--"), Map.entry("request_id", "r-42"),
                Map.entry("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    @Test
    void deniedByARule() {
        AccessLogEntry e = new AccessLogEntry().start(START).client(CLIENT).frontend("web").request("GET", "/admin", "HTTP/1.1")
                .status(403).bytes(80, 120).requestTime(300_000).totalTime(400_000).requestId("r-43")
                .termination(TerminationCause.PROXY, TerminationPhase.REQUEST);
        assertThat(text(e)).isEqualTo("127.0.0.1:54321 [2026-03-14T15:09:26.535Z] web -/- 0/-1/-1/-1/0 403 80 120 PR \"GET /admin HTTP/1.1\" r-43 -");
        Map<String, Object> j = json(e);
        assertThat(j).containsEntry("backend", null).containsEntry("server", null).containsEntry("status", 403L)
                .containsEntry("tw_ms", null).containsEntry("tc_ms", null).containsEntry("ta_ms", 0L)
                .containsEntry("termination", "PR").containsEntry("trace_id", null);
    }

    /** A request without a request line that could be parsed is {@code "<BADREQ>"} alone, as HAProxy logs it. */
    @Test
    void aRequestWithoutAValidRequestLine() {
        AccessLogEntry e = new AccessLogEntry().start(START).client(CLIENT).frontend("web").request("<BADREQ>", null, null)
                .status(400).bytes(0, 11).requestTime(0).totalTime(0).requestId("r-44")
                .termination(TerminationCause.PROXY, TerminationPhase.REQUEST);
        assertThat(text(e)).isEqualTo("127.0.0.1:54321 [2026-03-14T15:09:26.535Z] web -/- 0/-1/-1/-1/0 400 0 11 PR \"<BADREQ>\" r-44 -");
        assertThat(json(e)).containsEntry("method", "<BADREQ>").containsEntry("path", null).containsEntry("protocol", null);
    }

    @Test
    void badGatewayWhenTheServerRefuses() {
        AccessLogEntry e = ok().status(502).bytes(312, 150).connectTime(-1).responseTime(-1).totalTime(3_000_000)
                .termination(TerminationCause.SERVER_ABORT, TerminationPhase.CONNECT);
        assertThat(text(e)).contains(" web app/web1 1/0/-1/-1/3 502 312 150 SC ");
        assertThat(json(e)).containsEntry("status", 502L).containsEntry("termination", "SC").containsEntry("tc_ms", null);
    }

    @Test
    void gatewayTimeoutWhenTheServerIsSlow() {
        AccessLogEntry e = ok().status(504).responseTime(-1).totalTime(30_001_000_000L)
                .termination(TerminationCause.SERVER_TIMEOUT, TerminationPhase.HEADERS);
        assertThat(text(e)).contains(" 1/0/2/-1/30001 504 312 4096 sH ");
        assertThat(json(e)).containsEntry("status", 504L).containsEntry("termination", "sH").containsEntry("ta_ms", 30001L);
    }

    @Test
    void tcpConnection() {
        AccessLogEntry e = new AccessLogEntry().start(START).client(new InetSocketAddress("::1", 40000)).frontend("db").backend("pg")
                .server("pg1").bytes(4096, 65536).queueTime(0).connectTime(500_000).totalTime(2_000_000_000L)
                .termination(TerminationCause.CLIENT_ABORT, TerminationPhase.DATA);
        // IPv6 in its RFC 5952 form, as X-Forwarded-For and a PROXY header write it
        assertThat(text(e)).isEqualTo("[::1]:40000 [2026-03-14T15:09:26.535Z] db pg/pg1 -1/0/0/-1/2000 - 4096 65536 CD \"-\" - -");
        Map<String, Object> j = json(e);
        assertThat(j).containsEntry("client_ip", "::1").containsEntry("client_port", 40000L)
                .containsEntry("method", null).containsEntry("status", null).containsEntry("termination", "CD");
    }

    @Test
    void hostileInputCannotSplitTheLineOrForgeFields() {
        String path = "/a\"b\\c\r\nFAKE 200 \u0001\u007f\u2028é";
        AccessLogEntry e = ok().request("GET", path, "HTTP/1.1").requestId("id with spaces\n\"x\"").traceId(null);
        String t = text(e);
        assertThat(t).doesNotContain("\n", "\r", "\u0001", "\u007f");
        assertThat(t).contains("\"GET /a\\\"b\\\\c\\x0d\\x0aFAKE 200 \\x01\\x7f\u2028é HTTP/1.1\" id\\x20with\\x20spaces\\x0a\\\"x\\\" -");
        Map<String, Object> j = json(e);
        assertThat(j).containsEntry("path", path).containsEntry("request_id", "id with spaces\n\"x\"");
        StringBuilder raw = new StringBuilder();
        AccessLog.json().format(e, raw);
        assertThat(raw.toString()).contains("\\u2028", "\\u0001", "\\u007f", "\\r\\n", "é");
    }

    /**
     * A header byte 0x80..0x9f reaches the log as a C1 control character: NEL (0x85) ends a line for
     * readers that split on Unicode line breaks (Python's splitlines), CSI (0x9b) starts a terminal
     * sequence. The text format escapes them as it does C0 controls; both were written raw.
     */
    @Test
    void textEscapesC1ControlCharactersToo() {
        AccessLogEntry e = ok().request("GET", "/a\u0085b\u009b2J\u00a0\u00e9", "HTTP/1.1").requestId("id\u0080\u009f");
        String t = text(e);
        assertThat(t).contains("\"GET /a\\x85b\\x9b2J\u00a0\u00e9 HTTP/1.1\" id\\x80\\x9f ");
        assertThat(t.lines()).hasSize(1);
        for (int i = 0; i < t.length(); i++) {
            assertThat(Character.isISOControl(t.charAt(i))).as("control character at %d in %s", i, t).isFalse();
        }
    }

    /**
     * The JSON format escapes the C1 controls as the text format does ({@code \u0085}): a JSON string may
     * hold them raw, but NEL ends the line for readers that split on Unicode line breaks. They were
     * written raw, so a client's byte 0x85 in a header split a JSON line there.
     */
    @Test
    void jsonEscapesC1ControlCharactersToo() {
        String path = "/a\u0085b\u009b2J\u00a0\u00e9";
        AccessLogEntry e = ok().request("GET", path, "HTTP/1.1").requestId("id\u0080\u009f");
        StringBuilder raw = new StringBuilder();
        AccessLog.json().format(e, raw);
        String line = raw.toString();
        assertThat(line).contains("\"/a\\u0085b\\u009b2J\u00a0\u00e9\"", "\"id\\u0080\\u009f\"");
        for (int i = 0; i < line.length(); i++) {
            assertThat(Character.isISOControl(line.charAt(i))).as("control character at %d in %s", i, line).isFalse();
        }
        assertThat(json(e)).containsEntry("path", path).containsEntry("request_id", "id\u0080\u009f");
    }

    @Test
    void timestampsMatchTheJdkForAnyInstant() {
        DateTimeFormatter iso = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
        SplittableRandom random = new SplittableRandom(11);
        long[] fixed = {0, -1, 951_782_400_000L, 4_107_542_400_000L, 253_402_300_799_999L, -62_135_596_800_000L};
        for (int i = 0; i < 10_000 + fixed.length; i++) {
            long millis = i < fixed.length ? fixed[i] : random.nextLong(-30_000_000_000_000L, 253_402_300_799_999L);
            StringBuilder sb = new StringBuilder();
            Appending.isoTime(sb, millis);
            assertThat(sb.toString()).as("%d", millis).isEqualTo(iso.format(Instant.ofEpochMilli(millis)));
        }
    }

    /** A strict parser of one flat JSON object (strings, integers, null), for checking the JSON lines. */
    static final class FlatJson {
        private final String s;
        private int i;

        private FlatJson(String s) {
            this.s = s;
        }

        static Map<String, Object> parse(String s) {
            FlatJson p = new FlatJson(s);
            Map<String, Object> out = p.object();
            if (p.i != s.length()) {
                throw new AssertionError("trailing characters at " + p.i + ": " + s);
            }
            return out;
        }

        private Map<String, Object> object() {
            expect('{');
            Map<String, Object> out = new LinkedHashMap<>();
            if (peek() == '}') {
                i++;
                return out;
            }
            while (true) {
                String key = string();
                expect(':');
                Object value = peek() == '"' ? string() : peek() == 'n' ? literalNull() : number();
                if (out.containsKey(key)) {
                    throw new AssertionError("duplicate key " + key);
                }
                out.put(key, value);
                if (peek() == ',') {
                    i++;
                } else {
                    expect('}');
                    return out;
                }
            }
        }

        private Object literalNull() {
            if (!s.startsWith("null", i)) {
                throw new AssertionError("bad literal at " + i + ": " + s);
            }
            i += 4;
            return null;
        }

        private Long number() {
            int start = i;
            if (peek() == '-') {
                i++;
            }
            while (i < s.length() && Character.isDigit(s.charAt(i))) {
                i++;
            }
            if (start == i) {
                throw new AssertionError("bad value at " + i + ": " + s);
            }
            return Long.parseLong(s.substring(start, i));
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return out.toString();
                }
                if (c < 0x20) {
                    throw new AssertionError("raw control character in a string: " + s);
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> out.append(e);
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw new AssertionError("bad escape \\" + e + " in " + s);
                }
            }
        }

        private char peek() {
            return s.charAt(i);
        }

        private void expect(char c) {
            if (i >= s.length() || s.charAt(i) != c) {
                throw new AssertionError("expected '" + c + "' at " + i + ": " + s);
            }
            i++;
        }
    }
}
