package io.lodestone.core.trace;

import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A W3C Trace Context (<a href="https://www.w3.org/TR/trace-context/">traceparent and tracestate</a>):
 * a trace id, the id of the parent span, the trace flags and the vendors' trace state. Immutable.
 *
 * <pre>{@code
 * TraceContext incoming = TraceContext.parse(request.header("traceparent"), request.header("tracestate"));
 * TraceContext outgoing = incoming != null ? incoming.child() : TraceContext.newRoot(true);
 * upstream.header("traceparent", outgoing.traceparent());
 * }</pre>
 *
 * <p>Parsing follows the specification: version {@code 00} must be exactly 55 characters; a later
 * version (not {@code ff}) is read as version 00 when its first 55 characters are, followed by
 * nothing or a {@code -}; the hex digits must be lower case; the trace id and the parent id must not
 * be all zeros. A trace state is kept only when it is valid, and dropped with an invalid traceparent.
 */
public final class TraceContext {

    /** The length of a version 00 traceparent. */
    static final int TRACEPARENT_LENGTH = 55;
    private static final int MAX_TRACESTATE_MEMBERS = 32;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final String traceId;
    private final String parentId;
    private final int flags;
    private final String traceState;

    private TraceContext(String traceId, String parentId, int flags, String traceState) {
        this.traceId = traceId;
        this.parentId = parentId;
        this.flags = flags;
        this.traceState = traceState;
    }

    /**
     * Parses a {@code traceparent} header value, ignoring spaces and tabs around it. Returns
     * {@code null} when it is absent or invalid, without throwing.
     *
     * @param traceparent the {@code traceparent} value
     * @return the context, or {@code null}
     */
    public static TraceContext parse(CharSequence traceparent) {
        return parse(traceparent, null);
    }

    /**
     * Parses {@code traceparent} and {@code tracestate} header values. Returns {@code null} when the
     * traceparent is absent or invalid; an absent or invalid trace state is dropped.
     *
     * @param traceparent the {@code traceparent} value
     * @param tracestate the {@code tracestate} value
     * @return the context, or {@code null}
     */
    public static TraceContext parse(CharSequence traceparent, CharSequence tracestate) {
        if (traceparent == null) {
            return null;
        }
        int start = 0;
        int end = traceparent.length();
        while (start < end && isOws(traceparent.charAt(start))) {
            start++;
        }
        while (end > start && isOws(traceparent.charAt(end - 1))) {
            end--;
        }
        int length = end - start;
        if (length < TRACEPARENT_LENGTH) {
            return null;
        }
        int version = hexByte(traceparent, start);
        if (version < 0 || version == 0xff) {
            return null;
        }
        if (version == 0 ? length != TRACEPARENT_LENGTH
                : length > TRACEPARENT_LENGTH && traceparent.charAt(start + TRACEPARENT_LENGTH) != '-') {
            return null;
        }
        if (traceparent.charAt(start + 2) != '-' || traceparent.charAt(start + 35) != '-'
                || traceparent.charAt(start + 52) != '-') {
            return null;
        }
        if (!isHexNotZero(traceparent, start + 3, 32) || !isHexNotZero(traceparent, start + 36, 16)) {
            return null;
        }
        int flags = hexByte(traceparent, start + 53);
        if (flags < 0) {
            return null;
        }
        String state = tracestate != null && isValidTraceState(tracestate) ? trim(tracestate) : null;
        return new TraceContext(traceparent.subSequence(start + 3, start + 35).toString(),
                traceparent.subSequence(start + 36, start + 52).toString(), flags, state);
    }

