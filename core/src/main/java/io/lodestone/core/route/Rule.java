package io.lodestone.core.route;

import io.lodestone.core.internal.Names;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.route.internal.AclNode;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A condition and one action, HAProxy-style. Rules run in order: header and path edits accumulate
 * and evaluation goes on; the first rule that uses a backend, denies, redirects or responds ends it.
 *
 * <pre>{@code
 * Rule.when(Acl.pathBegins("/admin")).name("no-admin").deny(403)
 * Rule.when(Acl.pathBegins("/service1")).stripPrefix("/service1")
 * Rule.when(Acl.pathBegins("/service1")).use("service1")
 * Rule.always().setRequestHeader("X-Forwarded-Proto", "https")
 * Rule.when(Acl.hostBegins("www.")).redirectPrefix(301, "https://example.com")
 * Rule.when(Acl.path("/")).respond(200, "text/plain", "Welcome to the reverse proxy!")
 * Rule.always().use("app", "app-backup")          // backup when app has no usable server
 * Rule.when(Acl.pathBegins("/api")).rateLimit(RateLimit.perSecond(10))   // 429 beyond 10/s per client
 * }</pre>
 */
public final class Rule {

    private final String name;
    private final Acl condition;
    private final Action action;

    private Rule(String name, Acl condition, Action action) {
        this.name = name;
        this.condition = condition;
        this.action = action;
    }

    /**
     * Starts a rule that applies when {@code condition} matches.
     *
     * @param condition the condition
     * @return the rule's builder; an action completes the rule
     */
    public static Builder when(Acl condition) {
        return new Builder(Objects.requireNonNull(condition, "condition"));
    }

    /**
     * Starts a rule that applies when {@code condition} does not match (HAProxy's {@code unless}).
     *
     * @param condition the condition
     * @return the rule's builder; an action completes the rule
     */
    public static Builder unless(Acl condition) {
        return new Builder(Acl.not(condition));
    }

    /**
     * Starts a rule that applies when the named ACL (see {@link Routing.Builder#acl}) matches.
     *
     * @param aclName the name of an ACL declared on the routing
     * @return the rule's builder; an action completes the rule
     */
    public static Builder whenNamed(String aclName) {
        return new Builder(Acl.named(aclName));
    }

    /**
     * Starts a rule that always applies.
     *
     * @return the rule's builder; an action completes the rule
     */
    public static Builder always() {
        return new Builder(Acl.always());
    }

    /** {@return the rule's name, or {@code null}} */
    public String name() {
        return name;
    }

    /** {@return the condition} */
    public Acl condition() {
        return condition;
    }

    /** {@return whether the action ends evaluation (use, deny, redirect, respond)} */
    public boolean isTerminal() {
        return action.kind.terminal();
    }

    Action action() {
        return action;
    }

    Rule withCondition(Acl resolved) {
        return new Rule(name, resolved, action);
    }

    @Override
    public String toString() {
        return (name == null ? "" : name + ": ") + action + " if " + AclNode.describe(condition);
    }

    /**
     * The second half of a rule: its action. Every action method returns the finished rule; a
     * bad argument throws {@link IllegalArgumentException} naming it.
     */
    public static final class Builder {
        private final Acl condition;
        private String name;

        Builder(Acl condition) {
            this.condition = condition;
        }

