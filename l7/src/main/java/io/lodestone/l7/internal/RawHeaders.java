package io.lodestone.l7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Calendar;
import java.util.Date;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The header section of a message head that {@link HeadScanner} validated, read in place from a copy of
 * its bytes instead of being decoded into one entry object per field. What a proxy does to most
 * messages (look a few fields up, remove the hop-by-hop ones, set or append a few of its own) works on
 * the bytes: a removed field is marked, a field set or added goes into one small array of names and
 * values after the received ones, and {@link #encode} writes the kept fields back out as they came,
 * followed by the added ones. Names and values added are checked with the factory's validators, as
 * Netty's headers check them. Anything else (iteration, {@code names()}, {@code clear()}, dates) first
 * turns this into ordinary headers from the factory, with the same fields in the same order, and
 * delegates to them from then on, so every operation behaves as on Netty's {@code DefaultHttpHeaders}.
 *
 * <p>Values come back as Netty's decoder would give them: with surrounding whitespace removed (the
 * scanner recorded them so), as ISO-8859-1 strings. Not thread-safe, like the message it belongs to.
 */
final class RawHeaders extends HttpHeaders {

    private static final short COLON_SP = (short) ((':' << 8) | ' ');
    private static final short CRLF = (short) (('\r' << 8) | '\n');

    /**
     * Field names seen by any connection, reused while their bytes repeat when a header section is
     * turned into ordinary headers. One table shared by all connections stays in the CPU cache. Read and
     * written without locks: an {@link AsciiString}'s fields are final, so whichever instance a thread
     * sees is complete, and a lost write only costs a later allocation.
     */
    private static final AsciiString[] NAMES = new AsciiString[1024];

    /** The fields the proxy usually adds to a request: the forwarding fields and the request id. */
    static final int REQUEST_ROOM = 6;
    /** The fields the proxy usually adds to a response: the request id, and {@code Via} where asked for. */
    static final int RESPONSE_ROOM = 2;

    /** The checks of added names and values when the factory is not Netty's default one. */
    private static final DefaultHttpHeadersFactory CHECKS = DefaultHttpHeadersFactory.headersFactory();

    private final byte[] bytes;
    /** Four offsets in {@link #bytes} per field: name start and end, value start and end; a removed field's name start is -1. */
    private final int[] fields;
    private final HttpHeadersFactory factory;
    private int live;
    /**
     * Bit {@code n} is set when a received field's name is {@code n} long (bit 63: 63 or longer), so
     * that looking up a name of another length skips the scan.
     */
    private final long nameLengths;
    /**
     * Fields set or added since the head was read, in order, sent after the received ones: field
     * {@code i}'s name at {@code 2 * i} and its value at {@code 2 * i + 1}; {@code null} when none.
     */
    private CharSequence[] added;
    private int addedCount;
    /** The fields {@link #added} has room for when first made. */
    private final int room;
    /** Once not {@code null}, every field, and every operation is delegated to it. */
    private HttpHeaders all;

    /**
     * @param bytes the head's bytes (kept, not copied)
     * @param fields four offsets into {@code bytes} per field, in order (kept, not copied)
     * @param factory whose validators check added fields, and which makes the ordinary headers when they are needed
     * @param room how many added fields the first one makes room for ({@link #REQUEST_ROOM} or
     *     {@link #RESPONSE_ROOM}); more grow the room
     */
    RawHeaders(byte[] bytes, int[] fields, HttpHeadersFactory factory, int room) {
        this.bytes = bytes;
        this.fields = fields;
        this.live = fields.length / 4;
        this.factory = factory;
        this.room = room;
        long lengths = 0;
        for (int k = 0; k < fields.length; k += 4) {
            lengths |= lengthBit(fields[k + 1] - fields[k]);
        }
        this.nameLengths = lengths;
    }

    private static long lengthBit(int length) {
        return 1L << Math.min(length, 63);
    }

