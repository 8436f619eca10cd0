package io.lodestone.core.log;

/** Writes one access log entry as one line (without a line end). */
@FunctionalInterface
interface EntryFormatter {

    /** Appends the entry to {@code out}. */
    void format(AccessLogEntry entry, StringBuilder out);
}
