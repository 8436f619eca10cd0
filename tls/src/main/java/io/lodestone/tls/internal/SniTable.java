package io.lodestone.tls.internal;

import java.util.HashMap;
import java.util.Map;

/**
 * Maps a server name (from SNI) to a value: exact names first, then a wildcard {@code *.example.com}
 * matching exactly one label in front of {@code example.com}, then the default. Immutable after
 * {@link Builder#build()}; a lookup costs one or two hash probes.
 *
 * @param <T> the value type, an SSL context for the server side
 */
public final class SniTable<T> {

    private final Map<String, T> exact;
    private final Map<String, T> wildcard;
    private final T defaultValue;

    private SniTable(Map<String, T> exact, Map<String, T> wildcard, T defaultValue) {
        this.exact = exact;
        this.wildcard = wildcard;
        this.defaultValue = defaultValue;
    }

    /** Returns a builder whose values fall back to {@code defaultValue}. */
    public static <T> Builder<T> builder(T defaultValue) {
        return new Builder<>(defaultValue);
    }

    /**
     * The value for {@code serverName} (any case, one trailing dot ignored), or the default when
     * nothing matches or it is {@code null}.
     */
    public T lookup(String serverName) {
        String name = serverName(serverName);
        if (name == null) {
            return defaultValue;
        }
        T v = exact.get(name);
        if (v != null) {
            return v;
        }
        if (!wildcard.isEmpty()) {
            int dot = name.indexOf('.');
            if (dot > 0 && dot < name.length() - 1) {
                v = wildcard.get(name.substring(dot + 1));
                if (v != null) {
                    return v;
                }
            }
        }
        return defaultValue;
    }

    /**
     * {@code serverName} as looked up and as rules see it: lower case, without the one trailing dot
     * of an absolute name ({@code Shop.Example.} is {@code shop.example}, as the ClientHello peek
     * reads it for passthrough); {@code null} for none or an empty one.
     */
    public static String serverName(String serverName) {
        if (serverName == null) {
            return null;
        }
        int n = serverName.length();
        if (n > 1 && serverName.charAt(n - 1) == '.') {
            serverName = serverName.substring(0, n - 1);
        } else if (n == 0 || n == 1 && serverName.charAt(0) == '.') {
            return null;
        }
        return lowerAscii(serverName);
    }

    /** The value used when no name matches. */
    public T defaultValue() {
        return defaultValue;
    }

    private static String lowerAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                return s.toLowerCase(java.util.Locale.ROOT);
            }
        }
        return s;
    }

    /** Collects names; the first value added for a name wins. */
    public static final class Builder<T> {
        private final Map<String, T> exact = new HashMap<>();
        private final Map<String, T> wildcard = new HashMap<>();
        private final T defaultValue;

        private Builder(T defaultValue) {
            this.defaultValue = defaultValue;
        }

        /**
         * Adds {@code name} ({@code www.example.com} or {@code *.example.com}); returns false when the
         * name is already taken. Fails on a wildcard that is not a whole leading label.
         */
        public boolean add(String field, String name, T value) {
            String n = name.toLowerCase(java.util.Locale.ROOT);
            if (n.startsWith("*.")) {
                String base = n.substring(2);
                if (base.isEmpty() || base.indexOf('*') >= 0) {
                    throw new IllegalArgumentException(field + ": " + name + " (expected: a name like *.example.com)");
                }
                return wildcard.putIfAbsent(base, value) == null;
            }
            if (n.isEmpty() || n.indexOf('*') >= 0) {
                throw new IllegalArgumentException(field + ": " + name
                        + " (expected: a host name, or *.domain for a wildcard)");
            }
            return exact.putIfAbsent(n, value) == null;
        }

        /** Returns the immutable table. */
        public SniTable<T> build() {
            return new SniTable<>(Map.copyOf(exact), Map.copyOf(wildcard), defaultValue);
        }
    }
}