    /** Whether some received field may be called {@code name}. */
    private boolean mayHave(CharSequence name) {
        return (nameLengths & lengthBit(name.length())) != 0;
    }

    /**
     * Writes the header fields of {@code headers} as {@code name: value CRLF} lines when they are raw
     * ones: received fields with their bytes as received (runs of unchanged lines in one copy), then the
     * added ones.
     *
     * @return {@code false}, writing nothing, when {@code headers} are not (or no longer) raw
     */
    static boolean encode(HttpHeaders headers, ByteBuf buf) {
        if (!(headers instanceof RawHeaders raw) || raw.all != null) {
            return false;
        }
        raw.encodeRaw(buf);
        return true;
    }

    private void encodeRaw(ByteBuf buf) {
        byte[] b = bytes;
        int[] f = fields;
        int runStart = -1;
        int runEnd = -1;
        for (int k = 0; k < f.length; k += 4) {
            int nameStart = f[k];
            if (nameStart < 0) {
                continue;
            }
            int nameEnd = f[k + 1];
            int valueStart = f[k + 2];
            int valueEnd = f[k + 3];
            boolean plain = valueStart == nameEnd + 2 && b[nameEnd + 1] == ' ' && b[valueEnd] == '\r';
            if (plain && nameStart == runEnd) {
                runEnd = valueEnd + 2;
                continue;
            }
            if (runStart >= 0) {
                buf.writeBytes(b, runStart, runEnd - runStart);
                runStart = -1;
                runEnd = -1;
            }
            if (plain) {
                runStart = nameStart;
                runEnd = valueEnd + 2;
            } else {
                buf.writeBytes(b, nameStart, nameEnd - nameStart);
                buf.writeShort(COLON_SP);
                buf.writeBytes(b, valueStart, valueEnd - valueStart);
                buf.writeShort(CRLF);
            }
        }
        if (runStart >= 0) {
            buf.writeBytes(b, runStart, runEnd - runStart);
        }
        for (int i = 0; i < addedCount; i++) {
            write(buf, added[2 * i]);
            buf.writeShort(COLON_SP);
            write(buf, added[2 * i + 1]);
            buf.writeShort(CRLF);
        }
    }

    private static void write(ByteBuf buf, CharSequence s) {
        if (s instanceof AsciiString a) {
            buf.writeBytes(a.array(), a.arrayOffset(), a.length());
        } else {
            buf.writeCharSequence(s, StandardCharsets.US_ASCII);
        }
    }

    // --- the received fields, read in place

    private boolean nameIs(int k, CharSequence name) {
        int start = fields[k];
        return start >= 0 && regionIs(start, fields[k + 1], name);
    }

    /** Whether the bytes from {@code from} to {@code to} are {@code text}, ignoring ASCII case. */
    private boolean regionIs(int from, int to, CharSequence text) {
        int length = to - from;
        if (length != text.length()) {
            return false;
        }
        byte[] b = bytes;
        for (int i = 0; i < length; i++) {
            int x = b[from + i];
            int y = text.charAt(i);
            if (x != y && lower(x) != lower(y)) {
                return false;
            }
        }
        return true;
    }

    private static int lower(int c) {
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    }

    private String value(int k) {
        return new String(bytes, fields[k + 2], fields[k + 3] - fields[k + 2], StandardCharsets.ISO_8859_1);
    }

    /** Field {@code k}'s value as a view of the bytes, for comparisons. */
    private AsciiString valueView(int k) {
        return new AsciiString(bytes, fields[k + 2], fields[k + 3] - fields[k + 2], false);
    }

    private static boolean sameValue(CharSequence a, CharSequence b, boolean ignoreCase) {
        return ignoreCase ? AsciiString.contentEqualsIgnoreCase(a, b) : AsciiString.contentEquals(a, b);
    }

