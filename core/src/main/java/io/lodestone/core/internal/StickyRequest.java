package io.lodestone.core.internal;

import io.lodestone.core.Clock;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.internal.HttpParts;
import java.util.List;

/**
 * One request's reading of its backend's {@link StickyCookie}, shared by the HTTP engine and
 * {@code Proxy.routeAndPick} so that both pick alike: which server the cookie leads to, and what the
 * response must then do (insert or refresh the cookie, rewrite or prefix the server's). Mutable and
 * reused request after request by one HTTP/1 connection (an HTTP/2 stream, which carries one
 * request, has its own); not thread-safe.
 *
 * <p>Values are read as HAProxy 2.6 reads them: the id is the value up to the first {@code ~} in
 * prefix mode, up to the first {@code |} in the other modes; after that {@code |} come the
 * last-seen and first-seen dates, 5 characters each of HAProxy's base64 of the Unix time / 4
 * (anything else there reads as no date). With maxidle or maxlife, a value whose dates are too old
 * or more than a day ahead is skipped as if absent. The first value (a request may carry the name
 * more than once) that leads to a server taking its persistent clients wins; a value naming a
 * server that is only full ends the search (the client is balanced this time and keeps its cookie).
 */
public final class StickyRequest {

    private static final char[] BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();
    /** Dates more than this far ahead of the clock are refused, as HAProxy does. */
    private static final long FUTURE_SLACK_SECONDS = 86_400;

    private StickyCookie cookie;
    private ServerRuntime server;
    private boolean present;
    private boolean onlyFull;
    private long lastDate;
    private long firstDate;
    private Clock clock;
    private long now = -1;

    /**
     * Reads the cookie of {@code request} and returns the server it leads to, with one unit of its
     * load taken (give it back or use it), or {@code null}: the request is balanced.
     */
    public ServerRuntime read(BackendRuntime backend, StickyCookie cookie, RequestView request, Clock clock) {
        this.cookie = cookie;
        this.clock = clock;
        server = null;
        present = false;
        onlyFull = false;
        lastDate = 0;
        firstDate = 0;
        now = -1;
        String first = request.cookie(cookie.name());
        if (first == null) {
            return null;
        }
        present = true;
        if (tryValue(backend, first) || onlyFull) {
            return server;
        }
        // a browser sends the name twice when it holds the cookie for two paths or domains (the
        // longer path first): as HAProxy, the first value that leads to a server the client may use
        // wins, so a stale cookie of another path does not hide the proxy's
        List<String> values = HttpParts.cookies(request.headers("cookie"), cookie.name());
        for (int i = 1; i < values.size(); i++) {
            if (tryValue(backend, values.get(i)) || onlyFull) {
                break;
            }
        }
        return server;
    }

    /** Whether the request carried the cookie at all. */
    public boolean present() {
        return present;
    }

    /**
     * Whether the cookie named a server that would have taken the client but for its connection
     * limit: the client is served elsewhere this time and keeps its cookie (nothing is inserted).
     */
    public boolean onlyFull() {
        return onlyFull;
    }

    /** Whether the request went to the server its cookie named (HAProxy's direct access). */
    public boolean direct(ServerRuntime answered) {
        return server != null && answered == server;
    }

    private boolean tryValue(BackendRuntime backend, String value) {
        int end;
        if (cookie.mode() == StickyCookie.Mode.PREFIX) {
            end = value.indexOf('~');
            if (end < 0) {
                end = value.length();
            }
        } else {
            end = value.indexOf('|');
            if (end < 0) {
                end = value.length();
            } else {
                readDates(value, end);
            }
            if (expired()) {
                lastDate = 0;
                firstDate = 0;
                return false;
            }
        }
        if (end == 0) {
            return false;
        }
        ServerRuntime s = backend.acquireByCookie(cookie, value, end);
        if (s != null) {
            server = s;
            return true;
        }
        onlyFull = backend.cookieServerIsOnlyFull(cookie, value, end);
        return false;
    }

