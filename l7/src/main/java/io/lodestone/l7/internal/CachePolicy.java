package io.lodestone.l7.internal;

import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Date;
import java.util.List;

/**
 * The rules of a shared HTTP cache (RFC 9111) over headers: {@code Cache-Control} directives, the
 * statuses it stores and those cacheable by default, dates, validators and conditional requests. Stateless; one parsed
 * {@code Cache-Control} is a small mutable object.
 */
final class CachePolicy {

    /** Heuristic freshness is capped at a day (RFC 9111 4.2.2 suggests 10 % of the Last-Modified age). */
    static final long MAX_HEURISTIC_MILLIS = 24L * 3600 * 1000;

    private CachePolicy() {
    }

    /**
     * The directives of a message's {@code Cache-Control} headers that a shared cache acts on: those
     * of a response (RFC 9111 5.2.2) and those of a request (5.2.1), which share {@code max-age},
     * {@code no-cache} and {@code no-store}.
     */
    static final class Directives {
        /** The value of a request's {@code max-stale} without a value: any staleness is accepted. */
        static final long ANY_STALENESS = Integer.MAX_VALUE;

        boolean noStore;
        boolean noCache;
        boolean isPrivate;
        boolean isPublic;
        boolean mustRevalidate;
        /** Seconds, or -1 when absent. */
        long maxAge = -1;
        long sMaxAge = -1;
        /** A request's {@code max-stale} in seconds ({@link #ANY_STALENESS} without a value), or -1 when absent. */
        long maxStale = -1;
        /** A request's {@code min-fresh} in seconds, or -1 when absent. */
        long minFresh = -1;
        /** A request's {@code only-if-cached}. */
        boolean onlyIfCached;

        /**
         * Parses every {@code Cache-Control} value of {@code h}; tolerant of spaces, case and quoted
         * values. A directive with a value given twice counts by its first (RFC 9111 4.2.1).
         */
        static Directives of(HttpHeaders h) {
            Directives d = new Directives();
            List<String> values = h.getAll(HttpHeaderNames.CACHE_CONTROL);
            for (int i = 0; i < values.size(); i++) {
                d.parse(values.get(i));
            }
            return d;
        }

        private void parse(String v) {
            int n = v.length();
            int i = 0;
            while (i < n) {
                while (i < n && (v.charAt(i) == ' ' || v.charAt(i) == '\t' || v.charAt(i) == ',')) {
                    i++;
                }
                int nameStart = i;
                while (i < n && v.charAt(i) != '=' && v.charAt(i) != ',' && v.charAt(i) != ' ' && v.charAt(i) != '\t') {
                    i++;
                }
                String name = v.substring(nameStart, i);
                while (i < n && (v.charAt(i) == ' ' || v.charAt(i) == '\t')) {
                    i++;
                }
                String value = null;
                if (i < n && v.charAt(i) == '=') {
                    i++;
                    while (i < n && (v.charAt(i) == ' ' || v.charAt(i) == '\t')) {
                        i++;
                    }
                    if (i < n && v.charAt(i) == '"') {
                        int end = v.indexOf('"', i + 1);
                        end = end < 0 ? n : end;
                        value = v.substring(i + 1, end);
                        i = Math.min(n, end + 1);
                    } else {
                        int start = i;
                        while (i < n && v.charAt(i) != ',' && v.charAt(i) != ' ' && v.charAt(i) != '\t') {
                            i++;
                        }
                        value = v.substring(start, i);
                    }
                }
                while (i < n && v.charAt(i) != ',') {
                    i++;
                }
                apply(name, value);
            }
        }

        private void apply(String name, String value) {
            if (name.isEmpty()) {
                return;
            }
            if (name.equalsIgnoreCase("no-store")) {
                noStore = true;
            } else if (name.equalsIgnoreCase("no-cache")) {
                // the qualified form (no-cache="field") is treated as the whole: always revalidate
                noCache = true;
            } else if (name.equalsIgnoreCase("private")) {
                isPrivate = true;
            } else if (name.equalsIgnoreCase("public")) {
                isPublic = true;
            } else if (name.equalsIgnoreCase("must-revalidate") || name.equalsIgnoreCase("proxy-revalidate")) {
                mustRevalidate = true;
            } else if (name.equalsIgnoreCase("max-age")) {
                // a directive given twice counts by its first value (RFC 9111 4.2.1)
                maxAge = maxAge < 0 ? seconds(value) : maxAge;
            } else if (name.equalsIgnoreCase("s-maxage")) {
                sMaxAge = sMaxAge < 0 ? seconds(value) : sMaxAge;
            } else if (name.equalsIgnoreCase("max-stale")) {
                maxStale = maxStale >= 0 ? maxStale : value == null ? ANY_STALENESS : seconds(value);
            } else if (name.equalsIgnoreCase("min-fresh")) {
                minFresh = minFresh < 0 ? seconds(value) : minFresh;
            } else if (name.equalsIgnoreCase("only-if-cached")) {
                onlyIfCached = true;
            }
        }

