package io.lodestone.core.route.internal;

import io.lodestone.core.route.RequestView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lets a router skip the rules of a table that cannot match a request, without changing what it
 * decides: the rules it visits are exactly those the linear evaluation could find true, in the
 * same order. Built once per table; immutable and thread-safe. A router walks it per request:
 *
 * <pre>{@code
 * RuleIndex.Scratch s = RuleIndex.acquire();
 * try {
 *     for (int i = index.first(view, s); i >= 0; i = index.next(i, view, s)) {
 *         if (acls[i].matches(view)) { ... }
 *     }
 * } finally {
 *     RuleIndex.release(s);
 * }
 * }</pre>
 *
 * <p><b>Guards.</b> From each rule's condition it extracts a <em>guard</em>, a cheap necessary
 * condition: the normalised path equals, starts or ends with a string (a path regex's literal
 * prefix counts as a start), the host equals, starts or ends with one, a header, cookie or query
 * parameter is present or has an exact value, or the method is one of a list. Only positive
 * conjunctions give guards: an {@code and} takes the most selective guard of its parts, an
 * {@code or} the union of its parts' guards when they all have one (possibly of several families:
 * the rule is then a candidate when any of them says so), a {@code not} none. Case-insensitive
 * ACLs are indexed by each character folded the way
 * {@link String#regionMatches(boolean, int, String, int, int)} folds it ({@code toLowerCase(toUpperCase(c))}), so the Kelvin sign finds {@code k}; values with
 * surrogate pairs are not indexed.
 *
 * <p><b>Purity.</b> A rule whose condition contains a random ACL, a user's lambda, or a node this
 * class does not know is never skipped: skipping it could change the sequence of random draws or
 * the calls user code sees. Every other ACL only reads the request and the backend states, so
 * skipping a rule whose guard failed changes nothing but the time spent.
 *
 * <p><b>Per request.</b> The candidates start as the rules without a guard. Rules sharing a guard
 * family (all path-prefix guards, say) are decided together, lazily, when the walk reaches the
 * family's first rule, which adds the rules whose guard holds to the candidates: one walk of a
 * character trie for the path or host, one lookup per header, cookie or query parameter name, one
 * hash lookup for the method. A family that only one rule's plain guard uses is not kept: deciding
 * it would cost what evaluating the rule does. The candidates are bits in a per-thread
 * {@link Scratch}; nothing is allocated.
 */
public final class RuleIndex {

    private static final int ALWAYS = -1;
    private static final int NEVER = -2;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final int size;
    private final int words;
    private final boolean linear;
    /** The candidates before any family is decided: the rules without a guard. */
    private final long[] always;
    /** The rules where families are decided: the first rule of each family. */
    private final long[] triggers;
    /** The families to decide when the walk reaches rule i, or null. */
    private final int[][] decideAt;
    private final Family[] families;
    /** The first guard family of each rule, ALWAYS or NEVER: kept for tests. */
    private final int[] familyOf;

    private RuleIndex(int size, int[] familyOf, int[][] familiesOf, Family[] families) {
        this.size = size;
        this.words = (size + 63) >>> 6;
        this.familyOf = familyOf;
        this.families = families;
        this.linear = families.length == 0;
        this.always = new long[words];
        this.triggers = new long[words];
        this.decideAt = new int[size][];
        boolean[] seen = new boolean[families.length];
        for (int i = 0; i < size; i++) {
            if (familyOf[i] == ALWAYS) {
                always[i >>> 6] |= 1L << i;
            }
            for (int f : familiesOf[i]) {
                if (!seen[f]) {
                    seen[f] = true;
                    triggers[i >>> 6] |= 1L << i;
                    int[] at = decideAt[i] == null ? new int[0] : decideAt[i];
                    at = Arrays.copyOf(at, at.length + 1);
                    at[at.length - 1] = f;
                    decideAt[i] = at;
                }
            }
        }
    }

    /** The linear evaluation: every rule is a candidate, in order. The reference the index is tested against. */
    public static RuleIndex linear(int size) {
        int[] familyOf = new int[size];
        Arrays.fill(familyOf, ALWAYS);
        int[][] familiesOf = new int[size][0];
        return new RuleIndex(size, familyOf, familiesOf, new Family[0]);
    }

    /** Indexes the bound conditions of one table's rules, in order. */
    public static RuleIndex build(AclNode[] conditions) {
        int n = conditions.length;
        Guard[] guards = new Guard[n];
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Guard g = pure(conditions[i]) ? guard(conditions[i]) : null;
            guards[i] = g;
            if (g != null) {
                for (String f : g.parts.keySet()) {
                    counts.merge(f, 1, Integer::sum);
                }
            }
        }
        Map<String, Builder> builders = new LinkedHashMap<>();
        int[] familyOf = new int[n];
        int[][] familiesOf = new int[n][];
        boolean none = true;
        for (int i = 0; i < n; i++) {
            Guard g = guards[i];
            familiesOf[i] = new int[0];
            if (g == Guard.NEVER) {
                familyOf[i] = NEVER;
                none = false;
            } else if (g == null || g.parts.size() == 1 && counts.get(g.parts.keySet().iterator().next()) == 1) {
                // Deciding a family of one rule costs what evaluating the rule does.
                familyOf[i] = ALWAYS;
            } else {
                none = false;
                int[] ids = new int[g.parts.size()];
                int k = 0;
                for (Map.Entry<String, List<Object>> e : g.parts.entrySet()) {
                    Builder b = builders.get(e.getKey());
                    if (b == null) {
                        b = Guard.builder(builders.size(), e.getKey());
                        builders.put(e.getKey(), b);
                    }
                    b.add(i, e.getValue());
                    ids[k++] = b.id;
                }
                familyOf[i] = ids[0];
                familiesOf[i] = ids;
            }
        }
        if (none) {
            return linear(n);
        }
        Family[] families = new Family[builders.size()];
        int k = 0;
        for (Builder b : builders.values()) {
            families[k++] = b.build();
        }
        return new RuleIndex(n, familyOf, familiesOf, families);
    }

    /** Whether walking this index needs a {@link Scratch}; a linear one does not. */
    public boolean needsScratch() {
        return !linear;
    }

    /** The first rule that may match, or -1. {@code scratch} may be null when {@link #needsScratch()} is false. */
    public int first(RequestView view, Scratch scratch) {
        if (linear) {
            return size > 0 ? 0 : -1;
        }
        long[] bits = scratch.bits;
        if (bits.length < words) {
            bits = scratch.bits = new long[words];
        }
        System.arraycopy(always, 0, bits, 0, words);
        return candidate(nextSetBit(bits, 0), view, bits);
    }

    /** The next rule after {@code i} that may match, or -1. */
    public int next(int i, RequestView view, Scratch scratch) {
        if (linear) {
            return i + 1 < size ? i + 1 : -1;
        }
        long[] bits = scratch.bits;
        return candidate(nextSetBit(bits, i + 1), view, bits);
    }

    /**
     * From rule {@code i} (a candidate or a trigger) on, the first candidate: at a trigger, the
     * families first needed there add their hits to the bits before the rule is tested.
     */
    private int candidate(int i, RequestView view, long[] bits) {
        while (i >= 0) {
            int[] decide = decideAt[i];
            if (decide != null) {
                for (int f : decide) {
                    families[f].hits(view, bits);
                }
            }
            if ((bits[i >>> 6] & 1L << i) != 0) {
                return i;
            }
            i = nextSetBit(bits, i + 1);
        }
        return -1;
    }

    /** The next rule from {@code from} on that is a candidate or a trigger, or -1. */
    private int nextSetBit(long[] bits, int from) {
        int w = from >>> 6;
        if (w >= words) {
            return -1;
        }
        long[] t = triggers;
        long word = (bits[w] | t[w]) & -1L << from;
        while (true) {
            if (word != 0) {
                int i = (w << 6) + Long.numberOfTrailingZeros(word);
                return i < size ? i : -1;
            }
            if (++w == words) {
                return -1;
            }
            word = bits[w] | t[w];
        }
    }

    /** The rule's guard family, -1 when it is always a candidate, -2 when it can never match. For tests. */
    int familyOf(int rule) {
        return familyOf[rule];
    }

    /** The number of guard families. For tests. */
    int families() {
        return families.length;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("RuleIndex{").append(size).append(" rules");
        for (Family f : families) {
            sb.append(", ").append(f).append(": ").append(f.rules);
        }
        return sb.append('}').toString();
    }

    /** Per-thread candidate bits; a router takes one per request and gives it back. */
    public static final class Scratch {
        long[] bits = new long[2];
        boolean busy;

        Scratch() {
        }
    }

    /**
     * This thread's scratch, or a fresh one when it is in use further up the stack (a user's ACL
     * that routes another request while its own is being routed).
     */
    public static Scratch acquire() {
        Scratch s = SCRATCH.get();
        if (s.busy) {
            return new Scratch();
        }
        s.busy = true;
        return s;
    }

    /** Gives back a scratch from {@link #acquire()}. */
    public static void release(Scratch s) {
        s.busy = false;
    }

    // ---- purity and guards

    /** Whether skipping the evaluation of this condition can change nothing but time. */
    static boolean pure(AclNode a) {
        if (a instanceof AclNodes.Junction j) {
            for (AclNode p : j.parts()) {
                if (!pure(p)) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof AclNodes.Not n) {
            return pure(n.acl());
        }
        if (a instanceof AclNodes.Named n) {
            return n.target() != null && pure(n.target());
        }
        if (a instanceof AclNodes.Described d) {
            return d.acl() instanceof AclNode inner && pure(inner);
        }
        return a instanceof AclNodes.Strings || a instanceof AclNodes.Regex || a instanceof AclNodes.Header
                || a instanceof AclNodes.Param || a instanceof AclNodes.Method || a instanceof AclNodes.Source
                || a instanceof AclNodes.LocalPort || a instanceof AclNodes.Tls || a instanceof AclNodes.ClientCert
                || a instanceof AclNodes.UsableServers
                || a instanceof AclNodes.Constant;
    }

    /** A necessary condition of a pure ACL, {@link Guard#NEVER}, or {@code null} when there is none. */
    static Guard guard(AclNode a) {
        if (a instanceof AclNodes.Strings s) {
            return strings(s.field(), s.kind(), s.compared(), s.ignoreCase());
        }
        if (a instanceof AclNodes.Regex r) {
            if (r.headerName() != null) {
                return Guard.header(r.headerName(), null, false);
            }
            return r.prefix() == null ? null : strings(AclNodes.Field.PATH, AclNodes.Kind.BEGINS,
                    new String[] {r.prefix()}, r.ignoreCase());
        }
        if (a instanceof AclNodes.Header h) {
            if (h.kind() == null) {
                return Guard.header(h.name(), null, true);
            }
            boolean byValue = h.kind() == AclNodes.Kind.EXACT && !h.ignoreCase();
            return Guard.header(h.name(), byValue ? h.compared() : null, false);
        }
        if (a instanceof AclNodes.Method m) {
            return Guard.method(m.methods());
        }
        if (a instanceof AclNodes.Param p) {
            boolean byValue = p.compared() != null && !p.ignoreCase();
            return Guard.param(p.cookie(), p.paramName(), byValue ? p.compared() : null);
        }
        if (a == AclNodes.Constant.FALSE) {
            return Guard.NEVER;
        }
        if (a instanceof AclNodes.Named n) {
            return guard(n.target());
        }
        if (a instanceof AclNodes.Described d) {
            return guard((AclNode) d.acl());
        }
        if (a instanceof AclNodes.Junction j) {
            return j.all() ? all(j.parts()) : any(j.parts());
        }
        return null;
    }

    private static Guard all(AclNode[] parts) {
        Guard best = null;
        for (AclNode p : parts) {
            Guard g = guard(p);
            if (g == Guard.NEVER) {
                return g;
            }
            if (g != null && (best == null || g.rank > best.rank)) {
                best = g;
            }
        }
        return best;
    }

    private static Guard any(AclNode[] parts) {
        Guard union = null;
        for (AclNode p : parts) {
            Guard g = guard(p);
            if (g == null) {
                return null;
            }
            if (g == Guard.NEVER) {
                continue;
            }
            union = union == null ? g : union.union(g);
        }
        return union == null ? Guard.NEVER : union;
    }

    private static Guard strings(AclNodes.Field field, AclNodes.Kind kind, String[] values, boolean ignoreCase) {
        if (kind == AclNodes.Kind.CONTAINS) {
            return null;
        }
        boolean reverse = kind == AclNodes.Kind.ENDS || kind == AclNodes.Kind.WILDCARD;
        int end = kind == AclNodes.Kind.EXACT ? Trie.EXACT : kind == AclNodes.Kind.WILDCARD ? Trie.LONGER : Trie.BEGINS;
        List<Object> entries = new ArrayList<>(values.length);
        int shortest = Integer.MAX_VALUE;
        for (String v : values) {
            if (ignoreCase && hasSurrogate(v)) {
                return null;
            }
            entries.add(new Trie.Entry(ignoreCase ? Trie.fold(v) : v, end));
            shortest = Math.min(shortest, v.length());
        }
        // Exact values and long prefixes are the most selective; a prefix of 1 ("/") selects nothing.
        int rank = end == Trie.EXACT ? 100 : Math.min(shortest * 4, 90);
        String family = (field == AclNodes.Field.PATH ? "path" : "host") + (reverse ? "_end" : "_beg") + (ignoreCase ? " -i" : "");
        return Guard.single(family, rank, entries);
    }

    private static boolean hasSurrogate(String v) {
        for (int i = 0; i < v.length(); i++) {
            if (Character.isSurrogate(v.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * A necessary condition of one rule: what must hold in at least one of its families (one for a
     * plain ACL, several for an {@code or} across families), and in that family, at least one item.
     */
    static final class Guard {
        static final Guard NEVER = new Guard(Integer.MAX_VALUE, Map.of());

        /** How selective the guard is thought to be: an {@code and} keeps its part's highest. */
        final int rank;
        /**
         * The items by family. Trie families: {@link Trie.Entry}; the method family: methods; header
         * families: {@link HeaderItem}; cookie and query families: values, {@code null} for presence.
         */
        final Map<String, List<Object>> parts;

        private Guard(int rank, Map<String, List<Object>> parts) {
            this.rank = rank;
            this.parts = parts;
        }

        static Guard single(String family, int rank, List<Object> items) {
            Map<String, List<Object>> m = new LinkedHashMap<>();
            m.put(family, items);
            return new Guard(rank, m);
        }

        /**
         * A header guard: {@code present} for a presence test through {@code header(name)}; else
         * through {@code headers(name)}, by exact value when {@code values} is given.
         */
        static Guard header(String name, String[] values, boolean present) {
            List<Object> items = new ArrayList<>();
            if (present) {
                items.add(new HeaderItem(true, null));
            } else if (values == null) {
                items.add(new HeaderItem(false, null));
            } else {
                for (String v : values) {
                    items.add(new HeaderItem(false, v));
                }
            }
            return single("hdr(" + name + ")", values != null ? 80 : 10, items);
        }

        static Guard method(String[] methods) {
            return single("method", 5, List.of((Object[]) methods));
        }

        /** A cookie or query parameter guard: present, or equal to one of {@code values}. */
        static Guard param(boolean cookie, String name, String[] values) {
            List<Object> items = new ArrayList<>();
            if (values == null) {
                items.add(null);
            } else {
                items.addAll(List.of((Object[]) values));
            }
            return single((cookie ? "cookie(" : "urlp(") + name + ")", values != null ? 70 : 10, items);
        }

        Guard union(Guard o) {
            Map<String, List<Object>> m = new LinkedHashMap<>();
            for (Guard g : List.of(this, o)) {
                g.parts.forEach((f, items) -> m.computeIfAbsent(f, k -> new ArrayList<>()).addAll(items));
            }
            return new Guard(Math.min(rank, o.rank), m);
        }

        static Builder builder(int id, String family) {
            if (family.equals("method")) {
                return new MethodBuilder(id);
            }
            if (family.startsWith("hdr(")) {
                return new HeaderBuilder(id, family.substring(4, family.length() - 1));
            }
            if (family.startsWith("cookie(") || family.startsWith("urlp(")) {
                boolean cookie = family.startsWith("cookie(");
                return new ParamBuilder(id, cookie, family.substring(cookie ? 7 : 5, family.length() - 1));
            }
            return new TrieBuilder(id, family);
        }
    }

    /**
     * One way a header guard holds: the header is present ({@code header(name)} not null), or it
     * has a value ({@code headers(name)} not empty), or one of its values equals {@code value}.
     */
    record HeaderItem(boolean present, String value) {
    }

    /** Collects the guards of one family. */
    private abstract static class Builder {
        final int id;

        Builder(int id) {
            this.id = id;
        }

        final List<Integer> rules = new ArrayList<>();

        void add(int rule, List<Object> items) {
            addOnce(rules, rule);
            for (Object item : items) {
                add(rule, item);
            }
        }

        abstract void add(int rule, Object item);

        abstract Family build();
    }

    /** What one family decides per request: it sets the bits of the rules whose guard holds in it. */
    private abstract static class Family {
        final String label;
        final List<Integer> rules;

        Family(String label, List<Integer> rules) {
            this.label = label;
            this.rules = List.copyOf(rules);
        }

        abstract void hits(RequestView view, long[] bits);

        static void set(long[] bits, int[] rules) {
            if (rules != null) {
                for (int r : rules) {
                    bits[r >>> 6] |= 1L << r;
                }
            }
        }

        @Override
        public String toString() {
            return label;
        }
    }

    private static int[] ints(List<Integer> list) {
        if (list == null || list.isEmpty()) {
            return null;
        }
        int[] a = new int[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = list.get(i);
        }
        return a;
    }

    private static Map<String, int[]> intsMap(Map<String, List<Integer>> m) {
        Map<String, int[]> r = new HashMap<>();
        m.forEach((k, v) -> r.put(k, ints(v)));
        return r;
    }

    private static void addOnce(Map<String, List<Integer>> m, String key, int rule) {
        List<Integer> l = m.computeIfAbsent(key, k -> new ArrayList<>(2));
        if (l.isEmpty() || l.get(l.size() - 1) != rule) {
            l.add(rule);
        }
    }

    private static void addOnce(List<Integer> l, int rule) {
        if (l.isEmpty() || l.get(l.size() - 1) != rule) {
            l.add(rule);
        }
    }

    // ---- method

    private static final class MethodBuilder extends Builder {
        final Map<String, List<Integer>> byMethod = new HashMap<>();

        MethodBuilder(int id) {
            super(id);
        }

        @Override
        void add(int rule, Object method) {
            addOnce(byMethod, (String) method, rule);
        }

        @Override
        Family build() {
            Map<String, int[]> map = intsMap(byMethod);
            return new Family("method", rules) {
                @Override
                void hits(RequestView view, long[] bits) {
                    String m = view.method();
                    if (m != null) {
                        set(bits, map.get(m));
                    }
                }
            };
        }
    }

    // ---- headers

    private static final class HeaderBuilder extends Builder {
        final String name;
        final List<Integer> present = new ArrayList<>();
        final List<Integer> listed = new ArrayList<>();
        final Map<String, List<Integer>> byValue = new HashMap<>();

        HeaderBuilder(int id, String name) {
            super(id);
            this.name = name;
        }

        @Override
        void add(int rule, Object o) {
            HeaderItem item = (HeaderItem) o;
            if (item.present()) {
                addOnce(present, rule);
            } else if (item.value() == null) {
                addOnce(listed, rule);
            } else {
                addOnce(byValue, item.value(), rule);
            }
        }

        @Override
        Family build() {
            String n = name;
            int[] whenPresent = ints(present);
            int[] whenListed = ints(listed);
            Map<String, int[]> map = byValue.isEmpty() ? null : intsMap(byValue);
            boolean list = whenListed != null || map != null;
            return new Family("hdr(" + n + ")", rules) {
                @Override
                void hits(RequestView view, long[] bits) {
                    if (!view.isHttp()) {
                        return;
                    }
                    if (whenPresent != null && view.header(n) != null) {
                        set(bits, whenPresent);
                    }
                    if (list) {
                        List<String> vs = view.headers(n);
                        int count = vs.size();
                        if (count > 0) {
                            set(bits, whenListed);
                            if (map != null) {
                                for (int i = 0; i < count; i++) {
                                    set(bits, map.get(vs.get(i)));
                                }
                            }
                        }
                    }
                }
            };
        }
    }

    // ---- cookies and query parameters

    private static final class ParamBuilder extends Builder {
        final boolean cookie;
        final String name;
        final List<Integer> present = new ArrayList<>();
        final Map<String, List<Integer>> byValue = new HashMap<>();

        ParamBuilder(int id, boolean cookie, String name) {
            super(id);
            this.cookie = cookie;
            this.name = name;
        }

        @Override
        void add(int rule, Object value) {
            if (value == null) {
                addOnce(present, rule);
            } else {
                addOnce(byValue, (String) value, rule);
            }
        }

        @Override
        Family build() {
            boolean c = cookie;
            String n = name;
            int[] whenPresent = ints(present);
            Map<String, int[]> map = byValue.isEmpty() ? null : intsMap(byValue);
            return new Family((c ? "cookie(" : "urlp(") + n + ")", rules) {
                @Override
                void hits(RequestView view, long[] bits) {
                    if (!view.isHttp()) {
                        return;
                    }
                    if (map == null) {
                        if ((c ? view.cookie(n) : view.queryParam(n)) != null) {
                            set(bits, whenPresent);
                        }
                        return;
                    }
                    // every occurrence, as the ACL reads them
                    List<String> vs = c ? HttpParts.cookies(view.headers("cookie"), n) : HttpParts.queryParams(view.query(), n);
                    int count = vs.size();
                    if (count > 0) {
                        set(bits, whenPresent);
                        for (int i = 0; i < count; i++) {
                            set(bits, map.get(vs.get(i)));
                        }
                    }
                }
            };
        }
    }

    // ---- path and host tries

    private static final class TrieBuilder extends Builder {
        final String family;
        final boolean host;
        final boolean reverse;
        final boolean fold;
        final Trie.Node root = new Trie.Node();

        TrieBuilder(int id, String family) {
            super(id);
            this.family = family;
            this.host = family.startsWith("host");
            this.reverse = family.contains("_end");
            this.fold = family.endsWith(" -i");
        }

        @Override
        void add(int rule, Object o) {
            Trie.Entry e = (Trie.Entry) o;
            root.insert(e.value(), reverse, e.end(), rule);
        }

        @Override
        Family build() {
            Trie trie = new Trie(root.freeze(), reverse, fold);
            boolean h = host;
            return new Family(family, rules) {
                @Override
                void hits(RequestView view, long[] bits) {
                    String s = h ? view.host() : view.path();
                    if (s != null) {
                        trie.walk(s, bits);
                    }
                }
            };
        }
    }

    /**
     * A character trie over guard strings (reversed for "ends with" families, folded for
     * case-insensitive ones). A walk along a request's path or host sets the bits of every rule
     * with a string that is a prefix of it (begins), equal to it (exact) or a proper prefix (longer).
     */
    static final class Trie {
        static final int BEGINS = 0;
        static final int EXACT = 1;
        static final int LONGER = 2;

        private final Frozen root;
        private final boolean reverse;
        private final boolean fold;

        Trie(Frozen root, boolean reverse, boolean fold) {
            this.root = root;
            this.reverse = reverse;
            this.fold = fold;
        }

        /** Folds a character as {@code String.regionMatches(true, ...)} compares it. */
        static char fold(char c) {
            if (c < 0x80) {
                return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
            }
            return Character.toLowerCase(Character.toUpperCase(c));
        }

        static String fold(String s) {
            char[] cs = s.toCharArray();
            for (int i = 0; i < cs.length; i++) {
                cs[i] = fold(cs[i]);
            }
            return new String(cs);
        }

        void walk(String s, long[] bits) {
            int n = s.length();
            Frozen node = root;
            for (int k = 0; ; k++) {
                Family.set(bits, node.begins);
                if (k == n) {
                    Family.set(bits, node.exact);
                    return;
                }
                Family.set(bits, node.longer);
                char c = s.charAt(reverse ? n - 1 - k : k);
                node = node.child(fold ? fold(c) : c);
                if (node == null) {
                    return;
                }
            }
        }

        record Entry(String value, int end) {
        }

        /** A trie node while building. */
        static final class Node {
            final Map<Character, Node> children = new HashMap<>();
            final List<List<Integer>> ends = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());

            void insert(String v, boolean reverse, int end, int rule) {
                Node n = this;
                int len = v.length();
                for (int k = 0; k < len; k++) {
                    char c = v.charAt(reverse ? len - 1 - k : k);
                    n = n.children.computeIfAbsent(c, x -> new Node());
                }
                addOnce(n.ends.get(end), rule);
            }

            Frozen freeze() {
                char[] keys = new char[children.size()];
                int k = 0;
                for (char c : children.keySet()) {
                    keys[k++] = c;
                }
                Arrays.sort(keys);
                Frozen[] kids = new Frozen[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    kids[i] = children.get(keys[i]).freeze();
                }
                return new Frozen(keys, kids, sorted(ends.get(BEGINS)), sorted(ends.get(EXACT)), sorted(ends.get(LONGER)));
            }

            private static int[] sorted(List<Integer> l) {
                int[] a = ints(l);
                if (a != null) {
                    Arrays.sort(a);
                }
                return a;
            }
        }

        /** A trie node as walked: children by sorted character, rule lists null when empty. */
        static final class Frozen {
            final char[] keys;
            final Frozen[] children;
            final int[] begins;
            final int[] exact;
            final int[] longer;

            Frozen(char[] keys, Frozen[] children, int[] begins, int[] exact, int[] longer) {
                this.keys = keys;
                this.children = children;
                this.begins = begins;
                this.exact = exact;
                this.longer = longer;
            }

            Frozen child(char c) {
                char[] k = keys;
                int n = k.length;
                if (n <= 8) {
                    for (int i = 0; i < n; i++) {
                        if (k[i] == c) {
                            return children[i];
                        }
                    }
                    return null;
                }
                int i = Arrays.binarySearch(k, c);
                return i >= 0 ? children[i] : null;
            }
        }
    }

}
