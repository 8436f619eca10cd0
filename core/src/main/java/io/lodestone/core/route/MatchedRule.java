package io.lodestone.core.route;

/**
 * Which rule made a {@link Decision} and why, for tests and logs.
 *
 * @param table where the rule is: {@code "frontend"} or {@code "host example.com"}
 * @param index the rule's position in its table, from 0; -1 for the default backend or no route
 * @param name the rule's name, or {@code null} when it has none
 * @param condition the rule's condition as text, such as {@code path_beg(/admin)}; for the default
 *     backend, {@code "default"}
 */
public record MatchedRule(String table, int index, String name, String condition) {

    @Override
    public String toString() {
        String rule = index < 0 ? "default" : "rule #" + index + (name == null ? "" : " '" + name + "'");
        return table + " " + rule + " (" + condition + ")";
    }
}
