package io.lodestone.core;

import io.lodestone.core.internal.Names;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Cookie-based persistence for an HTTP backend (HAProxy's {@code cookie NAME insert}): the proxy
 * sends each new client a cookie naming the server that answered it, and sends a client that comes
 * back with that cookie to the same server while it is up. As in HAProxy, a server that is draining
 * or of weight 0 gets no new clients but still serves those whose cookie names it, so their sessions
 * can end there. A client whose cookie names a server that is down (failed its checks or ejected), in
 * maintenance, removed or being updated by a rolling update (or that is unknown), or names a backup
 * server while a primary is usable, is balanced anew and gets a new cookie. A client whose server is
 * only at its connection limit is served by another server this time and keeps its cookie. When a
 * request carries the name more than once (a browser holding the cookie for two paths or domains),
 * the first value that names a server the client may use wins, as in HAProxy. A
 * {@code Set-Cookie} of the same name from a server is removed from its response, as HAProxy's
 * {@code insert} does without {@code preserve}, so that it cannot overwrite the proxy's cookie.
 *
 * <p>The cookie's value is an opaque per-server id: a keyed hash (HMAC-SHA-256, 64 bits shown) of
 * the backend's and the server's names, which reveals neither the server's address nor its name.
 * Every proxy instance with the same {@link #key(String) key} gives a server the same value, so
 * several instances behind one load balancer agree on it.
 *
 * <pre>{@code
 * Backend.named("app")
 *     .server("web1", "10.0.0.1:8080")
 *     .server("web2", "10.0.0.2:8080")
 *     .cookie(StickyCookie.insert("SERVERID").indirect().nocache().httpOnly().secure().sameSite("Lax"))
 * }</pre>
 *
 * <p>The value of a server is its {@link Server.Builder#cookie(String) explicit value} when it has
 * one (as HAProxy's {@code server web1 ... cookie s1}, so that clients keep their cookies when a
 * backend moves from HAProxy to Lodestone), else the keyed hash above.
 *
 * <p>Three modes, as HAProxy's:
 * <ul>
 * <li>{@link #insert(String)}: the proxy sets its own cookie; the options below apply to it, and
 *     {@link #maxIdle(Duration)} and {@link #maxLife(Duration)} add HAProxy's dates to its value
 *     ({@code id|lastseen|firstseen}, each 5 characters of HAProxy's base64 of the Unix time / 4).
 * <li>{@link #rewrite(String)}: the server sets the cookie; the proxy replaces its value with the
 *     server's id. Requests pass unchanged (the server sees the id).
 * <li>{@link #prefix(String)}: the server sets the cookie; the proxy prefixes its value with the
 *     server's id and {@code ~} ({@code s1~abc}) and removes the prefix from requests, so the server
 *     reads its own value.
 * </ul>
 * In the last two the server's {@code Set-Cookie} keeps its attributes, so the options about the
 * inserted cookie (path, domain, flags, dates, {@code nocache}) are refused there, where HAProxy
 * accepts and ignores them; {@code indirect} is refused with {@code rewrite}, as HAProxy does.
 *
 * <p>Immutable: every option returns a new value.
 */
public final class StickyCookie {

    private static final String DEFAULT_KEY = "lodestone sticky cookie";

    /** Who sets the cookie and what the proxy does to it; see {@link StickyCookie}. */
    public enum Mode {
        /** HAProxy's {@code insert}: the proxy sets a cookie of its own. */
        INSERT,
        /** HAProxy's {@code rewrite}: the proxy replaces the value of the server's cookie with the server's id. */
        REWRITE,
        /** HAProxy's {@code prefix}: the proxy prefixes the server's cookie with the server's id and {@code ~}. */
        PREFIX
    }

    private final String name;
    private final Mode mode;
    private final boolean indirect;
    private final boolean nocache;
    private final boolean httpOnly;
    private final boolean secure;
    private final String sameSite;
    private final String path;
    private final List<String> domains;
    private final Duration maxIdle;
    private final Duration maxLife;
    private final String key;

    private StickyCookie(String name, Mode mode, boolean indirect, boolean nocache, boolean httpOnly, boolean secure,
            String sameSite, String path, List<String> domains, Duration maxIdle, Duration maxLife, String key) {
        this.name = name;
        this.mode = mode;
        this.indirect = indirect;
        this.nocache = nocache;
        this.httpOnly = httpOnly;
        this.secure = secure;
        this.sameSite = sameSite;
        this.path = path;
        this.domains = domains;
        this.maxIdle = maxIdle;
        this.maxLife = maxLife;
        this.key = key;
    }

    /**
     * A cookie named {@code name} inserted by the proxy into the responses of clients that have none
     * (or one naming a server they cannot use), with {@code Path=/} (HAProxy's {@code cookie NAME insert}).
     *
     * @param name the cookie name
     * @return a cookie named {@code name} inserted by the proxy into the responses of clients that have none
     *     (or one naming a server they cannot use), with {@code Path=/} (HAProxy's {@code cookie NAME
     *     insert})
     * @throws IllegalArgumentException when the name is empty or not a cookie-name token
     */
    public static StickyCookie insert(String name) {
        return of(name, Mode.INSERT);
    }

    /**
     * HAProxy's {@code cookie NAME rewrite}: the server sets the cookie {@code name} itself, and the
     * proxy replaces the value of each such {@code Set-Cookie} with the id of the server that answered
     * (its attributes stay as the server wrote them). A client that sends the cookie back goes to the
     * server of that id; the request reaches the server unchanged. A response without that cookie
     * gets none, so the server decides when a client becomes persistent.
     *
     * @param name the cookie name
     * @return the cookie setting, in rewrite mode
     * @throws IllegalArgumentException when the name is empty or not a cookie-name token
     */
    public static StickyCookie rewrite(String name) {
        return of(name, Mode.REWRITE);
    }

    /**
     * HAProxy's {@code cookie NAME prefix}: the server sets the cookie {@code name} (a session id,
     * say) and the proxy prefixes the value of each such {@code Set-Cookie} with the id of the server
     * that answered and {@code ~} ({@code JSESSIONID=s1~abc}). A client that sends it back goes to the
     * server of that id, and every value of the cookie in the request loses its prefix (up to the
     * first {@code ~}, whether it names a server or not), so the server reads its own value. A value
     * without {@code ~} is passed on as it is, and leads to the server whose id it is, as in HAProxy.
     *
     * @param name the cookie name
     * @return the cookie setting, in prefix mode
     * @throws IllegalArgumentException when the name is empty or not a cookie-name token
     */
    public static StickyCookie prefix(String name) {
        return of(name, Mode.PREFIX);
    }

    /** A cookie of this mode with the defaults: {@code Path=/}, no other attribute, option or date. */
    private static StickyCookie of(String name, Mode mode) {
        Objects.requireNonNull(name, "cookie name");
        if (name.isEmpty() || !Names.isToken(name)) {
            throw new IllegalArgumentException("cookie name: " + name + " (expected: a token, e.g. SERVERID)");
        }
        return new StickyCookie(name, mode, false, false, false, false, null, "/", List.of(), Duration.ZERO, Duration.ZERO, DEFAULT_KEY);
    }

    private void insertOnly(String option, Object value) {
        if (mode != Mode.INSERT) {
            throw new IllegalArgumentException("cookie " + option + ": " + value + " (expected: insert mode only; in "
                    + mode.name().toLowerCase(Locale.ROOT) + " mode the server's Set-Cookie keeps its own attributes)");
        }
    }

    /**
     * HAProxy's {@code indirect}. In insert mode the cookie is removed from requests before they
     * reach the server. In prefix mode a server's {@code Set-Cookie} of the name is removed from the
     * responses to a client that came with a valid cookie for that server (HAProxy advises against
     * it: the server's updates of the cookie then never reach the client).
     *
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException in rewrite mode, which HAProxy refuses it with too
     */
    public StickyCookie indirect() {
        if (mode == Mode.REWRITE) {
            throw new IllegalArgumentException("cookie indirect: true (expected: insert or prefix mode; HAProxy refuses rewrite with indirect)");
        }
        return new StickyCookie(name, mode, true, nocache, httpOnly, secure, sameSite, path, domains, maxIdle, maxLife, key);
    }

    /**
     * HAProxy's {@code nocache}: a response that inserts the cookie is marked {@code Cache-Control: private}.
     *
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless in insert mode
     */
    public StickyCookie nocache() {
        insertOnly("nocache", true);
        return new StickyCookie(name, mode, indirect, true, httpOnly, secure, sameSite, path, domains, maxIdle, maxLife, key);
    }

    /**
     * Adds the {@code HttpOnly} attribute: scripts in the page cannot read the cookie.
     *
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless in insert mode
     */
    public StickyCookie httpOnly() {
        insertOnly("httpOnly", true);
        return new StickyCookie(name, mode, indirect, nocache, true, secure, sameSite, path, domains, maxIdle, maxLife, key);
    }

    /**
     * Adds the {@code Secure} attribute: the browser sends the cookie over HTTPS only.
     *
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless in insert mode
     */
    public StickyCookie secure() {
        insertOnly("secure", true);
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, true, sameSite, path, domains, maxIdle, maxLife, key);
    }

    /**
     * Adds the {@code SameSite} attribute. {@code None} needs {@link #secure()} too: browsers drop a
     * {@code SameSite=None} cookie without {@code Secure}, so a backend with such a cookie fails to build.
     *
     * @param value the {@code SameSite} attribute
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless {@code value} is {@code Strict}, {@code Lax} or {@code None}, or unless in insert mode
     */
    public StickyCookie sameSite(String value) {
        if (!"Strict".equals(value) && !"Lax".equals(value) && !"None".equals(value)) {
            throw new IllegalArgumentException("cookie sameSite: " + value + " (expected: Strict, Lax or None)");
        }
        insertOnly("sameSite", value);
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, secure, value, path, domains, maxIdle, maxLife, key);
    }

    /**
     * Sets the cookie's {@code Path} (default {@code /}).
     *
     * @param value the cookie's {@code Path}
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless the path starts with {@code /} and has no {@code ;}, space or control character, or unless in insert mode
     */
    public StickyCookie path(String value) {
        Objects.requireNonNull(value, "cookie path");
        boolean ok = value.startsWith("/");
        for (int i = 0; ok && i < value.length(); i++) {
            char c = value.charAt(i);
            ok = c > ' ' && c < 127 && c != ';';
        }
        if (!ok) {
            throw new IllegalArgumentException("cookie path: " + value + " (expected: starts with /, no ';', space or control character)");
        }
        insertOnly("path", value);
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, secure, sameSite, value, domains, maxIdle, maxLife, key);
    }

    /**
     * Adds a {@code Domain} attribute to the inserted cookie (HAProxy's {@code domain}); called again,
     * adds another, and the cookie carries one attribute per domain in the order given, as HAProxy
     * writes them. A leading dot is kept as given (browsers ignore it: the cookie goes to the domain
     * and its subdomains either way).
     *
     * @param domain the domain of the {@code Domain} attribute
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless the domain is made of letters, digits, {@code -} and
     *     {@code .} with an embedded dot (HAProxy only warns without one), or unless in insert mode
     */
    public StickyCookie domain(String domain) {
        Objects.requireNonNull(domain, "cookie domain");
        boolean ok = domain.length() <= 253 && domain.indexOf('.', 1) > 0 && !domain.endsWith(".") && !domain.contains("..");
        for (int i = 0; ok && i < domain.length(); i++) {
            char c = domain.charAt(i);
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        }
        if (!ok) {
            throw new IllegalArgumentException("cookie domain: " + domain + " (expected: a domain name with an embedded dot, e.g. example.com or .example.com)");
        }
        insertOnly("domain", domain);
        List<String> more = new ArrayList<>(domains);
        more.add(domain);
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, secure, sameSite, path, List.copyOf(more), maxIdle, maxLife, key);
    }

    /**
     * HAProxy's {@code maxidle}: the inserted cookie carries the date it was last refreshed, and a
     * client that comes back with a cookie idle longer than this (or dated more than 24 hours ahead)
     * is balanced anew and gets a new cookie. A valid cookie is refreshed in the response when its
     * date is behind the proxy's clock at the response's time, and dated then (dates count in
     * 4-second steps, as HAProxy's), so an active client is refreshed at most every 4 seconds, and
     * a request that took longer than this (a long poll) leaves its client a fresh cookie. A cookie without a date (or with a date field that
     * does not decode) is accepted and gets one, as in HAProxy, so cookies set before the option was
     * turned on stay valid. Dates are read from the proxy's {@link Clock}, whole seconds.
     *
     * @param idle the idle time
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless at least one second (up to 2^31 seconds), or unless in insert mode
     */
    public StickyCookie maxIdle(Duration idle) {
        Duration seconds = checkSeconds("maxIdle", idle);
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, secure, sameSite, path, domains, seconds, maxLife, key);
    }

    /**
     * HAProxy's {@code maxlife}: the inserted cookie carries the date it was first set, kept through
     * refreshes, and a client whose cookie is older than this (or dated more than 24 hours ahead) is
     * balanced anew and gets a new cookie, however active it is. A cookie without a first date is
     * accepted and gets one. May be used with {@link #maxIdle(Duration)}.
     *
     * @param life the lifetime
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException unless at least one second (up to 2^31 seconds), or unless in insert mode
     */
    public StickyCookie maxLife(Duration life) {
        Duration seconds = checkSeconds("maxLife", life);
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, secure, sameSite, path, domains, maxIdle, seconds, key);
    }

    private Duration checkSeconds(String option, Duration d) {
        Objects.requireNonNull(d, "cookie " + option);
        if (d.getSeconds() < 1 || d.getSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cookie " + option + ": " + d + " (expected: 1 second to 2^31 seconds)");
        }
        insertOnly(option, d);
        return Duration.ofSeconds(d.getSeconds());
    }

    /**
     * Sets the secret the servers' ids are derived from (default: a fixed key, so ids stay stable but
     * can be recomputed by whoever knows the backend's and servers' names). Use the same key on every
     * proxy instance that serves the same clients. Servers with an explicit cookie value ignore it.
     *
     * @param secret the secret the servers' ids are derived from
     * @return a copy of this cookie setting with that change
     * @throws IllegalArgumentException when the key is empty
     */
    public StickyCookie key(String secret) {
        Objects.requireNonNull(secret, "cookie key");
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("cookie key: \"\" (expected: not empty)");
        }
        return new StickyCookie(name, mode, indirect, nocache, httpOnly, secure, sameSite, path, domains, maxIdle, maxLife, secret);
    }

    /** {@return the cookie's name} */
    public String name() {
        return name;
    }

    /** {@return the mode: who sets the cookie and what the proxy does to it} */
    public Mode mode() {
        return mode;
    }

    /** {@return whether {@link #indirect()} is set} */
    public boolean isIndirect() {
        return indirect;
    }

    /** {@return whether a response that inserts the cookie is marked {@code Cache-Control: private}} */
    public boolean isNocache() {
        return nocache;
    }

    /** {@return whether the cookie has the {@code HttpOnly} attribute} */
    public boolean isHttpOnly() {
        return httpOnly;
    }

    /** {@return whether the cookie has the {@code Secure} attribute} */
    public boolean isSecure() {
        return secure;
    }

    /** {@return the {@code SameSite} attribute, or {@code null}} */
    public String sameSite() {
        return sameSite;
    }

    /** {@return the cookie's {@code Path}} */
    public String path() {
        return path;
    }

    /** {@return the {@code Domain} attributes of the inserted cookie, in order; empty when none} */
    public List<String> domains() {
        return domains;
    }

    /** {@return the {@link #maxIdle(Duration)} setting in whole seconds, or {@link Duration#ZERO} when none} */
    public Duration maxIdle() {
        return maxIdle;
    }

    /** {@return the {@link #maxLife(Duration)} setting in whole seconds, or {@link Duration#ZERO} when none} */
    public Duration maxLife() {
        return maxLife;
    }

    /**
     * The id a server of a backend has when it has no {@link Server.Builder#cookie(String) explicit
     * value}: a keyed hash of the two names (16 hexadecimal digits). The id of a server is what the
     * cookie carries (before any dates in insert mode, before the {@code ~} in prefix mode).
     *
     * @param backendName the backend's name
     * @param serverName the server's name
     * @return the id a server of a backend has when it has no {@link Server.Builder#cookie(String) explicit
     *     value}: a keyed hash of the two names (16 hexadecimal digits)
     */
    public String valueFor(String backendName, String serverName) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            byte[] digest = mac.doFinal((backendName + '\u0000' + serverName).getBytes(StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder(16);
            for (int i = 0; i < 8; i++) {
                sb.append(Character.forDigit((digest[i] >> 4) & 0xF, 16)).append(Character.forDigit(digest[i] & 0xF, 16));
            }
            return sb.toString();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /**
     * The {@code Set-Cookie} header value the proxy inserts (insert mode) with this value: the
     * server's id, followed by its dates when {@link #maxIdle(Duration)} or {@link #maxLife(Duration)}
     * is set. Attributes in HAProxy's order: {@code Path}, each {@code Domain}, {@code HttpOnly},
     * {@code Secure}, then {@code SameSite}. HAProxy writes {@code path} and {@code domain} in lower
     * case; attribute names are case-insensitive (RFC 6265), so browsers read both alike.
     *
     * @param value the cookie value
     * @return the {@code Set-Cookie} header value the proxy inserts (insert mode) with this value: the
     *     server's id, followed by its dates when {@link #maxIdle(Duration)} or {@link #maxLife(Duration)} is
     *     set
     */
    public String setCookie(String value) {
        StringBuilder sb = new StringBuilder(64).append(name).append('=').append(value).append("; Path=").append(path);
        for (int i = 0; i < domains.size(); i++) {
            sb.append("; Domain=").append(domains.get(i));
        }
        if (httpOnly) {
            sb.append("; HttpOnly");
        }
        if (secure) {
            sb.append("; Secure");
        }
        if (sameSite != null) {
            sb.append("; SameSite=").append(sameSite);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        if (mode != Mode.INSERT) {
            return "StickyCookie{" + name + " " + mode.name().toLowerCase(Locale.ROOT) + (indirect ? " indirect" : "") + "}";
        }
        return "StickyCookie{" + setCookie("<id>") + (indirect ? " indirect" : "") + (nocache ? " nocache" : "")
                + (maxIdle.isZero() ? "" : " maxidle=" + maxIdle.getSeconds() + "s") + (maxLife.isZero() ? "" : " maxlife=" + maxLife.getSeconds() + "s") + "}";
    }
}
