package io.lodestone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java block of the README's sections on the API (the tour, L4, L7, TLS and HTTP/2, routing,
 * rate limits, operations) compiles against the current public API, as a team copying them would
 * compile them. A fragment is compiled as the body of a method (a class it declares as a member)
 * that sees the names the README leaves to the reader: {@code scheduler}, {@code tls}, {@code proxy},
 * {@code app}, {@code api}, {@code deployExecutor} and a {@code deploy(...)} that returns nothing; a
 * block with its own imports is compiled as it stands. The blocks of the response cache and
 * observability sections are left to their own tests.
 */
class ReadmeSamplesCompileTest {

    private static final List<String> SECTIONS = List.of("## A tour of the API", "## L4:", "## L7:", "## TLS and HTTP/2",
            "## Routing", "## Rate limiting and connection limits", "## Operations:");
    private static final Set<String> LEFT_OUT = Set.of("### Response cache");

    private static final String IMPORTS = """
            import io.lodestone.core.*;
            import io.lodestone.core.balance.*;
            import io.lodestone.core.health.*;
            import io.lodestone.core.limit.*;
            import io.lodestone.core.route.*;
            import io.lodestone.l4.*;
            import io.lodestone.l7.*;
            import io.lodestone.tls.*;
            import java.nio.charset.StandardCharsets;
            import java.nio.file.Path;
            import java.time.Duration;
            import java.util.concurrent.*;
            import java.util.concurrent.atomic.AtomicLong;
            """;

    record Block(int line, String heading, String code) {}

    @Test
    void everyJavaBlockOfTheApiSectionsCompiles(@TempDir Path out) throws Exception {
        List<Block> blocks = blocks(Files.readAllLines(Path.of("..", "README.md"), StandardCharsets.UTF_8));
        assertThat(blocks).as("the README's Java blocks in the API sections").hasSizeGreaterThanOrEqualTo(20);

        List<JavaFileObject> units = new ArrayList<>();
        for (Block b : blocks) {
            units.add(source(b, b.code().startsWith("import ") ? b.code() : wrapped(b)));
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            compiler.getTask(null, files, diagnostics,
                    List.of("-classpath", classPath, "-d", out.toString(), "-proc:none", "-Xlint:none"), null, units).call();
        }
        List<String> errors = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
                ReadmeSource source = (ReadmeSource) d.getSource();
                String[] lines = source.code.split("\n", -1);
                String at = d.getLineNumber() >= 1 && d.getLineNumber() <= lines.length ? lines[(int) d.getLineNumber() - 1].strip() : "?";
                errors.add(source.getName() + " (" + source.block.heading() + "), at `" + at + "`: " + d.getMessage(Locale.ROOT));
            }
        }
        assertThat(errors).as("compile errors in the README's samples").isEmpty();
    }

    /** The Java blocks under the API sections, with the README line of their opening fence. */
    static List<Block> blocks(List<String> readme) {
        List<Block> blocks = new ArrayList<>();
        String h2 = "";
        String h3 = "";
        for (int i = 0; i < readme.size(); i++) {
            String line = readme.get(i);
            if (line.startsWith("## ")) {
                h2 = line;
                h3 = "";
            } else if (line.startsWith("### ")) {
                h3 = line;
            } else if (line.equals("```java")) {
                int start = i + 1;
                StringBuilder code = new StringBuilder();
                for (i = start; i < readme.size() && !readme.get(i).equals("```"); i++) {
                    code.append(readme.get(i)).append('\n');
                }
                String section = h2;
                if (SECTIONS.stream().anyMatch(section::startsWith) && !LEFT_OUT.contains(h3)) {
                    blocks.add(new Block(start, h3.isEmpty() ? h2 : h2 + " / " + h3, code.toString()));
                }
            }
        }
        return blocks;
    }

    /** A fragment as a method body of a class of its own; a member class it declares stays a member. */
    private static String wrapped(Block b) {
        StringBuilder members = new StringBuilder();
        StringBuilder body = new StringBuilder();
        boolean inClass = false;
        for (String line : b.code().split("\n", -1)) {
            if (line.startsWith("final class ") || line.startsWith("class ")) {
                inClass = true;
            }
            (inClass ? members : body).append(line).append('\n');
            if (inClass && line.equals("}")) {
                inClass = false;
            }
        }
        return IMPORTS + "class " + className(b) + " {\n"
                + "    ScheduledExecutorService scheduler;\n"
                + "    ServerTls tls;\n"
                + "    Proxy proxy;\n"
                + "    Backend app;\n"
                + "    Backend api;\n"
                + "    Executor deployExecutor;\n"
                + "    static void deploy(Object target) {}\n"
                + members
                + "    void sample() throws Exception {\n" + body + "\n;\n    }\n}\n";
    }

    private static String className(Block b) {
        return "ReadmeSampleAtLine" + b.line();
    }

    private static JavaFileObject source(Block b, String code) {
        String name = b.code().startsWith("import ") ? declaredClass(b.code()) : className(b);
        return new ReadmeSource(name, b, code);
    }

    /** The name of the public (or first) class a self-contained block declares. */
    private static String declaredClass(String code) {
        Matcher m = Pattern.compile("(?m)^(?:public )?(?:final )?class (\\w+)").matcher(code);
        assertThat(m.find()).as("a class in a block with imports").isTrue();
        return m.group(1);
    }

    /** A compilation unit in memory, named after the README line its block starts at. */
    static final class ReadmeSource extends SimpleJavaFileObject {
        final Block block;
        private final String code;

        ReadmeSource(String className, Block block, String code) {
            super(URI.create("string:///" + className + Kind.SOURCE.extension), Kind.SOURCE);
            this.block = block;
            this.code = code;
        }

        @Override
        public String getName() {
            return "README.md line " + block.line();
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return code;
        }
    }
}