    /**
     * Starts a new trace: a random trace id and parent id, the sampled flag as given, no trace state.
     * Uses {@link ThreadLocalRandom}: fast and unpredictable enough for ids, not for secrets.
     *
     * @param sampled the sampled flag
     * @return the new context
     */
    public static TraceContext newRoot(boolean sampled) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long high;
        long low;
        do {
            high = r.nextLong();
            low = r.nextLong();
        } while (high == 0 && low == 0);
        char[] id = new char[32];
        hex(high, id, 0);
        hex(low, id, 16);
        return new TraceContext(new String(id), newSpanId(), sampled ? 1 : 0, null);
    }

    /**
     * Returns the context for the next hop: the same trace id, flags and trace state, and a new random
     * parent id, the span of the proxy itself.
     *
     * @return the context for the next hop: the same trace id, flags and trace state, and a new random parent
     *     id, the span of the proxy itself
     */
    public TraceContext child() {
        return new TraceContext(traceId, newSpanId(), flags, traceState);
    }

    /**
     * Returns a copy with another trace state, or none when {@code null}; the caller vouches for its
     * validity.
     *
     * @param state the trace state, or {@code null}
     * @return a copy with another trace state, or none when {@code null}; the caller vouches for its validity
     */
    public TraceContext withTraceState(String state) {
        return new TraceContext(traceId, parentId, flags, state);
    }

    private static String newSpanId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long id;
        do {
            id = r.nextLong();
        } while (id == 0);
        char[] c = new char[16];
        hex(id, c, 0);
        return new String(c);
    }

    /** {@return the trace id: 32 lower-case hex digits, not all zeros} */
    public String traceId() {
        return traceId;
    }

    /** {@return the parent (span) id: 16 lower-case hex digits, not all zeros} */
    public String parentId() {
        return parentId;
    }

    /** {@return the trace flags, 0..255} */
    public int flags() {
        return flags;
    }

    /** {@return whether the {@code sampled} flag (bit 0) is set} */
    public boolean isSampled() {
        return (flags & 1) != 0;
    }

    /** {@return the trace state to pass on, or {@code null} when there is none} */
    public String traceState() {
        return traceState;
    }

    /**
     * {@return the {@code traceparent} header value, always of version 00: {@code 00-<trace id>-<parent
     * id>-<flags>}}
     */
    public String traceparent() {
        StringBuilder sb = new StringBuilder(TRACEPARENT_LENGTH);
        sb.append("00-").append(traceId).append('-').append(parentId).append('-')
                .append(HEX[(flags >> 4) & 0xf]).append(HEX[flags & 0xf]);
        return sb.toString();
    }

    /**
     * Whether a {@code tracestate} header value is valid: at most 32 comma-separated members (empty
     * ones aside), each {@code key=value} with the specification's key and value grammars, no key
     * twice.
     *
     * @param s a {@code tracestate} value
     * @return whether a {@code tracestate} header value is valid: at most 32 comma-separated members (empty
     *     ones aside), each {@code key=value} with the specification's key and value grammars, no key twice
     */
    public static boolean isValidTraceState(CharSequence s) {
        Objects.requireNonNull(s, "tracestate");
        int members = 0;
        int n = s.length();
        int i = 0;
        while (i <= n) {
            int comma = i;
            while (comma < n && s.charAt(comma) != ',') {
                comma++;
            }
            int a = i;
            int b = comma;
            while (a < b && isOws(s.charAt(a))) {
                a++;
            }
            while (b > a && isOws(s.charAt(b - 1))) {
                b--;
            }
            if (a < b) {
                if (++members > MAX_TRACESTATE_MEMBERS || !isValidMember(s, a, b) || hasKeyBefore(s, a, i)) {
                    return false;
                }
            }
            i = comma + 1;
        }
        return true;
    }

    private static boolean isValidMember(CharSequence s, int start, int end) {
        int eq = start;
        while (eq < end && s.charAt(eq) != '=') {
            eq++;
        }
        if (eq == end || !isValidKey(s, start, eq)) {
            return false;
        }
        int valueLength = end - eq - 1;
        if (valueLength < 1 || valueLength > 256 || s.charAt(end - 1) == ' ') {
            return false;
        }
        for (int k = eq + 1; k < end; k++) {
            char c = s.charAt(k);
            if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
                return false;
            }
        }
        return true;
    }

    private static boolean isValidKey(CharSequence s, int start, int end) {
        int at = -1;
        for (int k = start; k < end; k++) {
            if (s.charAt(k) == '@') {
                if (at >= 0) {
                    return false;
                }
                at = k;
            }
        }
        if (at < 0) {
            return end - start <= 256 && isLcAlpha(s.charAt(start)) && keyChars(s, start + 1, end);
        }
        int tenant = at - start;
        int system = end - at - 1;
        return tenant >= 1 && tenant <= 241 && system >= 1 && system <= 14
                && (isLcAlpha(s.charAt(start)) || isDigit(s.charAt(start))) && keyChars(s, start + 1, at)
                && isLcAlpha(s.charAt(at + 1)) && keyChars(s, at + 2, end);
    }

    private static boolean keyChars(CharSequence s, int start, int end) {
        for (int k = start; k < end; k++) {
            char c = s.charAt(k);
            if (!(isLcAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '*' || c == '/')) {
                return false;
            }
        }
        return true;
    }

    /** Whether the key of the member at {@code memberStart} already appears in a member before {@code limit}. */
    private static boolean hasKeyBefore(CharSequence s, int memberStart, int limit) {
        int keyEnd = memberStart;
        while (s.charAt(keyEnd) != '=') {
            keyEnd++;
        }
        int keyLength = keyEnd - memberStart;
        int i = 0;
        while (i < limit) {
            while (i < limit && (isOws(s.charAt(i)) || s.charAt(i) == ',')) {
                i++;
            }
            int k = i;
            while (k < limit && s.charAt(k) != '=' && s.charAt(k) != ',') {
                k++;
            }
            if (k - i == keyLength && regionMatches(s, i, memberStart, keyLength)) {
                return true;
            }
            while (k < limit && s.charAt(k) != ',') {
                k++;
            }
            i = k;
        }
        return false;
    }

    private static boolean regionMatches(CharSequence s, int a, int b, int length) {
        for (int k = 0; k < length; k++) {
            if (s.charAt(a + k) != s.charAt(b + k)) {
                return false;
            }
        }
        return true;
    }

    private static String trim(CharSequence s) {
        int a = 0;
        int b = s.length();
        while (a < b && (isOws(s.charAt(a)) || s.charAt(a) == ',')) {
            a++;
        }
        while (b > a && (isOws(s.charAt(b - 1)) || s.charAt(b - 1) == ',')) {
            b--;
        }
        return a == b ? null : s.subSequence(a, b).toString();
    }

    private static boolean isOws(char c) {
        return c == ' ' || c == '\t';
    }

    private static boolean isLcAlpha(char c) {
        return c >= 'a' && c <= 'z';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }

    /** Returns the byte of two lower-case hex digits at {@code i}, or -1. */
    private static int hexByte(CharSequence s, int i) {
        int h = hexDigit(s.charAt(i));
        int l = hexDigit(s.charAt(i + 1));
        return h < 0 || l < 0 ? -1 : h << 4 | l;
    }

    private static boolean isHexNotZero(CharSequence s, int start, int length) {
        boolean nonZero = false;
        for (int k = start; k < start + length; k++) {
            char c = s.charAt(k);
            if (hexDigit(c) < 0) {
                return false;
            }
            nonZero |= c != '0';
        }
        return nonZero;
    }

    private static void hex(long v, char[] out, int offset) {
        for (int k = 15; k >= 0; k--) {
            out[offset + k] = HEX[(int) (v & 0xf)];
            v >>>= 4;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TraceContext t && t.traceId.equals(traceId) && t.parentId.equals(parentId)
                && t.flags == flags && Objects.equals(t.traceState, traceState);
    }

    @Override
    public int hashCode() {
        return Objects.hash(traceId, parentId, flags, traceState);
    }

    @Override
    public String toString() {
        return traceState == null ? traceparent() : traceparent() + " " + traceState;
    }
}