    /**
     * Whether one comma-separated element of {@code list}, trimmed, is {@code value}: the elements
     * Netty's {@code containsValue} compares (none after a final comma).
     */
    private static boolean hasElement(CharSequence list, CharSequence value, boolean ignoreCase) {
        int start = 0;
        int end = list.length();
        int length = value.length();
        while (true) {
            int comma = AsciiString.indexOf(list, ',', start);
            int s = start;
            int e = comma < 0 ? end : comma;
            while (s < e && list.charAt(s) <= ' ') {
                s++;
            }
            while (e > s && list.charAt(e - 1) <= ' ') {
                e--;
            }
            if (e - s == length && AsciiString.regionMatches(list, ignoreCase, s, value, 0, length)) {
                return true;
            }
            if (comma < 0 || comma + 1 >= end) {
                return false;
            }
            start = comma + 1;
        }
    }

    private static final AsciiString CLOSE = AsciiString.cached("close");

    /**
     * {@link Headers#removeHopByHop} done in one pass over the received fields, without a string: when
     * no field was added yet and every token of every {@code Connection} field is {@code keep-alive},
     * {@code close} or {@code upgrade}, which is what clients and servers send. Leaves
     * {@code Connection: upgrade} to the caller.
     *
     * @return {@code false}, changing nothing, when the section is not in that state
     */
    boolean removeHopByHop(boolean upgrade) {
        if (all != null || addedCount > 0) {
            return false;
        }
        int[] f = fields;
        boolean close = false;
        for (int k = 0; k < f.length; k += 4) {
            if (nameIs(k, HttpHeaderNames.CONNECTION)) {
                int tokens = connectionTokens(k);
                if (tokens < 0) {
                    return false;
                }
                close |= tokens == 1;
            }
        }
        for (int k = 0; k < f.length; k += 4) {
            if (f[k] >= 0 && isHopByHop(k, upgrade, close)) {
                f[k] = -1;
                live--;
            }
        }
        return true;
    }

    private boolean isHopByHop(int k, boolean upgrade, boolean close) {
        return switch (fields[k + 1] - fields[k]) {
            case 2 -> nameIs(k, HttpHeaderNames.TE);
            case 5 -> close && nameIs(k, CLOSE);
            case 7 -> nameIs(k, HttpHeaderNames.TRAILER) || !upgrade && nameIs(k, HttpHeaderNames.UPGRADE);
            case 10 -> nameIs(k, HttpHeaderNames.CONNECTION) || nameIs(k, HttpHeaderNames.KEEP_ALIVE);
            case 16 -> nameIs(k, Headers.PROXY_CONNECTION);
            default -> false;
        };
    }

    /**
     * The tokens of {@code Connection} field {@code k}: -1 when one is not {@code keep-alive},
     * {@code close} or {@code upgrade} (a header it names must then be removed by name), 1 when
     * {@code close} is among them (a field called {@code close} is then hop-by-hop), else 0.
     */
    private int connectionTokens(int k) {
        byte[] b = bytes;
        int end = fields[k + 3];
        int result = 0;
        for (int start = fields[k + 2]; start <= end; ) {
            int comma = start;
            while (comma < end && b[comma] != ',') {
                comma++;
            }
            int from = start;
            int to = comma;
            while (from < to && (b[from] == ' ' || b[from] == '\t')) {
                from++;
            }
            while (to > from && (b[to - 1] == ' ' || b[to - 1] == '\t')) {
                to--;
            }
            if (regionIs(from, to, CLOSE)) {
                result = 1;
            } else if (to > from && !regionIs(from, to, HttpHeaderValues.KEEP_ALIVE) && !regionIs(from, to, HttpHeaderValues.UPGRADE)) {
                return -1;
            }
            start = comma + 1;
        }
        return result;
    }

