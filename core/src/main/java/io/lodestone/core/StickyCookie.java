package io.lodestone.core;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
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
 * <p>Immutable: every option returns a new value.
 */
public final class StickyCookie {

    private static final String DEFAULT_KEY = "lodestone sticky cookie";

    private final String name;
    private final boolean indirect;
    private final boolean nocache;
    private final boolean httpOnly;
    private final boolean secure;
    private final String sameSite;
    private final String path;
    private final String key;

    private StickyCookie(String name, boolean indirect, boolean nocache, boolean httpOnly, boolean secure,
            String sameSite, String path, String key) {
        this.name = name;
        this.indirect = indirect;
        this.nocache = nocache;
        this.httpOnly = httpOnly;
        this.secure = secure;
        this.sameSite = sameSite;
        this.path = path;
        this.key = key;
    }

    /**
     * A cookie named {@code name} inserted by the proxy into the responses of clients that have none
     * (or one naming a server they cannot use), with {@code Path=/}.
     *
     * @throws IllegalArgumentException when the name is empty or not a cookie-name token
     */
    public static StickyCookie insert(String name) {
        Objects.requireNonNull(name, "cookie name");
        if (name.isEmpty() || !isToken(name)) {
            throw new IllegalArgumentException("cookie name: " + name + " (expected: a token, e.g. SERVERID)");
        }
        return new StickyCookie(name, false, false, false, false, null, "/", DEFAULT_KEY);
    }

    /** HAProxy's {@code indirect}: the cookie is removed from requests before they reach the server. */
    public StickyCookie indirect() {
        return new StickyCookie(name, true, nocache, httpOnly, secure, sameSite, path, key);
    }

    /** HAProxy's {@code nocache}: a response that inserts the cookie is marked {@code Cache-Control: private}. */
    public StickyCookie nocache() {
        return new StickyCookie(name, indirect, true, httpOnly, secure, sameSite, path, key);
    }

    /** Adds the {@code HttpOnly} attribute: scripts in the page cannot read the cookie. */
    public StickyCookie httpOnly() {
        return new StickyCookie(name, indirect, nocache, true, secure, sameSite, path, key);
    }

    /** Adds the {@code Secure} attribute: the browser sends the cookie over HTTPS only. */
    public StickyCookie secure() {
        return new StickyCookie(name, indirect, nocache, httpOnly, true, sameSite, path, key);
    }

    /**
     * Adds the {@code SameSite} attribute. {@code None} needs {@link #secure()} too: browsers drop a
     * {@code SameSite=None} cookie without {@code Secure}, so a backend with such a cookie fails to build.
     *
     * @throws IllegalArgumentException unless {@code value} is {@code Strict}, {@code Lax} or {@code None}
     */
    public StickyCookie sameSite(String value) {
        if (!"Strict".equals(value) && !"Lax".equals(value) && !"None".equals(value)) {
            throw new IllegalArgumentException("cookie sameSite: " + value + " (expected: Strict, Lax or None)");
        }
        return new StickyCookie(name, indirect, nocache, httpOnly, secure, value, path, key);
    }

    /**
     * Sets the cookie's {@code Path} (default {@code /}).
     *
     * @throws IllegalArgumentException unless the path starts with {@code /} and has no {@code ;}, space or control character
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
        return new StickyCookie(name, indirect, nocache, httpOnly, secure, sameSite, value, key);
    }

    /**
     * Sets the secret the servers' ids are derived from (default: a fixed key, so ids stay stable but
     * can be recomputed by whoever knows the backend's and servers' names). Use the same key on every
     * proxy instance that serves the same clients.
     *
     * @throws IllegalArgumentException when the key is empty
     */
    public StickyCookie key(String secret) {
        Objects.requireNonNull(secret, "cookie key");
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("cookie key: \"\" (expected: not empty)");
        }
        return new StickyCookie(name, indirect, nocache, httpOnly, secure, sameSite, path, secret);
    }

    /** The cookie's name. */
    public String name() {
        return name;
    }

    /** Whether the cookie is removed from requests before they reach the server. */
    public boolean isIndirect() {
        return indirect;
    }

    /** Whether a response that inserts the cookie is marked {@code Cache-Control: private}. */
    public boolean isNocache() {
        return nocache;
    }

    /** Whether the cookie has the {@code HttpOnly} attribute. */
    public boolean isHttpOnly() {
        return httpOnly;
    }

    /** Whether the cookie has the {@code Secure} attribute. */
    public boolean isSecure() {
        return secure;
    }

    /** The {@code SameSite} attribute, or {@code null}. */
    public String sameSite() {
        return sameSite;
    }

    /** The cookie's {@code Path}. */
    public String path() {
        return path;
    }

    /** The opaque id of a server of a backend: the value of the cookie that leads to it. */
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

    /** The {@code Set-Cookie} header value that sends a client to the server of this id. */
    public String setCookie(String value) {
        StringBuilder sb = new StringBuilder(64).append(name).append('=').append(value).append("; Path=").append(path);
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

    private static boolean isToken(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "StickyCookie{" + setCookie("<id>") + (indirect ? " indirect" : "") + (nocache ? " nocache" : "") + "}";
    }
}
