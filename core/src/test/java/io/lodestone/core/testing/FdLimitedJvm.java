package io.lodestone.core.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Proxy;
import io.lodestone.core.metrics.ServerSnapshot;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A child JVM, on this test's class path and transport, started under {@code ulimit -n}, that runs
 * a proxy and answers commands read from its standard input: for tests of what the proxy does when
 * the process has no file descriptor left, which a test JVM cannot do to itself.
 *
 * <p>The child's {@code main} starts a proxy and calls {@link #serve}, which prints {@code port N}
 * (the proxy's) and then runs each command line through the given function and prints its answer,
 * ended by a line {@code end}. The command {@code fill} (built in) waits until the proxy has no
 * connection open, opens {@code /dev/null} until no descriptor is left, then closes one, so that
 * exactly one is free: the next connection the proxy accepts takes it, and the socket of its server
 * connection cannot be made ({@code EMFILE}). {@code exhaust} takes every descriptor still free (or
 * freed since), and {@code free} closes them all again.
 *
 * <pre>{@code
 * try (FdLimitedJvm child = FdLimitedJvm.start(MyChild.class, 256, dir)) {
 *     child.command("fill");
 *     // connect to child.port(): the proxy accepts, and cannot connect to its server
 * }
 * }</pre>
 */
public final class FdLimitedJvm implements AutoCloseable {

    private final Process process;
    private final OutputStream commands;
    private final BufferedReader answers;
    private final List<String> output = new ArrayList<>();
    private final int port;

    private FdLimitedJvm(Process process) throws IOException {
        this.process = process;
        this.commands = process.getOutputStream();
        this.answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = answers.readLine()) != null && !line.startsWith("port ")) {
            output.add(line);
        }
        assertThat(line).as("the child printed its port; it printed " + output).isNotNull();
        this.port = Integer.parseInt(line.substring(5).trim());
    }

    /**
     * Starts {@code main} (a class with a {@code main} that calls {@link #serve}) with {@code args}
     * under a limit of {@code fdLimit} open files; its standard error goes to {@code dir}.
     */
    public static FdLimitedJvm start(Class<?> main, int fdLimit, Path dir, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // the JIT's compiler threads, when they decide whether to start another, read the cgroup's
        // memory files: a descriptor held for a moment by a thread other than fill's, which made the
        // fill stop one short and then left two descriptors free (strace showed it); fixing their
        // number keeps every other thread from opening files while the fill runs
        StringBuilder cmd = new StringBuilder("ulimit -n ").append(fdLimit).append(" && exec '").append(java)
                .append("' -Xmx64m -XX:TieredStopAtLevel=1 -XX:-UseDynamicNumberOfCompilerThreads -Dlodestone.transport=")
                .append(System.getProperty("lodestone.transport", "io_uring"))
                .append(" -cp '").append(System.getProperty("java.class.path")).append("' '").append(main.getName()).append('\'');
        for (String a : args) {
            cmd.append(" '").append(a).append('\'');
        }
        Process p = new ProcessBuilder("sh", "-c", cmd.toString())
                .redirectError(dir.resolve("child-stderr.log").toFile())
                .start();
        try {
            return new FdLimitedJvm(p);
        } catch (IOException | RuntimeException | AssertionError e) {
            p.destroyForcibly();
            throw e;
        }
    }

    /** The port of the child's frontend. */
    public int port() {
        return port;
    }

    /** Runs one command in the child and returns its answer, the lines before {@code end}. */
    public List<String> command(String command) throws IOException {
        commands.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        commands.flush();
        List<String> answer = new ArrayList<>();
        String line;
        while ((line = answers.readLine()) != null && !line.equals("end")) {
            answer.add(line);
        }
        assertThat(line).as("the child answered " + command + "; it printed " + answer).isNotNull();
        return answer;
    }

    /**
     * Runs {@code command} in the child until its answer has at least {@code n} lines (within
     * {@link #PATIENCE}) and returns that answer: for a child's access log, whose lines come after
     * the exchange they log.
     */
    public List<String> awaitLines(String command, int n) {
        List<List<String>> last = new ArrayList<>(List.of(List.of()));
        Await.until(PATIENCE, n + " lines from " + command + "; got " + last, () -> {
            try {
                last.set(0, command(command));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return last.get(0).size() >= n;
        });
        return last.get(0);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * The child's side: prints {@code port} and answers commands from standard input until it ends,
     * {@code fill} and {@code free} built in, the others through {@code commands} (one answer line
     * per element).
     */
    /**
     * {@link #serve} with two commands: {@code stats}, each server of {@code backend}'s load, connect
     * errors and redispatches (a line each, "s1 load 0"), and {@code log}, the lines {@code log} kept.
     */
    public static void serveServerStats(Proxy proxy, String backend, CapturingLogger log) throws IOException {
        serve(proxy, command -> switch (command) {
            case "stats" -> {
                List<String> out = new ArrayList<>();
                for (ServerSnapshot s : proxy.metrics().backend(backend).servers()) {
                    out.add(s.name() + " load " + s.status().load());
                    out.add(s.name() + " connect errors " + s.traffic().errors().connect());
                    out.add(s.name() + " redispatches " + s.traffic().redispatches());
                }
                yield out;
            }
            case "log" -> log.lines();
            default -> List.of("unknown command " + command);
        });
    }

    public static void serve(Proxy proxy, Function<String, List<String>> commands) throws IOException {
        loadOwnClasses();
        System.out.println("port " + proxy.port());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<FileInputStream> filler = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            List<String> answer = switch (line) {
                case "fill" -> fill(proxy, filler);
                case "exhaust" -> exhaust(filler);
                case "free" -> free(filler);
                default -> commands.apply(line);
            };
            for (String a : answer) {
                System.out.println(a);
            }
            System.out.println("end");
            System.out.flush();
        }
    }

    /**
     * Loads every class found in a directory of the class path (the modules' own classes, which a
     * reactor build does not put in jars for the module under test): at the limit, loading a class
     * from a directory takes a descriptor, which loading it from a jar, opened once, does not, and a
     * class the failure path meets for the first time would fail to load.
     */
    private static void loadOwnClasses() throws IOException {
        ClassLoader loader = FdLimitedJvm.class.getClassLoader();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path root = Path.of(entry);
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : (Iterable<Path>) files.filter(x -> x.toString().endsWith(".class"))::iterator) {
                    String name = root.relativize(f).toString();
                    name = name.substring(0, name.length() - ".class".length()).replace(File.separatorChar, '.');
                    try {
                        Class.forName(name, false, loader);
                    } catch (ClassNotFoundException | LinkageError e) {
                        // a class that cannot be loaded here is not one the proxy uses
                    }
                }
            }
        }
    }

    private static List<String> fill(Proxy proxy, List<FileInputStream> filler) {
        // the count is taken once every connection the proxy closed has given its descriptor back: on
        // io_uring that comes after the channel's close, when the ring has run the close
        Await.until(PATIENCE, "the proxy's connections closed", () -> proxy.metrics().frontends().stream()
                .allMatch(f -> f.traffic().currentConnections() == 0) && closingSockets() == 0);
        while (true) {
            try {
                filler.add(new FileInputStream("/dev/null"));
            } catch (IOException e) {
                break;
            }
        }
        try {
            filler.remove(filler.size() - 1).close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.of("filled " + filler.size());
    }

    /** Takes every descriptor still free, or freed since the last time. */
    private static List<String> exhaust(List<FileInputStream> filler) {
        while (true) {
            try {
                filler.add(new FileInputStream("/dev/null"));
            } catch (IOException e) {
                return List.of("exhausted " + filler.size());
            }
        }
    }

    /**
     * The TCP sockets this process still has a descriptor of that neither listen nor are established:
     * connections closed (or closing) whose descriptor is not closed yet.
     */
    private static int closingSockets() {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException closedMeanwhile) {
                    // gone since the listing
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int closing = 0;
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    // sl local remote st ... inode; 0A is LISTEN, 01 ESTABLISHED
                    if (f.length > 9 && inodes.remove(f[9]) && !f[3].equals("0A") && !f[3].equals("01")) {
                        closing++;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        // a TCP socket already closed (out of the tables) whose descriptor the ring has not closed yet
        // is in no table at all; the process's other sockets are Unix ones
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/net/unix"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 6) {
                    inodes.remove(f[6]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return closing + inodes.size();
    }

    private static List<String> free(List<FileInputStream> filler) {
        for (FileInputStream f : filler) {
            try {
                f.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        int n = filler.size();
        filler.clear();
        return List.of("freed " + n);
    }

    /** How long a test waits for the child's proxy to act. */
    public static final Duration PATIENCE = Duration.ofSeconds(10);
}
