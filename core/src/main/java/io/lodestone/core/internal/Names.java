package io.lodestone.core.internal;

/** Checks the names of frontends, backends and servers, and HTTP header and cookie names. */
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

    /**
     * Returns {@code name} when it is an HTTP token (RFC 9110: visible ASCII but the delimiters
     * {@code "(),/:;<=>?@[\]{}}), as a header or cookie name is.
     *
     * @param field the configuration field, named in the error message
     * @param what what the name names ({@code header name}, {@code cookie name}), said when it is missing
     * @throws IllegalArgumentException naming the field and the value otherwise
     */
    public static String token(String field, String name, String what) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(field + ": " + (name == null ? "null" : "\"\"") + " (expected: a " + what + ")");
        }
        if (!isToken(name)) {
            throw new IllegalArgumentException(field + ": " + name + " (expected: an HTTP token)");
        }
        return name;
    }

    /** Whether {@code s} is a non-empty run of {@linkplain #isTchar token characters} (an RFC 9110 token). */
    public static boolean isToken(CharSequence s) {
        if (s.length() == 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!isTchar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code c} is an RFC 9110 {@code tchar}: a letter, a digit or one of
     * {@code !#$%&'*+-.^_`|~} (visible ASCII but the delimiters {@code "(),/:;<=>?@[\]{}}).
     */
    public static boolean isTchar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                || c > ' ' && c < 0x7f && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0;
    }
}
