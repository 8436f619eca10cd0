package io.lodestone.core.trace;

import java.util.Locale;

/**
 * How the HTTP engine treats W3C trace context headers ({@code traceparent}, {@code tracestate}),
 * chosen in configuration.
 *
 * <pre>{@code
 * Proxy.builder().tracing(Tracing.start())   // start a trace when a request has none
 * }</pre>
 *
 * <ul>
 * <li>{@link #off()} (the default): the headers pass as any other header; nothing is parsed and no
 *     trace id is logged.
 * <li>{@link #propagate()}: a valid traceparent (and its trace state, when valid) is passed on and
 *     its trace id logged; an invalid traceparent is removed with its trace state, as the
 *     specification asks of a participant; a request without one is sent without one.
 * <li>{@link #start(boolean)}: as {@code propagate()}, and a request without a valid traceparent
 *     gets a new trace.
 * </ul>
 *
 * <p>By default a valid incoming traceparent is passed on unchanged: the proxy reports no spans of
 * its own, so a parent id of its own would point to a span no tracing system knows.
 * {@link #withHopSpans()} makes the proxy a hop with its own span id instead, for applications that
 * report the proxy's spans themselves.
 */
public final class Tracing {

    private enum Mode { OFF, PROPAGATE, START }

    private static final Tracing OFF = new Tracing(Mode.OFF, false, false);
    private static final Tracing PROPAGATE = new Tracing(Mode.PROPAGATE, false, false);

    private final Mode mode;
    private final boolean sampled;
    private final boolean hopSpans;

    private Tracing(Mode mode, boolean sampled, boolean hopSpans) {
        this.mode = mode;
        this.sampled = sampled;
        this.hopSpans = hopSpans;
    }

    /**
     * Trace headers are left alone.
     *
     * @return the setting that leaves trace headers alone
     */
    public static Tracing off() {
        return OFF;
    }

    /**
     * Valid trace headers are passed on, invalid ones removed; no trace is started.
     *
     * @return the setting that passes valid trace headers on and removes invalid ones
     */
    public static Tracing propagate() {
        return PROPAGATE;
    }

    /**
     * As {@link #propagate()}, and a trace with the sampled flag set is started when a request has none.
     *
     * @return the setting that also starts a sampled trace for a request without one
     */
    public static Tracing start() {
        return start(true);
    }

    /**
     * As {@link #propagate()}, and a trace with the given sampled flag is started when a request has none.
     *
     * @param sampled the sampled flag of the traces started
     * @return the tracing setting
     */
    public static Tracing start(boolean sampled) {
        return new Tracing(Mode.START, sampled, false);
    }

    /**
     * Returns a copy that gives every forwarded request a new parent id, the proxy's own span
     * ({@link TraceContext#child()}); for applications that report the proxy's spans.
     *
     * @return a copy that gives every forwarded request a new parent id, the proxy's own span ({@link
     *     TraceContext#child()}); for applications that report the proxy's spans
     * @throws IllegalStateException on {@link #off()}
     */
    public Tracing withHopSpans() {
        if (mode == Mode.OFF) {
            throw new IllegalStateException("tracing is off: withHopSpans() needs propagate() or start()");
        }
        return new Tracing(mode, sampled, true);
    }

    /** {@return whether engines should call {@link #onRequest}: false for {@link #off()}} */
    public boolean isEnabled() {
        return mode != Mode.OFF;
    }

    /** {@return whether a trace is started for requests without one} */
    public boolean startsTraces() {
        return mode == Mode.START;
    }

    /** {@return whether forwarded requests get the proxy's own span id} */
    public boolean hopSpans() {
        return hopSpans;
    }

    /**
     * Decides the trace context to send upstream for a request that came with these header values
     * ({@code null} when absent). The engine replaces both headers with the result's
     * {@link TraceContext#traceparent()} and {@link TraceContext#traceState()} (removing
     * {@code tracestate} when that is {@code null}), or removes both when the result is {@code null}.
     * Also {@code null} when tracing is {@link #off()}, which engines do not ask.
     *
     * @param traceparent the request's {@code traceparent}, or {@code null}
     * @param tracestate the request's {@code tracestate}, or {@code null}
     * @return the context to send, or {@code null} to remove both headers
     */
    public TraceContext onRequest(CharSequence traceparent, CharSequence tracestate) {
        if (mode == Mode.OFF) {
            return null;
        }
        TraceContext incoming = TraceContext.parse(traceparent, tracestate);
        if (incoming != null) {
            return hopSpans ? incoming.child() : incoming;
        }
        return mode == Mode.START ? TraceContext.newRoot(sampled) : null;
    }

    @Override
    public String toString() {
        return "Tracing(" + mode.name().toLowerCase(Locale.ROOT) + (mode == Mode.START ? ", sampled " + sampled : "")
                + (hopSpans ? ", hop spans" : "") + ")";
    }
}
