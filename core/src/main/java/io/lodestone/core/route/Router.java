package io.lodestone.core.route;

import io.lodestone.core.Clock;
import io.lodestone.core.limit.RateLimit;
import io.lodestone.core.limit.RateLimiter;
import io.lodestone.core.route.internal.AclNode;
import io.lodestone.core.route.internal.PathNormalizer;
import io.lodestone.core.route.internal.RuleIndex;
import io.lodestone.core.route.internal.WithoutHeaders;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates a {@link Routing} against live backend states: {@link #route(RequestView)} is pure,
 * deterministic and synchronous. The same view and the same states give the same decision (random
 * ACLs draw from {@link RequestView#random()}). Thread-safe; one router serves every event loop.
 *
 * <pre>{@code
 * Router router = routing.router(BackendStates.allUp());
 * Decision d = router.route(TestRequest.get("/admin").host("example.com"));
 * }</pre>
 *
 * <p>A rate-limiting rule ({@link Rule.Builder#rateLimit}) takes a token from its bucket in the
 * router's {@link RateLimiter} when it matches, and decides a 429 deny when there is none: the one
 * thing that makes the same request decide differently over time.
 *
 * <p>Per request it evaluates the conditions in order and allocates nothing but the decision, and
 * not even that when no edit rule matched and the decision does not depend on the request:
 * decisions of fixed rules are made once, up front. Rules that cannot match are skipped without
 * being evaluated: each table is indexed by the path, host, header and method its rules require
 * (a rule with a random or custom condition is always evaluated), which changes nothing but the
 * time a decision takes.
 */
public final class Router {

    private static final List<HeaderEdit> NONE = List.of();

    private final Routing routing;
    private final BackendStates states;
    private final Compiled main;
    private final Map<String, Compiled> exactHosts;
    private final Compiled[] wildcardHosts;
    private final String[] wildcardSuffixes;
    private final boolean hasHosts;
    private final boolean needsScratch;
    private final Decision.Deny noRoute;
    private final RateLimiter limiter;
    private final Clock clock;
    /**
     * How many distinct limits more than one rule applies: such a limit takes one token per request
     * however many of its rules match, and is numbered (see {@link Compiled#sharedLimit}) so that a
     * request remembers, in a bit set, the ones it was charged for.
     */
    private final int sharedLimits;

    Router(Routing routing, BackendStates states, RateLimiter limiter, Clock clock) {
        this(routing, states, limiter, clock, true);
    }

    /** With {@code indexed} false, every rule is evaluated in turn: the reference the index is tested against. */
    Router(Routing routing, BackendStates states, RateLimiter limiter, Clock clock, boolean indexed) {
        this.routing = routing;
        this.states = states;
        this.limiter = limiter;
        this.clock = clock;
        Binder binder = new Binder(routing.namedAcls, states);
        Map<RateLimit, Integer> shared = sharedLimits(routing);
        this.sharedLimits = shared.size();
        this.main = new Compiled(routing.main, binder, indexed, shared);
        Map<String, Compiled> exact = new HashMap<>();
        routing.exactHosts.forEach((h, t) -> exact.put(h, new Compiled(t, binder, indexed, shared)));
        this.exactHosts = exact;
        this.wildcardHosts = new Compiled[routing.wildcardHosts.size()];
        this.wildcardSuffixes = new String[wildcardHosts.length];
        boolean scratch = main.index.needsScratch();
        for (int i = 0; i < wildcardHosts.length; i++) {
            Routing.Table t = routing.wildcardHosts.get(i);
            wildcardHosts[i] = new Compiled(t, binder, indexed, shared);
            wildcardSuffixes[i] = t.pattern.substring(1);
            scratch |= wildcardHosts[i].index.needsScratch();
        }
        for (Compiled c : exact.values()) {
            scratch |= c.index.needsScratch();
        }
        this.needsScratch = scratch;
        this.hasHosts = !exact.isEmpty() || wildcardHosts.length > 0;
        this.noRoute = new Decision.Deny(503, "Service Unavailable\n", NONE,
                new MatchedRule(Routing.FRONTEND_TABLE, -1, null, "no rule matched and no default backend"));
    }

    /**
     * The limits (equal ones counting as one) that more than one rule of {@code routing} applies, a
     * host's table and the frontend's together, numbered from 0.
     */
    private static Map<RateLimit, Integer> sharedLimits(Routing routing) {
        Map<RateLimit, Integer> uses = new HashMap<>();
        List<Routing.Table> tables = new ArrayList<>();
        tables.add(routing.main);
        tables.addAll(routing.exactHosts.values());
        tables.addAll(routing.wildcardHosts);
        for (Routing.Table t : tables) {
            for (Rule r : t.rules) {
                RateLimit limit = r.action().limit;
                if (limit != null) {
                    uses.merge(limit, 1, Integer::sum);
                }
            }
        }
        Map<RateLimit, Integer> ids = new HashMap<>();
        uses.forEach((limit, n) -> {
            if (n > 1) {
                ids.put(limit, ids.size());
            }
        });
        return ids;
    }

    /** {@return the configuration this router evaluates} */
    public Routing routing() {
        return routing;
    }

    /**
     * Decides what to do with one request or connection.
     *
     * @param request the request or connection
     * @return the decision
     */
    public Decision route(RequestView request) {
        if (request instanceof TestRequest test) {
            // one routing, one stream of draws from the request's seed
            test.rewind();
        } else if (request instanceof WithoutHeaders view && view.request() instanceof TestRequest test) {
            // proxy.route's view of a test request without the fields its frontend removes
            test.rewind();
        }
        if (!needsScratch) {
            return route(request, null);
        }
        RuleIndex.Scratch scratch = RuleIndex.acquire();
        try {
            return route(request, scratch);
        } finally {
            RuleIndex.release(scratch);
        }
    }

    private Decision route(RequestView request, RuleIndex.Scratch scratch) {
        Compiled vhost = hasHosts && request.isHttp() ? hostTable(request.host()) : null;
        Edits edits = null;
        // the shared limits this request took a token of: the first 64 in a word, any others in an array
        long charged = 0;
        long[] chargedMore = null;
        for (Compiled t = vhost != null ? vhost : main; t != null; t = t == main ? null : main) {
            AclNode[] acls = t.acls;
            Action[] actions = t.actions;
            RuleIndex index = t.index;
            for (int i = index.first(request, scratch); i >= 0; i = index.next(i, request, scratch)) {
                if (!acls[i].matches(request)) {
                    continue;
                }
                Action a = actions[i];
                if (a.kind.terminal()) {
                    return t.decide(i, a, request, edits);
                }
                if (a.limit != null) {
                    int id = t.sharedLimit[i];
                    if (id >= 0) {
                        if (id < 64) {
                            if ((charged & (1L << id)) != 0) {
                                continue;
                            }
                            charged |= 1L << id;
                        } else {
                            if (chargedMore == null) {
                                chargedMore = new long[(sharedLimits - 64 + 63) / 64];
                            }
                            int word = (id - 64) >>> 6;
                            long bit = 1L << (id & 63);
                            if ((chargedMore[word] & bit) != 0) {
                                continue;
                            }
                            chargedMore[word] |= bit;
                        }
                    }
                    Decision over = overLimit(a.limit, request, t.matched[i], edits);
                    if (over != null) {
                        return over;
                    }
                    continue;
                }
                if (edits == null) {
                    edits = new Edits();
                }
                edits.apply(a, request);
            }
            if (t.defaultBackend != null) {
                return t.forward(t.defaultBackend, t.defaultBackup, t.defaultMatched, t.defaultBackupMatched,
                        t.defaultForward, t.defaultBackupForward, edits);
            }
        }
        if (edits == null || edits.response == null) {
            return noRoute;
        }
        return new Decision.Deny(noRoute.status(), noRoute.body(), edits.responseList(), noRoute.matched());
    }

    /** The 429 deny when the request's bucket under {@code limit} is empty, else {@code null} (a token was taken). */
    private Decision overLimit(RateLimit limit, RequestView request, MatchedRule matched, Edits edits) {
        String key = limit.key(request);
        if (key == null) {
            return null;
        }
        long wait = limiter.tryAcquire(limit, key, clock.nanoTime());
        if (wait <= 0) {
            return null;
        }
        // rounded up without adding to the wait first: a limiter of one's own may say Long.MAX_VALUE (never)
        long seconds = wait / 1_000_000_000L + (wait % 1_000_000_000L == 0 ? 0 : 1);
        List<HeaderEdit> response = new ArrayList<>(edits == null || edits.response == null ? 1 : edits.response.size() + 1);
        if (edits != null && edits.response != null) {
            response.addAll(edits.response);
        }
        response.add(new HeaderEdit(HeaderEdit.Op.SET, "Retry-After", Long.toString(seconds)));
        return new Decision.Deny(429, "Too Many Requests\n", Collections.unmodifiableList(response), matched);
    }

    private Compiled hostTable(String host) {
        if (host == null) {
            return null;
        }
        Compiled t = exactHosts.get(host);
        if (t != null) {
            return t;
        }
        int hl = host.length();
        for (int i = 0; i < wildcardSuffixes.length; i++) {
            String s = wildcardSuffixes[i];
            if (hl > s.length() && host.endsWith(s)) {
                return wildcardHosts[i];
            }
        }
        return null;
    }

    /** One table with bound conditions and the decisions made up front. */
    private final class Compiled {
        final AclNode[] acls;
        final Action[] actions;
        final MatchedRule[] matched;
        final MatchedRule[] backupMatched;
        final Decision[] fixed;
        final Decision[] fixedBackup;
        final String defaultBackend;
        final String defaultBackup;
        final MatchedRule defaultMatched;
        final MatchedRule defaultBackupMatched;
        final Decision.Forward defaultForward;
        final Decision.Forward defaultBackupForward;
        final RuleIndex index;
        /** The number of each rule's limit among the router's shared limits, or -1 (no limit, or one only this rule applies). */
        final int[] sharedLimit;

        Compiled(Routing.Table table, Binder binder, boolean indexed, Map<RateLimit, Integer> shared) {
            int n = table.rules.size();
            acls = new AclNode[n];
            actions = new Action[n];
            sharedLimit = new int[n];
            matched = new MatchedRule[n];
            backupMatched = new MatchedRule[n];
            fixed = new Decision[n];
            fixedBackup = new Decision[n];
            for (int i = 0; i < n; i++) {
                Rule r = table.rules.get(i);
                acls[i] = AclNode.node(AclNode.bind(r.condition(), binder));
                Action a = r.action();
                actions[i] = a;
                Integer limitId = a.limit == null ? null : shared.get(a.limit);
                sharedLimit[i] = limitId == null ? -1 : limitId;
                String condition = AclNode.describe(r.condition());
                matched[i] = new MatchedRule(table.label, i, r.name(), condition);
                switch (a.kind) {
                    case USE:
                        fixed[i] = new Decision.Forward(a.a, NONE, NONE, null, null, matched[i]);
                        if (a.b != null) {
                            backupMatched[i] = new MatchedRule(table.label, i, r.name(), backupReason(condition, a.a));
                            fixedBackup[i] = new Decision.Forward(a.b, NONE, NONE, null, null, backupMatched[i]);
                        }
                        break;
                    case DENY:
                        fixed[i] = new Decision.Deny(a.status, a.a, NONE, matched[i]);
                        break;
                    case REDIRECT_LOCATION:
                        fixed[i] = new Decision.Redirect(a.status, a.a, NONE, matched[i]);
                        break;
                    case RESPOND:
                        fixed[i] = new Decision.Respond(a.status, a.b, a.a, NONE, matched[i]);
                        break;
                    default:
                        break;
                }
            }
            index = indexed ? RuleIndex.build(acls) : RuleIndex.linear(n);
            defaultBackend = table.defaultBackend;
            defaultBackup = table.defaultBackup;
            if (defaultBackend != null) {
                defaultMatched = new MatchedRule(table.label, -1, null, "default");
                defaultForward = new Decision.Forward(defaultBackend, NONE, NONE, null, null, defaultMatched);
            } else {
                defaultMatched = null;
                defaultForward = null;
            }
            if (defaultBackup != null) {
                defaultBackupMatched = new MatchedRule(table.label, -1, null, backupReason("default", defaultBackend));
                defaultBackupForward = new Decision.Forward(defaultBackup, NONE, NONE, null, null, defaultBackupMatched);
            } else {
                defaultBackupMatched = null;
                defaultBackupForward = null;
            }
        }

        Decision decide(int i, Action a, RequestView request, Edits edits) {
            switch (a.kind) {
                case USE:
                    return forward(a.a, a.b, matched[i], backupMatched[i], (Decision.Forward) fixed[i],
                            (Decision.Forward) fixedBackup[i], edits);
                case REDIRECT_SCHEME:
                case REDIRECT_PREFIX:
                    return new Decision.Redirect(a.status, location(a, request),
                            edits == null ? NONE : edits.responseList(), matched[i]);
                default:
                    Decision d = fixed[i];
                    if (edits == null || edits.response == null) {
                        return d;
                    }
                    List<HeaderEdit> resp = edits.responseList();
                    if (d instanceof Decision.Deny deny) {
                        return new Decision.Deny(deny.status(), deny.body(), resp, deny.matched());
                    }
                    if (d instanceof Decision.Redirect r) {
                        return new Decision.Redirect(r.status(), r.location(), resp, r.matched());
                    }
                    Decision.Respond r = (Decision.Respond) d;
                    return new Decision.Respond(r.status(), r.contentType(), r.body(), resp, r.matched());
            }
        }

        Decision forward(String backend, String backup, MatchedRule m, MatchedRule bm, Decision.Forward fixedPrimary,
                Decision.Forward fixedBackupForward, Edits edits) {
            boolean useBackup = backup != null && states.usableServers(backend) < 1;
            if (edits == null) {
                return useBackup ? fixedBackupForward : fixedPrimary;
            }
            return new Decision.Forward(useBackup ? backup : backend, edits.requestList(), edits.responseList(),
                    edits.path, edits.host, useBackup ? bm : m);
        }
    }

    private static String backupReason(String condition, String primary) {
        return condition + "; backup: " + primary + " has no usable server";
    }

    private static String location(Action a, RequestView request) {
        String path = request.rawPath();
        String query = request.query();
        StringBuilder sb = new StringBuilder(64);
        if (a.kind == Action.Kind.REDIRECT_SCHEME) {
            String authority = request.header("host");
            if (authority == null) {
                authority = request.host();
            }
            sb.append(a.a).append("://");
            if (authority != null) {
                appendAuthority(sb, authority, a.b);
            }
            sb.append(path == null ? "/" : path);
        } else {
            sb.append(a.a);
            if (a.a.isEmpty() && path != null) {
                // the prefix "/" adds nothing: a raw path starting //host (or /\host, which browsers
                // read alike) would make the location a network-path reference to another host
                // (RFC 3986 4.2); its leading slashes fold into one, as path rules read them
                int rest = 0;
                while (rest < path.length() && (path.charAt(rest) == '/' || path.charAt(rest) == '\\')) {
                    rest++;
                }
                if (rest > 1) {
                    sb.append('/').append(path, rest, path.length());
                } else {
                    sb.append(path);
                }
            } else {
                sb.append(path == null ? "/" : path);
            }
        }
        if (query != null) {
            sb.append('?').append(query);
        }
        return sb.toString();
    }

    /**
     * Appends the Host header's authority with its port replaced by {@code port} ({@code ":8443"},
     * or "" for none) when given, else with a port of 80 or 443 dropped (either is wrong for the
     * other scheme and implied by its own), read as a number ({@code :080} is port 80, RFC 3986
     * 3.2.3), and an empty port dropped.
     */
    private static void appendAuthority(StringBuilder sb, String authority, String port) {
        int close = authority.lastIndexOf(']');
        int colon = authority.lastIndexOf(':');
        int end = colon > close ? colon : authority.length();
        if (port != null) {
            sb.append(authority, 0, end).append(port);
        } else if (end < authority.length() && isDefaultPort(authority, end + 1)) {
            sb.append(authority, 0, end);
        } else {
            sb.append(authority);
        }
    }

    /** Whether the port from {@code from} to the end of {@code authority} is empty, 80 or 443. */
    private static boolean isDefaultPort(String authority, int from) {
        int value = 0;
        for (int i = from; i < authority.length(); i++) {
            char c = authority.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
            value = value * 10 + c - '0';
            if (value > 443) {
                return false;
            }
        }
        return value == 80 || value == 443 || from == authority.length();
    }

    /** Header and path edits accumulated by the rules that matched so far. */
    private static final class Edits {
        List<HeaderEdit> request;
        List<HeaderEdit> response;
        String path;
        String host;

        void apply(Action a, RequestView view) {
            switch (a.kind) {
                case REQUEST_HEADER:
                    if (request == null) {
                        request = new ArrayList<>(4);
                    }
                    request.add(a.edit);
                    return;
                case RESPONSE_HEADER:
                    if (response == null) {
                        response = new ArrayList<>(4);
                    }
                    response.add(a.edit);
                    return;
                case SET_HOST:
                    host = a.a;
                    return;
                default:
                    break;
            }
            String current = path != null ? path : view.rawPath();
            if (current == null) {
                current = view.path();
                if (current == null) {
                    return;
                }
            }
            String next = rewrite(a, current);
            if (!next.equals(current)) {
                path = next;
            }
        }

        /**
         * Rewrites {@code raw}, the path as it will be sent (the client's raw path or an earlier
         * rewrite's result), matching on its normalised form.
         */
        private static String rewrite(Action a, String raw) {
            switch (a.kind) {
                case STRIP_PREFIX:
                    return replacePrefix(raw, a.a, "");
                case REPLACE_PREFIX:
                    return replacePrefix(raw, a.a, a.b);
                default:
                    String norm = PathNormalizer.normalize(raw);
                    String r = a.pattern.matcher(norm).replaceAll(a.b);
                    if (r.equals(norm)) {
                        return raw;
                    }
                    return PathNormalizer.encode(r.startsWith("/") ? r : "/" + r);
            }
        }

        /**
         * Replaces the prefix matched on the normalised path in its raw form, keeping the rest of the
         * raw path byte for byte; falls back to the normalised path re-encoded when the prefix ends
         * inside a raw segment (at an encoded slash). A path with nothing to normalise is its own
         * normalised form and needs no walk.
         */
        private static String replacePrefix(String raw, String prefix, String to) {
            String norm = PathNormalizer.normalize(raw);
            int pl = prefix.length();
            if (!norm.startsWith(prefix) || norm.length() > pl && norm.charAt(pl) != '/') {
                return raw;
            }
            String target = PathNormalizer.encode(to);
            // the same instance when the raw path has nothing to normalise: the prefix is its own raw form
            int cut = norm == raw ? pl : PathNormalizer.rawPrefixLength(raw, prefix);
            String r;
            if (cut < 0) {
                r = target + PathNormalizer.encode(norm.substring(pl));
            } else {
                r = target + raw.substring(cut);
            }
            return r.isEmpty() ? "/" : r.charAt(0) == '/' ? r : "/" + r;
        }

        List<HeaderEdit> requestList() {
            return request == null ? NONE : Collections.unmodifiableList(request);
        }

        List<HeaderEdit> responseList() {
            return response == null ? NONE : Collections.unmodifiableList(response);
        }
    }

    /** Binds conditions to the live states, resolving each named ACL once. */
    private static final class Binder implements AclNode.Binder {
        private final Map<String, Acl> definitions;
        private final BackendStates states;
        private final Map<String, Acl> bound = new HashMap<>();

        Binder(Map<String, Acl> definitions, BackendStates states) {
            this.definitions = definitions;
            this.states = states;
        }

        @Override
        public Acl named(String name) {
            Acl b = bound.get(name);
            if (b == null) {
                b = AclNode.bind(definitions.get(name), this);
                bound.put(name, b);
            }
            return b;
        }

        @Override
        public BackendStates states() {
            return states;
        }
    }
}
