/**
 * The access log: {@link io.lodestone.core.log.AccessLog} (configuration, text and JSON formats, the
 * {@code lodestone.access} logger) and {@link io.lodestone.core.log.AccessLogEntry}, the reusable
 * record an engine fills per request or connection, with the termination state
 * ({@link io.lodestone.core.log.TerminationCause}, {@link io.lodestone.core.log.TerminationPhase}).
 */
package io.lodestone.core.log;
