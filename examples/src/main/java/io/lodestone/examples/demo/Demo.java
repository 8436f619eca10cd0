package io.lodestone.examples.demo;

import io.lodestone.core.Backend;
import io.lodestone.core.Frontend;
import io.lodestone.core.Proxy;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.examples.Example;
import io.lodestone.examples.Running;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.PortOption;
import io.lodestone.l7.HttpFrontend;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo that {@code java -jar lodestone-examples.jar} runs: two embedded HTTP backends and a
 * Lodestone gateway in front of them on 127.0.0.1:8080, balancing round robin.
 *
 * <pre>{@code
 * try (Demo demo = Demo.start(0)) {
 *     int port = demo.port();     // curl http://127.0.0.1:PORT/ twice: backend-1, then backend-2
 * }
 * }</pre>
 */
public final class Demo implements Running {

    /** The port the demo gateway listens on unless told otherwise. */
    public static final int DEFAULT_PORT = 8080;

    /** The host the demo listens on: loopback only. */
    public static final String HOST = "127.0.0.1";

    /** The name of the demo's backend. */
    public static final String BACKEND = "hello";

    /** The name of the demo's frontend. */
    public static final String FRONTEND = "demo";

    private final List<EmbeddedHttpServer> servers;
    private final Proxy proxy;

    private Demo(List<EmbeddedHttpServer> servers, Proxy proxy) {
        this.servers = servers;
        this.proxy = proxy;
    }

    /**
     * Starts the two backends and the gateway on {@code 127.0.0.1:port} (0: a port chosen by the OS);
     * returns once all listen.
     *
     * @throws IllegalStateException when a port cannot be bound; whatever had started is closed
     */
    public static Demo start(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        List<EmbeddedHttpServer> servers = new ArrayList<>();
        try {
            servers.add(EmbeddedHttpServer.start("backend-1", HOST, 0));
            servers.add(EmbeddedHttpServer.start("backend-2", HOST, 0));
            Backend.Builder backend = Backend.named(BACKEND).balance(BalancingStrategy.roundRobin());
            for (EmbeddedHttpServer s : servers) {
                backend.server(s.name(), s.hostPort());
            }
            Proxy proxy = Proxy.builder()
                    .backend(backend)
                    .frontend(frontend(HOST + ":" + port))
                    .build();
            proxy.start();
            return new Demo(List.copyOf(servers), proxy);
        } catch (RuntimeException e) {
            servers.forEach(EmbeddedHttpServer::close);
            throw e;
        }
    }

    /**
     * The gateway's frontend: the HTTP engine, so requests (not connections) are balanced, and a
     * keep-alive client still sees both backends.
     */
    private static Frontend.Builder frontend(String address) {
        return HttpFrontend.bind(address).name(FRONTEND).defaultBackend(BACKEND);
    }

    /** The port the gateway listens on. */
    public int port() {
        return proxy.port(FRONTEND);
    }

    /** The gateway's base URL, e.g. {@code http://127.0.0.1:8080/}. */
    public String url() {
        return "http://" + HOST + ":" + port() + "/";
    }

    /** The running proxy, for runtime control. */
    public Proxy proxy() {
        return proxy;
    }

    /** The embedded backends. */
    public List<EmbeddedHttpServer> servers() {
        return servers;
    }

    /** Prints what runs and the curl lines to try. */
    public void printIntro(PrintStream out) {
        out.println("Lodestone demo: a gateway on " + HOST + ":" + port() + " balancing round robin over two HTTP backends");
        for (EmbeddedHttpServer s : servers) {
            out.println("  " + s.name() + " on " + s.hostPort());
        }
        out.println();
        out.println("Try it (each curl opens a new connection, so the answers alternate):");
        out.println("  curl " + url());
        out.println("  curl " + url());
        out.println("  curl " + url() + "any/path?x=1");
        out.println();
        out.println("Ctrl-C stops it (graceful close).");
        out.flush();
    }

    /** Closes the gateway gracefully, then the backends. */
    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            servers.forEach(EmbeddedHttpServer::close);
        }
    }

    /** The demo as a runnable example: {@code run demo [--port N]}. */
    public static Example example() {
        return new DemoExample();
    }

    private static final class DemoExample implements Example {
        @Override
        public String name() {
            return "demo";
        }

        @Override
        public String summary() {
            return "two embedded HTTP backends behind a round-robin gateway on 127.0.0.1:" + DEFAULT_PORT + " (the default command)";
        }

        @Override
        public String options() {
            return PortOption.help(DEFAULT_PORT);
        }

        @Override
        public Running start(List<String> args, PrintStream out) throws UsageException {
            int port = PortOption.parse(args, DEFAULT_PORT);
            Demo demo = Demo.start(port);
            demo.printIntro(out);
            return () -> {
                out.println("demo: stopping (graceful close)");
                out.flush();
                demo.close();
            };
        }
    }
}
