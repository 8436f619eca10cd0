/**
 * W3C Trace Context support: {@link io.lodestone.core.trace.TraceContext}, the parsed and validated
 * {@code traceparent}/{@code tracestate} pair, and {@link io.lodestone.core.trace.Tracing}, the
 * configuration of what the proxy does with them.
 */
package io.lodestone.core.trace;
