package io.lodestone.examples.gateway;

import java.io.PrintStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * The launcher's access log: an slf4j logger that prints each entry as one line on a stream with
 * nothing added, so that {@code --access-log json} gives one JSON object per line, ready for
 * {@code jq} or a log shipper, and {@code --access-log text} the text line alone. (Through the
 * jar's slf4j-simple, each line would carry a time, a level and a logger name in front.)
 *
 * <p>The event loops never write to the stream themselves: they queue each line, at most
 * {@link #CAPACITY} of them, and one thread writes them. When the stream does not keep up (a full
 * pipe, a stopped reader), the lines beyond the queue are dropped and counted, and the count is
 * logged at WARN once the writer catches up, as HAProxy drops what its log output cannot take; the
 * proxy keeps serving. {@link #close()} writes what is queued before it returns.
 */
final class AccessLogLines extends AbstractLogger implements AutoCloseable {

    private static final long serialVersionUID = 1L;

    /** The most lines queued for the writer thread. */
    static final int CAPACITY = 16_384;

    private static final Logger LOG = LoggerFactory.getLogger(AccessLogLines.class);

    /** Marks the end of the lines: the writer thread stops when it takes it. */
    private static final String END = new String("end");

    private final transient PrintStream out;
    private final transient BlockingQueue<String> lines = new ArrayBlockingQueue<>(CAPACITY);
    private final transient LongAdder dropped = new LongAdder();
    private final transient Thread writer;

    AccessLogLines(String name, PrintStream out) {
        this.name = name;
        this.out = out;
        this.writer = new Thread(this::write, "lodestone-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    /** The lines dropped so far because the stream did not keep up. */
    long dropped() {
        return dropped.sum();
    }

    private void write() {
        long reported = 0;
        try {
            while (true) {
                String line = lines.take();
                if (line == END) {
                    return;
                }
                out.println(line);
                if (lines.isEmpty()) {
                    out.flush();
                    long lost = dropped.sum();
                    if (lost != reported) {
                        LOG.warn("access log: {} lines dropped since the start: standard output did not keep up", lost);
                        reported = lost;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes the lines queued so far (up to five seconds), then stops the writer thread. */
    @Override
    public void close() {
        try {
            if (lines.offer(END, 5, TimeUnit.SECONDS)) {
                writer.join(TimeUnit.SECONDS.toMillis(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.interrupt();
        out.flush();
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String messagePattern, Object[] arguments,
            Throwable throwable) {
        String line = arguments == null || arguments.length == 0 ? messagePattern
                : MessageFormatter.basicArrayFormat(messagePattern, arguments);
        if (!lines.offer(line)) {
            dropped.increment();
        }
    }

    @Override
    public boolean isTraceEnabled() {
        return false;
    }

    @Override
    public boolean isTraceEnabled(Marker marker) {
        return false;
    }

    @Override
    public boolean isDebugEnabled() {
        return false;
    }

    @Override
    public boolean isDebugEnabled(Marker marker) {
        return false;
    }

    @Override
    public boolean isInfoEnabled() {
        return true;
    }

    @Override
    public boolean isInfoEnabled(Marker marker) {
        return true;
    }

    @Override
    public boolean isWarnEnabled() {
        return true;
    }

    @Override
    public boolean isWarnEnabled(Marker marker) {
        return true;
    }

    @Override
    public boolean isErrorEnabled() {
        return true;
    }

    @Override
    public boolean isErrorEnabled(Marker marker) {
        return true;
    }
}
