package io.lodestone.core.log;

import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log: one line per HTTP request or TCP connection, at INFO level, through the slf4j
 * logger named {@value #LOGGER_NAME}. Its format is chosen in configuration; whether it is written
 * at all is also up to the logging configuration of that logger.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.builder()
 *     .accessLog(AccessLog.json())   // or AccessLog.text(); AccessLog.off() is the default
 *     ...
 *     .build();
 * }</pre>
 *
 * <p>Engines check {@link #isEnabled()} before filling an {@link AccessLogEntry}, so that nothing is
 * built, not even a string, when the log is off or the logger is disabled. The formats are described
 * in the README's Observability section: a text format in HAProxy's spirit and a JSON object per line.
 */
public final class AccessLog {

    /** The name of the slf4j logger the lines go to. */
    public static final String LOGGER_NAME = "lodestone.access";

    /** A format of the access log. */
    public enum Format {
        /** One space-separated line in HAProxy's spirit. */
        TEXT,
        /** One JSON object per line. */
        JSON,
        /** No access log. */
        OFF
    }

    private static final int MAX_KEPT_CAPACITY = 8192;
    private static final ThreadLocal<StringBuilder> BUFFERS = ThreadLocal.withInitial(() -> new StringBuilder(512));
    private static final AccessLog OFF = new AccessLog(Format.OFF, null, null);

    private final Format format;
    private final Logger logger;
    private final EntryFormatter formatter;

    AccessLog(Format format, Logger logger, EntryFormatter formatter) {
        this.format = format;
        this.logger = logger;
        this.formatter = formatter;
    }

    /** {@return the text format, through the logger {@value #LOGGER_NAME}} */
    public static AccessLog text() {
        return new AccessLog(Format.TEXT, LoggerFactory.getLogger(LOGGER_NAME), TextFormat.INSTANCE);
    }

    /** {@return the JSON format, through the logger {@value #LOGGER_NAME}} */
    public static AccessLog json() {
        return new AccessLog(Format.JSON, LoggerFactory.getLogger(LOGGER_NAME), JsonFormat.INSTANCE);
    }

    /**
     * The text format, through {@code logger} instead of {@value #LOGGER_NAME}: for an application
     * that keeps one logger per proxy, or a test that captures the lines.
     *
     * @param logger the logger to write through
     * @return the text format, through {@code logger} instead of {@value #LOGGER_NAME}: for an application
     *     that keeps one logger per proxy, or a test that captures the lines
     */
    public static AccessLog text(Logger logger) {
        return new AccessLog(Format.TEXT, Objects.requireNonNull(logger, "logger"), TextFormat.INSTANCE);
    }

    /**
     * The JSON format, through {@code logger} instead of {@value #LOGGER_NAME} (see {@link #text(Logger)}).
     *
     * @param logger the logger to write through
     * @return the JSON format, through {@code logger} instead of {@value #LOGGER_NAME} (see {@link
     *     #text(Logger)})
     */
    public static AccessLog json(Logger logger) {
        return new AccessLog(Format.JSON, Objects.requireNonNull(logger, "logger"), JsonFormat.INSTANCE);
    }

    /**
     * No access log.
     *
     * @return an access log that writes nothing
     */
    public static AccessLog off() {
        return OFF;
    }

    /**
     * Returns the access log of a format by its name, as a command line gives it: {@code text},
     * {@code json} or {@code off}, in any case.
     *
     * @param format {@code text}, {@code json} or {@code off}
     * @return the access log of a format by its name, as a command line gives it: {@code text}, {@code json}
     *     or {@code off}, in any case
     * @throws IllegalArgumentException for any other name
     */
    public static AccessLog of(String format) {
        Objects.requireNonNull(format, "format");
        return switch (format.toLowerCase(Locale.ROOT)) {
            case "text" -> text();
            case "json" -> json();
            case "off" -> off();
            default -> throw new IllegalArgumentException("access log format: " + format + " (expected: text, json or off)");
        };
    }

    /** {@return the format} */
    public Format format() {
        return format;
    }

    /**
     * Whether a line would be written now: the format is not {@code OFF} and the logger is enabled
     * at INFO. Cheap; engines call it before filling an entry.
     *
     * @return whether a line would be written now: the format is not {@code OFF} and the logger is enabled at
     *     INFO
     */
    public boolean isEnabled() {
        return logger != null && logger.isInfoEnabled();
    }

    /**
     * Writes the entry as one line when {@link #isEnabled()}; does nothing otherwise. Reuses a
     * per-thread buffer, so the only allocation is the line itself.
     *
     * @param entry the entry
     */
    public void log(AccessLogEntry entry) {
        if (!isEnabled()) {
            return;
        }
        StringBuilder sb = BUFFERS.get();
        sb.setLength(0);
        formatter.format(entry, sb);
        logger.info(sb.toString());
        if (sb.capacity() > MAX_KEPT_CAPACITY) {
            BUFFERS.set(new StringBuilder(512));
        }
    }

    /**
     * Appends the entry, formatted, to {@code out}, whether the logger is enabled or not; for tests
     * and for applications that ship the lines elsewhere. Appends nothing when the format is {@code OFF}.
     *
     * @param entry the entry
     * @param out where the line is appended
     */
    public void format(AccessLogEntry entry, StringBuilder out) {
        if (formatter != null) {
            formatter.format(Objects.requireNonNull(entry, "entry"), out);
        }
    }

    @Override
    public String toString() {
        return "AccessLog(" + format.name().toLowerCase(Locale.ROOT) + ")";
    }
}
