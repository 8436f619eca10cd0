package io.lodestone.core.log;

import io.lodestone.core.internal.Addresses;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** Shared pieces of the access log formats: times, durations, addresses. */
final class Appending {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Appending() {
    }

    /** Appends a UTC timestamp as {@code 2024-05-01T12:34:56.789Z}, computed without a formatter. */
    static void isoTime(StringBuilder out, long epochMillis) {
        long days = Math.floorDiv(epochMillis, 86_400_000L);
        long ms = Math.floorMod(epochMillis, 86_400_000L);
        // days to civil date, proleptic Gregorian (Howard Hinnant's algorithm)
        long z = days + 719_468;
        long era = Math.floorDiv(z, 146_097);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long day = doy - (153 * mp + 2) / 5 + 1;
        long month = mp < 10 ? mp + 3 : mp - 9;
        long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        pad(out, year, 4).append('-');
        pad(out, month, 2).append('-');
        pad(out, day, 2).append('T');
        pad(out, ms / 3_600_000, 2).append(':');
        pad(out, ms / 60_000 % 60, 2).append(':');
        pad(out, ms / 1000 % 60, 2).append('.');
        pad(out, ms % 1000, 3).append('Z');
    }

    private static StringBuilder pad(StringBuilder out, long value, int width) {
        for (long limit = 10, w = 1; w < width; w++, limit *= 10) {
            if (value < limit) {
                out.append('0');
            }
        }
        return out.append(value);
    }

    /** Appends a duration in whole milliseconds, or -1 when {@code nanos} is negative. */
    static void millis(StringBuilder out, long nanos) {
        out.append(nanos < 0 ? -1 : nanos / 1_000_000);
    }

    /**
     * Appends an address's host without a reverse lookup: {@code 10.0.0.1}, or an IPv6 address in its
     * RFC 5952 form, {@code ::1} rather than the JDK's {@code 0:0:0:0:0:0:0:1}, without a zone.
     */
    static void host(StringBuilder out, InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip != null) {
            Addresses.appendText(out, ip);
        } else {
            out.append(address.getHostString());
        }
    }

    /** Appends {@code \xHH}. */
    static void hexEscape(StringBuilder out, char c) {
        out.append('\\').append('x').append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
    }

    /** Appends {@code \\uHHHH}. */
    static void unicodeEscape(StringBuilder out, char c) {
        out.append("\\u").append(HEX[(c >> 12) & 0xf]).append(HEX[(c >> 8) & 0xf]).append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
    }
}
