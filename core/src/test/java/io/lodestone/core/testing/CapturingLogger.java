package io.lodestone.core.testing;

import io.lodestone.core.log.AccessLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;

/**
 * An slf4j logger named {@value AccessLog#LOGGER_NAME} that keeps the lines it is given at INFO, for
 * tests of the access log: hand it to {@link AccessLog#text(org.slf4j.Logger)} or
 * {@link AccessLog#json(org.slf4j.Logger)}. Thread-safe; lines arrive from event loops.
 *
 * <pre>{@code
 * CapturingLogger lines = new CapturingLogger();
 * Proxy proxy = Proxy.builder().accessLog(AccessLog.text(lines))...build();
 * String line = lines.await(l -> l.contains(" 502 "));
 * }</pre>
 */
public final class CapturingLogger extends LegacyAbstractLogger {

    private final List<String> lines = new ArrayList<>();
    private final List<Level> levels = new ArrayList<>();
    private volatile boolean infoEnabled;

    /** Creates an empty logger, enabled at INFO. */
    public CapturingLogger() {
        this(true);
    }

    /** Creates an empty logger, enabled at INFO or not. */
    public CapturingLogger(boolean infoEnabled) {
        this.name = AccessLog.LOGGER_NAME;
        this.infoEnabled = infoEnabled;
    }

    /** Turns INFO on or off, as a logging configuration change at run time would. */
    public void infoEnabled(boolean enabled) {
        this.infoEnabled = enabled;
    }

    /** The level of every call that reached the logger, in order. */
    public synchronized List<Level> levels() {
        return List.copyOf(levels);
    }

    /** A copy of the lines logged so far, in order. */
    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** Waits up to 10 seconds for a line that matches and returns the first such line. */
    public String await(Predicate<String> match) {
        String[] found = new String[1];
        Await.until(Duration.ofSeconds(10), "an access log line that matches; got " + lines(), () -> {
            for (String l : lines()) {
                if (match.test(l)) {
                    found[0] = l;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    /** Waits up to 10 seconds until at least {@code n} lines were logged and returns them. */
    public List<String> awaitCount(int n) {
        Await.until(Duration.ofSeconds(10), n + " access log lines; got " + lines(), () -> lines().size() >= n);
        return lines();
    }

    @Override
    public boolean isTraceEnabled() {
        return false;
    }

    @Override
    public boolean isDebugEnabled() {
        return false;
    }

    @Override
    public boolean isInfoEnabled() {
        return infoEnabled;
    }

    @Override
    public boolean isWarnEnabled() {
        return true;
    }

    @Override
    public boolean isErrorEnabled() {
        return true;
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected synchronized void handleNormalizedLoggingCall(Level level, Marker marker, String message, Object[] arguments,
            Throwable t) {
        levels.add(level);
        if (level == Level.INFO) {
            lines.add(message);
        }
    }
}
