package io.lodestone.core.route;

import io.lodestone.core.Clock;
import io.lodestone.core.limit.RateLimiter;
import io.lodestone.core.limit.RateLimiters;
import io.lodestone.core.route.internal.AclNode;
import io.lodestone.core.route.internal.HttpParts;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A frontend's routing configuration: named ACLs, an ordered rule table, a default backend, and
 * rule tables per virtual host. Immutable; built by {@link #builder()}; evaluated by the
 * {@link Router} that {@link #router(BackendStates)} returns. Both engines take one, and
 * {@link io.lodestone.core.Proxy#route} evaluates it without a socket.
 *
 * <pre>{@code
 * Routing routing = Routing.builder()
 *     .acl("is_admin", Acl.pathBegins("/admin"))
 *     .rule(Rule.whenNamed("is_admin").name("no-admin").deny(403))
 *     .rule(Rule.when(Acl.pathEnds("/app1")).use("app1"))
 *     .virtualHost("static.example.com", vh -> vh.defaultBackend("static"))
 *     .defaultBackend("allServers", "backupServers")
 *     .build();
 * }</pre>
 *
 * <p>Rate-limiting rules ({@link Rule.Builder#rateLimit}) take a token from a bucket of the router's
 * {@link RateLimiter} each time they match: the only state a router changes.
 *
 * <p>Order of evaluation: when the request's host has a virtual host (an exact name first, then the
 * longest matching {@code *.domain}), its rules run first, then its default backend if it has one;
 * otherwise evaluation falls through to the frontend's rules and default backend. Header and path
 * edits accumulate across both tables. When nothing decides, the answer is a 503 deny.
 */
public final class Routing {

    /** The label of the frontend's own table in {@link MatchedRule#table()}. */
    public static final String FRONTEND_TABLE = "frontend";

    final Map<String, Acl> namedAcls;
    final Table main;
    final Map<String, Table> exactHosts;
    final List<Table> wildcardHosts;
    final boolean connectionOnly;
    private final Set<String> backendNames;
    private final Map<String, String> backendReferences;
    /** Whether a rule limits the rate, so that a router needs a {@link RateLimiter}. */
    final boolean rateLimited;

    private Routing(Map<String, Acl> namedAcls, Table main, Map<String, Table> exactHosts, List<Table> wildcardHosts,
            boolean connectionOnly, Map<String, String> backendReferences) {
        this.namedAcls = namedAcls;
        this.main = main;
        this.exactHosts = exactHosts;
        this.wildcardHosts = wildcardHosts;
        this.connectionOnly = connectionOnly;
        this.backendReferences = backendReferences;
        this.backendNames = Collections.unmodifiableSet(new LinkedHashSet<>(backendReferences.keySet()));
        boolean limited = rateLimited(main);
        for (Table t : exactHosts.values()) {
            limited |= rateLimited(t);
        }
        for (Table t : wildcardHosts) {
            limited |= rateLimited(t);
        }
        this.rateLimited = limited;
    }

    private static boolean rateLimited(Table t) {
        for (Rule r : t.rules) {
            if (r.action().kind == Action.Kind.RATE_LIMIT) {
                return true;
            }
        }
        return false;
    }

    /** {@return a builder for a routing configuration} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns a router evaluating this configuration against these backend states. The engines and
     * {@link io.lodestone.core.Proxy} pass the live states; tests may pass a lambda.
     *
     * @param states the live states of the backends
     * @return a router evaluating this configuration against these backend states
     */
    public Router router(BackendStates states) {
        Objects.requireNonNull(states, "states");
        return new Router(this, states, rateLimited ? RateLimiters.inMemory(Clock.system()) : null, Clock.system());
    }

    /**
     * Returns a router evaluating this configuration against these backend states, keeping the
     * buckets of its {@link Rule.Builder#rateLimit rate-limiting rules} in {@code limiter} on
     * {@code clock}. {@link #router(BackendStates)} gives a router its own in-memory limiter on the
     * system clock; the engines and {@link io.lodestone.core.Proxy} pass the proxy's, so that
     * {@code proxy.route(...)} and real requests count in the same buckets.
     *
     * <pre>{@code
     * ManualClock clock = new ManualClock();
     * Router router = routing.router(BackendStates.allUp(), RateLimiters.inMemory(clock), clock);
     * }</pre>
     *
     * @param states the live states of the backends
     * @param limiter the rate limiter that holds the buckets
     * @param clock the clock the limits read
     * @return a router evaluating this configuration against these backend states, keeping the buckets of its
     *     {@link Rule.Builder#rateLimit rate-limiting rules} in {@code limiter} on {@code clock}
     */
    public Router router(BackendStates states, RateLimiter limiter, Clock clock) {
        return new Router(this, Objects.requireNonNull(states, "states"), Objects.requireNonNull(limiter, "limiter"),
                Objects.requireNonNull(clock, "clock"));
    }

    /** {@return whether a rule of this routing limits the rate ({@link Rule.Builder#rateLimit})} */
    public boolean isRateLimited() {
        return rateLimited;
    }

    /**
     * {@return every backend a rule, a default or a state ACL names (for {@link
     * io.lodestone.core.Frontend#backendNames()})}
     */
    public Set<String> backendNames() {
        return backendNames;
    }

    /** {@return whether this routing is for an L4 frontend: connection ACLs, use and reject only} */
    public boolean isConnectionOnly() {
        return connectionOnly;
    }

    /** {@return the frontend's rules, in order} */
    public List<Rule> rules() {
        return main.rules;
    }

    /** {@return the frontend's default backend, or {@code null}} */
    public String defaultBackend() {
        return main.defaultBackend;
    }

    /** {@return the host patterns that have their own rule table, exact names then wildcards} */
    public Set<String> virtualHosts() {
        Set<String> s = new LinkedHashSet<>(exactHosts.keySet());
        for (Table t : wildcardHosts) {
            s.add(t.pattern);
        }
        return Collections.unmodifiableSet(s);
    }

    /**
     * Checks that every backend this routing names exists; called by
     * {@link io.lodestone.core.Proxy.Builder#build()}.
     *
     * @param frontendName the frontend's name, for the message
     * @param known the names of the proxy's backends
     * @throws IllegalArgumentException naming the frontend, the rule and the backend otherwise
     */
    public void checkBackends(String frontendName, Set<String> known) {
        for (Map.Entry<String, String> e : backendReferences.entrySet()) {
            if (!known.contains(e.getKey())) {
                String where = e.getValue().startsWith(FRONTEND_TABLE + " ") ? e.getValue().substring(FRONTEND_TABLE.length() + 1) : e.getValue();
                throw new IllegalArgumentException("frontend " + frontendName + " " + where + ": " + e.getKey()
                        + " (no such backend; known: " + new TreeSet<>(known) + ")");
            }
        }
    }

    @Override
    public String toString() {
        return "Routing{" + main.rules.size() + " rules, default " + main.defaultBackend + ", hosts " + virtualHosts() + "}";
    }

    /** One rule table: the frontend's or a virtual host's. */
    static final class Table {
        final String label;
        final String pattern;
        final List<Rule> rules;
        final String defaultBackend;
        final String defaultBackup;

        Table(String label, String pattern, List<Rule> rules, String defaultBackend, String defaultBackup) {
            this.label = label;
            this.pattern = pattern;
            this.rules = rules;
            this.defaultBackend = defaultBackend;
            this.defaultBackup = defaultBackup;
        }
    }

    /**
     * The rules of one virtual host: built inside {@link Builder#virtualHost(String, Consumer)}.
     */
    public static final class VirtualHost {
        private final List<Rule> rules = new ArrayList<>();
        private String defaultBackend;
        private String defaultBackup;

        VirtualHost() {
        }

        /**
         * Adds a rule, evaluated after the ones added before.
         *
         * @param rule a rule
         * @return this virtual host
         */
        public VirtualHost rule(Rule rule) {
            rules.add(Objects.requireNonNull(rule, "rule"));
            return this;
        }

        /**
         * Sets this host's default backend; without one, unmatched requests go on to the frontend's rules.
         *
         * @param backend this host's default backend
         * @return this virtual host
         */
        public VirtualHost defaultBackend(String backend) {
            return defaultBackend(backend, null);
        }

        /**
         * Sets this host's default backend and a backup used when it has no usable server.
         *
         * @param backend the backend's name
         * @param backup the backend used when {@code backend} has no usable server
         * @return this virtual host
         * @throws IllegalArgumentException when a name is empty, or {@code backup} is {@code backend}
         *     itself, which would never take over
         */
        public VirtualHost defaultBackend(String backend, String backup) {
            this.defaultBackend = backendName("defaultBackend", backend);
            this.defaultBackup = backup == null ? null : backupName("defaultBackend backup", backup, backend);
            return this;
        }
    }

    /** Builds a {@link Routing}. Setters check their argument; {@link #build()} checks the whole. */
    public static final class Builder {
        private final Map<String, Acl> acls = new LinkedHashMap<>();
        private final List<Rule> rules = new ArrayList<>();
        private final Map<String, VirtualHost> hosts = new LinkedHashMap<>();
        private String defaultBackend;
        private String defaultBackup;
        private boolean connectionOnly;

        Builder() {
        }

        /**
         * Declares a named ACL that rules refer to with {@link Acl#named(String)} or
         * {@link Rule#whenNamed(String)}. Named ACLs may refer to each other.
         *
         * @param name the ACL's name
         * @param acl the condition it names
         * @return this builder
         */
        public Builder acl(String name, Acl acl) {
            if (name == null || name.isEmpty() || name.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("acl name: " + (name == null ? "null" : "\"" + name + "\"") + " (expected: a name without spaces)");
            }
            if (acls.containsKey(name)) {
                throw new IllegalArgumentException("acl name: " + name + " (expected: unique within the routing)");
            }
            acls.put(name, Objects.requireNonNull(acl, "acl " + name));
            return this;
        }

        /**
         * Adds a rule, evaluated after the ones added before.
         *
         * @param rule a rule
         * @return this builder
         */
        public Builder rule(Rule rule) {
            rules.add(Objects.requireNonNull(rule, "rule"));
            return this;
        }

        /**
         * Adds rules in order.
         *
         * @param rules the rules in order
         * @return this builder
         */
        public Builder rules(Rule... rules) {
            Objects.requireNonNull(rules, "rules");
            for (Rule r : rules) {
                rule(r);
            }
            return this;
        }

        /**
         * Sets the backend for requests no rule decides.
         *
         * @param backend the backend for requests no rule decides
         * @return this builder
         */
        public Builder defaultBackend(String backend) {
            return defaultBackend(backend, null);
        }

        /**
         * Sets the default backend and a backup backend used when the default has no usable server.
         *
         * @param backend the backend's name
         * @param backup the backend used when {@code backend} has no usable server
         * @return this builder
         * @throws IllegalArgumentException when a name is empty, or {@code backup} is {@code backend}
         *     itself, which would never take over
         */
        public Builder defaultBackend(String backend, String backup) {
            this.defaultBackend = backendName("defaultBackend", backend);
            this.defaultBackup = backup == null ? null : backupName("defaultBackend backup", backup, backend);
            return this;
        }

        /**
         * Gives a host its own rule table: an exact name ({@code example.com}) or a wildcard
         * ({@code *.example.com}, any subdomain). Names compare case-insensitively. Adding the same
         * host again adds to its table.
         *
         * @param host a host name, or a {@code *.domain} pattern
         * @param table sets the host's rules and default backend
         * @return this builder
         */
        public Builder virtualHost(String host, Consumer<VirtualHost> table) {
            String h = hostPattern(host);
            table.accept(hosts.computeIfAbsent(h, k -> new VirtualHost()));
            return this;
        }

        /**
         * Restricts the routing to what an L4 frontend can do: connection ACLs (source, local port,
         * SNI, ALPN, state, random) and the use and reject actions. The L4 engine calls this.
         *
         * @return this builder
         */
        public Builder connectionOnly() {
            this.connectionOnly = true;
            return this;
        }

        /** {@return whether {@link #connectionOnly()} was called} */
        public boolean isConnectionOnly() {
            return connectionOnly;
        }

        /**
         * Returns the immutable routing. The builder stays usable.
         *
         * @return the immutable routing
         * @throws IllegalArgumentException naming the rule and value when a rule refers to an
         *     unknown named ACL, named ACLs refer to each other in a cycle, or an HTTP ACL or action is
         *     used on a connection-only routing
         */
        public Routing build() {
            Map<String, String> backends = new LinkedHashMap<>();
            Resolver resolver = new Resolver(acls, backends);
            Map<String, Acl> named = new LinkedHashMap<>();
            for (String name : acls.keySet()) {
                resolver.context = "acl " + name;
                named.put(name, resolver.named(name));
            }
            if (connectionOnly && !hosts.isEmpty()) {
                throw new IllegalArgumentException("virtualHost: " + hosts.keySet().iterator().next()
                        + " (expected: no virtual hosts on a connection-only routing)");
            }
            Table main = table(FRONTEND_TABLE, null, rules, defaultBackend, defaultBackup, resolver, backends);
            Map<String, Table> exact = new HashMap<>();
            List<Table> wildcards = new ArrayList<>();
            for (Map.Entry<String, VirtualHost> e : hosts.entrySet()) {
                VirtualHost vh = e.getValue();
                Table t = table("host " + e.getKey(), e.getKey(), vh.rules, vh.defaultBackend, vh.defaultBackup, resolver, backends);
                if (e.getKey().startsWith("*.")) {
                    wildcards.add(t);
                } else {
                    exact.put(e.getKey(), t);
                }
            }
            wildcards.sort((a, b) -> Integer.compare(b.pattern.length(), a.pattern.length()));
            return new Routing(Collections.unmodifiableMap(named), main, Collections.unmodifiableMap(exact),
                    List.copyOf(wildcards), connectionOnly, Collections.unmodifiableMap(backends));
        }

        private Table table(String label, String pattern, List<Rule> source, String def, String backup,
                Resolver resolver, Map<String, String> backends) {
            List<Rule> resolved = new ArrayList<>(source.size());
            for (int i = 0; i < source.size(); i++) {
                Rule r = source.get(i);
                String where = label + " rule #" + i + (r.name() == null ? "" : " '" + r.name() + "'");
                resolver.context = where;
                Acl condition = AclNode.bind(r.condition(), resolver);
                Action a = r.action();
                if (connectionOnly) {
                    if (AclNode.readsHttp(condition)) {
                        throw new IllegalArgumentException(where + " acl: " + AclNode.describe(condition)
                                + " (expected: connection ACLs only on a connection-only routing: source, localPort, sni, alpn, usableServersBelow, random)");
                    }
                    if (a.kind == Action.Kind.RATE_LIMIT && a.limit.readsHttp()) {
                        throw new IllegalArgumentException(where + " action: " + a
                                + " (expected: a rate limit by source address or key function on a connection-only routing)");
                    }
                    if (!a.worksOnConnections()) {
                        throw new IllegalArgumentException(where + " action: " + a + " (expected: use or reject on a connection-only routing)");
                    }
                }
                if (a.kind == Action.Kind.USE) {
                    backends.putIfAbsent(a.a, where + " use");
                    if (a.b != null) {
                        backends.putIfAbsent(a.b, where + " use backup");
                    }
                }
                resolved.add(r.withCondition(condition));
            }
            if (def != null) {
                backends.putIfAbsent(def, label + " defaultBackend");
                if (backup != null) {
                    backends.putIfAbsent(backup, label + " defaultBackend backup");
                }
            }
            return new Table(label, pattern, List.copyOf(resolved), def, backup);
        }
    }

    /** Resolves named ACLs once each, detecting unknown names and cycles, and records state ACLs' backends. */
    private static final class Resolver implements AclNode.Binder {
        private final Map<String, Acl> definitions;
        private final Map<String, String> backends;
        private final Map<String, Acl> resolved = new HashMap<>();
        private final Set<String> resolving = new HashSet<>();
        String context = "";

        Resolver(Map<String, Acl> definitions, Map<String, String> backends) {
            this.definitions = definitions;
            this.backends = backends;
        }

        @Override
        public Acl named(String name) {
            Acl done = resolved.get(name);
            if (done != null) {
                return done;
            }
            Acl definition = definitions.get(name);
            if (definition == null) {
                throw new IllegalArgumentException(context + " acl: " + name + " (no such named ACL; known: " + new TreeSet<>(definitions.keySet()) + ")");
            }
            if (!resolving.add(name)) {
                throw new IllegalArgumentException(context + " acl: " + name + " (named ACLs refer to each other in a cycle: " + resolving + ")");
            }
            Acl r = AclNode.bind(definition, this);
            resolving.remove(name);
            resolved.put(name, r);
            return r;
        }

        @Override
        public io.lodestone.core.route.BackendStates states() {
            return null;
        }

        @Override
        public void readsBackend(String backend) {
            backends.putIfAbsent(backend, context + " acl nbsrv");
        }
    }

    static String backendName(String field, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(field + ": " + (name == null ? "null" : "\"\"") + " (expected: a backend name)");
        }
        return name;
    }

    /**
     * Checks the name of a backup backend: a backend name other than {@code primary}, since a backend
     * that backs itself up takes over only when it has no usable server itself, that is never.
     */
    static String backupName(String field, String backup, String primary) {
        backendName(field, backup);
        if (backup.equals(primary)) {
            throw new IllegalArgumentException(field + ": " + backup + " (expected: a backend other than " + primary
                    + ", which it backs up)");
        }
        return backup;
    }

    static String hostPattern(String host) {
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("virtualHost: " + (host == null ? "null" : "\"\"") + " (expected: a host name or *.domain)");
        }
        String h = HttpParts.toLowerAscii(host.trim());
        String rest = h.startsWith("*.") ? h.substring(2) : h;
        boolean ok = !rest.isEmpty() && !rest.startsWith(".") && !rest.endsWith(".");
        for (int i = 0; ok && i < rest.length(); i++) {
            char c = rest.charAt(i);
            ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_';
        }
        if (!ok) {
            throw new IllegalArgumentException("virtualHost: " + host + " (expected: a host name or *.domain)");
        }
        return h;
    }
}
