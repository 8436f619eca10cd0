package io.lodestone.examples.support;

import io.lodestone.examples.UsageException;
import java.util.List;

/** Reads the {@code --port N} option the runnable examples share; they take no other argument. */
public final class PortOption {

    private PortOption() {
    }

    /** The help line of the option. */
    public static String help(int defaultPort) {
        return "  --port N    the gateway's port (default " + defaultPort + "; 0 lets the OS choose)\n";
    }

    /**
     * Returns the port named by {@code --port N} or {@code --port=N}, or {@code defaultPort}.
     *
     * @throws UsageException naming the flag and value when an argument is not understood
     */
    public static int parse(List<String> args, int defaultPort) throws UsageException {
        int port = defaultPort;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String value;
            if (arg.startsWith("--port=")) {
                value = arg.substring("--port=".length());
            } else if (arg.equals("--port")) {
                if (i + 1 >= args.size()) {
                    throw new UsageException("--port: missing value");
                }
                value = args.get(++i);
            } else {
                throw new UsageException("unknown argument: " + arg + " (expected: --port N)");
            }
            port = port(value);
        }
        return port;
    }

    private static int port(String value) throws UsageException {
        try {
            int port = Integer.parseInt(value);
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below with the flag and value
        }
        throw new UsageException("--port: " + value + " (expected: a port in 0..65535)");
    }
}