    /** Marks the received fields called {@code name} removed. */
    private void removeReceived(CharSequence name) {
        if (!mayHave(name)) {
            return;
        }
        int[] f = fields;
        for (int k = 0; k < f.length; k += 4) {
            if (nameIs(k, name)) {
                f[k] = -1;
                live--;
            }
        }
    }

    private void removeAdded(CharSequence name) {
        int kept = 0;
        for (int i = 0; i < addedCount; i++) {
            if (!AsciiString.contentEqualsIgnoreCase(added[2 * i], name)) {
                added[2 * kept] = added[2 * i];
                added[2 * kept + 1] = added[2 * i + 1];
                kept++;
            }
        }
        if (kept < addedCount) {
            Arrays.fill(added, 2 * kept, 2 * addedCount, null);
        }
        addedCount = kept;
    }

    /** Appends a field after the others, its name and value checked as Netty's headers would check them. */
    private void append(CharSequence name, Object value) {
        CharSequence v = text(value);
        if (factory instanceof DefaultHttpHeadersFactory d) {
            d.getNameValidator().validateName(name);
            d.getValueValidator().validate(v);
        } else {
            CHECKS.getNameValidator().validateName(name);
            CHECKS.getValueValidator().validate(v);
        }
        if (added == null) {
            added = new CharSequence[2 * room];
        } else if (2 * addedCount == added.length) {
            added = Arrays.copyOf(added, 2 * added.length);
        }
        added[2 * addedCount] = name;
        added[2 * addedCount + 1] = v;
        addedCount++;
    }

    private void appendAll(CharSequence name, Iterable<?> values) {
        for (Object value : values) {
            append(name, value);
        }
    }

    /** A value as Netty's headers hold it: text as is, a date in HTTP date format, anything else as its string. */
    private static CharSequence text(Object value) {
        if (value instanceof CharSequence cs) {
            return cs;
        }
        if (value instanceof Date date) {
            return DateFormatter.format(date);
        }
        if (value instanceof Calendar calendar) {
            return DateFormatter.format(calendar.getTime());
        }
        return value.toString();
    }

    /** Every field as ordinary headers from here on. */
    private HttpHeaders all() {
        HttpHeaders h = all;
        if (h == null) {
            h = factory.newHeaders();
            int[] f = fields;
            for (int k = 0; k < f.length; k += 4) {
                if (f[k] >= 0) {
                    h.add(name(bytes, f[k], f[k + 1] - f[k]), valueView(k));
                }
            }
            for (int i = 0; i < addedCount; i++) {
                h.add(added[2 * i], added[2 * i + 1]);
            }
            added = null;
            addedCount = 0;
            all = h;
        }
        return h;
    }

    /**
     * The name at {@code start}: the one seen before with the same bytes, or a new one remembered in
     * its place. Each name has two slots to live in, so two names that hash alike do not keep
     * replacing each other.
     */
    private static AsciiString name(byte[] bytes, int start, int length) {
        int hash = length;
        for (int i = start, end = start + length; i < end; i++) {
            hash = 31 * hash + bytes[i];
        }
        AsciiString[] names = NAMES;
        int slot = ((hash * 0x9E3779B9) >>> 22) & (names.length - 2);
        AsciiString known = names[slot];
        if (sameName(known, bytes, start, length)) {
            return known;
        }
        AsciiString other = names[slot + 1];
        if (sameName(other, bytes, start, length)) {
            return other;
        }
        AsciiString name = new AsciiString(bytes, start, length, true);
        names[known == null || other != null ? slot : slot + 1] = name;
        return name;
    }

    private static boolean sameName(AsciiString known, byte[] bytes, int start, int length) {
        return known != null && known.length() == length
                && Arrays.equals(known.array(), known.arrayOffset(), known.arrayOffset() + length, bytes, start, start + length);
    }

    // --- HttpHeaders: lookups and the common edits in place

    @Override
    public String get(String name) {
        return get((CharSequence) name);
    }