        /** Delta-seconds; an invalid value counts as 0 (stale at once), a huge one is capped. */
        private static long seconds(String value) {
            if (value == null || value.isEmpty()) {
                return 0;
            }
            long s = 0;
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c < '0' || c > '9') {
                    return 0;
                }
                s = s * 10 + (c - '0');
                if (s >= Integer.MAX_VALUE) {
                    return Integer.MAX_VALUE;
                }
            }
            return s;
        }
    }

    /**
     * Whether a status is heuristically cacheable (RFC 9110 15.1): a response with it may be stored
     * without explicit freshness, and given the Last-Modified heuristic. 206 is left out: ranges are
     * not cached.
     */
    static boolean isHeuristicallyCacheable(int code) {
        return switch (code) {
            case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501 -> true;
            default -> false;
        };
    }

    /**
     * Whether the cache understands a final status well enough to store a response with it (RFC 9111
     * 3: it must not store one it does not understand): the registered statuses whose meaning is
     * about the target resource, which the cache key stands for. Left out, besides unregistered
     * codes: 206 (ranges are not cached), 304 (it stands for another response), 305 and 306
     * (deprecated, unused), 407 (a proxy's credentials), 408, 421 and 425 (about the connection or
     * its early data), 411, 412, 413, 416 and 417 (about the request's body, preconditions, range or
     * expectation, which the key leaves out), 418 (unused) and 428, 429, 431, 511 (RFC 6585: a cache
     * must not store them).
     */
    static boolean isUnderstoodStatus(int code) {
        return switch (code) {
            case 200, 201, 202, 203, 204, 205, 207, 208, 226,
                    300, 301, 302, 303, 307, 308,
                    400, 401, 402, 403, 404, 405, 406, 409, 410, 414, 415, 422, 423, 424, 426, 451,
                    500, 501, 502, 503, 504, 505, 506, 507, 508, 510 -> true;
            default -> false;
        };
    }

    /**
     * Whether a response with this status and these directives may be given heuristic freshness
     * (RFC 9111 4.2.2): its status is heuristically cacheable, or it is marked {@code public}.
     */
    static boolean allowsHeuristic(int code, Directives d) {
        return d.isPublic || isHeuristicallyCacheable(code);
    }

    /** An HTTP date in milliseconds since the epoch, or {@code Long.MIN_VALUE} when absent or invalid. */
    static long date(HttpHeaders h, CharSequence name) {
        String v = h.get(name);
        if (v == null) {
            return Long.MIN_VALUE;
        }
        Date d = DateFormatter.parseHttpDate(v);
        return d == null ? Long.MIN_VALUE : d.getTime();
    }

    /** Formats an HTTP date. */
    static String formatDate(long millis) {
        return DateFormatter.format(new Date(millis));
    }

    /**
     * The freshness lifetime of a response in milliseconds (RFC 9111 4.2.1, shared cache):
     * {@code s-maxage}, {@code max-age}, {@code Expires} minus {@code Date} (an invalid Expires means
     * already stale), or the Last-Modified heuristic when {@link #allowsHeuristic} allows it for
     * {@code status}; -1 when there is none.
     */
    static long lifetimeMillis(int status, Directives d, HttpHeaders h, long dateMillis) {
        if (d.sMaxAge >= 0) {
            return d.sMaxAge * 1000;
        }
        if (d.maxAge >= 0) {
            return d.maxAge * 1000;
        }
        if (h.contains(HttpHeaderNames.EXPIRES)) {
            long expires = date(h, HttpHeaderNames.EXPIRES);
            return expires == Long.MIN_VALUE ? 0 : Math.max(0, expires - dateMillis);
        }
        if (!allowsHeuristic(status, d)) {
            return -1;
        }
        long lastModified = date(h, HttpHeaderNames.LAST_MODIFIED);
        if (lastModified != Long.MIN_VALUE && lastModified < dateMillis) {
            return Math.min(MAX_HEURISTIC_MILLIS, (dateMillis - lastModified) / 10);
        }
        return -1;
    }

    /** The {@code Age} header in seconds, 0 when absent or invalid. */
    static long age(HttpHeaders h) {
        String v = h.get(HttpHeaderNames.AGE);
        return v == null ? 0 : Directives.seconds(v.trim());
    }

    /**
     * Whether a client's conditional request is satisfied by a stored response with these
     * validators: {@code If-None-Match} by a weak comparison of entity tags (RFC 9110 13.1.2), else
     * {@code If-Modified-Since} when the response was last modified at or before that date.
     */
    static boolean notModified(String ifNoneMatch, String ifModifiedSince, String etag, long lastModifiedMillis) {
        if (ifNoneMatch != null) {
            return etag != null && matchesAny(ifNoneMatch, etag);
        }
        if (lastModifiedMillis != Long.MIN_VALUE && ifModifiedSince != null) {
            Date since = DateFormatter.parseHttpDate(ifModifiedSince);
            return since != null && lastModifiedMillis <= since.getTime();
        }
        return false;
    }

    private static boolean matchesAny(String list, String etag) {
        String want = opaque(etag);
        int n = list.length();
        int i = 0;
        while (i < n) {
            while (i < n && (list.charAt(i) == ' ' || list.charAt(i) == ',' || list.charAt(i) == '\t')) {
                i++;
            }
            if (i >= n) {
                break;
            }
            if (list.charAt(i) == '*') {
                return true;
            }
            int start = i;
            if (list.startsWith("W/", i)) {
                i += 2;
            }
            if (i < n && list.charAt(i) == '"') {
                int end = list.indexOf('"', i + 1);
                end = end < 0 ? n - 1 : end;
                if (opaque(list.substring(start, end + 1)).equals(want)) {
                    return true;
                }
                i = end + 1;
            } else {
                while (i < n && list.charAt(i) != ',') {
                    i++;
                }
            }
        }
        return false;
    }

    /** An entity tag without its weakness indicator. */
    private static String opaque(String etag) {
        String t = etag.trim();
        return t.startsWith("W/") ? t.substring(2) : t;
    }
}
