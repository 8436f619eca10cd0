package io.lodestone.l7.internal;

import io.lodestone.core.Clock;
import io.netty.handler.codec.DateFormatter;
import java.util.Date;

/**
 * The {@code Date} of a response (RFC 9110, 5.6.7 and 6.6.1): the current second of a clock as an
 * HTTP-date, formatted once a second and shared by every thread (a new second replaces the one stamp;
 * a thread that reads an older stamp formats its own), so that a response pays a read and a compare.
 */
final class HttpDates {

    private record Stamp(long second, String text) {
    }

    private static volatile Stamp last = new Stamp(Long.MIN_VALUE, "");

    private HttpDates() {
    }

    /** The HTTP-date of {@code clock}'s current second. */
    static String now(Clock clock) {
        long second = Math.floorDiv(clock.currentTimeMillis(), 1000L);
        Stamp s = last;
        if (s.second != second) {
            s = new Stamp(second, DateFormatter.format(new Date(second * 1000L)));
            last = s;
        }
        return s.text;
    }
}
