package io.lodestone.core.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: it parses every line and
 * throws {@link AssertionError} naming the line at the first departure from the grammar or from these
 * rules: a family's TYPE (and HELP, if any) comes once and before its samples; a family's samples are
 * contiguous; no series appears twice; counters end in {@code _total} and are not negative; summary
 * samples carry a {@code quantile} label in [0, 1], their {@code _sum} and {@code _count} none; label
 * values use only the escapes {@code \\}, {@code \"} and {@code \n}; the text ends with a line feed.
 */
public final class PrometheusChecker {

    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    private final Map<String, String> types = new LinkedHashMap<>();
    private final Map<String, String> helps = new HashMap<>();
    private final Map<String, Double> series = new LinkedHashMap<>();
    private final Set<String> closedFamilies = new HashSet<>();
    private String currentFamily;
    private int lineNumber;
    private String line;

    private PrometheusChecker() {
    }

    /** Parses {@code text} strictly; throws {@link AssertionError} at the first fault. */
    public static PrometheusChecker check(String text) {
        PrometheusChecker c = new PrometheusChecker();
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new AssertionError("the text does not end with a line feed");
        }
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            c.lineNumber++;
            c.line = text.substring(start, end);
            c.parseLine();
            start = end + 1;
        }
        return c;
    }

    /** Family names with their types, in order of appearance. */
    public Map<String, String> types() {
        return types;
    }

    /** The HELP text of a family (unescaped), or {@code null}. */
    public String help(String family) {
        return helps.get(family);
    }

    /** How many samples were read. */
    public int sampleCount() {
        return series.size();
    }

    /**
     * Returns the value of one series, given as a metric name and label name/value pairs in any
     * order; fails when there is no such series.
     */
    public double value(String name, String... labels) {
        Map<String, String> l = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            l.put(labels[i], labels[i + 1]);
        }
        Double v = series.get(key(name, l));
        if (v == null) {
            throw new AssertionError("no series " + key(name, l) + "; have " + series.keySet().stream().filter(k -> k.startsWith(name + "{")).toList());
        }
        return v;
    }

    /** Whether the series exists. */
    public boolean has(String name, String... labels) {
        Map<String, String> l = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            l.put(labels[i], labels[i + 1]);
        }
        return series.containsKey(key(name, l));
    }

    private static String key(String name, Map<String, String> labels) {
        return name + labels;
    }

    private AssertionError fault(String what) {
        return new AssertionError("line " + lineNumber + ": " + what + ": " + line);
    }

    private void parseLine() {
        if (line.isEmpty()) {
            return;
        }
        if (line.startsWith("#")) {
            parseComment();
            return;
        }
        parseSample();
    }

    private void parseComment() {
        String[] parts = line.split(" ", 4);
        if (parts.length < 2 || !parts[0].equals("#") || !(parts[1].equals("HELP") || parts[1].equals("TYPE"))) {
            return;   // a plain comment
        }
        if (parts.length < 3 || !isMetricName(parts[2])) {
            throw fault("bad metric name in " + parts[1]);
        }
        String name = parts[2];
        if (series.keySet().stream().anyMatch(k -> familyOfSeriesKey(k).equals(name))) {
            throw fault(parts[1] + " after samples of " + name);
        }
        if (parts[1].equals("TYPE")) {
            if (parts.length != 4 || !TYPES.contains(parts[3])) {
                throw fault("bad type");
            }
            if (types.put(name, parts[3]) != null) {
                throw fault("second TYPE for " + name);
            }
        } else {
            String text = parts.length == 4 ? parts[3] : "";
            if (helps.put(name, unescape(text, false)) != null) {
                throw fault("second HELP for " + name);
            }
        }
    }

    private String familyOfSeriesKey(String key) {
        String name = key.substring(0, key.indexOf('{'));
        return family(name);
    }

    private String family(String name) {
        for (String suffix : new String[] {"_sum", "_count", "_bucket"}) {
            if (name.endsWith(suffix)) {
                String base = name.substring(0, name.length() - suffix.length());
                String type = types.get(base);
                if ("summary".equals(type) && !suffix.equals("_bucket") || "histogram".equals(type)) {
                    return base;
                }
            }
        }
        return name;
    }

    private void parseSample() {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        if (!isMetricName(name)) {
            throw fault("bad metric name");
        }
        Map<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i = parseLabels(i + 1, labels);
        }
        if (i >= line.length() || line.charAt(i) != ' ') {
            throw fault("expected a space before the value");
        }
        String[] rest = line.substring(i + 1).split(" ", -1);
        if (rest.length > 2 || rest[0].isEmpty()) {
            throw fault("expected a value and an optional timestamp");
        }
        double value = parseValue(rest[0]);
        if (rest.length == 2 && !rest[1].matches("-?[0-9]+")) {
            throw fault("bad timestamp");
        }
        String family = family(name);
        String type = types.get(family);
        if (type == null) {
            throw fault("sample before the TYPE of " + family);
        }
        if (!family.equals(currentFamily)) {
            if (!closedFamilies.add(family)) {
                throw fault("samples of " + family + " are not contiguous");
            }
            currentFamily = family;
        }
        if (type.equals("counter")) {
            if (!name.endsWith("_total")) {
                throw fault("counter not ending in _total");
            }
            if (!(value >= 0)) {
                throw fault("negative counter");
            }
        }
        if (type.equals("summary")) {
            boolean base = name.equals(family);
            if (base != labels.containsKey("quantile")) {
                throw fault(base ? "summary sample without quantile" : "quantile on _sum or _count");
            }
            if (base) {
                double q = parseValue(labels.get("quantile"));
                if (!(q >= 0 && q <= 1)) {
                    throw fault("quantile out of [0, 1]");
                }
            }
        }
        if (series.put(key(name, labels), value) != null) {
            throw fault("duplicate series");
        }
    }

    private int parseLabels(int i, Map<String, String> labels) {
        while (true) {
            if (i >= line.length()) {
                throw fault("unterminated label set");
            }
            if (line.charAt(i) == '}') {
                return i + 1;
            }
            int nameStart = i;
            while (i < line.length() && line.charAt(i) != '=') {
                i++;
            }
            String labelName = line.substring(nameStart, Math.min(i, line.length()));
            if (!labelName.matches("[a-zA-Z_][a-zA-Z0-9_]*") || labelName.startsWith("__")) {
                throw fault("bad label name '" + labelName + "'");
            }
            if (i + 1 >= line.length() || line.charAt(i + 1) != '"') {
                throw fault("label value not quoted");
            }
            i += 2;
            StringBuilder raw = new StringBuilder();
            while (true) {
                if (i >= line.length()) {
                    throw fault("unterminated label value");
                }
                char c = line.charAt(i);
                if (c == '"') {
                    break;
                }
                if (c == '\\') {
                    if (i + 1 >= line.length()) {
                        throw fault("dangling escape");
                    }
                    raw.append(c).append(line.charAt(i + 1));
                    i += 2;
                } else {
                    raw.append(c);
                    i++;
                }
            }
            if (labels.put(labelName, unescape(raw.toString(), true)) != null) {
                throw fault("label " + labelName + " twice");
            }
            i++;
            if (i < line.length() && line.charAt(i) == ',') {
                i++;
            } else if (i >= line.length() || line.charAt(i) != '}') {
                throw fault("expected ',' or '}' after a label");
            }
        }
    }

    private String unescape(String s, boolean labelValue) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char next = i + 1 < s.length() ? s.charAt(i + 1) : 0;
            i++;
            switch (next) {
                case '\\' -> out.append('\\');
                case 'n' -> out.append('\n');
                case '"' -> {
                    if (!labelValue) {
                        throw fault("escaped quote in HELP");
                    }
                    out.append('"');
                }
                default -> throw fault("bad escape \\" + next);
            }
        }
        return out.toString();
    }

    private double parseValue(String v) {
        switch (v) {
            case "NaN":
                return Double.NaN;
            case "+Inf":
            case "Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            default:
                if (!v.matches("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?")) {
                    throw fault("bad value '" + v + "'");
                }
                return Double.parseDouble(v);
        }
    }

    private static boolean isMetricName(String name) {
        return name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*");
    }

    /** Every series key, in order, for debugging. */
    List<String> seriesKeys() {
        return new ArrayList<>(series.keySet());
    }
}
