package io.lodestone.examples;

import java.io.PrintStream;
import java.util.List;

/**
 * A runnable example: {@code java -jar lodestone-examples.jar run NAME [ARGS]}. {@link Main} lists
 * them with {@code list}.
 */
public interface Example {

    /** The name given to {@code run}. */
    String name();

    /** One line saying what the example shows. */
    String summary();

    /** The example's options, one per line, for {@code run NAME --help}; empty when it takes none. */
    String options();

    /**
     * Starts the example and returns once it serves, having printed what to try on {@code out}.
     *
     * @throws UsageException when an argument is not understood
     * @throws Exception when it cannot start (a port in use)
     */
    Running start(List<String> args, PrintStream out) throws Exception;
}
