package io.lodestone.core.internal;

/** Checks the names of frontends, backends and servers. */
public final class Names {

    private Names() {
    }

    /**
     * Returns {@code name} when it is a non-empty run of letters, digits, '-', '_' and '.'.
     *
     * @param field the configuration field, named in the error message
     * @throws IllegalArgumentException naming the field and the value otherwise
     */
    public static String check(String field, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(field + ": " + (name == null ? "null" : "\"\"") + " (expected: a non-empty name)");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')) {
                throw new IllegalArgumentException(field + ": " + name + " (expected: letters, digits, '-', '_' or '.')");
            }
        }
        return name;
    }
}