        /**
         * Names the rule; the name shows in {@link MatchedRule} and in configuration errors.
         *
         * @param name the rule's name
         * @return this builder
         */
        public Builder name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("rule name: " + (name == null ? "null" : "\"" + name + "\"") + " (expected: a non-blank name)");
            }
            this.name = name;
            return this;
        }

        private Rule rule(Action action) {
            return new Rule(name, condition, action);
        }

        /**
         * Forwards to a backend (HAProxy's {@code use_backend}).
         *
         * @param backend the backend's name
         * @return the rule
         */
        public Rule use(String backend) {
            return rule(Action.of(Action.Kind.USE, 0, backendName("use", backend), null));
        }

        /**
         * Forwards to {@code backend}, or to {@code backup} when {@code backend} has no usable server.
         *
         * @param backend the backend's name
         * @param backup the backend used when {@code backend} has no usable server
         * @return the rule
         * @throws IllegalArgumentException when a name is empty, or {@code backup} is {@code backend}
         *     itself, which would never take over
         */
        public Rule use(String backend, String backup) {
            return rule(Action.of(Action.Kind.USE, 0, backendName("use", backend),
                    Routing.backupName("use backup", backup, backend)));
        }

        /**
         * Refuses with 403 Forbidden (at L4: closes the connection).
         *
         * @return the rule
         */
        public Rule deny() {
            return deny(403);
        }

        /**
         * Refuses with this status, 400..599, and its reason phrase as body.
         *
         * @param status the status, 400..599
         * @return the rule
         */
        public Rule deny(int status) {
            return deny(status, Statuses.reason(checkStatus("deny status", status, 400, 599)) + "\n");
        }

        /**
         * Refuses with this status, 400..599, and a {@code text/plain} body.
         *
         * @param status the status, 400..599
         * @param body the body
         * @return the rule
         */
        public Rule deny(int status, String body) {
            checkStatus("deny status", status, 400, 599);
            return rule(Action.of(Action.Kind.DENY, status, Objects.requireNonNull(body, "deny body"), null));
        }

        /**
         * Closes the connection of an L4 frontend; the same as {@link #deny()}.
         *
         * @return the rule
         */
        public Rule reject() {
            return deny();
        }

        /**
         * Redirects to a fixed location, as given (HAProxy's {@code redirect location}).
         *
         * @param status the redirect status
         * @param location the {@code Location}
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule redirect(int status, String location) {
            return rule(Action.of(Action.Kind.REDIRECT_LOCATION, checkRedirect(status),
                    fieldValue("redirect location", nonEmpty("redirect location", location)), null));
        }

        /**
         * Redirects to the same host, path and query under another scheme (HAProxy's
         * {@code redirect scheme https}): {@code http://h/a?b} becomes {@code https://h/a?b}. A port
         * in the Host header is kept, except 80 and 443, which are dropped ({@code h:80} goes to
         * {@code https://h/}; so are {@code :080}, the same port, and an empty one). When the new
         * scheme listens on another port than the old one (8080 to 8443), name it with
         * {@link #redirectScheme(int, String, int)}.
         *
         * @param status the redirect status
         * @param scheme the scheme to redirect to
         * @return the rule
         */
        public Rule redirectScheme(int status, String scheme) {
            return rule(Action.of(Action.Kind.REDIRECT_SCHEME, checkRedirect(status), scheme(scheme), null));
        }

        /**
         * Redirects to the same host, path and query under another scheme and on another port:
         * {@code redirectScheme(301, "https", 8443)} sends {@code http://h:8080/a?b} to
         * {@code https://h:8443/a?b}. The port is left out of the location when it is the scheme's
         * default (443 for https, 80 for http).
         *
         * @param status the redirect status
         * @param scheme the scheme to redirect to
         * @param port the port to redirect to
         * @return the rule
         * @throws IllegalArgumentException when the port is not in 1..65535
         */
        public Rule redirectScheme(int status, String scheme, int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("redirect port: " + port + " (expected: 1..65535)");
            }
            String s = scheme(scheme);
            boolean implied = port == 443 && s.equalsIgnoreCase("https") || port == 80 && s.equalsIgnoreCase("http");
            return rule(Action.of(Action.Kind.REDIRECT_SCHEME, checkRedirect(status), s, implied ? "" : ":" + port));
        }

        private static String scheme(String scheme) {
            String s = nonEmpty("redirect scheme", scheme);
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'))) {
                    throw new IllegalArgumentException("redirect scheme: " + scheme + " (expected: a URI scheme such as https)");
                }
            }
            return s;
        }

        /**
         * Redirects to {@code prefix} followed by the original raw path and query (HAProxy's
         * {@code redirect prefix}): with prefix {@code https://new.example.com}, {@code /a?b} goes to
         * {@code https://new.example.com/a?b}. A trailing slash of the prefix is dropped, so the prefix
         * {@code /} adds nothing (a redirection to the same host, HAProxy's special case); there a raw
         * path starting with several slashes or backslashes has them folded into one ({@code //evil.example/x}
         * goes to {@code /evil.example/x}), since the location {@code //evil.example/x} would name another host.
         *
         * @param status the redirect status
         * @param prefix the prefix put before the request's path
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule redirectPrefix(int status, String prefix) {
            String p = fieldValue("redirect prefix", nonEmpty("redirect prefix", prefix));
            while (p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            return rule(Action.of(Action.Kind.REDIRECT_PREFIX, checkRedirect(status), p, null));
        }

        /**
         * Answers directly with this status (200..599), content type and body.
         *
         * @param status the status
         * @param contentType the {@code Content-Type}
         * @param body the body
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule respond(int status, String contentType, String body) {
            checkStatus("respond status", status, 200, 599);
            return rule(Action.of(Action.Kind.RESPOND, status, Objects.requireNonNull(body, "respond body"),
                    fieldValue("respond contentType", nonEmpty("respond contentType", contentType))));
        }

        /**
         * Answers directly with this status and a {@code text/plain; charset=utf-8} body.
         *
         * @param status the status
         * @param body the body
         * @return the rule
         */
        public Rule respond(int status, String body) {
            return respond(status, "text/plain; charset=utf-8", body);
        }

        /**
         * Limits the rate of the requests this rule matches with a token bucket per key: a request
         * whose bucket has a token takes it and goes on to the next rules; otherwise evaluation ends
         * with a 429 Too Many Requests deny carrying {@code Retry-After} (the seconds until a token is
         * available, rounded up). A request takes one token of a limit however many of the rules that
         * apply it (or an equal one) match it. The buckets live in the proxy's
         * {@link io.lodestone.core.limit.RateLimiter}. At L4 an over-limit connection is closed; a
         * limit keyed by a header fails at build time there.
         *
         * <pre>{@code
         * Rule.when(Acl.pathBegins("/login")).rateLimit(RateLimit.perMinute(10).burst(3))
         * }</pre>
         *
         * @param limit the rate limit
         * @return the rule
         */
        public Rule rateLimit(RateLimit limit) {
            return rule(Action.rateLimit(Objects.requireNonNull(limit, "rateLimit")));
        }

        /**
         * Sets a header of the request sent to the backend, replacing any value.
         *
         * @param name the header name
         * @param value the header value
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule setRequestHeader(String name, String value) {
            return rule(Action.edit(Action.Kind.REQUEST_HEADER, edit(HeaderEdit.Op.SET, name, value)));
        }

        /**
         * Adds a value to a header of the request sent to the backend.
         *
         * @param name the header name
         * @param value the header value
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule addRequestHeader(String name, String value) {
            return rule(Action.edit(Action.Kind.REQUEST_HEADER, edit(HeaderEdit.Op.ADD, name, value)));
        }

        /**
         * Removes a header from the request sent to the backend.
         *
         * @param name the header name
         * @return the rule
         */
        public Rule removeRequestHeader(String name) {
            return rule(Action.edit(Action.Kind.REQUEST_HEADER, edit(HeaderEdit.Op.REMOVE, name, null)));
        }

        /**
         * Sets a header of the response sent to the client, replacing any value.
         *
         * @param name the header name
         * @param value the header value
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule setResponseHeader(String name, String value) {
            return rule(Action.edit(Action.Kind.RESPONSE_HEADER, edit(HeaderEdit.Op.SET, name, value)));
        }

        /**
         * Adds a value to a header of the response sent to the client.
         *
         * @param name the header name
         * @param value the header value
         * @return the rule
         * @throws IllegalArgumentException naming the value when it is not a header field value as it is:
         *     a control character but a tab, a space or tab at either end, a character past U+00FF
         */
        public Rule addResponseHeader(String name, String value) {
            return rule(Action.edit(Action.Kind.RESPONSE_HEADER, edit(HeaderEdit.Op.ADD, name, value)));
        }

        /**
         * Removes a header from the response sent to the client.
         *
         * @param name the header name
         * @return the rule
         */
        public Rule removeResponseHeader(String name) {
            return rule(Action.edit(Action.Kind.RESPONSE_HEADER, edit(HeaderEdit.Op.REMOVE, name, null)));
        }

        /**
         * Strips a leading path prefix on a segment boundary, as nginx's {@code location /svc/
         * { proxy_pass http://svc/; }}: with prefix {@code /svc}, {@code /svc/a} is sent as
         * {@code /a} and {@code /svc} as {@code /}; {@code /svcx} is left alone. The prefix is matched
         * on the normalised path ({@code /%73vc;x=1/a} matches too), and only its raw form is removed:
         * the rest of the raw path is sent byte for byte, {@code ;parameters} and percent-encoding
         * included ({@code /svc/a%2Fb;jsessionid=1} is sent as {@code /a%2Fb;jsessionid=1}). When the
         * prefix ends at an encoded slash ({@code /svc%2Fa}), the rest is sent normalised and re-encoded.
         *
         * @param prefix the path prefix to remove
         * @return the rule
         */
        public Rule stripPrefix(String prefix) {
            return rule(Action.of(Action.Kind.STRIP_PREFIX, 0, pathPrefix("stripPrefix", prefix), null));
        }

        /**
         * Replaces a leading path prefix on a segment boundary: {@code /v1/a} to {@code /api/v1/a}. As
         * with {@link #stripPrefix}, the prefix is matched on the normalised path, its raw form is
         * replaced and the rest of the raw path is kept byte for byte; the replacement is sent
         * percent-encoded where a path needs it.
         *
         * @param prefix the path prefix to replace
         * @param replacement what replaces it
         * @return the rule
         */
        public Rule replacePrefix(String prefix, String replacement) {
            String to = Objects.requireNonNull(replacement, "replacePrefix replacement");
            if (!to.isEmpty() && !to.startsWith("/")) {
                throw new IllegalArgumentException("replacePrefix replacement: " + replacement + " (expected: a path starting with /)");
            }
            while (to.endsWith("/")) {
                to = to.substring(0, to.length() - 1);
            }
            return rule(Action.of(Action.Kind.REPLACE_PREFIX, 0, pathPrefix("replacePrefix", prefix), to));
        }

        /**
         * Replaces every match of a regular expression in the path ({@link java.util.regex.Matcher#replaceAll}
         * syntax, {@code $1} for groups): {@code replacePath("^/api/(.*)", "/$1")}. The regular
         * expression reads the normalised path and a changed path is sent normalised and re-encoded
         * ({@code ;parameters} dropped, {@code %2F} sent as {@code /}); a path it leaves unchanged is
         * sent raw.
         *
         * @param regex a regular expression over the path
         * @param replacement the replacement, {@code $1} for groups
         * @return the rule
         */
        public Rule replacePath(String regex, String replacement) {
            Objects.requireNonNull(replacement, "replacePath replacement");
            if (regex == null) {
                throw new IllegalArgumentException("replacePath regex: null (expected: a regular expression)");
            }
            Pattern p;
            try {
                p = Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("replacePath regex: " + regex + " (invalid regular expression: "
                        + e.getDescription() + " near index " + e.getIndex() + ")", e);
            }
            checkReplacement(replacement, p.matcher("").groupCount());
            return rule(Action.replacePath(p, replacement));
        }

        /**
         * Sends this Host header to the backend instead of the client's.
         *
         * @param host the Host header value sent to the backend
         * @return the rule
         */
        public Rule setHost(String host) {
            String h = nonEmpty("setHost", host);
            if (!isFieldValue(h) || h.indexOf(' ') >= 0 || h.indexOf('\t') >= 0) {
                throw new IllegalArgumentException("setHost: " + host + " (expected: host or host:port)");
            }
            return rule(Action.of(Action.Kind.SET_HOST, 0, h, null));
        }

        private static void checkReplacement(String replacement, int groups) {
            for (int i = 0; i < replacement.length(); i++) {
                char c = replacement.charAt(i);
                if (c == '\\') {
                    if (++i == replacement.length()) {
                        throw new IllegalArgumentException("replacePath replacement: " + replacement + " (expected: a character after \\)");
                    }
                } else if (c == '$') {
                    int start = i + 1;
                    if (start < replacement.length() && replacement.charAt(start) == '{') {
                        if (replacement.indexOf('}', start) < 0) {
                            throw new IllegalArgumentException("replacePath replacement: " + replacement + " (expected: ${name})");
                        }
                        continue;
                    }
                    if (start == replacement.length() || !Character.isDigit(replacement.charAt(start))) {
                        throw new IllegalArgumentException("replacePath replacement: " + replacement + " (expected: $ followed by a group number)");
                    }
                    int group = replacement.charAt(start) - '0';
                    if (group > groups) {
                        throw new IllegalArgumentException("replacePath replacement: " + replacement + " (no group " + group
                                + "; the regex has " + groups + ")");
                    }
                }
            }
        }

        private static String backendName(String field, String name) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException(field + ": " + (name == null ? "null" : "\"\"") + " (expected: a backend name)");
            }
            return name;
        }

        private static int checkStatus(String field, int status, int min, int max) {
            if (status < min || status > max) {
                throw new IllegalArgumentException(field + ": " + status + " (expected: " + min + ".." + max + ")");
            }
            return status;
        }

        private static int checkRedirect(int status) {
            if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
                throw new IllegalArgumentException("redirect status: " + status + " (expected: 301, 302, 303, 307 or 308)");
            }
            return status;
        }

        private static String nonEmpty(String field, String value) {
            if (value == null || value.isEmpty()) {
                throw new IllegalArgumentException(field + ": " + (value == null ? "null" : "\"\"") + " (expected: a non-empty value)");
            }
            return value;
        }

        private static String pathPrefix(String field, String prefix) {
            String p = nonEmpty(field, prefix);
            if (!p.startsWith("/")) {
                throw new IllegalArgumentException(field + ": " + prefix + " (expected: a path starting with /)");
            }
            while (p.length() > 1 && p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            if (p.equals("/")) {
                throw new IllegalArgumentException(field + ": " + prefix + " (expected: a prefix longer than /)");
            }
            return p;
        }

        private static HeaderEdit edit(HeaderEdit.Op op, String name, String value) {
            String field = op.name().toLowerCase() + " header";
            Names.token(field + " name", name, "header name");
            if (op != HeaderEdit.Op.REMOVE) {
                fieldValue(field + " " + name + " value", value);
            }
            return new HeaderEdit(op, name, value);
        }

        /**
         * Returns {@code value} when it can be sent as a header field value as it is: no control
         * character but a tab inside it (RFC 9110, 5.5), no space or tab at either end (an HTTP/1.1
         * parser drops them, and HTTP/2 makes such a field malformed, RFC 9113, 8.2.1), and no
         * character past U+00FF, which is not one octet. Netty refuses a control character or a
         * leading space when the message is written, which failed every request the rule matched.
         */
        private static String fieldValue(String field, String value) {
            if (value == null) {
                throw new IllegalArgumentException(field + ": null (expected: a header field value)");
            }
            if (!isFieldValue(value)) {
                throw new IllegalArgumentException(field + ": " + quoted(value) + " (expected: a header field value: no control"
                        + " character but a tab, no space or tab at either end, no character past U+00FF)");
            }
            return value;
        }

        /** Whether {@code value} can be sent as a header field value as it is; see {@link #fieldValue}. */
        private static boolean isFieldValue(String value) {
            int n = value.length();
            boolean ok = n == 0 || !isSpaceOrTab(value.charAt(0)) && !isSpaceOrTab(value.charAt(n - 1));
            for (int i = 0; ok && i < n; i++) {
                char c = value.charAt(i);
                ok = (c >= ' ' || c == '\t') && c != 0x7f && c <= 0xff;
            }
            return ok;
        }

        private static boolean isSpaceOrTab(char c) {
            return c == ' ' || c == '\t';
        }

        /** The value in quotes, its control characters and those past U+00FF written as {@code \\uXXXX}. */
        private static String quoted(String value) {
            StringBuilder sb = new StringBuilder(value.length() + 2).append('"');
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c < ' ' || c == 0x7f || c > 0xff) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
            return sb.append('"').toString();
        }
    }
}
