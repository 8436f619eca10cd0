package io.lodestone.examples;

import io.lodestone.examples.canary.Canary;
import io.lodestone.examples.checks.RoundRobinWithChecks;
import io.lodestone.examples.demo.Demo;
import io.lodestone.examples.gateway.Gateway;
import io.lodestone.examples.ha.HighAvailability;
import io.lodestone.examples.rolling.RollingUpdateExample;
import io.lodestone.examples.haproxyseed.HaproxySeed;
import io.lodestone.examples.https.HttpsExample;
import io.lodestone.examples.snipassthrough.SniPassthrough;
import io.lodestone.examples.nginxpaths.NginxPaths;
import io.lodestone.examples.staticcache.StaticCache;
import io.lodestone.examples.vhosts.VirtualHosts;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * The entry point of {@code lodestone-examples.jar}.
 *
 * <pre>
 * java -jar examples/target/lodestone-examples.jar                  # the demo
 * java -jar examples/target/lodestone-examples.jar list             # the runnable examples
 * java -jar examples/target/lodestone-examples.jar run demo --port 9090
 * java -jar examples/target/lodestone-examples.jar gateway --mode tcp --listen 127.0.0.1:8080 --backend 127.0.0.1:9001,127.0.0.1:9002
 * </pre>
 *
 * <p>Exit status: 0 after a graceful stop or for {@code list} and {@code --help}; 1 when a command
 * cannot start (a port in use); 2 for a command line it does not understand.
 */
public final class Main {

    private static final String LEAK_DETECTION = "io.netty.leakDetection.level";

    private Main() {
    }

    /**
     * Runs the command line and exits with its status.
     *
     * <p>Netty's buffer leak detector is off in this launcher unless the JVM is started with
     * {@code -Dio.netty.leakDetection.level=...}: its default sampling records a stack trace for one
     * buffer in 128, which costs about half a percent of the CPU of a small proxied request and tells
     * an operator nothing. The tests run with it at {@code paranoid}.
     */
    public static void main(String[] args) {
        if (System.getProperty(LEAK_DETECTION) == null) {
            System.setProperty(LEAK_DETECTION, "disabled");
        }
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the command line; long-running commands run until the JVM shuts down.
     *
     * @return the exit status
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Lifetime.untilShutdown());
    }

    /**
     * Runs the command line; long-running commands run until {@code lifetime} ends.
     *
     * @return the exit status
     */
    public static int run(String[] args, PrintStream out, PrintStream err, Lifetime lifetime) {
        List<String> list = Arrays.asList(args);
        if (list.isEmpty()) {
            return runExample(Demo.example(), List.of(), out, err, lifetime);
        }
        String command = list.get(0);
        List<String> rest = list.subList(1, list.size());
        switch (command) {
            case "--help":
            case "-h":
            case "help":
                out.print(usage());
                return 0;
            case "list":
                if (!rest.isEmpty()) {
                    return usageError(err, "list: unexpected argument: " + rest.get(0));
                }
                int width = examples().stream().mapToInt(e -> e.name().length()).max().orElse(0);
                for (Example e : examples()) {
                    out.printf("%-" + width + "s  %s%n", e.name(), e.summary());
                }
                return 0;
            case "run":
                if (rest.isEmpty()) {
                    return usageError(err, "run: missing example name (one of: " + names() + ")");
                }
                Example example = example(rest.get(0));
                if (example == null) {
                    return usageError(err, "run: unknown example: " + rest.get(0) + " (one of: " + names() + ")");
                }
                return runExample(example, rest.subList(1, rest.size()), out, err, lifetime);
            case "gateway":
                return Gateway.run(rest, out, err, lifetime);
            default:
                return usageError(err, "unknown command: " + command);
        }
    }

    /** The runnable examples, in the order {@code list} shows them. */
    public static List<Example> examples() {
        return List.of(Demo.example(), NginxPaths.example(), HaproxySeed.example(), VirtualHosts.example(),
                RoundRobinWithChecks.example(), RollingUpdateExample.example(), Canary.example(), HighAvailability.example(),
                HttpsExample.example(), SniPassthrough.example(), StaticCache.example());
    }

    /** The usage text. */
    public static String usage() {
        return String.join("\n",
                "usage: java -jar lodestone-examples.jar [COMMAND]",
                "",
                "  (no command)       run the demo (as: run demo)",
                "  list               name the runnable examples",
                "  run NAME [ARGS]    start an example (run NAME --help for its options)",
                "  gateway ARGS       a gateway configured by flags (gateway --help)",
                "  --help             this text",
                "");
    }

    private static int runExample(Example example, List<String> args, PrintStream out, PrintStream err, Lifetime lifetime) {
        if (args.contains("--help") || args.contains("-h")) {
            out.println("usage: run " + example.name() + (example.options().isEmpty() ? "" : " [OPTIONS]"));
            out.println(example.summary());
            out.print(example.options());
            return 0;
        }
        Running running;
        try {
            running = example.start(args, out);
        } catch (UsageException e) {
            err.println(example.name() + ": " + e.getMessage());
            err.println("Try 'run " + example.name() + " --help'.");
            return 2;
        } catch (Exception e) {
            err.println(example.name() + ": cannot start: " + e.getMessage());
            return 1;
        }
        return lifetime.hold(running);
    }

    private static Example example(String name) {
        for (Example e : examples()) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return null;
    }

    private static String names() {
        StringBuilder sb = new StringBuilder();
        for (Example e : examples()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(e.name());
        }
        return sb.toString();
    }

    private static int usageError(PrintStream err, String message) {
        err.println(message);
        err.print(usage());
        return 2;
    }
}