    /** HAProxy's reading of {@code id|last|first}: a field that does not decode to a positive date is no date. */
    private void readDates(String value, int bar) {
        int from = bar + 1;
        int n = value.length();
        if (n - from >= 5) {
            long v = decode(value, from);
            if (v > 0) {
                lastDate = v << 2;
            }
        }
        int second = value.indexOf('|', from);
        if (second >= 0 && n - second > 5) {
            long v = decode(value, second + 1);
            if (v > 0) {
                firstDate = v << 2;
            }
        }
    }

    private boolean expired() {
        long maxLife = cookie.maxLife().getSeconds();
        long maxIdle = cookie.maxIdle().getSeconds();
        if (firstDate != 0 && maxLife > 0 && (now() - firstDate > maxLife || firstDate - now() > FUTURE_SLACK_SECONDS)) {
            return true;
        }
        return lastDate != 0 && maxIdle > 0 && (now() - lastDate > maxIdle || lastDate - now() > FUTURE_SLACK_SECONDS);
    }

    private long now() {
        if (now < 0) {
            now = clock.currentTimeMillis() / 1000;
        }
        return now;
    }

    /**
     * In insert mode, the value of the cookie the response of {@code answered} must set, or
     * {@code null} when it sets none: a client that did not come to this server by its cookie gets
     * one; with maxidle, one whose date is behind the clock at the response's time (or that has
     * none) gets it refreshed, dated then;
     * with maxlife, one without a first date gets one (kept from the request otherwise, even when the
     * client moves to another server, as HAProxy does); a date the settings no longer ask for is
     * dropped. A client whose server was only full keeps its cookie.
     */
    public String insertValue(ServerRuntime answered) {
        if (onlyFull) {
            return null;
        }
        // decided and dated at the response's time, as HAProxy does: a request that took longer
        // than maxIdle (a long poll) must not leave its client a cookie already idle; the clock is
        // read again only when a date is needed
        now = -1;
        long maxIdle = cookie.maxIdle().getSeconds();
        long maxLife = cookie.maxLife().getSeconds();
        boolean insert = !direct(answered)
                || ((maxIdle > 0 || lastDate != 0) && (lastDate == 0 || lastDate < now()))
                || (maxLife > 0 && firstDate == 0)
                || (maxLife == 0 && firstDate != 0);
        if (!insert) {
            return null;
        }
        String id = answered.cookieValue(cookie);
        if (maxIdle == 0 && maxLife == 0) {
            return id;
        }
        // the date is rounded up to HAProxy's 4-second step, as HAProxy writes it
        long seen = (now() + 3) >> 2;
        StringBuilder sb = new StringBuilder(id.length() + 12).append(id).append('|');
        encode(sb, seen);
        if (maxLife > 0) {
            encode(sb.append('|'), firstDate != 0 ? firstDate >> 2 : seen);
        }
        return sb.toString();
    }

    /** HAProxy's {@code s30tob64}: the low 30 bits, most significant first, 6 bits per character. */
    static void encode(StringBuilder sb, long value) {
        int in = (int) value;
        for (int i = 0; i < 5; i++) {
            sb.append(BASE64[(in >> 24) & 0x3F]);
            in <<= 6;
        }
    }

    /** HAProxy's {@code b64tos30}: 5 characters from {@code at}, or -1 when one is not base64. */
    static long decode(String s, int at) {
        long out = 0;
        for (int i = at; i < at + 5; i++) {
            char c = s.charAt(i);
            int b;
            if (c >= 'A' && c <= 'Z') {
                b = c - 'A';
            } else if (c >= 'a' && c <= 'z') {
                b = c - 'a' + 26;
            } else if (c >= '0' && c <= '9') {
                b = c - '0' + 52;
            } else if (c == '+') {
                b = 62;
            } else if (c == '/') {
                b = 63;
            } else {
                return -1;
            }
            out = (out << 6) + b;
        }
        return out;
    }
}