    @Override
    public String get(CharSequence name) {
        if (all != null) {
            return all.get(name);
        }
        if (mayHave(name)) {
            int[] f = fields;
            for (int k = 0; k < f.length; k += 4) {
                if (nameIs(k, name)) {
                    return value(k);
                }
            }
        }
        for (int i = 0; i < addedCount; i++) {
            if (AsciiString.contentEqualsIgnoreCase(added[2 * i], name)) {
                return added[2 * i + 1].toString();
            }
        }
        return null;
    }

    /** How many fields are called {@code name}, as {@code getAll(name).size()} without the list. */
    int count(CharSequence name) {
        if (all != null) {
            return all.getAll(name).size();
        }
        int n = 0;
        if (mayHave(name)) {
            int[] f = fields;
            for (int k = 0; k < f.length; k += 4) {
                if (nameIs(k, name)) {
                    n++;
                }
            }
        }
        for (int i = 0; i < addedCount; i++) {
            if (AsciiString.contentEqualsIgnoreCase(added[2 * i], name)) {
                n++;
            }
        }
        return n;
    }

    @Override
    public List<String> getAll(String name) {
        return getAll((CharSequence) name);
    }

    @Override
    public List<String> getAll(CharSequence name) {
        if (all != null) {
            return all.getAll(name);
        }
        List<String> values = null;
        if (mayHave(name)) {
            int[] f = fields;
            for (int k = 0; k < f.length; k += 4) {
                if (nameIs(k, name)) {
                    if (values == null) {
                        values = new ArrayList<>(2);
                    }
                    values.add(value(k));
                }
            }
        }
        for (int i = 0; i < addedCount; i++) {
            if (AsciiString.contentEqualsIgnoreCase(added[2 * i], name)) {
                if (values == null) {
                    values = new ArrayList<>(2);
                }
                values.add(added[2 * i + 1].toString());
            }
        }
        return values == null ? List.of() : values;
    }

    @Override
    public boolean contains(String name) {
        return contains((CharSequence) name);
    }

    @Override
    public boolean contains(CharSequence name) {
        return contains(name, null, false, false);
    }

    @Override
    public boolean contains(String name, String value, boolean ignoreCase) {
        return contains((CharSequence) name, value, ignoreCase);
    }

    @Override
    public boolean contains(CharSequence name, CharSequence value, boolean ignoreCase) {
        return contains(name, value, ignoreCase, false);
    }

    @Override
    public boolean containsValue(CharSequence name, CharSequence value, boolean ignoreCase) {
        return contains(name, value, ignoreCase, true);
    }

