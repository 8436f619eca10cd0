package io.lodestone.core.route;

import io.lodestone.core.limit.RateLimit;
import java.util.regex.Pattern;

/** What a rule does when its condition holds. Immutable; checked when made. */
final class Action {

    /** The kinds of action; the first five end evaluation. */
    enum Kind {
        USE, DENY, REDIRECT_LOCATION, REDIRECT_SCHEME, REDIRECT_PREFIX, RESPOND,
        REQUEST_HEADER, RESPONSE_HEADER, STRIP_PREFIX, REPLACE_PREFIX, REPLACE_PATH, SET_HOST,
        /** Goes on when the request's bucket has a token, else ends evaluation with 429. */
        RATE_LIMIT;

        boolean terminal() {
            return ordinal() <= RESPOND.ordinal();
        }
    }

    final Kind kind;
    final int status;
    /** Backend, location, scheme, prefix, body, strip prefix, replaced prefix, host: the main argument. */
    final String a;
    /** Backup backend, content type, replacement, redirect port ({@code ":8443"}, "" for the scheme's default): the second argument. */
    final String b;
    final HeaderEdit edit;
    final Pattern pattern;
    /** The limit of a {@link Kind#RATE_LIMIT} action, else {@code null}. */
    final RateLimit limit;

    private Action(Kind kind, int status, String a, String b, HeaderEdit edit, Pattern pattern) {
        this(kind, status, a, b, edit, pattern, null);
    }

    private Action(Kind kind, int status, String a, String b, HeaderEdit edit, Pattern pattern, RateLimit limit) {
        this.kind = kind;
        this.status = status;
        this.a = a;
        this.b = b;
        this.edit = edit;
        this.pattern = pattern;
        this.limit = limit;
    }

    static Action of(Kind kind, int status, String a, String b) {
        return new Action(kind, status, a, b, null, null);
    }

    static Action edit(Kind kind, HeaderEdit edit) {
        return new Action(kind, 0, null, null, edit, null);
    }

    static Action replacePath(Pattern pattern, String replacement) {
        return new Action(Kind.REPLACE_PATH, 0, null, replacement, null, pattern);
    }

    static Action rateLimit(RateLimit limit) {
        return new Action(Kind.RATE_LIMIT, 429, null, null, null, null, limit);
    }

    /** Whether an L4 frontend can carry it out. */
    boolean worksOnConnections() {
        return kind == Kind.USE || kind == Kind.DENY || kind == Kind.RATE_LIMIT && !limit.readsHttp();
    }

    @Override
    public String toString() {
        switch (kind) {
            case USE:
                return "use " + a + (b == null ? "" : " (backup " + b + ")");
            case DENY:
                return "deny " + status;
            case REDIRECT_LOCATION:
                return "redirect location " + a + " code " + status;
            case REDIRECT_SCHEME:
                return "redirect scheme " + a + (b == null ? "" : " port " + (b.isEmpty() ? "default" : b.substring(1))) + " code " + status;
            case REDIRECT_PREFIX:
                return "redirect prefix " + a + " code " + status;
            case RESPOND:
                return "respond " + status;
            case REQUEST_HEADER:
                return "request " + edit;
            case RESPONSE_HEADER:
                return "response " + edit;
            case STRIP_PREFIX:
                return "strip prefix " + a;
            case REPLACE_PREFIX:
                return "replace prefix " + a + " with " + b;
            case REPLACE_PATH:
                return "replace path " + pattern.pattern() + " with " + b;
            case RATE_LIMIT:
                return "rate limit " + limit;
            default:
                return "set host " + a;
        }
    }
}
