package io.lodestone.core.route;

import io.lodestone.core.route.internal.HttpParts;
import java.util.List;

/**
 * What a {@link Router} chose for one request or connection: forward it to a backend, deny it,
 * redirect it, or answer it directly. Each says which rule matched and why ({@link #matched()}).
 *
 * <pre>{@code
 * Decision d = proxy.route(TestRequest.get("/admin").host("example.com"));
 * assertThat(d).isInstanceOf(Decision.Deny.class);
 * assertThat(d.matched().name()).isEqualTo("no-admin");
 * }</pre>
 *
 * <p>An L4 engine forwards on {@link Forward} and closes the connection on anything else.
 */
public sealed interface Decision permits Decision.Forward, Decision.Deny, Decision.Redirect, Decision.Respond {

    /** {@return the rule that made this decision} */
    MatchedRule matched();

    /**
     * Header changes for the response sent to the client, in order; empty when none.
     *
     * @return header changes for the response sent to the client, in order; empty when none
     */
    List<HeaderEdit> responseHeaders();

    /**
     * Forward to a backend.
     *
     * @param backend the backend to send to (the backup backend when the primary had no usable server)
     * @param requestHeaders header changes for the request sent to the backend, in order
     * @param responseHeaders header changes for the response sent to the client, in order
     * @param path the rewritten path (percent-encoded, without query), or {@code null} to send the
     *     raw path unchanged but for its leading slashes ({@link #target})
     * @param host the Host header to send instead of the client's, or {@code null}
     * @param matched the rule that chose the backend
     */
    record Forward(String backend, List<HeaderEdit> requestHeaders, List<HeaderEdit> responseHeaders,
            String path, String host, MatchedRule matched) implements Decision {

        /**
         * The request target to send: the rewritten path, or the raw path, followed by the query
         * when the request has one; a run of slashes (and backslashes) at its start is folded into
         * one, so {@code //evil/admin} is sent as {@code /evil/admin}, the path rules read, and no
         * server that parses it as a URL reference reads it as host {@code evil}, path {@code /admin}.
         *
         * @param request the request decided
         * @return the request target to send: the rewritten path, or the raw path, followed by the query when
         *     the request has one; a run of slashes (and backslashes) at its start is folded into one, so
         *     {@code //evil/admin} is sent as {@code /evil/admin}, the path rules read, and no server that
         *     parses it as a URL reference reads it as host {@code evil}, path {@code /admin}
         */
        public String target(RequestView request) {
            String p = HttpParts.foldLeadingSlashes(path != null ? path : request.rawPath());
            String q = request.query();
            return q == null ? p : p + "?" + q;
        }
    }

    /**
     * Refuse the request with an error status (at L4: close the connection).
     *
     * @param status 400..599
     * @param body a {@code text/plain; charset=utf-8} body
     */
    record Deny(int status, String body, List<HeaderEdit> responseHeaders, MatchedRule matched) implements Decision {

        /**
         * Whether the body is the default one {@link Rule.Builder#deny(int)} gives: the status's
         * reason phrase and a newline, as the 429 of a rate limit and the 503 of a request no rule
         * routes have too. An HTTP engine answers such a deny with the frontend's error page for the
         * status when it has one; a rule's own body always wins.
         *
         * @return whether the body is the default one {@link Rule.Builder#deny(int)} gives: the status's
         *     reason phrase and a newline, as the 429 of a rate limit and the 503 of a request no rule routes
         *     have too
         */
        public boolean hasDefaultBody() {
            return body.equals(Statuses.reason(status) + "\n");
        }
    }

    /**
     * Redirect the client.
     *
     * @param status 301, 302, 303, 307 or 308
     * @param location the {@code Location} header value
     */
    record Redirect(int status, String location, List<HeaderEdit> responseHeaders, MatchedRule matched) implements Decision {
    }

    /**
     * Answer directly, without a backend.
     *
     * @param status 200..599
     * @param contentType the {@code Content-Type} header value
     * @param body the body, sent as UTF-8
     */
    record Respond(int status, String contentType, String body, List<HeaderEdit> responseHeaders,
            MatchedRule matched) implements Decision {
    }
}