    /**
     * Whether a field called {@code name} is there: any ({@code value} null), with the value
     * {@code value}, or ({@code element}) with {@code value} as one of its comma-separated elements.
     */
    private boolean contains(CharSequence name, CharSequence value, boolean ignoreCase, boolean element) {
        if (all != null) {
            return value == null ? all.contains(name)
                    : element ? all.containsValue(name, value, ignoreCase) : all.contains(name, value, ignoreCase);
        }
        if (mayHave(name)) {
            int[] f = fields;
            for (int k = 0; k < f.length; k += 4) {
                // no view of the value to ask only whether the field is there
                if (nameIs(k, name) && (value == null || matches(valueView(k), value, ignoreCase, element))) {
                    return true;
                }
            }
        }
        for (int i = 0; i < addedCount; i++) {
            if (AsciiString.contentEqualsIgnoreCase(added[2 * i], name) && matches(added[2 * i + 1], value, ignoreCase, element)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(CharSequence fieldValue, CharSequence value, boolean ignoreCase, boolean element) {
        return value == null || (element ? hasElement(fieldValue, value, ignoreCase) : sameValue(fieldValue, value, ignoreCase));
    }

    @Override
    public Integer getInt(CharSequence name) {
        if (all != null) {
            return all.getInt(name);
        }
        String v = get(name);
        if (v == null) {
            return null;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public int getInt(CharSequence name, int defaultValue) {
        Integer v = getInt(name);
        return v == null ? defaultValue : v;
    }

    @Override
    public boolean isEmpty() {
        return size() == 0;
    }

    @Override
    public int size() {
        return all != null ? all.size() : live + addedCount;
    }

    @Override
    public HttpHeaders add(String name, Object value) {
        return add((CharSequence) name, value);
    }

    @Override
    public HttpHeaders add(CharSequence name, Object value) {
        if (all != null) {
            all.add(name, value);
        } else {
            append(name, value);
        }
        return this;
    }

    @Override
    public HttpHeaders add(String name, Iterable<?> values) {
        return add((CharSequence) name, values);
    }

    @Override
    public HttpHeaders add(CharSequence name, Iterable<?> values) {
        if (all != null) {
            all.add(name, values);
        } else {
            appendAll(name, values);
        }
        return this;
    }

    @Override
    public HttpHeaders addInt(CharSequence name, int value) {
        return add(name, Integer.toString(value));
    }

    @Override
    public HttpHeaders addShort(CharSequence name, short value) {
        return add(name, Short.toString(value));
    }

    @Override
    public HttpHeaders set(String name, Object value) {
        return set((CharSequence) name, value);
    }

    @Override
    public HttpHeaders set(CharSequence name, Object value) {
        if (all != null) {
            all.set(name, value);
        } else {
            remove(name);
            append(name, value);
        }
        return this;
    }

    @Override
    public HttpHeaders set(String name, Iterable<?> values) {
        return set((CharSequence) name, values);
    }

    @Override
    public HttpHeaders set(CharSequence name, Iterable<?> values) {
        if (all != null) {
            all.set(name, values);
        } else {
            remove(name);
            appendAll(name, values);
        }
        return this;
    }

    @Override
    public HttpHeaders setInt(CharSequence name, int value) {
        return set(name, Integer.toString(value));
    }

    @Override
    public HttpHeaders setShort(CharSequence name, short value) {
        return set(name, Short.toString(value));
    }

    @Override
    public HttpHeaders remove(String name) {
        return remove((CharSequence) name);
    }

    @Override
    public HttpHeaders remove(CharSequence name) {
        if (all != null) {
            all.remove(name);
        } else {
            removeReceived(name);
            if (addedCount > 0) {
                removeAdded(name);
            }
        }
        return this;
    }

    // --- HttpHeaders: everything else on ordinary headers

    @Override
    public Short getShort(CharSequence name) {
        return all().getShort(name);
    }

    @Override
    public short getShort(CharSequence name, short defaultValue) {
        return all().getShort(name, defaultValue);
    }

    @Override
    public Long getTimeMillis(CharSequence name) {
        return all().getTimeMillis(name);
    }

    @Override
    public long getTimeMillis(CharSequence name, long defaultValue) {
        return all().getTimeMillis(name, defaultValue);
    }

    @Override
    public List<Map.Entry<String, String>> entries() {
        return all().entries();
    }

    @Override
    public Iterator<Map.Entry<String, String>> iterator() {
        return all().iterator();
    }

    @Override
    public Iterator<Map.Entry<CharSequence, CharSequence>> iteratorCharSequence() {
        return all().iteratorCharSequence();
    }

    @Override
    public Iterator<String> valueStringIterator(CharSequence name) {
        return all().valueStringIterator(name);
    }

    @Override
    public Iterator<? extends CharSequence> valueCharSequenceIterator(CharSequence name) {
        return all().valueCharSequenceIterator(name);
    }

    @Override
    public Set<String> names() {
        return all().names();
    }

    @Override
    public HttpHeaders clear() {
        all = factory.newHeaders();
        added = null;
        addedCount = 0;
        Arrays.fill(fields, -1);
        live = 0;
        return this;
    }

    @Override
    public HttpHeaders copy() {
        return all().copy();
    }
}
