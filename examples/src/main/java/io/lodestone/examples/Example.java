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

    /**
     * Returns an example whose only option is {@code --port N} (see {@link io.lodestone.examples.support.PortOption}).
     *
     * @param starter starts the example on the port given (or {@code defaultPort})
     */
    static Example withPort(String name, String summary, int defaultPort, PortStarter starter) {
        return new Example() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public String summary() {
                return summary;
            }

            @Override
            public String options() {
                return io.lodestone.examples.support.PortOption.help(defaultPort);
            }

            @Override
            public Running start(List<String> args, PrintStream out) throws Exception {
                return starter.start(io.lodestone.examples.support.PortOption.parse(args, defaultPort), out);
            }
        };
    }

    /** Starts an example on a port. */
    @FunctionalInterface
    interface PortStarter {
        /** Starts the example on {@code port} and prints what to try on {@code out}. */
        Running start(int port, PrintStream out) throws Exception;
    }
}
