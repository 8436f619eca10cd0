package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's launcher section against the launcher: the flag table, {@code --help} and the parser
 * know the same flags, and the example commands parse as written. Benchmarks and black-box checks
 * drive the gateway through these flags, so a flag one of them lacks is a broken contract.
 */
class GatewayReadmeTest {

    private static String launcherSection() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        int start = readme.indexOf("\n## The gateway launcher\n");
        assertThat(start).as("the README has the launcher section").isPositive();
        int end = readme.indexOf("\n## ", start + 1);
        return readme.substring(start, end < 0 ? readme.length() : end);
    }

    private static Set<String> matches(String text, String regex) {
        Set<String> found = new TreeSet<>();
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(text);
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }

    @Test
    void theReadmeTableTheHelpAndTheParserKnowTheSameFlags() throws Exception {
        Set<String> readme = matches(launcherSection(), "^\\| `(--[a-z0-9-]+)");
        MainRunner r = MainRunner.complete("gateway", "--help");
        assertThat(r.awaitStatus()).isZero();
        Set<String> help = matches(r.out(), "^  (--[a-z0-9-]+)");
        help.remove("--help");
        Set<String> parser = new TreeSet<>(GatewayOptions.flags());
        assertThat(readme).as("the README's flag table").isEqualTo(parser);
        assertThat(help).as("--help").isEqualTo(parser);
    }

    @Test
    void theReadmesExampleCommandsParse() throws Exception {
        String section = launcherSection().replace("\\\n", " ");
        List<List<String>> commands = new ArrayList<>();
        for (String line : section.split("\n")) {
            int at = line.indexOf("lodestone-examples.jar gateway ");
            if (at >= 0 && !line.contains("--help")) {
                String args = line.substring(at + "lodestone-examples.jar gateway ".length()).trim();
                commands.add(Arrays.asList(args.split("\\s+")));
            }
        }
        assertThat(commands).as("the README's launcher examples").hasSizeGreaterThanOrEqualTo(5);
        for (List<String> args : commands) {
            // parsing reads no file: the certificates the examples name need not exist
            assertThat(GatewayOptions.parse(args).listen()).as("%s", args).isNotNull();
        }
    }
}
